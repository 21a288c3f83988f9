"""A ``DataTable`` whose cells never keep a width the columns no longer have.

Textual's ``DataTable`` (8.2.x) caches each rendered cell under a key that
holds no column width. Column widths are measured later, when the table goes
idle; if the screen paints in between (rows re-added after
``clear(columns=True)``, which every table here does on a resize across a
width tier or on a theme change), the cells are cached at the width of the
column *labels*. When the measured widths then add up to the same virtual
size as before, no resize follows, nothing invalidates that cache, and the
table stays truncated ("succ", "2026-11") until some unrelated change.

The fix is one line: after the widths are measured, render afresh. It runs
only when the table had something to measure (new rows, changed cells,
cleared columns), so it costs one repaint of the visible rows then.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

__all__ = ["MeasuredTable", "RowTable"]


class MeasuredTable(DataTable[Any]):
    """``DataTable`` with its render caches dropped whenever column widths are measured."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        # The cell, row and line caches are all keyed by ``_update_count``.
        self._update_count += 1
        self.refresh()


class RowTable(MeasuredTable):
    """A row-cursor table where Home and End go to the first and last row
    (DataTable's own Home and End scroll sideways, which a list of builds
    rarely needs)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False, tooltip="Go to the first row"),
        Binding("end", "scroll_bottom", "Last", show=False, tooltip="Go to the last loaded row"),
    ]

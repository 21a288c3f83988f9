"""Screens whose table columns depend on the terminal's width.

The builds list and the build detail choose what their cells hold (full or
short ids, times with seconds or minutes, an extra column) by a width
*tier*, and rebuild their rows from memory — no query — when a resize
crosses into another tier, including a resize that happened while another
screen was on top.
"""

from __future__ import annotations

from textual.events import Resize

__all__ = ["MEDIUM_WIDTH", "WIDE_WIDTH", "WidthTiers"]

MEDIUM_WIDTH = 100
"""From this terminal width on, times show seconds and "5 min ago"."""

WIDE_WIDTH = 140
"""From this width on, full 36-character build ids fit next to the times."""


class WidthTiers:
    """Mixin for a `StoreScreen`: ``tier`` is ``"narrow"``, ``"medium"`` or ``"wide"``.

    Call `start_tiers` in ``on_mount`` before adding columns; implement
    `rebuild_for_width`, which runs whenever the tier changes.
    """

    tier: str = ""

    def width_tier(self) -> str:
        width = self.app.size.width  # type: ignore[attr-defined]
        if width >= WIDE_WIDTH:
            return "wide"
        if width >= MEDIUM_WIDTH:
            return "medium"
        return "narrow"

    def start_tiers(self) -> None:
        self.tier = self.width_tier()

    def rebuild_for_width(self) -> None:
        raise NotImplementedError

    def on_resize(self, event: Resize) -> None:
        self._check_width()

    def on_screen_resume(self) -> None:
        # The terminal may have been resized while another screen was on top.
        self._check_width()

    def _check_width(self) -> None:
        if not self.tier:
            return  # not mounted yet: on_mount lays out for the width it finds
        tier = self.width_tier()
        if tier != self.tier:
            self.tier = tier
            self.rebuild_for_width()

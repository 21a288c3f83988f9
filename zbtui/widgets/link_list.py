"""A list of lines, some of which are links to store paths, derivation hashes or builds.

Detail views (a why-chain, a realization with its reference classes and
signatures) mix information lines with links. ``LinkList`` is an
``OptionList`` whose link lines are selectable (Enter or a click opens them,
``y`` copies the path) and whose information lines are disabled options, so
the cursor skips them. It is for bounded content only: one option per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on
from textual.binding import Binding
from textual.visual import VisualType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from ..app import ZbtuiApp

__all__ = ["Link", "LinkList", "Row"]


@dataclass(frozen=True, slots=True)
class Link:
    """Where a line leads.

    Attributes:
        path: A store path: Enter opens its object, ``y`` copies it.
        drv_hash: A derivation hash (any hash text the store parses): Enter
            opens its realizations when the line has no path, ``d`` always.
        build_id: A build: Enter opens it when the line has no path.
    """

    path: str | None = None
    drv_hash: str | None = None
    build_id: str | None = None


Row = tuple[VisualType, Link | None]
"""One line: what it shows and where it leads (None for an information line)."""


class LinkList(OptionList):
    """Lines of text and links; Enter follows the highlighted link."""

    BINDINGS = [
        Binding("y", "copy_path", "Copy path", tooltip="Copy the highlighted store path (OSC 52)"),
        Binding(
            "d",
            "open_drv_hash",
            "Drv hash",
            tooltip="Show every realization of the highlighted derivation hash",
        ),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._links: dict[str, Link] = {}
        self._binding_state: tuple[bool, bool] | None = None

    @property
    def zapp(self) -> ZbtuiApp:
        return cast("ZbtuiApp", self.app)

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replace every line; the cursor goes to the first link."""
        self._links.clear()
        options: list[Option] = []
        for index, (prompt, link) in enumerate(rows):
            option_id = f"line-{index}"
            if link is not None:
                self._links[option_id] = link
            options.append(Option(prompt, id=option_id, disabled=link is None))
        self.clear_options()
        self.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        self.highlighted = first
        self._binding_state = None
        if self.has_focus:
            # Refreshing recomposes the Footer: only worth it when our keys show there.
            self.refresh_bindings()

    @property
    def link(self) -> Link | None:
        """The link under the cursor."""
        if self.highlighted is None or self.highlighted >= self.option_count:
            return None
        option = self.get_option_at_index(self.highlighted)
        return self._links.get(option.id or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        link = self.link
        if action == "copy_path":
            return link is not None and link.path is not None
        if action == "open_drv_hash":
            return link is not None and link.drv_hash is not None
        return True

    @on(OptionList.OptionHighlighted)
    def _moved(self) -> None:
        # Refreshing bindings recomposes the Footer: only when they change, and
        # only when focused (focusing refreshes them anyway).
        link = self.link
        state = (
            link is not None and link.path is not None,
            link is not None and link.drv_hash is not None,
        )
        if state != self._binding_state:
            self._binding_state = state
            if self.has_focus:
                self.refresh_bindings()

    @on(OptionList.OptionSelected)
    def _follow(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        link = self._links.get(event.option.id or "")
        if link is None:
            return
        if link.path is not None:
            self.zapp.open_object(link.path)
        elif link.drv_hash is not None:
            self.zapp.open_realizations(drv_hash=link.drv_hash)
        elif link.build_id is not None:
            self.zapp.open_build(link.build_id)

    def action_copy_path(self) -> None:
        link = self.link
        if link is not None and link.path is not None:
            self.zapp.copy_path(link.path)

    def action_open_drv_hash(self) -> None:
        link = self.link
        if link is not None and link.drv_hash is not None:
            self.zapp.open_realizations(drv_hash=link.drv_hash)

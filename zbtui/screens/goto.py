"""``g``: open a store path from a full path, base name, digest prefix or name."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from ..widgets.path_picker import PathPicker

__all__ = ["GotoScreen"]


class GotoScreen(ModalScreen[None]):
    """A prompt that resolves what the user typed or pasted, then opens it."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Label("Go to a store path, base name, digest prefix or name", id="goto-title")
            yield PathPicker(placeholder="/opt/zb/store/… or s66mzxp or hello", id="goto-picker")

    def on_mount(self) -> None:
        self.query_one(PathPicker).focus_input()

    @on(PathPicker.Picked)
    def _picked(self, event: PathPicker.Picked) -> None:
        self.dismiss(None)
        self.app.open_object(event.path)  # type: ignore[attr-defined]

    def action_dismiss(self) -> None:
        self.dismiss(None)

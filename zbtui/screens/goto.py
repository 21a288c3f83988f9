"""``g``: open a store path from a full path, base name, digest prefix or name."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

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

    def _type_late(self, text: str) -> None:
        """Type ``text`` into the prompt: it was sent while the prompt was
        still mounting, so it reached the screen rather than the input."""
        picker = self.query_one(PathPicker)
        picker.focus_input()
        picker.query_one(Input).insert_text_at_cursor(text)

    def on_key(self, event: events.Key) -> None:
        # Letters typed right after ``g``, in the same burst (the input stops
        # the ones it receives itself).
        if event.is_printable and event.character:
            self._type_late(event.character)
            event.stop()

    def on_paste(self, event: events.Paste) -> None:
        # A path pasted right after ``g``; a paste the input took bubbles here too.
        if not isinstance(self.focused, Input):
            self._type_late(event.text)
            event.stop()

    @on(PathPicker.Picked)
    def _picked(self, event: PathPicker.Picked) -> None:
        self.dismiss(None)
        self.app.open_object(event.path)  # type: ignore[attr-defined]

    def action_dismiss(self) -> None:
        self.dismiss(None)

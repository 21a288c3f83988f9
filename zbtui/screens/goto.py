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

    def on_key(self, event: events.Key) -> None:
        # Letters typed right after ``g``, in the same burst, were dispatched
        # while this prompt was still mounting, to the screen rather than its
        # input: type them into the input, in order.
        if event.is_printable and event.character:
            field = self.query_one(PathPicker).query_one(Input)
            if self.focused is not field:
                self.set_focus(field)
            field.insert_text_at_cursor(event.character)
            event.stop()

    def on_paste(self, event: events.Paste) -> None:
        # A path pasted right after ``g`` (same reason as above).
        field = self.query_one(PathPicker).query_one(Input)
        if self.focused is not field:
            self.set_focus(field)
            field.insert_text_at_cursor(event.text)
            event.stop()

    @on(PathPicker.Picked)
    def _picked(self, event: PathPicker.Picked) -> None:
        self.dismiss(None)
        self.app.open_object(event.path)  # type: ignore[attr-defined]

    def action_dismiss(self) -> None:
        self.dismiss(None)

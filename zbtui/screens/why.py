"""``w`` on an object: pick the other end of a why-depends question."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from ..store.formats import split_store_path
from ..widgets.path_picker import PathPicker

__all__ = ["WhyScreen"]


class WhyScreen(ModalScreen[str | None]):
    """Ask which path to explain; dismisses with it (None when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close without choosing")]

    HELP = """\
Type the path zbtui should explain: a full store path, a base name, a digest
prefix or part of a name. **Enter** picks the highlighted match.

The Why tab then shows one shortest chain of references from this object to
the one you picked (each link references the next), like `nix why-depends`.
"""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        name = split_store_path(self.source)[2] or self.source
        with Vertical(id="why-box"):
            yield Label(Text.assemble("Why does ", (name, "bold"), " depend on …?"), id="why-title")
            yield Label(
                "A path, base name, digest prefix or name; Enter picks, Escape cancels.",
                classes="hint",
            )
            yield PathPicker(placeholder="e.g. glibc, or a digest prefix", id="why-picker")

    def on_mount(self) -> None:
        self.query_one(PathPicker).focus_input()

    @on(PathPicker.Picked)
    def _picked(self, event: PathPicker.Picked) -> None:
        event.stop()
        self.dismiss(event.path)

    def action_cancel(self) -> None:
        self.dismiss(None)

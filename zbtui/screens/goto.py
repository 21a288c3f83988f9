"""``g``: open a store path from a full path, base name or digest prefix."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ..store.errors import StoreError

__all__ = ["GotoScreen"]

MAX_MATCHES = 50
"""Candidates listed for an ambiguous prefix; more means type more."""


class GotoScreen(ModalScreen[None]):
    """A prompt that resolves what the user typed or pasted into a path."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Label("Go to a store path, base name, digest prefix or name", id="goto-title")
            yield Input(placeholder="/opt/zb/store/… or s66mzxp or hello", id="goto-input")
            yield Label("", id="goto-status")
            yield OptionList(id="goto-matches")

    def on_mount(self) -> None:
        self.query_one(OptionList).display = False

    @on(Input.Changed, "#goto-input")
    def _typed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if len(text) >= 2:
            self._resolve(text, open_single=False)

    @on(Input.Submitted, "#goto-input")
    def _submitted(self, event: Input.Submitted) -> None:
        matches = self.query_one(OptionList)
        if matches.display and matches.option_count and matches.highlighted is not None:
            self._open(str(matches.get_option_at_index(matches.highlighted).id))
            return
        if event.value.strip():
            self._resolve(event.value.strip(), open_single=True)

    @work(thread=True, exclusive=True, group="goto", exit_on_error=False)
    def _resolve(self, text: str, open_single: bool) -> None:
        worker = get_current_worker()
        store = self.app.store  # type: ignore[attr-defined]
        try:
            with store.cancellable(lambda: worker.is_cancelled):
                found = store.resolve(text, limit=MAX_MATCHES + 1)
        except StoreError as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._show, [], str(exc), False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, found, None, open_single)

    def _show(self, found: list[str], error: str | None, open_single: bool) -> None:
        status = self.query_one("#goto-status", Label)
        matches = self.query_one(OptionList)
        if error:
            status.update(error)
            matches.display = False
            return
        if open_single and len(found) == 1:
            self._open(found[0])
            return
        if not found:
            status.update("No known path matches.")
            matches.display = False
            return
        more = len(found) > MAX_MATCHES
        found = found[:MAX_MATCHES]
        status.update(f"{len(found)}{'+' if more else ''} matches: ↓ to pick, Enter to open")
        matches.clear_options()
        matches.add_options([Option(path, id=path) for path in found])
        matches.display = True
        matches.highlighted = 0

    def on_key(self, event) -> None:
        matches = self.query_one(OptionList)
        if event.key == "down" and matches.display and self.focused is self.query_one(Input):
            matches.focus()
            event.stop()

    @on(OptionList.OptionSelected, "#goto-matches")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._open(str(event.option.id))

    def _open(self, path: str) -> None:
        self.dismiss(None)
        self.app.open_object(path)  # type: ignore[attr-defined]

    def action_dismiss(self) -> None:
        self.dismiss(None)

"""Pick a known store path by typing a full path, base name, digest prefix or name.

The same resolution as ``g`` (Go to) uses: ``store.resolve`` in a thread
worker while the user types, the matches in a list below the input. Picking
posts ``PathPicker.Picked``; what happens next is up to the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Key
from textual.message import Message
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ..store.errors import StoreError
from ..store.formats import split_store_path

__all__ = ["PathPicker"]

MAX_MATCHES = 50
"""Candidates listed for an ambiguous text; more means type more."""

DIGEST_PREVIEW = 12
"""Digest characters shown per match: enough to tell same-named paths apart."""

MIN_TYPED = 2
"""Resolve as the user types only from this many characters (one letter matches too much)."""


class PathPicker(Vertical):
    """An input that resolves to one known store path."""

    @dataclass
    class Picked(Message):
        """The user chose ``path``."""

        path: str

    @dataclass
    class _Resolved(Message):
        found: list[str]
        error: str | None
        pick_single: bool

    def __init__(
        self, *, placeholder: str = "path, base name, digest prefix or name", id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._placeholder, id="picker-input")
        yield Label("", id="picker-status")
        yield OptionList(id="picker-matches")

    def on_mount(self) -> None:
        self.query_one(OptionList).display = False

    def focus_input(self) -> None:
        # At once, not on the next idle as ``focus()`` does: keys that arrive
        # in the same read as the one that opened the prompt must land here.
        self.screen.set_focus(self.query_one(Input))

    @on(Input.Changed, "#picker-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        if len(text) >= MIN_TYPED:
            self._resolve(text, pick_single=False)

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        matches = self.query_one(OptionList)
        if matches.display and matches.option_count and matches.highlighted is not None:
            self._pick(str(matches.get_option_at_index(matches.highlighted).id))
        elif event.value.strip():
            self._resolve(event.value.strip(), pick_single=True)

    @work(thread=True, exclusive=True, group="path-picker", exit_on_error=False)
    def _resolve(self, text: str, pick_single: bool) -> None:
        worker = get_current_worker()
        store = self.app.store  # type: ignore[attr-defined]
        try:
            with store.cancellable(lambda: worker.is_cancelled):
                found = store.resolve(text, limit=MAX_MATCHES + 1)
        except StoreError as exc:
            if not worker.is_cancelled:
                self.post_message(self._Resolved([], str(exc), False))
            return
        if not worker.is_cancelled:
            self.post_message(self._Resolved(found, None, pick_single))

    @on(_Resolved)
    def _show(self, message: _Resolved) -> None:
        message.stop()
        status = self.query_one("#picker-status", Label)
        matches = self.query_one(OptionList)
        if message.error:
            status.update(message.error)
            matches.display = False
            return
        found = message.found
        if message.pick_single and len(found) == 1:
            self._pick(found[0])
            return
        if not found:
            status.update("No known path matches.")
            matches.display = False
            return
        more = len(found) > MAX_MATCHES
        found = found[:MAX_MATCHES]
        noun = "match" if len(found) == 1 else "matches"
        status.update(f"{len(found)}{'+' if more else ''} {noun}: ↓ to choose, Enter to pick")
        matches.clear_options()
        matches.add_options([Option(_prompt(path), id=path) for path in found])
        matches.display = True
        matches.highlighted = 0

    def on_key(self, event: Key) -> None:
        # Down from the input moves into the matches, as in a browser's address bar.
        matches = self.query_one(OptionList)
        if event.key == "down" and matches.display and self.screen.focused is self.query_one(Input):
            matches.focus()
            event.stop()

    @on(OptionList.OptionSelected, "#picker-matches")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(str(event.option.id))

    def _pick(self, path: str) -> None:
        self.post_message(self.Picked(path))


def _prompt(path: str) -> Text:
    """``glibc-2.39  bmlqr2s490031…``: names first, since every match shares the store directory."""
    _dir, digest, name = split_store_path(path)
    text = Text(name or path, style="bold")
    if digest:
        text.append(f"  {digest[:DIGEST_PREVIEW]}…", style="dim")
    return text

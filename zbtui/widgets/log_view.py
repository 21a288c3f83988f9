"""A build log viewer that never reads a log whole (modelled on Toolong).

``LogView`` is a Line-API ``ScrollView`` over a :class:`~zbtui.store.logs.LogFile`:

* Its memory is an index of line-start byte offsets (``array('q')``, 8 bytes
  a line), built in thread workers, plus LRU caches of the
  lines most recently shown. Rendering a screenful reads only those lines'
  byte ranges, in a thread worker; a line not read yet is drawn blank for the
  frame it takes to arrive.
* Every line goes through :func:`~zbtui.store.sanitize.sanitize_log` (SGR
  colours kept, every other escape sequence and control character removed)
  and then ``rich.text.Text.from_ansi``, so colours survive and nothing can
  move the cursor, retitle the window, write the clipboard or make links.
* It opens at the end at once: the last :data:`TAIL_BYTES` are indexed
  first and shown, then the lines before them are indexed in the background
  (progress reported at most a few times a second) and prepended without
  moving what is on screen. Until then line numbers count from the start of
  that tail, and search looks only in it. While the build runs (``growing``) a poll watches the
  size and indexes what was appended; in follow mode the view stays at the
  bottom if it was at the bottom (Toolong's rule), so scrolling up to read
  is never interrupted.
* Search reads the file in chunks in a worker (:meth:`LogFile.find`) and
  moves to and highlights the matching line.

All file access happens in thread workers; the UI thread only renders what
they posted.
"""

from __future__ import annotations

import operator
import time
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, get_current_worker

from ..store.logs import LogFile, open_log
from ..store.sanitize import sanitize_log

__all__ = ["LINE_CHAR_CAP", "POLL_SECONDS", "LogView"]

LINE_CHAR_CAP = 4096
"""Characters of one line that are rendered; the rest is shown as "…".

A minified bundle or a progress bar without newlines can make a single
1 MB line; rendering (and horizontally scrolling) all of it would cost as
much as a thousand ordinary lines for text nobody reads."""

LINE_BYTE_CAP = 4 * LINE_CHAR_CAP
"""Bytes of one line that are read: up to 4 UTF-8 bytes per character, so the
character cap is reached before this runs out (colour codes take a little)."""

INDEX_SLICE = 8 << 20
"""Bytes indexed between two checks for cancellation (8 MiB: a fraction of a
second, so leaving a huge log stops its indexing promptly)."""

TAIL_BYTES = 4 << 20
"""Bytes at the end of the log indexed (and shown) before the rest: a log of
any size opens at its end in the time it takes to scan these."""

PROGRESS_SECONDS = 0.25
"""Least time between two progress messages of an indexing thread, so a huge
log cannot flood the widget's message queue."""

TEXT_CACHE_LINES = 2000
"""Parsed lines kept: several screens up and down, at most ~8 MB even when
every line is at the character cap."""

STRIP_CACHE_LINES = 400
"""Rendered strips kept: a few screens (re-rendering a strip is cheap)."""

PREFETCH_PAGES = 1
"""Read a page above and below the visible lines, so scrolling by a line or a
page rarely shows a line before it was read."""

POLL_SECONDS = 0.5
"""How often a growing log's size is checked. zb flushes a log at least every
100 ms; half a second feels live without re-stat'ing ten times a second."""

TAB_SIZE = 8
"""Tab stops every 8 columns, as terminals and ``less`` show build output."""


@dataclass
class _Opened(Message):
    log: LogFile
    generation: int


@dataclass
class _Indexed(Message):
    generation: int
    starts: array
    scanned: int
    size: int
    widest: int
    done: bool


@dataclass
class _TailIndexed(Message):
    """The end of the log was indexed: show it."""

    generation: int
    base: int
    """Offset of the first indexed line (0: the whole log was indexed)."""
    base_real: bool
    """``base`` truly starts a line (False: no newline in the tail, so the
    view starts inside a very long line)."""
    starts: array
    size: int
    widest: int


@dataclass
class _Backfilled(Message):
    """Progress of indexing the lines before the tail; ``head`` once done."""

    generation: int
    scanned: int
    head: array | None = None
    widest: int = 0


@dataclass
class _Shrunk(Message):
    """The file got shorter than what was indexed (rotated or rewritten)."""

    generation: int


@dataclass
class _Polled(Message):
    generation: int


@dataclass
class _LinesLoaded(Message):
    generation: int
    lines: list[tuple[int, int, int, Text]]
    """(line index, start offset, end offset, parsed line)."""
    layout: int = 0
    """The view's line numbering when the lines were asked for."""


@dataclass
class _Found(Message):
    generation: int
    needle: str
    offset: int | None
    wrapped: bool


@dataclass
class _Failed(Message):
    generation: int
    error: str


def render_line_bytes(data: bytes, truncated: bool) -> Text:
    """Turn one line's bytes into safe, styled text.

    Args:
        data: The line (its ``\\n`` included or not), at most `LINE_BYTE_CAP` bytes.
        truncated: The line goes on past ``data``.

    Returns:
        Text with SGR colours as styles and no control characters at all.
    """
    safe = sanitize_log(data, keep_sgr=True)
    if safe.endswith("\n"):
        safe = safe[:-1]
    text = Text.from_ansi(safe, end="", no_wrap=True, tab_size=TAB_SIZE)
    text.expand_tabs(TAB_SIZE)
    if len(text) > LINE_CHAR_CAP or truncated:
        text = text[:LINE_CHAR_CAP]
        text.append(" …", style="dim")
    return text


class LogView(ScrollView, can_focus=True):
    """A scrolling view of one build log, read by byte ranges."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--match-line",
        "log-view--match",
        "log-view--note",
    }
    """``match-line``: the line of the current search match; ``match``: the
    matched text; ``note``: "(empty log)" and similar notes."""

    BINDINGS = [
        # Home/End, arrows and pages come from ScrollableContainer; G is less's
        # "end" (g is left to the app's "Go to").
        Binding("G", "scroll_end", "End", show=False, tooltip="Go to the last line"),
    ]

    class StateChanged(Message):
        """Size, line count, follow or search state changed (for a status line)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.path: str | None = None
        """The log file shown (None until `open`)."""
        self.growing = False
        """The build result is still running, so the log may grow."""
        self.follow = False
        """Stay at the bottom as lines are appended (when at the bottom)."""
        self.error: str | None = None
        """Why the log could not be read, once that happened."""
        self.indexing = False
        """The lines before the end are still being indexed (line numbers
        are then counted from the first indexed line, see `first_offset`)."""
        self.match_line: int | None = None
        """Line of the current search match."""
        self.last_search: str | None = None
        self._log: LogFile | None = None
        self._generation = 0
        self._starts = array("q")
        self._scanned = 0
        self._file_size = 0
        self._widest = 0
        self._base = 0
        self._base_real = True
        self._backfilled = 0
        self._tail_ready = False
        self._layout = 0
        self._backfill_worker: Worker[None] | None = None
        self._texts: LRUCache[int, tuple[int, int, Text]] = LRUCache(TEXT_CACHE_LINES)
        self._strips: LRUCache[int, Strip] = LRUCache(STRIP_CACHE_LINES)
        self._inflight: set[int] = set()
        self._match_offset: int | None = None
        self._polling = False
        self._at_end = True
        self._searching = False
        self._search_queue: list[tuple[str, bool]] = []

    # -- public API ------------------------------------------------------------

    @property
    def line_count(self) -> int:
        """Lines indexed so far."""
        return len(self._starts)

    @property
    def size_bytes(self) -> int:
        """Bytes indexed so far (the file's size once indexing caught up)."""
        return self._scanned - self._base + self._backfilled

    @property
    def indexed_fraction(self) -> float:
        """How much of the log the line index covers (0 to 1)."""
        if not self._file_size:
            return 0.0 if self.indexing else 1.0
        return min(1.0, self.size_bytes / self._file_size)

    @property
    def first_offset(self) -> int:
        """Byte offset of the first line shown: 0 once the whole log is indexed."""
        return self._base

    @property
    def following(self) -> bool:
        """Follow mode is on and the log may still grow."""
        return self.follow and self.growing

    def open(self, path: str, *, growing: bool = False) -> None:
        """Show the log at ``path`` (opened in a worker), scrolled to the end.

        Args:
            path: The log file (``.bz2`` logs are decompressed first).
            growing: The build result is running: watch the log grow.
        """
        self._close()
        self._generation += 1
        self.path = path
        self.growing = growing
        self.follow = growing
        self.error = None
        self.indexing = True
        self._reset_index()
        generation = self._generation
        self.run_worker(
            lambda: self._open_in_thread(path, generation),
            thread=True,
            exclusive=True,
            group="log-open",
            exit_on_error=False,
            description="LogView.open",
        )
        self._changed()

    def set_growing(self, growing: bool) -> None:
        """Tell the view whether the build result is still running.

        When it stops, one last look at the file picks up the final bytes.
        """
        if growing == self.growing:
            return
        self.growing = growing
        if not growing:
            self.follow = False
            self._schedule_poll(immediate=True)
        else:
            self._schedule_poll()
        self._changed()

    def toggle_follow(self) -> None:
        """Turn following on (jumping to the end) or off."""
        self.follow = not self.follow
        if self.follow:
            self.scroll_end(animate=False, force=True)
        self._changed()

    def search(self, needle: str, *, backwards: bool = False) -> None:
        """Find the next (or previous) line containing ``needle``, in a worker.

        Smart case: a needle in lower case matches either case; one with a
        capital letter matches exactly. Matching is on the log's raw bytes
        (colour codes inside a word hide it).
        """
        log = self._log
        if log is None or not needle:
            return
        if self._searching:
            # n pressed again before the last search answered: each press
            # must move one match further, so queue it rather than restart.
            self._search_queue.append((needle, backwards))
            return
        self._searching = True
        if needle != self.last_search:
            self._match_offset = None
        self.last_search = needle
        if self._match_offset is not None:
            start = self._match_offset + 1 if not backwards else self._match_offset
        else:
            top = int(self.scroll_y)
            if backwards:
                bottom = top + self.scrollable_content_region.height
                start = self._starts[bottom] if bottom < len(self._starts) else self._scanned
            else:
                start = self._starts[top] if top < len(self._starts) else 0
        generation = self._generation
        ignore_case = needle == needle.lower()
        lo = self._base
        self.run_worker(
            lambda: self._search_in_thread(
                log, generation, needle, start, backwards, ignore_case, lo
            ),
            thread=True,
            group="log-search",
            exit_on_error=False,
            description="LogView.search",
        )

    def line_strip(self, index: int) -> Strip | None:
        """The rendered line ``index`` if it was read (for tests and tools)."""
        return self._strip(index)

    def clear_search(self) -> None:
        """Forget the current match and its highlight."""
        if self.match_line is not None:
            self._strips.discard(self.match_line)
        self.match_line = None
        self._match_offset = None
        self.refresh()
        self._changed()

    # -- lifecycle -------------------------------------------------------------

    def on_unmount(self) -> None:
        self._close()

    def _close(self) -> None:
        self._cancel_backfill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _cancel_backfill(self) -> None:
        if self._backfill_worker is not None:
            self._backfill_worker.cancel()
            self._backfill_worker = None

    def _reset_index(self) -> None:
        self._cancel_backfill()
        self._starts = array("q")
        self._scanned = 0
        self._file_size = 0
        self._widest = 0
        self._base = 0
        self._base_real = True
        self._backfilled = 0
        self._tail_ready = False
        self._texts.clear()
        self._strips.clear()
        self._inflight.clear()
        # A poll of the previous file may still be pending: it sees the old
        # generation and does nothing, so the new file may schedule its own.
        self._polling = False
        self.match_line = None
        self._match_offset = None
        self.virtual_size = Size(0, 0)
        self.scroll_to(0, 0, animate=False, force=True)
        self._at_end = True

    def _changed(self) -> None:
        self.post_message(self.StateChanged())

    def notify_style_update(self) -> None:
        # Theme or CSS changed: rendered strips hold old colours.
        super().notify_style_update()
        self._strips.clear()

    # -- workers (threads) -----------------------------------------------------

    def _open_in_thread(self, path: str, generation: int) -> None:
        try:
            log = open_log(path)
        except Exception as exc:  # LogError says it in one line; anything else is a bug, said once
            self.post_message(_Failed(generation, str(exc)))
            return
        if get_current_worker().is_cancelled:
            log.close()
            return
        self.post_message(_Opened(log, generation))

    def _tail_in_thread(self, log: LogFile, generation: int) -> None:
        """Index the last `TAIL_BYTES` of the log, from its first line start."""
        try:
            size = log.size()
            tail_from = max(0, size - TAIL_BYTES)
            starts = log.line_starts(tail_from, size)
            if tail_from == 0 or (starts and starts[0] == tail_from):
                base, base_real = tail_from, True
            elif starts:
                # Start at the first whole line; the bytes before it are the
                # end of a line the backfill finds the start of.
                base, base_real = starts[0], True
            else:
                # No newline in the whole tail: one huge line (or a sparse
                # file). Show it from here; the backfill finds its start.
                base, base_real = tail_from, False
                starts.append(tail_from)
            widest = _widest(starts, None, size)
        except Exception as exc:
            self.post_message(_Failed(generation, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(_TailIndexed(generation, base, base_real, starts, size, widest))

    def _backfill_in_thread(self, log: LogFile, generation: int, end: int) -> None:
        """Index ``[0, end)``, reporting progress now and then and the lines at the end."""
        worker = get_current_worker()
        head = array("q")
        widest = 0
        last_start: int | None = None
        pos = 0
        reported = time.monotonic()
        try:
            while pos < end:
                if worker.is_cancelled:
                    return
                stop = min(end, pos + INDEX_SLICE)
                starts = log.line_starts(pos, stop)
                widest = max(widest, _widest(starts, last_start, stop))
                if starts:
                    last_start = starts[-1]
                    head.extend(starts)
                pos = stop
                now = time.monotonic()
                if now - reported >= PROGRESS_SECONDS and pos < end:
                    reported = now
                    self.post_message(_Backfilled(generation, pos))
        except Exception as exc:
            self.post_message(_Failed(generation, str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(_Backfilled(generation, end, head, widest))

    def _index_in_thread(
        self, log: LogFile, generation: int, start: int, last_start: int | None
    ) -> None:
        """Index line starts from ``start`` to the current end (what was appended).

        The lines found are posted at most every `PROGRESS_SECONDS`, however
        much was appended.
        """
        worker = get_current_worker()
        try:
            size = log.size()
            if size < start:
                self.post_message(_Shrunk(generation))
                return
            pos = start
            pending = array("q")
            widest = 0
            reported = time.monotonic()
            while True:
                if worker.is_cancelled:
                    return
                stop = min(size, pos + INDEX_SLICE)
                starts = log.line_starts(pos, stop)
                widest = max(widest, _widest(starts, last_start, stop))
                if starts:
                    last_start = starts[-1]
                    pending.extend(starts)
                pos = stop
                done = pos >= size
                now = time.monotonic()
                if done or now - reported >= PROGRESS_SECONDS:
                    reported = now
                    self.post_message(_Indexed(generation, pending, pos, size, widest, done))
                    pending = array("q")
                    widest = 0
                if done:
                    return
        except Exception as exc:
            self.post_message(_Failed(generation, str(exc)))

    def _fetch_in_thread(
        self, log: LogFile, generation: int, ranges: list[tuple[int, int, int]], layout: int = 0
    ) -> None:
        lines: list[tuple[int, int, int, Text]] = []
        try:
            for index, start, end in ranges:
                length = end - start
                data = log.read(start, min(length, LINE_BYTE_CAP))
                lines.append((index, start, end, render_line_bytes(data, length > LINE_BYTE_CAP)))
        except Exception as exc:
            self.post_message(_Failed(generation, str(exc)))
        self.post_message(_LinesLoaded(generation, lines, layout))

    def _search_in_thread(
        self,
        log: LogFile,
        generation: int,
        needle: str,
        start: int,
        backwards: bool,
        ignore_case: bool,
        lo: int = 0,
    ) -> None:
        """Find ``needle`` from ``start``, in ``[lo, end)`` (``lo``: the first indexed line)."""
        raw = needle.encode("utf-8")

        def find(at: int) -> int | None:
            if backwards and lo:
                return _rfind_from(log, raw, at, lo, ignore_case)
            found = log.find(raw, max(at, lo), backwards=backwards, ignore_case=ignore_case)
            return found if found is None or found >= lo else None

        try:
            offset = find(start)
            wrapped = False
            if offset is None:
                # Wrap around, as less and vim do, and say so.
                restart = log.size() if backwards else lo
                offset = find(restart)
                wrapped = offset is not None
        except Exception as exc:
            self.post_message(_Failed(generation, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(_Found(generation, needle, offset, wrapped))

    # -- messages from the workers (UI thread) ----------------------------------

    def on__opened(self, message: _Opened) -> None:
        message.stop()
        if message.generation != self._generation or not self.is_attached:
            message.log.close()
            return
        self._log = message.log
        self._start_tail()

    def _start_tail(self) -> None:
        log = self._log
        if log is None:
            return
        generation = self._generation
        self.run_worker(
            lambda: self._tail_in_thread(log, generation),
            thread=True,
            exclusive=True,
            group="log-index",
            exit_on_error=False,
            description="LogView.index",
        )

    def on__tail_indexed(self, message: _TailIndexed) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        log = self._log
        self._tail_ready = True
        self._base = message.base
        self._base_real = message.base_real
        self._starts = message.starts
        self._scanned = message.size
        self._file_size = message.size
        self._widest = message.widest
        self.virtual_size = Size(self._widest + 1, len(self._starts))
        # force: before the first layout the scrollbars (and so "may scroll")
        # are not known yet, and a log opens at its end regardless.
        self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        self.scroll_end(animate=False, force=True)
        self.indexing = message.base > 0
        if self.indexing and log is not None:
            generation = self._generation
            end = message.base
            self._backfill_worker = self.run_worker(
                lambda: self._backfill_in_thread(log, generation, end),
                thread=True,
                exclusive=True,
                group="log-backfill",
                exit_on_error=False,
                description="LogView.index",
            )
        self._schedule_poll()
        self.refresh()
        self._want()
        self._changed()

    def on__backfilled(self, message: _Backfilled) -> None:
        message.stop()
        if message.generation != self._generation or not self.indexing:
            return
        head = message.head
        if head is None:
            self._backfilled = message.scanned
            self._changed()
            return
        self._backfill_worker = None
        # Prepend: old line i is now line i + shift. Without a real line start
        # at the old base, the old first line was the end of the head's last.
        drop = 0 if self._base_real else 1
        shift = len(head) - drop
        head.extend(self._starts[drop:])
        self._starts = head
        self._base = 0
        self._base_real = True
        self._backfilled = 0
        self.indexing = False
        self._widest = max(self._widest, message.widest)
        texts = [(key, self._texts.get(key)) for key in list(self._texts.keys())]
        self._texts.clear()
        for key, value in texts:
            if value is not None:
                # A line whose range changed (the old first) is read again.
                self._texts.set(key + shift, value)
        self._strips.clear()
        # Reads in flight answer with the old numbers and are dropped.
        self._layout += 1
        self._inflight.clear()
        if self.match_line is not None:
            self.match_line += shift
        at_end = self._at_end
        top = self.scroll_y
        self.virtual_size = Size(self._widest + 1, len(self._starts))
        if at_end:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        else:
            # The same lines stay on screen.
            self.scroll_to(y=top + shift, animate=False, force=True)
        self.refresh()
        self._want()
        self._changed()

    def on__indexed(self, message: _Indexed) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        # Stay at the end if we were there, in follow mode.
        stick = self._at_end and self.follow
        if self._starts:
            # The old last line may have been partial: its end moved.
            self._forget(len(self._starts) - 1)
        self._starts.extend(message.starts)
        self._scanned = message.scanned
        self._file_size = max(message.size, message.scanned)
        self._widest = max(self._widest, message.widest)
        self.virtual_size = Size(self._widest + 1, len(self._starts))
        if stick:
            # force: before the first layout the scrollbars (and so "may scroll") are
            # not known yet, and a log opens at its end regardless.
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
            # A horizontal scrollbar may appear with the new lines, one row
            # shorter: go to the end again once the layout is known.
            self.scroll_end(animate=False, force=True)
        self.refresh()
        self._want()
        self._changed()

    def on__shrunk(self, message: _Shrunk) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        # Rewritten under us: start over on the same open file.
        self._generation += 1
        self._reset_index()
        self.indexing = True
        self._start_tail()
        self._changed()

    def on__lines_loaded(self, message: _LinesLoaded) -> None:
        message.stop()
        if message.generation != self._generation or message.layout != self._layout:
            return
        visible = range(int(self.scroll_y), int(self.scroll_y) + self.size.height)
        repaint = False
        for index, start, end, text in message.lines:
            self._inflight.discard(index)
            if self._line_range(index) != (start, end):
                continue  # The line grew while it was read: read again.
            self._texts.set(index, (start, end, text))
            self._strips.discard(index)
            repaint = repaint or index in visible
        if repaint:
            self.refresh()
        self._want()

    def on__found(self, message: _Found) -> None:
        message.stop()
        self._searching = False
        if message.generation != self._generation:
            self._search_queue.clear()
            return
        self._show_match(message)
        if self._search_queue:
            needle, backwards = self._search_queue.pop(0)
            self.search(needle, backwards=backwards)

    def _show_match(self, message: _Found) -> None:
        if message.offset is None:
            self._search_queue.clear()
            where = " (in the lines indexed so far)" if self.indexing else ""
            self.notify(
                f"Not found{where}: {message.needle}",
                title="Search",
                severity="warning",
                timeout=3,
            )
            return
        if message.offset < self._base:
            # Searched before the end was indexed: the match is in the part
            # still being indexed.
            self.notify(
                "The match is in the part of the log still being indexed; "
                "search again in a moment.",
                title="Search",
            )
            return
        if message.offset >= self._scanned:
            self.notify(
                "The match is past the part indexed so far; search again in a moment.",
                title="Search",
            )
            return
        line = bisect_right(self._starts, message.offset) - 1
        if self.match_line is not None:
            self._strips.discard(self.match_line)
        self.match_line = line
        self._match_offset = message.offset
        self._strips.discard(line)
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if not top <= line < top + height:
            self.scroll_to(y=max(0, line - height // 2), animate=False, force=True)
        if message.wrapped:
            where = "the lines indexed so far" if self.indexing else "the log"
            self.notify(f"Search wrapped around {where}.", title="Search", timeout=2)
        self.refresh()
        self._changed()

    def on__failed(self, message: _Failed) -> None:
        message.stop()
        self._searching = False
        self._search_queue.clear()
        if message.generation != self._generation:
            return
        self.error = message.error
        self.indexing = False
        self.growing = False
        self.refresh()
        self._changed()

    def on__polled(self, message: _Polled) -> None:
        message.stop()
        if message.generation == self._generation:
            self._polling = False
            self._schedule_poll()

    # -- following a growing log -------------------------------------------------

    def _schedule_poll(self, *, immediate: bool = False) -> None:
        """A self-rescheduling poll (habit 5): one check, then the next timer."""
        if self._polling or self._log is None or not self._tail_ready:
            return
        if not self.growing and not immediate:
            return
        self._polling = True
        generation = self._generation
        if immediate:
            self._poll(generation)
        else:
            self.set_timer(POLL_SECONDS, lambda: self._poll(generation))

    def _poll(self, generation: int) -> None:
        if generation != self._generation:
            return  # a poll of a file no longer shown
        log = self._log
        if log is None:
            self._polling = False
            return
        start = self._scanned
        last_start = self._starts[-1] if self._starts else None

        def poll_in_thread() -> None:
            try:
                size = log.size()
            except Exception as exc:
                self.post_message(_Failed(generation, str(exc)))
                return
            if size != start:
                self._index_in_thread(log, generation, start, last_start)
            self.post_message(_Polled(generation))

        self.run_worker(
            poll_in_thread,
            thread=True,
            exclusive=True,
            group="log-poll",
            exit_on_error=False,
            description="LogView.poll",
        )

    # -- rendering ---------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Whoever moved the view (the user, a search, following), it is "at
        # the end" exactly when it shows the last line; new lines keep it there.
        self._at_end = round(new_value) >= self.max_scroll_y
        self._want()

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        # A horizontal scrollbar takes a row from the view, so the last line
        # moves below it: stay at the end once the new layout is known.
        if self._at_end:
            self.call_after_refresh(self.scroll_end, animate=False, force=True)

    def on_resize(self) -> None:
        if self._at_end:
            self.scroll_end(animate=False, force=True)
        self._want()

    def _line_range(self, index: int) -> tuple[int, int] | None:
        starts = self._starts
        if not 0 <= index < len(starts):
            return None
        end = starts[index + 1] if index + 1 < len(starts) else self._scanned
        return starts[index], end

    def _forget(self, index: int) -> None:
        self._texts.discard(index)
        self._strips.discard(index)
        self._inflight.discard(index)

    def _want(self) -> None:
        """Read, in a worker, the lines on screen and a page either side."""
        log = self._log
        count = len(self._starts)
        if log is None or not count:
            return
        height = max(1, self.size.height)
        top = int(self.scroll_y)
        first = max(0, top - height * PREFETCH_PAGES)
        last = min(count, top + height * (1 + PREFETCH_PAGES))
        ranges = []
        for index in range(first, last):
            if index in self._inflight:
                continue
            cached = self._texts.get(index)
            line_range = self._line_range(index)
            if cached is not None and cached[:2] == line_range:
                continue
            assert line_range is not None
            ranges.append((index, *line_range))
            self._inflight.add(index)
        if not ranges:
            return
        generation = self._generation
        layout = self._layout
        self.run_worker(
            lambda: self._fetch_in_thread(log, generation, ranges, layout),
            thread=True,
            group="log-fetch",
            exit_on_error=False,
            description="LogView.fetch",
        )

    def _strip(self, index: int) -> Strip | None:
        strip = self._strips.get(index)
        if strip is not None:
            return strip
        cached = self._texts.get(index)
        if cached is None or cached[:2] != self._line_range(index):
            return None
        text = cached[2]
        if index == self.match_line and self.last_search:
            text = text.copy()
            text.stylize_before(self.get_component_rich_style("log-view--match-line", partial=True))
            text.highlight_words(
                [self.last_search],
                self.get_component_rich_style("log-view--match", partial=True),
                case_sensitive=self.last_search != self.last_search.lower(),
            )
        strip = Strip(list(text.render(self.app.console)), text.cell_len)
        if index == self.match_line:
            strip = strip.extend_cell_length(
                max(self._widest + 1, self.size.width),
                self.get_component_rich_style("log-view--match-line", partial=True),
            )
        self._strips.set(index, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self._starts:
            if y == 0 and self._tail_ready and self.error is None and self._log is not None:
                note = "(the log is empty so far)" if self.growing else "(the log is empty)"
                style = base + self.get_component_rich_style("log-view--note", partial=True)
                return (
                    Strip([*Text(note).render(self.app.console)])
                    .apply_style(style)
                    .crop_extend(0, width, base)
                )
            return Strip.blank(width, base)
        strip = self._strip(index)
        if strip is None:
            return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(base)


def _rfind_from(log: LogFile, needle: bytes, start: int, lo: int, ignore_case: bool) -> int | None:
    """Like ``log.find(needle, start, backwards=True)``, but no match before ``lo``."""
    if ignore_case:
        needle = needle.lower()
    overlap = len(needle) - 1
    worker = get_current_worker()
    hi = min(start, log.size())
    while hi > lo and not worker.is_cancelled:
        chunk_lo = max(lo, hi - (1 << 20))
        data = log.read(chunk_lo, hi - chunk_lo + overlap)
        if ignore_case:
            data = data.lower()
        i = data.rfind(needle)
        if i != -1:
            return chunk_lo + i
        hi = chunk_lo
    return None


def _widest(starts: array, last_start: int | None, end: int) -> int:
    """Longest line (in bytes, capped) among those ``starts`` completes or begins."""
    widest = 0
    if len(starts) > 1:
        widest = max(map(operator.sub, starts[1:], starts[:-1]))
    if last_start is not None and starts:
        widest = max(widest, starts[0] - last_start)
    tail_start = starts[-1] if starts else last_start
    if tail_start is not None:
        widest = max(widest, end - tail_start)
    return min(widest, LINE_CHAR_CAP + 2)

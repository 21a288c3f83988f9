"""Pilot tests of the log screen and the LogView widget."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time

from helpers import open_demo
from rich.text import Text
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import WorkerCancelled

from zbtui.demo.builder import DemoStore
from zbtui.screens.log import LogScreen
from zbtui.store.sanitize import sanitize_log
from zbtui.widgets import log_view
from zbtui.widgets.log_view import LINE_CHAR_CAP, LogView, render_line_bytes

GROW_WAIT_S = 5.0
"""How long an appended line may take to show (the poll runs every 0.5 s)."""

FORBIDDEN = {chr(c) for c in range(0x20)} | {"\x7f"} | {chr(c) for c in range(0x80, 0xA0)}
"""Characters that must never reach the terminal from a log: every C0 control
(tabs are expanded to spaces), DEL and every C1 control. SGR colours survive
as styles, so not even ESC is left in the text."""


def result_for_log(store, build_id: str, log_path: str):
    return next(r for r in store.build(build_id).results if r.log.path == log_path)


def build_of_log(demo: DemoStore, log_path: str) -> str:
    # <log_dir>/<uuid[0:4]>/<uuid>/<name>.txt
    return os.path.basename(os.path.dirname(log_path))


async def settle(pilot) -> None:
    """Let posted messages start their workers, wait for them, deliver.

    Twice: a delivered result may start the next worker (a log's lines are
    read once its index arrives).
    """
    for _ in range(2):
        await pilot.pause()
        with contextlib.suppress(WorkerCancelled):  # superseded by a newer load
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def visible_lines(view: LogView) -> list[str]:
    return [view.render_line(y).text.rstrip() for y in range(view.scrollable_content_region.height)]


def last_line_of(path: str) -> str:
    with open(path, "rb") as f:
        data = f.read()
    return sanitize_log(data.rstrip(b"\n").rsplit(b"\n", 1)[-1])


async def test_log_opens_at_the_end(zb_stale, demo_stale: DemoStore, make_app) -> None:
    world = demo_stale.facts["build_ids"]["world"]
    detail = zb_stale.build(world)
    result = max((r for r in detail.results if r.log.exists), key=lambda r: r.log.size or 0)
    async with make_app(zb_stale).run_test(size=(120, 40)) as pilot:
        # What Enter on a result in the build detail calls (tested there).
        pilot.app.open_log(world, result.drv_path)
        await settle(pilot)
        log = pilot.app.screen
        assert isinstance(log, LogScreen)
        view = log.query_one(LogView)
        with open(result.log.path, "rb") as f:
            assert view.line_count == f.read().count(b"\n")
        # Longer than the screen, and scrolled to its end.
        assert view.max_scroll_y > 0
        assert view.scroll_y == view.max_scroll_y
        last = last_line_of(result.log.path)
        assert view.line_strip(view.line_count - 1).text == last
        # The bottom row of the view shows it (cut at the view's width).
        shown = visible_lines(view)[-1]
        assert shown and last.startswith(shown)
        status = str(log.query_one("#log-status", Static).render())
        assert "finished" in status and f"{view.line_count} lines" in status

        # A reused result has no log: the reason is shown plainly.
        reused = next(r for r in detail.results if not r.log.exists)
        pilot.app.pop_screen()
        pilot.app.open_log(world, reused.drv_path)
        await settle(pilot)
        screen = pilot.app.screen
        assert not screen.query_one(LogView).display
        missing = screen.query_one("#log-missing", Static)
        assert missing.display
        assert "reused or substituted, no builder ran" in str(missing.render())
        # Search does not apply to a log that is not there.
        assert screen.check_action("search", ()) is False


async def test_hostile_log_is_clean_and_searchable(
    zb_stale, demo_stale: DemoStore, make_app
) -> None:
    hostile = demo_stale.facts["hostile_log"]
    build_id = build_of_log(demo_stale, hostile)
    result = result_for_log(zb_stale, build_id, hostile)
    with open(hostile, "rb") as f:
        raw_lines = f.read().split(b"\n")
    testfail_line = next(i for i, line in enumerate(raw_lines) if b"TESTFAIL" in line)
    checking = [i for i, line in enumerate(raw_lines) if b"checking" in line]
    async with make_app(zb_stale).run_test(size=(120, 24)) as pilot:
        pilot.app.open_log(build_id, result.drv_path)
        await settle(pilot)
        view = pilot.app.screen.query_one(LogView)
        assert view.line_count == len(raw_lines) - 1

        # Every line is free of control characters; the colours survive as
        # styles. (Only the screen and a page either side are read: visit the
        # top too; the end stays cached.)
        await pilot.press("home")
        await settle(pilot)
        coloured = False
        texts = []
        for index in range(view.line_count):
            strip = view.line_strip(index)
            assert strip is not None, f"line {index} was not read"
            for segment in strip:
                assert not FORBIDDEN & set(segment.text), (index, segment.text)
                if (
                    segment.text.strip() == "FAIL"
                    and segment.style is not None
                    and segment.style.color is not None
                ):
                    coloured = True
            texts.append(strip.text)
        assert coloured, "SGR colours are kept"
        joined = "\n".join(texts)
        # The visible text of the hostile lines is still there, the sequences are not.
        assert "all tests passed" in joined and "click me" in joined
        assert "evil.example" not in joined and "Y3VybCBo" not in joined
        # And what the terminal receives for the whole screen is clean too.
        await pilot.press("end")
        await pilot.pause()
        for y in range(view.scrollable_content_region.height):
            assert not FORBIDDEN & set(view.render_line(y).text)

        # Search.
        await pilot.press("slash")
        search = pilot.app.screen.query_one("#log-search")
        assert search.has_focus
        await pilot.press("t", "e", "s", "t")
        search.value = "testfail"  # lower case: any case matches
        await pilot.press("enter")
        await settle(pilot)
        assert not search.display
        assert view.match_line == testfail_line
        assert "TESTFAIL" in view.line_strip(testfail_line).text
        await pilot.press("slash")
        search.value = "checking"
        await pilot.press("enter")
        await settle(pilot)
        first = view.match_line
        assert first in checking
        await pilot.press("n")
        await settle(pilot)
        assert view.match_line == checking[(checking.index(first) + 1) % len(checking)]
        await pilot.press("N")
        await settle(pilot)
        assert view.match_line == first
        # The match is on screen.
        assert (
            int(view.scroll_y) <= first < int(view.scroll_y) + view.scrollable_content_region.height
        )
        assert "checking" in str(pilot.app.screen.query_one("#log-status", Static).render())


async def test_growing_log_is_followed(demo_fresh: DemoStore, make_app) -> None:
    store = open_demo(demo_fresh)
    facts = demo_fresh.facts
    active_log = facts["active_log"]
    build_id = facts["active_build_id"]
    result = result_for_log(store, build_id, active_log)
    assert result.log.growing
    try:
        async with make_app(store).run_test(size=(120, 24)) as pilot:
            pilot.app.open_log(build_id, result.drv_path)
            await settle(pilot)
            screen = pilot.app.screen
            view = screen.query_one(LogView)
            assert view.following
            assert "following" in str(screen.query_one("#log-status", Static).render())
            before = view.line_count
            # The fixture's log ends in the middle of a line, as a running builder's does.
            with open(active_log, "ab") as f:
                f.write(b"piece\nappended by the test 1\nappended by the test 2\n")
            deadline = time.monotonic() + GROW_WAIT_S
            while (
                view.line_count < before + 2
                or "appended by the test 2" not in visible_lines(view)[-1]
            ):
                assert time.monotonic() < deadline, "the appended lines never appeared"
                await pilot.pause(0.05)
            assert view.scroll_y == view.max_scroll_y
            assert visible_lines(view)[-2].endswith("appended by the test 1")
            # f stops following: the next lines do not move the view.
            await pilot.press("f")
            assert not view.following
            await pilot.press("up", "up")
            top = view.scroll_y
            with open(active_log, "ab") as f:
                f.write(b"appended by the test 3\n")
            deadline = time.monotonic() + GROW_WAIT_S
            while view.line_count < before + 3:
                assert time.monotonic() < deadline, "the third line never arrived"
                await pilot.pause(0.05)
            assert view.scroll_y == top
    finally:
        store.close()


def test_render_line_bytes_caps_and_cleans() -> None:
    text = render_line_bytes(b"\x1b[31mred\x1b[0m \x1b]0;title\x07plain\ttab\r\n", False)
    assert text.plain == "red plain" + " " * 7 + "tab"  # tab stops every 8 columns
    assert any(span.style for span in text.spans)
    long = render_line_bytes(b"x" * 20_000, True)
    assert long.plain.startswith("x" * LINE_CHAR_CAP) and long.plain.endswith("…")
    assert len(long.plain) == LINE_CHAR_CAP + 2
    assert isinstance(long, Text)


# -- huge logs: the end first, the rest in the background ----------------------------


class _LogApp(App):
    """A bare app whose pushed screen holds one LogView (no store needed)."""

    def compose(self) -> ComposeResult:
        yield Static("home")


class _ViewScreen(Screen):
    def compose(self) -> ComposeResult:
        yield LogView(id="log-view")


async def _wait_for(pilot, condition, what: str, seconds: float = 5.0) -> float:
    """Pause until ``condition()``; fail after ``seconds``. Returns the time taken."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what} took over {seconds} s"
        await pilot.pause(0.05)
    return time.monotonic() - started


def _shown(view: LogView) -> list[str]:
    """The view's rows without the blank ones below a short log."""
    rows = visible_lines(view)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _index_workers(app) -> list:
    return [w for w in app.workers if w.description == "LogView.index" and not w.is_finished]


async def test_ten_gib_sparse_log_shows_its_end_at_once(tmp_path) -> None:
    path = str(tmp_path / "huge.txt")
    size = 10 << 30
    with open(path, "wb") as f:
        f.truncate(size - 40)
        f.seek(size - 40)
        f.write(b"\nsecond to last line\nthe very last line\n")
    assert os.path.getsize(path) == size
    app = _LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = _ViewScreen()
        await app.push_screen(screen)
        view = screen.query_one(LogView)
        view.open(path)
        took = await _wait_for(
            pilot,
            lambda: _shown(view)[-1:] == ["the very last line"],
            "showing the end of a 10 GiB log",
        )
        print(f"end of a 10 GiB log shown after {took:.2f} s")
        assert _shown(view)[-2] == "second to last line"
        # The rest is still being indexed, in the background.
        assert view.indexing and 0 < view.first_offset < size
        assert 0 < view.size_bytes < size and view.indexed_fraction < 0.5
        assert _index_workers(app), "the backfill runs"
        # Progress is coalesced: the event loop never stalls and the widget's
        # queue stays short. (Not pilot.pause: its wait for an idle process
        # lasts its full second while the backfill thread works.)
        worst = 0.0
        longest_queue = 0
        for _ in range(8):
            before = time.monotonic()
            await asyncio.sleep(0.1)
            worst = max(worst, time.monotonic() - before - 0.1)
            longest_queue = max(longest_queue, view._message_queue.qsize())
        assert worst < 0.5, f"the event loop stalled {worst:.2f} s"
        assert longest_queue < 5
        assert view.indexing and view.size_bytes > 4 << 20, "the backfill progresses"
        # Leaving the view stops the backfill promptly.
        app.pop_screen()
        await _wait_for(pilot, lambda: not _index_workers(app), "stopping the backfill")
        assert os.stat(path).st_blocks * 512 < 1 << 20, "still sparse"


async def test_backfill_prepends_without_moving_the_view(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(log_view, "TAIL_BYTES", 4096)
    path = str(tmp_path / "lines.txt")
    count = 3000
    with open(path, "wb") as f:
        f.write(b"".join(b"line %d\n" % i for i in range(count)))
    release = threading.Event()
    original = LogView._backfill_in_thread

    def held_backfill(self, *args):
        release.wait(10)
        original(self, *args)

    monkeypatch.setattr(LogView, "_backfill_in_thread", held_backfill)
    app = _LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = _ViewScreen()
        await app.push_screen(screen)
        view = screen.query_one(LogView)
        view.open(path, growing=True)
        await _wait_for(pilot, lambda: visible_lines(view)[-1:] == [f"line {count - 1}"], "the end")
        assert view.indexing and view.line_count < count
        tail_lines = view.line_count
        # Search looks in the indexed end only while the rest is indexed.
        view.search("line 2990")
        await _wait_for(pilot, lambda: view.match_line is not None, "a search in the tail")
        assert view.line_strip(view.match_line).text.rstrip() == "line 2990"
        # Growth is followed during the backfill.
        with open(path, "ab") as f:
            f.write(b"appended 1\n")
        await _wait_for(pilot, lambda: visible_lines(view)[-1:] == ["appended 1"], "following")
        assert view.line_count == tail_lines + 1
        # Scroll up and remember what is shown; the prepend must not move it.
        view.follow = False
        await pilot.press("pageup")
        # (Not settle: it would wait for the held backfill.)
        await _wait_for(pilot, lambda: all(visible_lines(view)), "reading the page above")
        shown = visible_lines(view)
        assert shown[-1] != "appended 1"
        release.set()
        await _wait_for(pilot, lambda: not view.indexing, "the backfill")
        await settle(pilot)
        assert view.line_count == count + 1 and view.first_offset == 0
        # The same lines on screen (once re-read under their new numbers).
        await _wait_for(pilot, lambda: visible_lines(view) == shown, "the same lines")
        top = int(view.scroll_y)
        assert shown[0] == f"line {top}", "line numbers now count from the start"
        assert view.match_line == 2990
        view.search("line 5", backwards=True)
        await _wait_for(pilot, lambda: view.match_line != 2990, "a search in the head")
        await settle(pilot)
        assert view.line_strip(view.match_line).text.startswith("line 5")
        assert view.match_line < count - tail_lines
        view.set_growing(False)
        await settle(pilot)


async def test_tail_inside_one_huge_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(log_view, "TAIL_BYTES", 4096)
    path = str(tmp_path / "long.txt")
    with open(path, "wb") as f:
        f.write(b"first\n" + b"x" * 20_000)  # no newline in the last 4096 bytes
    app = _LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = _ViewScreen()
        await app.push_screen(screen)
        view = screen.query_one(LogView)
        view.open(path)
        await _wait_for(
            pilot, lambda: not view.indexing and view.line_count == 2, "indexing", 10
        )
        await _wait_for(pilot, lambda: view.line_strip(1) is not None, "reading the long line", 10)
        assert view.line_strip(0).text == "first"
        assert view.line_strip(1).text.startswith("x" * 100)
        assert view.scroll_y == view.max_scroll_y

"""Pilot tests of the overview: its summary, and signature verification that never costs the user.

The demo store is small: its signatures are verified with the summary. The
paced background scan of a big store is exercised on the same store with
small pages and a small sample (the module's constants, patched).
"""

from __future__ import annotations

import io
import time
from collections import Counter

import pytest
from helpers import open_demo
from rich.console import Console
from textual.widgets import OptionList

import zbtui.screens.overview as overview_module
from zbtui.screens.overview import OverviewScreen
from zbtui.screens.realizations import RealizationsScreen
from zbtui.store.errors import StoreError

SIZE = (80, 24)


def option_text(prompt) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(prompt)
    return " ".join(console.export_text().split())


def signatures_line(screen: OverviewScreen) -> str:
    facts = screen.query_one("#overview-facts", OptionList)
    for index in range(facts.option_count):
        text = option_text(facts.get_option_at_index(index).prompt)
        if text.startswith("Signatures "):
            return text
    raise AssertionError("no Signatures line")


def scan_workers(app) -> list:
    return [w for w in app.workers if w.description == "OverviewScreen.signatures" and not w.is_finished]


async def wait_for(pilot, condition, what: str, seconds: float = 10.0) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds} s"
        await pilot.pause(0.02)


def expected_tally(store) -> Counter:
    """Every realization's signatures, verified by the store, page after page."""
    counts: Counter = Counter()
    page = store.realizations(limit=1000)
    for realization in page.items:
        for sig in realization.signatures:
            counts[sig.status] += sig.count
    assert page.next_key is None
    return counts


def tally_words(counts: Counter) -> str:
    order = overview_module.SIG_ORDER
    return " · ".join(f"{counts[s]:,} {s}" for s in order if counts.get(s))


@pytest.fixture
def paced(monkeypatch):
    """The background scan on the demo store: pages of 7, a sample of 20 of its 40 realizations."""
    monkeypatch.setattr(overview_module, "SIGNATURE_INLINE_LIMIT", 0)
    monkeypatch.setattr(overview_module, "SIGNATURE_SCAN_PAGE", 7)
    monkeypatch.setattr(overview_module, "SIGNATURE_SCAN_LIMIT", 20)
    monkeypatch.setattr(overview_module, "SCAN_START_DELAY", 0.3)
    monkeypatch.setattr(overview_module, "SCAN_IDLE", 0.2)
    monkeypatch.setattr(overview_module, "SCAN_PAGE_GAP", 0.05)
    monkeypatch.setattr(overview_module, "SCAN_REDRAW", 0.0)


async def test_small_store_is_verified_with_its_summary(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    expected = expected_tally(store)
    assert dict(expected) == demo_alive.facts["signature_statuses"]
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: screen._data is not None, "the summary")
        await pilot.pause()
        # The tally came with the summary: final at once, no scan, nothing to offer.
        line = signatures_line(screen)
        assert line == f"Signatures {demo_alive.facts['counts']['signatures']} {tally_words(expected)}"
        assert not scan_workers(app)
        assert screen._sig_timer is None
        assert screen.check_action("verify_all", ()) is False
        # The line still leads to the realizations.
        facts = screen.query_one("#overview-facts", OptionList)
        facts.focus()
        facts.highlighted = screen._signatures_line
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RealizationsScreen), "the Realizations section")


async def test_scan_waits_for_the_painted_summary_then_pages_through_a_labelled_sample(
    demo_alive, make_app, paced, monkeypatch
) -> None:
    store = open_demo(demo_alive)
    expected = expected_tally(store)
    total = demo_alive.facts["counts"]["realizations"]
    assert total == 40
    calls: list[tuple] = []
    realizations = store.realizations

    def counted(**kwargs):
        calls.append((time.monotonic(), kwargs.get("after"), kwargs.get("limit")))
        return realizations(**kwargs)

    store.realizations = counted  # type: ignore[method-assign]
    shown: list[tuple] = []
    show = OverviewScreen._show

    def recorded_show(self, data) -> None:
        show(self, data)
        shown.append((time.monotonic(), len(calls), signatures_line(self)))

    monkeypatch.setattr(OverviewScreen, "_show", recorded_show)
    lines: list[str] = []
    tally = OverviewScreen._tally

    def recorded_tally(self, page, generation) -> None:
        tally(self, page, generation)
        lines.append(signatures_line(self))

    monkeypatch.setattr(OverviewScreen, "_tally", recorded_tally)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: shown, "the summary")
        # Nothing verified at mount, nor with the summary: it waits.
        shown_at, calls_then, line_then = shown[0]
        assert calls_then == 0
        assert line_then.endswith("verifying a 20 sample when idle"), line_then
        await wait_for(pilot, lambda: calls, "the first page")
        assert calls[0][0] - shown_at >= 0.25  # SCAN_START_DELAY after the summary
        await wait_for(pilot, lambda: screen._sig_done, "the sample")
        await pilot.pause()
        # The line said how far it was after each page.
        assert lines[0].endswith(" so far · checked 7 of a 20 sample…"), lines[0]
        assert lines[1].endswith("so far · checked 14 of a 20 sample…"), lines[1]
        # Pages of 7, 7 and the 6 the sample still needed, each after the last.
        assert [limit for _, _, limit in calls] == [7, 7, 6]
        assert calls[0][1] is None and calls[1][1] is not None and calls[2][1] != calls[1][1]
        assert all(b[0] - a[0] >= 0.04 for a, b in zip(calls, calls[1:], strict=False))
        assert screen._sig_checked == 20
        line = signatures_line(screen)
        assert line.endswith(f"in a 20 sample · v verifies all {total}"), line
        assert screen.check_action("verify_all", ()) is True

        # v verifies the rest; the tally is then that of every realization.
        await pilot.press("v")
        await wait_for(pilot, lambda: screen._sig_done, "every realization")
        await pilot.pause()
        assert screen._sig_checked == total
        assert screen._sig_counts == expected
        assert signatures_line(screen) == f"Signatures {demo_alive.facts['counts']['signatures']} {tally_words(expected)}"
        assert screen.check_action("verify_all", ()) is False

        # r starts over: the same tally, again after a pause.
        before = len(calls)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen._sig_checked == 0 and screen._data is not None, "the reset")
        await wait_for(pilot, lambda: screen._sig_done, "the new sample")
        assert screen._sig_checked == 20 and len(calls) - before == 3


async def test_scan_stops_on_other_screens_and_resumes(demo_alive, make_app, paced, monkeypatch) -> None:
    monkeypatch.setattr(overview_module, "SIGNATURE_SCAN_PAGE", 5)
    monkeypatch.setattr(overview_module, "SCAN_PAGE_GAP", 0.3)
    store = open_demo(demo_alive)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        overview = app.screen
        await wait_for(pilot, lambda: overview._sig_checked >= 5, "the first page")
        await pilot.press("2")  # Objects
        await wait_for(pilot, lambda: not scan_workers(app), "the page in flight to stop")
        checked = overview._sig_checked
        await pilot.pause(1.0)  # several pages' worth of time
        assert overview._sig_checked == checked
        assert not scan_workers(app) and overview._sig_timer is None
        await pilot.press("1")
        await wait_for(pilot, lambda: overview._sig_done, "the rest of the sample")
        assert overview._sig_checked == 20


async def test_keys_on_the_overview_hold_the_next_page(demo_alive, make_app, paced, monkeypatch) -> None:
    monkeypatch.setattr(overview_module, "SCAN_IDLE", 1.5)
    monkeypatch.setattr(overview_module, "SCAN_PAGE_GAP", 0.5)
    store = open_demo(demo_alive)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen._sig_checked == 7, "the first page")
        delivered = time.monotonic()
        await pilot.press("down")  # within the pause after that page
        pressed = time.monotonic()
        assert screen._last_input >= delivered
        await pilot.pause(0.8)
        if pressed - delivered < 0.4 and time.monotonic() - pressed < 1.3:  # (a slow machine proves nothing)
            assert screen._sig_checked == 7 and not scan_workers(app)
        await wait_for(pilot, lambda: screen._sig_checked > 7, "the next page once idle")


async def test_a_failing_page_says_so(demo_alive, make_app, paced) -> None:
    store = open_demo(demo_alive)
    realizations = store.realizations

    def failing(**kwargs):
        if kwargs.get("after") is not None:
            raise StoreError("db.sqlite: the database is damaged (SQLite: test)")
        return realizations(**kwargs)

    store.realizations = failing  # type: ignore[method-assign]
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen._sig_done, "the failure")
        await pilot.pause()
        assert screen._sig_checked == 7
        line = signatures_line(screen)
        assert "verifying stopped after 7 of 40: db.sqlite: the database is damaged" in line, line
        assert screen.check_action("verify_all", ()) is False

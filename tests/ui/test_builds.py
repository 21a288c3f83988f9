"""Pilot tests of the Builds section and the build detail screen."""

from __future__ import annotations

import contextlib
import io
import time

from helpers import NOW_MS, open_demo
from rich.console import Console
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static
from textual.worker import WorkerCancelled

from zbtui.demo.builder import DemoStore
from zbtui.screens.build_detail import BuildDetailScreen, OutputPickerScreen
from zbtui.screens.builds import BuildsScreen, sort_key
from zbtui.store.models import BuildStatus

LIVE_WAIT_S = 5.0
"""How long a live update may take before the test fails (the app promises ~1 s)."""


def row_keys(table: DataTable) -> list[str]:
    return [
        table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value for i in range(table.row_count)
    ]


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


async def show_builds(pilot) -> BuildsScreen:
    await pilot.press("3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BuildsScreen)
    return screen


def static_text(screen, selector: str) -> str:
    """The text a Static shows, whatever it was given (str, Text, a Rich table)."""
    content = screen.query_one(selector, Static).content
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, str):
        return content
    console = Console(width=300, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(content)
    return captured.get()


async def test_builds_filters_and_orphaned_build_detail(
    zb_stale, demo_stale: DemoStore, make_app
) -> None:
    facts = demo_stale.facts
    orphans = set(facts["build_ids"]["orphaned"]) | {facts["active_build_id"]}
    build_id = facts["orphaned_build_id"]
    detail_data = zb_stale.build(build_id)
    assert detail_data.orphan_evidence, "the fixture's orphan has evidence"
    async with make_app(zb_stale).run_test(size=(120, 40)) as pilot:
        screen = await show_builds(pilot)
        table = screen.query_one("#builds-table", DataTable)
        assert table.row_count == facts["builds"]["total"]
        keys = row_keys(table)
        # Newest first: the running-then-orphaned build started 45 s before "now".
        assert keys[0] == facts["active_build_id"]
        assert keys == [b.id for b in sorted(screen.builds.values(), key=sort_key)]
        statuses = [screen.builds[k].status for k in keys]
        by_status = facts["builds"]["by_status"]
        # The heartbeat is stale, so every unfinished ("active" in SQL) build is an orphan.
        assert statuses.count(BuildStatus.ORPHANED) == by_status["active"]
        assert statuses.count(BuildStatus.FAIL) == by_status["fail"]
        assert statuses.count(BuildStatus.ERROR) == by_status["error"]
        assert statuses.count(BuildStatus.SUCCESS) == by_status["success"]
        # The status cell is icon + word, coloured from the theme.
        first = table.get_row_at(0)[0]
        assert first.plain == "⚠ orphaned"
        assert first.style.color is not None
        assert f"{facts['builds']['total']} builds" in static_text(screen, "#builds-hint")

        # Filters.
        await pilot.press("f")
        await settle(pilot)
        assert set(row_keys(table)) == set(facts["build_ids"]["fail"])
        await pilot.press("a")
        await settle(pilot)
        assert table.row_count == facts["builds"]["total"]
        await pilot.press("o")
        await settle(pilot)
        assert screen.filter == "orphaned"
        assert set(row_keys(table)) == orphans

        # Enter on an orphan: the detail explains it, with the evidence.
        table.move_cursor(row=table.get_row_index(build_id))
        await pilot.press("enter")
        await settle(pilot)
        detail = pilot.app.screen
        assert isinstance(detail, BuildDetailScreen)
        assert detail.build_id == build_id
        assert detail.query_one("#build-orphan").display
        shown = static_text(detail, "#build-orphan-evidence")
        for line in detail_data.orphan_evidence:
            assert line in shown
        assert "no end time" in shown and "heartbeat is stale" in shown and "left 'active'" in shown
        assert "crashed" in static_text(detail, "#build-orphan-text")
        assert "ORPHANED" in static_text(detail, "#build-heading")
        # Results: the one left running is shown as left active, not as running.
        results = detail.query_one("#build-results", DataTable)
        assert results.row_count == len(detail_data.results)
        words = {results.get_row_at(i)[0].plain for i in range(results.row_count)}
        assert "⚠ left active" in words

        # A result with several outputs: o offers them, Enter opens one; d
        # opens the .drv, Enter on the result its log. (The screens they open
        # are tested elsewhere: record the navigation calls.)
        opened: list[tuple[str, ...]] = []
        pilot.app.open_object = lambda path: opened.append(("object", path))
        pilot.app.open_log = lambda build, drv: opened.append(("log", build, drv))
        multi = next(r for r in detail_data.results if len(r.outputs) > 1)
        results.move_cursor(row=results.get_row_index(str(multi.id)))
        await pilot.pause()
        assert multi.drv_path in static_text(detail, "#build-result-info")
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OutputPickerScreen)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("d", "enter")
        assert opened == [
            ("object", multi.outputs[0].path),
            ("object", multi.drv_path),
            ("log", build_id, multi.drv_path),
        ]
        del pilot.app.open_object, pilot.app.open_log

        # An internal error and an expand result are shown too.
        ids = facts["build_ids"]
        pilot.app.open_build(ids["internal_error"])
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.query_one("#build-error").display
        assert zb_stale.build(ids["internal_error"]).build.internal_error in static_text(
            screen, "#build-error"
        )
        pilot.app.open_build(ids["expand"])
        await settle(pilot)
        screen = pilot.app.screen
        expand = screen.query_one("#build-expand", DataTable)
        assert expand.display
        names = [expand.get_row_at(i)[0].plain for i in range(expand.row_count)]
        assert names[0] == "builder" and "env out" in names


async def test_palette_route_to_orphans_and_alive_server(
    zb_alive, demo_alive: DemoStore, make_app
) -> None:
    facts = demo_alive.facts
    async with make_app(zb_alive).run_test(size=(120, 40)) as pilot:
        # "go: Orphaned builds" in the palette calls exactly this.
        pilot.app.show_section("builds", status="orphaned")
        await pilot.pause()
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, BuildsScreen)
        assert screen.filter == "orphaned"
        # With a live heartbeat nothing is known to be orphaned, and the hint says why.
        assert screen.query_one("#builds-table", DataTable).row_count == 0
        assert "server is alive" in static_text(screen, "#builds-hint")
        await pilot.press("r")
        await settle(pilot)
        running = set(row_keys(screen.query_one("#builds-table", DataTable)))
        assert running == set(facts["build_ids"]["orphaned"]) | {facts["active_build_id"]}


async def test_live_refresh_shows_a_new_build(demo_fresh: DemoStore, make_app) -> None:
    from zbtui.demo.live import SimulatedServer

    store = open_demo(demo_fresh)
    started = time.monotonic()
    # Time for the simulated server starts just after the app's frozen "now",
    # so its build is the newest.
    server = SimulatedServer(
        demo_fresh,
        heartbeat_s=0.5,
        new_build_s=600,
        first_build_s=0.2,
        line_interval_s=0.05,
        max_log_lines=3,
        seed=7,
        clock=lambda: (NOW_MS + 5_000) / 1000 + (time.monotonic() - started),
    )
    try:
        async with make_app(store, watch_interval=0.05).run_test(size=(120, 40)) as pilot:
            screen = await show_builds(pilot)
            table = screen.query_one("#builds-table", DataTable)
            before = table.row_count
            table.move_cursor(row=3)
            await pilot.pause()
            kept = row_keys(table)[3]
            server.start()
            deadline = time.monotonic() + LIVE_WAIT_S
            while server.last_build_id is None or server.last_build_id not in screen.builds:
                assert time.monotonic() < deadline, "the new build never appeared"
                assert server.error is None, server.error
                await pilot.pause(0.05)
            await settle(pilot)
            assert table.row_count == before + 1
            assert row_keys(table)[0] == server.last_build_id
            # The cursor stayed on the build it was on.
            assert row_keys(table)[table.cursor_row] == kept
            # And the new build's status follows it to the end, by itself.
            deadline = time.monotonic() + LIVE_WAIT_S
            while screen.builds[server.last_build_id].status == BuildStatus.ACTIVE:
                assert time.monotonic() < deadline, "the new build never finished on screen"
                await pilot.pause(0.05)
            assert screen.builds[server.last_build_id].status == BuildStatus.SUCCESS
    finally:
        server.stop()
        store.close()


async def test_paging_and_keyed_diff(demo_fresh: DemoStore, make_app) -> None:
    import uuid

    import apsw

    from zbtui.messages import StoreChanged

    extra = 250
    old = NOW_MS - 30 * 86_400_000  # older than every fixture build
    conn = apsw.Connection(demo_fresh.db_path)
    with conn:
        for i in range(extra):
            conn.execute(
                'insert into "builds" ("uuid", "started_at", "ended_at") values (?, ?, ?)',
                (uuid.UUID(int=i + 1).bytes, old - i * 60_000, old - i * 60_000 + 1_000),
            )
    conn.close()
    total = demo_fresh.facts["builds"]["total"] + extra
    store = open_demo(demo_fresh)
    try:
        async with make_app(store).run_test(size=(120, 40)) as pilot:
            screen = await show_builds(pilot)
            table = screen.query_one("#builds-table", DataTable)
            assert table.row_count == 100
            assert "more below" in static_text(screen, "#builds-hint")
            # Moving near the end of what is loaded loads the next page.
            table.move_cursor(row=90)
            await settle(pilot)
            assert table.row_count == 200
            table.move_cursor(row=195)
            await settle(pilot)
            assert table.row_count == total
            assert f"{total} builds" in static_text(screen, "#builds-hint")
            keys = row_keys(table)
            assert len(set(keys)) == total
            assert keys == [b.id for b in sorted(screen.builds.values(), key=sort_key)]

            # A keyed diff: a build deleted (build GC) and one finished move
            # without a reload; the cursor stays on its build.
            gone, finishing = (
                demo_fresh.facts["build_ids"]["fail"][0],
                demo_fresh.facts["active_build_id"],
            )
            table.move_cursor(row=5)
            kept = row_keys(table)[5]
            # The writer stays connected, as a zb server does (the last
            # connection to close would fold the WAL back into the file).
            conn = apsw.Connection(demo_fresh.db_path)
            with conn:
                conn.execute('delete from "builds" where "uuid" = ?', (uuid.UUID(gone).bytes,))
                conn.execute(
                    'update "build_results" set "status" = \'success\', "ended_at" = ?'
                    ' where "build_id" = (select "id" from "builds" where "uuid" = ?)'
                    " and \"status\" = 'active'",
                    (NOW_MS, uuid.UUID(finishing).bytes),
                )
                conn.execute(
                    'update "builds" set "ended_at" = ? where "uuid" = ?',
                    (NOW_MS, uuid.UUID(finishing).bytes),
                )
            # What the app's change probe does (it is off in this test): ask
            # for the data version (the store notices the writer), then tell
            # the screen.
            store.data_version()
            screen.post_message(StoreChanged())
            await settle(pilot)
            keys = row_keys(table)
            assert gone not in keys and len(keys) == total - 1
            assert keys[0] == finishing and screen.builds[finishing].status == BuildStatus.SUCCESS
            assert keys[table.cursor_row] == kept
            conn.close()
    finally:
        store.close()


async def test_columns_follow_the_width_tier(zb_stale, demo_stale: DemoStore, make_app) -> None:
    active = demo_stale.facts["active_build_id"]
    async with make_app(zb_stale).run_test(size=(120, 40)) as pilot:
        screen = await show_builds(pilot)
        table = screen.query_one("#builds-table", DataTable)
        assert screen.tier == "medium"
        assert table.get_row(active)[1].plain != active  # a short id
        await pilot.resize_terminal(160, 40)
        await settle(pilot)
        assert screen.tier == "wide"
        assert table.get_row(active)[1].plain == active
        assert table.row_count == demo_stale.facts["builds"]["total"]
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert screen.tier == "narrow"
        started = table.get_row(active)[2].plain
        assert len(started) == 16  # minutes only: "2026-11-23 13:19"


async def test_a_live_screen_refreshes_only_when_coming_back(zb_stale, make_app, monkeypatch) -> None:
    # Textual sends ScreenResume when a mode's screen is first shown too: that
    # must not reload what the screen has just loaded. Coming back from another
    # section reloads once.
    refreshes: list[int] = []
    original = BuildsScreen.refresh_data

    def counting(self) -> None:
        refreshes.append(1)
        original(self)

    monkeypatch.setattr(BuildsScreen, "refresh_data", counting)
    async with make_app(zb_stale).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await show_builds(pilot)
        assert refreshes == []
        await pilot.press("1")
        await settle(pilot)
        await show_builds(pilot)
        assert refreshes == [1]

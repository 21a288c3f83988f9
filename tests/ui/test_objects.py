"""Pilot tests of the Objects section: the whole store in one scrolling list."""

from __future__ import annotations

import array
import threading
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest
from bulk_objects import BULK_OBJECTS, build_bulk_store
from helpers import frozen_clock, open_demo
from textual import events
from textual.worker import WorkerCancelled, get_current_worker

import zbtui.screens.objects as objects_module
from zbtui.screens.objects import ObjectsScreen, SearchBox
from zbtui.store.errors import QueryCancelled
from zbtui.store.formats import split_store_path
from zbtui.store.open import StoreOptions, open_store
from zbtui.widgets.object_list import MAX_PAGES, PAGE_SIZE, ObjectList

SIZE = (120, 40)


@pytest.fixture(scope="module")
def bulk_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_bulk_store(str(tmp_path_factory.mktemp("bulk-ui")))


@pytest.fixture
def bulk(bulk_db: str) -> Iterator:
    store = open_store(StoreOptions(db=bulk_db, env={}, clock=frozen_clock))
    yield store
    store.close()


async def settle(pilot, max_rounds: int = 6) -> None:
    """Wait for workers, and for the workers their results start (pages)."""
    for _ in range(max_rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # a superseded query: what the exclusive groups are for
            pass
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            return


async def open_objects(pilot, **options) -> tuple[ObjectsScreen, ObjectList]:
    pilot.app.show_section("objects", **options)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ObjectsScreen)
    object_list = screen.query_one(ObjectList)
    for _ in range(500):  # the first page's result may still be on its way to ask for the index
        if object_list.complete:
            break
        await pilot.pause(0.01)
        await settle(pilot)
    return screen, object_list


def status(screen: ObjectsScreen) -> str:
    return str(screen.query_one("#objects-status").render())


def line(object_list: ObjectList, y: int) -> str:
    return object_list.render_line(y).text


def listed_paths(object_list: ObjectList) -> list[str]:
    items = [object_list.item_at(i) for i in range(object_list.row_count)]
    assert all(item is not None for item in items)
    return [item.row.path for item in items]


async def search(pilot, screen: ObjectsScreen, text: str) -> None:
    screen.query_one(SearchBox).focus()
    await pilot.press(*text)
    await pilot.pause()
    await settle(pilot)


# -- the list ----------------------------------------------------------------------


async def test_list_in_name_order_with_markers_and_sorts(make_app, zb_alive, demo_alive) -> None:
    not_on_disk = set(demo_alive.facts["not_on_disk"])
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        expected = zb_alive.objects(limit=demo_alive.facts["counts"]["objects"]).items
        assert object_list.row_count == len(expected) == demo_alive.facts["counts"]["objects"]
        assert object_list.complete and object_list.has_focus
        assert [object_list.item_at(i).row for i in range(len(expected))] == list(expected)
        assert status(screen).startswith(f"{len(expected)} objects · by name")
        # Line 0 is the header; each row: drv marker, name, short digest, size, absent.
        assert "name ▲" in line(object_list, 0) and "NAR size" in line(object_list, 0)
        for y, row in enumerate(expected[: object_list.size.height - 1], start=1):
            text = line(object_list, y)
            assert row.name in text and row.digest[:7] in text, text
            assert text.startswith("drv ") == row.path.endswith(".drv"), text
            assert text.rstrip().endswith("absent") == (row.path in not_on_disk), text
        assert any(row.path in not_on_disk for row in expected[: object_list.size.height - 1])

        await pilot.press("s")
        await settle(pilot)
        largest = zb_alive.objects(sort="size", limit=3).items
        assert [object_list.item_at(i).row for i in range(3)] == list(largest)
        assert "▼ NAR size" in line(object_list, 0)
        assert "by size, largest first" in status(screen)

        # Clicking the name header sorts by name again.
        await pilot.click(ObjectList, offset=(6, 0))
        await settle(pilot)
        assert screen.sort == "name"
        assert object_list.item_at(0).row == expected[0]


# -- search ---------------------------------------------------------------------------


async def test_search_by_name_digest_and_escape(make_app, zb_alive, demo_alive) -> None:
    packages = demo_alive.facts["packages"]
    openssl = set(packages["openssl-3.0.13"]["outputs"].values()) | {
        packages["openssl-3.0.13"]["drv"]
    }
    drv = packages["hello-2.12.1"]["drv"]
    prefix = split_store_path(drv)[1][:8]
    total = demo_alive.facts["counts"]["objects"]
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        box = screen.query_one(SearchBox)

        await pilot.press("slash")
        assert box.has_focus
        await pilot.press(*"SSL")
        await settle(pilot)
        paths = listed_paths(object_list)
        assert openssl <= set(paths)
        assert paths == [row.path for row in zb_alive.objects(search="ssl").items]
        assert status(screen).startswith(f"{len(paths)} objects match “SSL” · by name")

        # Enter with several matches goes to the list, filtered.
        await pilot.press("enter")
        await settle(pilot)
        assert (
            pilot.app.screen is screen
            and object_list.has_focus
            and object_list.row_count == len(paths)
        )

        # Escape in the search box clears it and returns to the whole list.
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert box.value == "" and object_list.has_focus and object_list.row_count == total

        await pilot.press("slash", *prefix)
        await settle(pilot)
        assert listed_paths(object_list) == [drv]
        assert status(screen).startswith(f"1 object matches “{prefix}”")

        box.value = "no-such-thing"
        await settle(pilot)
        assert object_list.row_count == 0
        assert "No objects match “no-such-thing”" in line(object_list, 1)
        assert status(screen).startswith("no object matches “no-such-thing”")

        # Down leaves the box; escape from the list leaves the section.
        await pilot.press("down")
        assert object_list.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.current_mode == "overview"


async def test_drv_only_and_options_from_the_overview(make_app, zb_alive) -> None:
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        await pilot.press("d")
        await settle(pilot)
        paths = listed_paths(object_list)
        assert paths == [row.path for row in zb_alive.objects(drv_only=True).items]
        assert paths and all(p.endswith(".drv") for p in paths)
        assert status(screen).startswith(f"{len(paths)} .drv objects")
        await pilot.press("d")
        await settle(pilot)
        assert any(not p.endswith(".drv") for p in listed_paths(object_list))

        # The overview's "largest objects" opens the section sorted by size.
        pilot.app.switch_mode("overview")
        await pilot.pause()
        await open_objects(pilot, sort="size")
        assert screen.sort == "size"
        assert object_list.item_at(0).row == zb_alive.objects(sort="size", limit=1).items[0]


def query_workers(pilot, screen: ObjectsScreen, group: str) -> list:
    return [w for w in pilot.app.workers if w.node is screen and w.group == group]


async def test_typing_searches_at_once_and_coalesces_while_a_search_runs(
    make_app, zb_alive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No debounce: the first keystroke searches at once; keystrokes typed
    while that search runs cancel it, and only the newest then runs."""
    real = zb_alive.objects
    searches: list[str | None] = []
    started = threading.Event()
    release = threading.Event()
    outcome: dict[str, bool] = {}

    def held_for_o(**query):
        searches.append(query.get("search"))
        if query.get("search") == "o":
            started.set()
            release.wait(5)  # hold it until every other key is typed
            outcome["cancelled"] = get_current_worker().is_cancelled
            if outcome["cancelled"]:
                raise QueryCancelled("cancelled")
        return real(**query)

    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        total = object_list.row_count
        monkeypatch.setattr(zb_alive, "objects", held_for_o)
        screen.query_one(SearchBox).focus()
        await pilot.press("o")
        # Leading edge: the query runs before any further keystroke or timer.
        assert started.wait(5) and searches == ["o"]
        await pilot.press(*"penssl")
        await pilot.pause()
        # Coalesced: nothing else started while "o" runs, and "o" was told to stop.
        assert searches == ["o"]
        assert all(w.is_cancelled for w in query_workers(pilot, screen, "first-page"))
        # Meanwhile the list keeps the rows it had (no flash of an empty list)
        # and says what it is searching for.
        assert object_list.row_count == total
        assert status(screen) == "Searching “openssl”…"
        release.set()
        await settle(pilot)
        assert outcome == {"cancelled": True}
        assert searches == ["o", "openssl"]
        assert listed_paths(object_list) == [row.path for row in real(search="openssl").items]
        assert status(screen).startswith(f"{object_list.row_count} objects match “openssl”")


async def test_erasing_a_letter_goes_back_to_the_list_shown(
    make_app, zb_alive, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_objects, real_ids = zb_alive.objects, zb_alive.object_ids
    calls: list[tuple[str, str | None]] = []
    release = threading.Event()

    def objects(**query):
        calls.append(("objects", query.get("search")))
        if query.get("search") == "sslx":
            release.wait(5)
        return real_objects(**query)

    def object_ids(**query):
        calls.append(("object_ids", query.get("search")))
        return real_ids(**query)

    monkeypatch.setattr(zb_alive, "objects", objects)
    monkeypatch.setattr(zb_alive, "object_ids", object_ids)
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        await search(pilot, screen, "ssl")
        object_list.cursor = 1
        shown, cursor = listed_paths(object_list), object_list.cursor
        calls.clear()
        await pilot.press("x", "backspace")  # still in the search box
        await pilot.pause()
        # Back to "ssl" while "sslx" still runs: the list shown is it, as it was.
        assert status(screen).startswith(f"{len(shown)} objects match “ssl”")
        assert listed_paths(object_list) == shown and object_list.cursor == cursor
        release.set()
        await settle(pilot)
        assert calls == [("objects", "sslx")]
        assert listed_paths(object_list) == shown and object_list.cursor == cursor

        # Escape shows the whole list at once: it is kept, not queried again.
        await pilot.press("escape")
        await settle(pilot)
        assert calls == [("objects", "sslx")]
        assert list(object_list.ids) == list(real_ids()) and object_list.has_focus


def indexes_held(*holders: object) -> set[int]:
    """The id arrays (indexes) reachable from the holders' attributes, a few levels deep."""
    found: set[int] = set()

    def walk(value: object, depth: int) -> None:
        if isinstance(value, array.array):
            found.add(id(value))
        elif depth and isinstance(value, (tuple, list)):
            for item in value:
                walk(item, depth - 1)
        elif depth and isinstance(value, dict):
            for item in value.values():
                walk(item, depth - 1)

    for holder in holders:
        for value in vars(holder).values():
            walk(value, 3)
    return found


async def test_only_the_shown_and_the_unsearched_index_are_kept(
    make_app, bulk, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_app(bulk).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        whole = object_list.ids
        top = [object_list.item_at(i) for i in range(PAGE_SIZE)]
        for term in ("hello", "zlib", "glibc"):  # ~600 matches each: whole indexes
            screen.apply_options(search=term)
            await settle(pilot)
            assert object_list.complete and 0 < object_list.row_count < BULK_OBJECTS
        # The indexes of "hello" and "zlib" are gone: a million-object one is 8 MB.
        # By name the whole list's is the store's own name index, not a copy.
        assert whole is bulk.object_ids()
        assert indexes_held(screen, object_list) == {id(whole), id(object_list.ids)}
        fetched: list[int] = []
        real_rows = bulk.objects_by_ids
        monkeypatch.setattr(bulk, "objects_by_ids", lambda ids: fetched.append(len(ids)) or real_rows(ids))
        screen.apply_options(search="")
        await pilot.pause()  # no query: shown at once, first rows included
        assert object_list.ids is whole and object_list.complete
        assert [object_list.item_at(i) for i in range(PAGE_SIZE)] == top and fetched == []
        assert indexes_held(screen, object_list) == {id(whole)}
        await pilot.press("s")  # by size: the name order is no longer the one without a search
        await settle(pilot)
        assert object_list.item_at(0).row == bulk.objects(sort="size", limit=1).items[0]
        assert indexes_held(screen, object_list) == {id(object_list.ids)}


async def test_superseded_search_is_cancelled(
    make_app, zb_alive, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = zb_alive.objects
    outcome: dict[str, str] = {}
    started = threading.Event()

    def slow_for_glibc(**query):
        if query.get("search") != "glibc":
            return real(**query)
        started.set()
        worker = get_current_worker()
        for _ in range(500):  # 5 s at most: the test fails rather than hangs
            if worker.is_cancelled:
                outcome["glibc"] = "cancelled"
                raise QueryCancelled("cancelled")
            threading.Event().wait(0.01)
        outcome["glibc"] = "finished"
        return real(**query)

    monkeypatch.setattr(zb_alive, "objects", slow_for_glibc)
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        screen.apply_options(search="glibc")
        await pilot.pause()
        assert started.wait(5)
        screen.apply_options(search="bash")
        await settle(pilot)
        assert outcome == {"glibc": "cancelled"}
        assert screen.search == "bash"
        paths = listed_paths(object_list)
        assert paths and all("bash" in split_store_path(p)[2] for p in paths)


# -- jumping, opening and copying -----------------------------------------------------------


async def test_enter_in_search_jumps_to_a_pasted_path(make_app, zb_alive, demo_alive) -> None:
    path = demo_alive.facts["packages"]["curl-8.7.1"]["outputs"]["out"]
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        box = screen.query_one(SearchBox)
        for text in (
            path,
            path.rsplit("/", 1)[1],
            split_store_path(path)[1][:12],
            path + "/bin/curl",
        ):
            box.focus()
            box.value = text  # as a paste would
            await settle(pilot)
            assert listed_paths(object_list) == [path], text  # the filter finds it while typing
            await pilot.press("enter")
            await settle(pilot)
            assert type(pilot.app.screen).__name__ == "ObjectDetailScreen", text
            if hasattr(pilot.app.screen, "path"):
                assert pilot.app.screen.path == path
            pilot.app.pop_screen()
            await pilot.pause()
            assert pilot.app.screen is screen


async def test_open_click_and_copy(make_app, zb_alive) -> None:
    rows = zb_alive.objects(limit=1000).items
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        await pilot.press("down", "down", "down")
        assert object_list.selected.row == rows[3]
        assert str(screen.query_one("#objects-position").render()) == f"4 of {len(rows)}"
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ObjectDetailScreen"
        if hasattr(pilot.app.screen, "path"):
            assert pilot.app.screen.path == rows[3].path
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen and object_list.selected.row == rows[3]

        await pilot.press("y")
        assert pilot.app.clipboard == rows[3].path
        await pilot.press("end", "y")
        assert pilot.app.clipboard == rows[-1].path

        await pilot.press("home")
        await pilot.click(ObjectList, offset=(10, 3))  # line 3 shows the third row
        await pilot.pause()
        assert object_list.cursor == 2 and pilot.app.screen is screen
        await pilot.click(ObjectList, offset=(10, 3), times=2)
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ObjectDetailScreen"
        if hasattr(pilot.app.screen, "path"):
            assert pilot.app.screen.path == rows[2].path


async def test_copy_of_a_loading_row_and_the_footer_left_alone(
    make_app, bulk, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = bulk.object_ids()
    async with make_app(bulk).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        # Refreshing bindings rebuilds the footer: only when "copy" comes or goes.
        refreshes: list[bool] = []
        real_refresh = screen.refresh_bindings
        monkeypatch.setattr(screen, "refresh_bindings", lambda: refreshes.append(True) or real_refresh())
        real = bulk.objects_by_ids
        release = threading.Event()

        def held(wanted):
            release.wait(5)
            return real(wanted)

        monkeypatch.setattr(bulk, "objects_by_ids", held)
        await pilot.press("end")
        assert object_list.selected is None and screen.check_action("copy", ()) is True
        await pilot.press("y")  # on a row still loading: copied when it arrives...
        await pilot.press("home")  # ...unless the cursor moved on
        release.set()
        await settle(pilot)
        assert pilot.app.clipboard == ""

        release.clear()
        target = PAGE_SIZE * 7 + 5
        object_list.cursor = target
        await pilot.pause()
        assert object_list.selected is None
        await pilot.press("y")
        assert pilot.app.clipboard == ""
        release.set()
        await settle(pilot)
        assert pilot.app.clipboard == real([ids[target]])[0].path
        await pilot.press("pagedown", "pageup", "end", "home")
        await settle(pilot)
        assert refreshes == []

        screen.apply_options(search="no-such-object")
        await settle(pilot)
        assert refreshes == [True] and screen.check_action("copy", ()) is False
        screen.apply_options(search="")
        await settle(pilot)
        assert refreshes == [True, True] and screen.check_action("copy", ()) is True


# -- big lists: an index plus pages ---------------------------------------------------------


async def test_paging_through_a_long_list(make_app, bulk, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = bulk.object_ids()
    async with make_app(bulk).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        assert object_list.row_count == BULK_OBJECTS and list(object_list.ids) == list(ids)
        assert status(screen).startswith(f"{BULK_OBJECTS:,} objects")
        await pilot.press("end")
        await settle(pilot)
        last = bulk.objects_by_ids([ids[-1]])[0]
        assert object_list.cursor == BULK_OBJECTS - 1 and object_list.selected.row == last
        height = object_list.scrollable_content_region.height
        assert last.digest[:7] in line(object_list, height - 1)
        # Only the pages near what was shown are loaded, never the whole list.
        assert object_list.item_at(BULK_OBJECTS // 2) is None
        await pilot.press("pageup")
        await settle(pilot)
        assert object_list.cursor == BULK_OBJECTS - 1 - (height - 1)
        await pilot.press("home")
        await settle(pilot)
        assert object_list.selected.row == bulk.objects_by_ids([ids[0]])[0]
        assert len(object_list._pages) <= MAX_PAGES

        # The mouse wheel scrolls (the cursor stays), and the rows scrolled to load.
        for _ in range(150):  # a few lines each: well past the first page
            object_list.post_message(events.MouseScrollDown(object_list, 5, 5, 0, 1, 0, False, False, False))
        await settle(pilot)
        top = round(object_list.scroll_y)
        assert top > PAGE_SIZE and object_list.cursor == 0
        assert object_list.item_at(top).row.digest[:7] in line(object_list, 1)

        # A page still on its way shows placeholders, then its rows.
        release = threading.Event()
        real = bulk.objects_by_ids

        def held(wanted):
            release.wait(5)
            return real(wanted)

        monkeypatch.setattr(bulk, "objects_by_ids", held)
        target = PAGE_SIZE * 7 + 5
        object_list.cursor = target
        await pilot.pause()
        assert object_list.selected is None
        assert "…" in line(object_list, height // 2)
        release.set()
        await settle(pilot)
        assert object_list.selected.row.id == ids[target]
        assert object_list.selected.row.name in line(object_list, height - 1)

        # A jump in the very tick a long index replaces a short one (before
        # the layout that shows the scrollbar) still scrolls and loads.
        digest = bulk.objects_by_ids([ids[0]])[0].digest
        screen.apply_options(search=digest)
        await settle(pilot)
        assert object_list.row_count == 1
        screen.apply_options(search="")  # the whole index again, from the screen's cache
        object_list.cursor = BULK_OBJECTS - 10
        await settle(pilot)
        assert object_list.selected.row.id == ids[BULK_OBJECTS - 10]
        assert round(object_list.scroll_y) > BULK_OBJECTS - 100


async def test_first_page_shows_before_the_index(
    make_app, bulk, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = bulk.object_ids

    def held(**query):
        release.wait(5)
        return real(**query)

    monkeypatch.setattr(bulk, "object_ids", held)
    async with make_app(bulk).run_test(size=SIZE) as pilot:
        pilot.app.show_section("objects")
        for _ in range(500):  # 5 s at most
            await pilot.pause(0.01)
            screen = pilot.app.screen
            if isinstance(screen, ObjectsScreen) and screen.query_one(ObjectList).row_count:
                break
        object_list = screen.query_one(ObjectList)
        assert object_list.row_count == PAGE_SIZE and not object_list.complete
        assert status(screen).startswith(f"{PAGE_SIZE}+ objects · by name · counting…")
        assert object_list.item_at(0).row == bulk.objects(limit=1).items[0]
        # Moving through the first page while the index loads: the cursor stays put.
        object_list.focus()
        await pilot.press("down", "down", "down")
        selected = object_list.selected.row
        release.set()
        await settle(pilot)
        assert object_list.complete and object_list.row_count == BULK_OBJECTS
        assert object_list.cursor == 3 and object_list.selected.row == selected
        assert status(screen).startswith(f"{BULK_OBJECTS:,} objects · by name")


# -- live ---------------------------------------------------------------------------------------


async def test_new_objects_appear_and_the_cursor_stays(make_app, demo_fresh) -> None:
    store = open_demo(demo_fresh)
    # A writer that stays connected, as a running zb server does.
    conn = apsw.Connection(demo_fresh.db_path)
    try:
        async with make_app(store).run_test(size=SIZE) as pilot:
            screen, object_list = await open_objects(pilot)
            count = object_list.row_count
            await pilot.press("down", "down")
            selected = object_list.selected.row
            path = f"{demo_fresh.store_dir}/{'0' * 32}-0-new-object-1.0"  # sorts first
            conn.execute("begin immediate")
            conn.execute('insert into "paths" ("path") values (?)', (path,))
            conn.execute(
                'insert into "objects" ("id", "nar_size") values (last_insert_rowid(), 123)'
            )
            conn.execute("commit")
            pilot.app.notify_changed()
            await settle(pilot)
            assert object_list.row_count == count + 1
            assert object_list.item_at(0).row.path == path
            assert object_list.selected.row == selected  # the cursor followed its object
            assert object_list.cursor == 3
    finally:
        conn.close()
        store.close()


def test_screen_has_help_and_bindings() -> None:
    keys = {binding.key for binding in ObjectsScreen.BINDINGS}
    assert {"slash", "s", "d", "y"} <= keys
    assert "drv" in ObjectsScreen.HELP and "NAR" in ObjectsScreen.HELP
    assert Path(objects_module.__file__).name == "objects.py"


async def test_keys_typed_in_one_burst_after_slash_reach_the_search(make_app, zb_alive) -> None:
    # A fast typist (or a paste, or an SSH link delivering keys together) sends
    # "/gcc" in one read: every letter after "/" belongs to the search box,
    # none to the list's own keys (g would open "Go to").
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        screen, object_list = await open_objects(pilot)
        assert object_list.has_focus
        for key, char in [("slash", "/"), ("g", "g"), ("c", "c"), ("c", "c")]:
            pilot.app.post_message(events.Key(key, char))
        await pilot.pause()
        await settle(pilot)
        assert pilot.app.screen is screen, "a key went to the list and opened another screen"
        assert screen.query_one(SearchBox).value == "gcc"
        # In the box, "/" and "g" are text (a path being typed), not commands.
        await pilot.press("slash", "g")
        assert screen.query_one(SearchBox).value == "gcc/g"
        assert pilot.app.screen is screen

"""Benchmark zbtui headless against generated zb stores and print one table.

Usage::

    python benchmarks/run.py                       # 10k, 100k and 1M stores, 5 runs
    python benchmarks/run.py --sizes 10k,100k --runs 3
    python benchmarks/run.py --json results.json   # also keep every raw figure

Missing stores are generated first with `make_store.py` under ``--dir``
(default ``/tmp/zbtui-bench``: never inside the source tree).

Every measurement runs in a fresh subprocess, ``--runs`` times, and the table
shows medians. A scenario process starts zbtui exactly as ``zbtui DB`` does
(`open_store` then `ZbtuiApp`), headless at 120×36 through ``App.run_test``,
and drives it like a user: keys are sent to the driver one at a time, with no
Pilot waits between them. It learns what happened from three hooks installed
before the app is built:

* ``StoreScreen.load``: every store result delivered to a screen, with the
  screen, the worker key and the time;
* ``ObjectList.show_first_page`` / ``set_index`` / ``clear``: the moment the
  objects list changed;
* ``App._display``: every frame the compositor produced. Headless Textual
  skips turning a frame into terminal text, so the hook does that too (into
  nothing), so that each frame costs what it costs on a terminal.

A figure is "key press (or call) → the first frame painted after the result
was delivered". The UI-thread stall is the largest lateness of a 5 ms asyncio
timer after the first screen (startup is not counted: the bare app has it too).
Peak RSS is ``ru_maxrss`` of the scenario process.

Floors, measured in the same runs: the same work as bare SQL on a fresh apsw
connection (read-only, immutable, like zbtui's), and a bare Textual app (one
``Static``) started the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
"""Store sizes by label (objects); the table's columns."""

SIZE_LABELS = {"10k": "10k", "100k": "100k", "1m": "1M"}

SCENARIOS = ("first_screen", "first_start", "objects", "search", "scroll", "detail", "closure", "why", "builds", "tour")
"""One subprocess each per store and run; ``tour`` does everything in one process
(peak RSS); ``first_start`` is the first screen without zbtui's counts cache
(the very first start on a database, or any start while a server writes)."""

TERMINAL_SIZE = (120, 36)
"""A common terminal size: 33 visible rows in the objects list."""

SEARCH_QUERIES = ("python", "gcc", "serde", "{digest}", "xyzzy")
"""Typed one key at a time: a common word, a short one, a rarer one, a digest
prefix (of the most referenced object, six characters) and a miss."""

SCROLL_PAGES = 10
"""Page Down presses per run of the scroll scenario."""

STALL_TICK = 0.005
"""Interval of the asyncio timer whose lateness measures UI-thread stalls."""

TIMEOUT = 120.0
"""Longest wait for any one step; a step that takes longer is reported missing."""


def now() -> float:
    return time.perf_counter()


# ============================================================================
# In the scenario subprocess
# ============================================================================


class Recorder:
    """What the hooks saw, with ``perf_counter`` times."""

    def __init__(self) -> None:
        self.paints: list[float] = []
        self.deliveries: list[tuple[float, str, str]] = []
        """(time, screen class, worker key) of every store result delivered."""
        self.fetches: list[tuple[float, str, str, float]] = []
        """(end time, screen class, worker key, seconds) of every store call a worker made."""
        self.list_updates: list[tuple[float, str]] = []
        """(time, method) of every ObjectList change."""
        self.search_fired: list[float] = []
        """When the objects screen started a search (``_search_now``: the box changed)."""
        self.max_stall = 0.0
        self.stalls: list[tuple[float, str]] = []
        self.phase = "startup"
        self.measure_stalls = False

    def paint_after(self, t: float) -> float | None:
        """The first frame painted at or after ``t`` (paints are appended in time order)."""
        lo, hi = 0, len(self.paints)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.paints[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        return self.paints[lo] if lo < len(self.paints) else None

    def delivery(self, screen: str, key: str | Callable[[str], bool], after: float) -> float | None:
        for t, s, k in self.deliveries:
            if t >= after and s == screen and (k == key if isinstance(key, str) else key(k)):
                return t
        return None

    def fetch_seconds(self, screen: str, key: str | Callable[[str], bool], after: float) -> float | None:
        """How long the worker's store call took, for the first such delivery after ``after``."""
        for t, s, k, seconds in self.fetches:
            if t >= after and s == screen and (k == key if isinstance(key, str) else key(k)):
                return seconds
        return None

    def last_delivery(self, screen: str, after: float) -> float | None:
        times = [t for t, s, _ in self.deliveries if t >= after and s == screen]
        return max(times) if times else None


def install_hooks(rec: Recorder) -> None:
    """Instrument the app (see the module docstring). Called before the app exists."""
    from textual._compositor import CompositorUpdate
    from textual.app import App

    from zbtui.screens.base import StoreScreen

    original_display = App._display

    def _display(self: App, screen: Any, renderable: Any) -> None:
        original_display(self, screen, renderable)
        if renderable is not None and not self._batch_count:
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(self.console)  # what a real terminal driver pays
            rec.paints.append(now())

    App._display = _display  # type: ignore[method-assign]

    original_load = StoreScreen.load

    def load(self: StoreScreen, fetch: Any, deliver: Any, *, key: str = "load", **kwargs: Any) -> None:
        screen_name = type(self).__name__

        def delivered(result: Any) -> None:
            deliver(result)
            rec.deliveries.append((now(), screen_name, key))

        def timed_fetch() -> Any:
            started = now()
            result = fetch()
            rec.fetches.append((now(), screen_name, key, now() - started))
            return result

        original_load(self, timed_fetch, delivered, key=key, **kwargs)

    StoreScreen.load = load  # type: ignore[method-assign]

    try:
        from zbtui.widgets.object_list import ObjectList
    except ImportError:
        return
    for method in ("show_first_page", "set_index", "clear"):
        original = getattr(ObjectList, method)

        def hooked(self: Any, *args: Any, __original: Any = original, __name: str = method, **kwargs: Any) -> Any:
            result = __original(self, *args, **kwargs)
            rec.list_updates.append((now(), __name))
            return result

        setattr(ObjectList, method, hooked)
    try:
        from zbtui.screens.objects import ObjectsScreen
    except ImportError:
        return
    if hasattr(ObjectsScreen, "_search_now"):
        original_search = ObjectsScreen._search_now

        def search_now(self: Any) -> None:
            rec.search_fired.append(now())
            original_search(self)

        ObjectsScreen._search_now = search_now  # type: ignore[method-assign]


def start_stall_monitor(rec: Recorder) -> None:
    """Measure how late a 5 ms timer fires: the UI thread was busy (or held off the GIL).

    A watchdog thread also samples the UI thread's stack while a tick is
    overdue by more than 30 ms, so that each stall names its cause
    (``stall_stacks`` in the result: the innermost zbtui and Textual frames).
    """
    import threading
    from collections import Counter

    loop = asyncio.get_running_loop()
    main_id = threading.get_ident()
    rec.stall_stacks = Counter()  # type: ignore[attr-defined]
    last_tick = [now()]

    def watchdog() -> None:
        while not rec.phase == "end":
            time.sleep(0.005)
            if rec.measure_stalls and now() - last_tick[0] > 0.03:
                frames = sys._current_frames()
                frame = frames.get(main_id)
                names = []
                depth = 0
                while frame is not None and len(names) < 5:
                    code = frame.f_code
                    where = f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}"
                    if depth == 0 or "/zbtui/" in code.co_filename or "/textual/" in code.co_filename:
                        names.append(where)
                    frame = frame.f_back
                    depth += 1
                # What the other threads were doing: one of them may hold the GIL.
                others = sorted(
                    f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_code.co_name}"
                    for ident, f in frames.items()
                    if ident not in (main_id, threading.get_ident())
                )
                key = f"{rec.phase} | UI: " + " < ".join(names) + " | workers: " + ", ".join(others)
                rec.stall_stacks[key] += 1  # type: ignore[attr-defined]

    threading.Thread(target=watchdog, daemon=True, name="stall-watchdog").start()

    def tick(expected: float) -> None:
        t = now()
        last_tick[0] = t
        lag = t - expected
        if rec.measure_stalls and lag > rec.max_stall:
            rec.max_stall = lag
        if rec.measure_stalls and lag > 0.02:
            rec.stalls.append((round(lag * 1000, 1), rec.phase))
        loop.call_later(STALL_TICK, tick, now() + STALL_TICK)

    loop.call_later(STALL_TICK, tick, now() + STALL_TICK)


def send_key(app: Any, key: str) -> None:
    """Deliver one key as the terminal driver would: no Pilot idle waits."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


async def until(predicate: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Poll ``predicate`` every millisecond on the app's loop until it is truthy."""
    deadline = now() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if now() > deadline:
            raise TimeoutError("step did not finish")
        await asyncio.sleep(0.001)


def screen_busy(app: Any, screen: Any) -> bool:
    from textual.worker import WorkerState

    return any(w.node is screen and w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers)


async def settle(app: Any, rec: Recorder, screen: Any, quiet: float = 0.03) -> float:
    """Wait until the screen runs no worker and nothing was delivered for ``quiet`` s."""

    def done() -> bool:
        if screen_busy(app, screen):
            return False
        last = rec.deliveries[-1][0] if rec.deliveries else 0.0
        return now() - last > quiet

    await until(done)
    return now()


async def painted(rec: Recorder, t: float) -> float:
    """The first frame painted at or after ``t`` (waiting for it if need be)."""
    return await until(lambda: rec.paint_after(t), timeout=2.0)


class Scenario:
    """One app run: first screen, then whatever the scenario measures."""

    def __init__(self, store_dir: str, t0_wall: float, name: str) -> None:
        with open(os.path.join(store_dir, "facts.json"), encoding="utf-8") as handle:
            self.facts: dict[str, Any] = json.load(handle)
        self.t0_wall = t0_wall
        self.name = name
        self.result: dict[str, Any] = {}
        self.rec = Recorder()
        install_hooks(self.rec)

    def wall(self, t: float) -> float:
        return t + (time.time() - now())

    async def run(self) -> dict[str, Any]:
        from zbtui.app import ZbtuiApp
        from zbtui.store.open import StoreOptions, open_store

        store = open_store(StoreOptions(db=self.facts["db"], trusted_keys=[self.facts["trusted_key"]]))
        app = ZbtuiApp(store)
        rec = self.rec
        try:
            async with app.run_test(size=TERMINAL_SIZE) as pilot:
                del pilot  # keys go straight to the driver (see send_key)
                start_stall_monitor(rec)
                t_data = await until(lambda: rec.delivery("OverviewScreen", "overview", 0.0))
                t_paint = await painted(rec, t_data)
                self.result["first_screen"] = self.wall(t_paint) - self.t0_wall
                self.result["first_screen_store"] = rec.fetch_seconds("OverviewScreen", "overview", 0.0)
                rec.measure_stalls = True
                steps = {
                    "first_screen": [],
                    "first_start": [],
                    "objects": [self.objects],
                    "search": [self.objects, self.search],
                    "scroll": [self.objects, self.scroll],
                    "detail": [self.detail],
                    "closure": [self.closure],
                    "why": [self.why],
                    "builds": [self.builds],
                    "tour": [self.objects, self.search, self.scroll, self.detail, self.closure, self.why, self.builds],
                }[self.name]
                for step in steps:
                    rec.phase = step.__name__
                    try:
                        await step(app)
                    except TimeoutError:
                        self.result.setdefault("timeouts", []).append(step.__name__)
                    await settle(app, rec, app.screen)
                rec.phase = "end"
                self.result["max_stall"] = rec.max_stall
                self.result["stalls"] = sorted(rec.stalls, reverse=True)[:5]
                # Each sample is 5 ms of a stall spent there.
                self.result["stall_stacks"] = rec.stall_stacks.most_common(8)  # type: ignore[attr-defined]
                app.exit()
        finally:
            store.close()
        self.result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return self.result

    async def objects(self, app: Any) -> None:
        rec = self.rec
        t = now()
        send_key(app, "2")
        first = await until(lambda: rec.list_updates and next((u for u, _ in rec.list_updates if u >= t), None))
        self.result["objects_first_page"] = await painted(rec, first) - t
        done = await until(lambda: next((u for u, m in rec.list_updates if u >= t and m != "show_first_page"), None))
        self.result["objects_index"] = await painted(rec, done) - t
        self.result["objects_first_page_store"] = rec.fetch_seconds("ObjectsScreen", "first-page", t)
        self.result["objects_index_store"] = rec.fetch_seconds("ObjectsScreen", "index", t)
        await settle(app, rec, app.screen)

    async def search(self, app: Any) -> None:
        from textual.widgets import Input

        rec = self.rec
        screen = app.screen
        box = screen.query_one(Input)
        box.focus()
        await settle(app, rec, screen)
        digest = self.facts["most_referenced"].rsplit("/", 1)[-1][:6]
        latencies: list[float] = []
        after_debounce: list[float] = []
        store_first: list[float] = []
        for query in SEARCH_QUERIES:
            query = query.format(digest=digest)
            for char in query:
                t = now()
                send_key(app, char)
                update = await until(lambda: next((u for u, _ in rec.list_updates if u >= t), None))
                paint = await painted(rec, update)
                latencies.append(paint - t)
                fired = next((f for f in rec.search_fired if f >= t), None)
                if fired is not None:
                    after_debounce.append(paint - fired)
                    store = rec.fetch_seconds("ObjectsScreen", "first-page", fired)
                    if store is not None:
                        store_first.append(store)
                # Let this keystroke's whole index arrive before the next one.
                await until(lambda: next((u for u, m in rec.list_updates if u >= t and m != "show_first_page"), None))
                await settle(app, rec, screen)
            t = now()
            box.value = ""
            await until(lambda: next((u for u, m in rec.list_updates if u >= t and m != "show_first_page"), None))
            await settle(app, rec, screen)
        self.result["search_latencies"] = latencies
        self.result["search_after_debounce"] = after_debounce
        self.result["search_store_first_page"] = store_first

    async def scroll(self, app: Any) -> None:
        from zbtui.widgets.object_list import ObjectList

        rec = self.rec
        screen = app.screen
        object_list = screen.query_one(ObjectList)
        object_list.focus()
        await settle(app, rec, screen)
        latencies = []
        store_rows: list[float] = []
        for key in ["pagedown"] * SCROLL_PAGES + ["end"]:
            t = now()
            send_key(app, key)
            first = await painted(rec, t)
            await settle(app, rec, screen)
            last = rec.last_delivery(type(screen).__name__, t)
            end = first
            if last is not None:
                try:
                    end = await painted(rec, last)
                except TimeoutError:
                    # No frame in 2 s: the result changed nothing on screen (a
                    # page fetched ahead of the scrolling, off screen), so the
                    # key's rows are those of the last frame before it.
                    end = max(p for p in rec.paints if p <= last)
            latencies.append(end - t)
            fetched = [sec for ft, sn, k, sec in rec.fetches if ft >= t and k.startswith("rows-")]
            store_rows.append(max(fetched, default=0.0))
        self.result["scroll_latencies"] = latencies[:-1]
        self.result["scroll_jump_end"] = latencies[-1]
        self.result["scroll_store_rows"] = store_rows

    async def detail(self, app: Any) -> None:
        from textual.widgets import TabbedContent

        rec = self.rec
        t = now()
        app.open_object(self.facts["most_referenced"])
        info = await until(lambda: rec.delivery("ObjectDetailScreen", "info", t))
        self.result["detail_info"] = await painted(rec, info) - t
        closure = await until(lambda: rec.delivery("ObjectDetailScreen", "closure", t))
        self.result["detail_closure"] = await painted(rec, closure) - t
        self.result["detail_info_store"] = rec.fetch_seconds("ObjectDetailScreen", "info", t)
        self.result["detail_closure_store"] = rec.fetch_seconds("ObjectDetailScreen", "closure", t)
        self.result["detail_all"] = await settle(app, rec, app.screen) - t
        t = now()
        app.screen.query_one(TabbedContent).active = "referrers"
        page = await until(lambda: rec.delivery("ObjectDetailScreen", lambda k: k.startswith("object-referrers"), t))
        self.result["referrers_first_page"] = await painted(rec, page) - t
        self.result["referrers_first_page_store"] = rec.fetch_seconds(
            "ObjectDetailScreen", lambda k: k.startswith("object-referrers"), t
        )
        app.pop_screen()

    async def closure(self, app: Any) -> None:
        rec = self.rec
        t = now()
        app.open_object(self.facts["closure_root"])
        closure = await until(lambda: rec.delivery("ObjectDetailScreen", "closure", t))
        self.result["closure_12k"] = await painted(rec, closure) - t
        self.result["closure_12k_store"] = rec.fetch_seconds("ObjectDetailScreen", "closure", t)
        await settle(app, rec, app.screen)
        app.pop_screen()

    async def why(self, app: Any) -> None:
        rec = self.rec
        t = now()
        app.open_object(self.facts["chain_top"])
        await until(lambda: rec.delivery("ObjectDetailScreen", "info", t))
        screen = app.screen
        await settle(app, rec, screen)
        t = now()
        screen._why_picked(self.facts["chain_bottom"])  # what picking it in the Why dialog does
        found = await until(lambda: rec.delivery("ObjectDetailScreen", "why", t))
        self.result["why_chain"] = await painted(rec, found) - t
        self.result["why_chain_store"] = rec.fetch_seconds("ObjectDetailScreen", "why", t)
        await settle(app, rec, screen)
        app.pop_screen()

    async def builds(self, app: Any) -> None:
        rec = self.rec
        t = now()
        send_key(app, "3")
        page = await until(lambda: rec.delivery("BuildsScreen", "builds", t))
        self.result["builds_first_page"] = await painted(rec, page) - t
        self.result["builds_first_page_store"] = rec.fetch_seconds("BuildsScreen", "builds", t)


def child_bare(t0_wall: float) -> dict[str, Any]:
    """The floor of every start: a Textual app with one Static, started the same way."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    rec = Recorder()
    from textual._compositor import CompositorUpdate

    original_display = App._display

    def _display(self: App, screen: Any, renderable: Any) -> None:
        original_display(self, screen, renderable)
        if renderable is not None and not self._batch_count:
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(self.console)
            rec.paints.append(now())

    App._display = _display  # type: ignore[method-assign]

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("Hello")

    result: dict[str, Any] = {}

    async def main() -> None:
        app = Bare()
        async with app.run_test(size=TERMINAL_SIZE):
            paint = await until(lambda: rec.paints and rec.paints[0])
            result["bare_start"] = paint + (time.time() - now()) - t0_wall
            # The machine's own stalls: the same timer in an app doing nothing.
            start_stall_monitor(rec)
            rec.measure_stalls = True
            await asyncio.sleep(3.0)
            result["bare_stall"] = rec.max_stall
            rec.phase = "end"
            app.exit()

    asyncio.run(main())
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def child_floor(store_dir: str) -> dict[str, Any]:
    """The same work as bare SQL: what SQLite itself can do, on a fresh connection."""
    import array

    import apsw

    with open(os.path.join(store_dir, "facts.json"), encoding="utf-8") as handle:
        facts = json.load(handle)
    uri = f"file:{facts['db']}?mode=ro&immutable=1"
    conn = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    cut = facts["name_cut"]
    out: dict[str, Any] = {}

    def timed(label: str, sql: str, params: Any = ()) -> list[Any]:
        t = now()
        rows = conn.execute(sql, params).fetchall()
        out[label] = now() - t
        return rows

    def path_id(path: str) -> int:
        return conn.execute("select id from paths where path = ?", (path,)).fetchall()[0][0]

    page_sql = (
        "select o.id, p.path, o.nar_size from objects o join paths p on p.id = o.id {where} "
        "order by substr(p.path, :cut), o.id limit 200"
    )
    timed("objects_first_page", page_sql.format(where=""), {"cut": cut})
    t = now()
    ids = array.array("q")
    ids.extend(
        r[0]
        for r in conn.execute(
            "select o.id from objects o join paths p on p.id = o.id order by substr(p.path, ?), o.id", (cut,)
        )
    )
    out["objects_index"] = now() - t
    digest = facts["most_referenced"].rsplit("/", 1)[-1][:6]
    latencies = []
    for query in SEARCH_QUERIES:
        query = query.format(digest=digest)
        for i in range(1, len(query) + 1):
            t = now()
            conn.execute(
                page_sql.format(where="where instr(lower(substr(p.path, :cut)), :s) > 0"),
                {"cut": cut, "s": query[:i]},
            ).fetchall()
            latencies.append(now() - t)
    out["search_latencies"] = latencies
    middle = list(ids[len(ids) // 2 : len(ids) // 2 + 200])
    timed(
        "scroll_page",
        "select o.id, p.path, o.nar_size from objects o join paths p on p.id = o.id "
        f"where o.id in ({','.join('?' * len(middle))})",
        middle,
    )
    hub = path_id(facts["most_referenced"])
    t = now()
    conn.execute('select count(*) from "references" where reference = ?', (hub,)).fetchall()
    out["detail_info"] = now() - t
    timed(
        "referrers_first_page",
        'select r.referrer, p.path from "references" r join paths p on p.id = r.referrer where r.reference = ? limit 200',
        (hub,),
    )
    closure_sql = """
        with recursive closure(id) as (
            select :id union select r.reference from "references" r join closure c on r.referrer = c.id)
        select count(*), sum(o.nar_size) from closure c left join objects o on o.id = c.id"""
    timed("detail_closure", closure_sql, {"id": hub})
    timed("closure_12k", closure_sql, {"id": path_id(facts["closure_root"])})
    # The recursive walk stops as soon as the target is reached (SQLite
    # evaluates recursive CTEs lazily under a LIMIT).
    timed(
        "why_chain",
        """with recursive reach(id) as (
               select :a union select r.reference from "references" r join reach c on r.referrer = c.id)
           select 1 from reach where id = :b limit 1""",
        {"a": path_id(facts["chain_top"]), "b": path_id(facts["chain_bottom"])},
    )
    timed(
        "builds_first_page",
        "select id, uuid, started_at, ended_at from builds order by coalesce(ended_at, started_at) desc, uuid limit 100",
    )
    conn.close()
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True)
    parser.add_argument("--store")
    parser.add_argument("--t0", type=float, required=True)
    args = parser.parse_args(argv)
    if args.child == "bare":
        result = child_bare(args.t0)
    elif args.child == "floor":
        result = child_floor(args.store)
    else:
        result = asyncio.run(Scenario(args.store, args.t0, args.child).run())
        if args.child == "first_start":
            result["first_start"] = result.pop("first_screen")
            result["first_start_store"] = result.pop("first_screen_store", None)
    print("RESULT " + json.dumps(result))
    return 0


# ============================================================================
# In the parent
# ============================================================================


def spawn(kind: str, store_dir: str | None, cache_dir: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its process start is t0.

    zbtui's counts cache lives in ``cache_dir`` (the benchmark's own, so that
    other zbtui runs on the machine, test suites included, neither warm nor
    evict it); ``first_start`` runs with the cache disabled.
    """
    env = dict(os.environ, ZBTUI_CACHE_DIR="" if kind == "first_start" else cache_dir)
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--t0", repr(time.time())]
    if store_dir:
        command += ["--store", store_dir]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd="/tmp", env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(f"--- {kind} {store_dir} failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n")
    return {"error": proc.stderr[-500:]}


def compile_zbtui() -> None:
    """Byte-compile zbtui, as installing it does.

    An installed zbtui starts from ``.pyc`` files, as Textual does in the bare
    app (the floor). A source checkout run with ``PYTHONDONTWRITEBYTECODE``
    set (as on the benchmark machine) would compile every zbtui module on
    every start instead: some 60 ms of CPU in the first screen that no user
    pays. The children read what this writes (``__pycache__``, git-ignored).
    """
    import compileall

    import zbtui

    compileall.compile_dir(os.path.dirname(os.path.abspath(zbtui.__file__)), quiet=1)


def ensure_store(directory: str, label: str) -> str:
    store_dir = os.path.join(directory, label)
    if not os.path.exists(os.path.join(store_dir, "facts.json")):
        sys.path.insert(0, HERE)
        from make_store import generate

        print(f"generating the {label} store in {store_dir} …", file=sys.stderr, flush=True)
        generate(store_dir, SIZES[label], seed=1, log=lambda m: print("  " + m, file=sys.stderr, flush=True))
    return store_dir


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def per_run_figures(raw: dict[str, Any]) -> dict[str, float]:
    """Flatten one scenario result into named figures (seconds, MiB)."""
    out: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    if raw.get("search_latencies"):
        out["search_p50"] = pct(raw["search_latencies"], 0.5)
        out["search_p95"] = pct(raw["search_latencies"], 0.95)
    if raw.get("search_after_debounce"):
        out["search_nodebounce_p95"] = pct(raw["search_after_debounce"], 0.95)
    if raw.get("search_store_first_page"):
        out["search_store_p95"] = pct(raw["search_store_first_page"], 0.95)
    if raw.get("scroll_store_rows"):
        out["scroll_page_store"] = statistics.median(raw["scroll_store_rows"])
        out["scroll_page_max_store"] = max(raw["scroll_store_rows"])
    if raw.get("scroll_latencies"):
        out["scroll_page"] = statistics.median(raw["scroll_latencies"])
        out["scroll_page_max"] = max(raw["scroll_latencies"])
    return out


ROWS = [
    # (label, figure, unit, floor figure, store figure, target text, check(value, floor, bare start) -> bool)
    ("first screen (process start → overview painted)", "first_screen", "s", "bare_start", "first_screen_store",
     "≤ 1.3× bare Textual", lambda v, f, b: v <= 1.3 * b),
    ("first start (counts not cached yet)", "first_start", "s", "bare_start", "first_start_store", "", None),
    ("objects: first page painted", "objects_first_page", "ms", "objects_first_page", "objects_first_page_store",
     "", None),
    ("objects: whole index (count known)", "objects_index", "ms", "objects_index", "objects_index_store", "", None),
    ("search-as-you-type p50 (key → list)", "search_p50", "ms", "search_p50", None, "", None),
    ("search-as-you-type p95 (key → list)", "search_p95", "ms", "search_p95", "search_store_p95", "≤ 150 ms",
     lambda v, f, b: v <= 0.150),
    ("search p95 from the search starting", "search_nodebounce_p95", "ms", "search_p95", "search_store_p95", "",
     None),
    ("scroll one page (Page Down → rows painted)", "scroll_page", "ms", "scroll_page", "scroll_page_store",
     "≤ 50 ms", lambda v, f, b: v <= 0.050),
    ("scroll: slowest page", "scroll_page_max", "ms", "scroll_page", "scroll_page_max_store", "≤ 50 ms",
     lambda v, f, b: v <= 0.050),
    ("scroll: End (jump to the last page)", "scroll_jump_end", "ms", "scroll_page", None, "", None),
    ("hub detail: info + referrer count", "detail_info", "ms", "detail_info", "detail_info_store", "", None),
    ("hub detail: closure size", "detail_closure", "ms", "detail_closure", "detail_closure_store", "", None),
    ("hub detail: everything loaded", "detail_all", "ms", None, None, "", None),
    ("hub referrers: first page", "referrers_first_page", "ms", "referrers_first_page", "referrers_first_page_store",
     "≤ 100 ms", lambda v, f, b: v <= 0.100),
    ("closure of the 12k-path closure", "closure_12k", "ms", "closure_12k", "closure_12k_store",
     "≤ 150 ms and ≤ 1.5× SQL", lambda v, f, b: v <= 0.150 and (f is None or v <= 1.5 * f)),
    ("why-depends across a 499-link chain", "why_chain", "ms", "why_chain", "why_chain_store", "", None),
    ("builds screen: first page", "builds_first_page", "ms", "builds_first_page", "builds_first_page_store", "", None),
    ("peak RSS (whole tour in one process)", "tour_rss", "MiB", "bare_rss", None, "≤ 100 MiB",
     lambda v, f, b: v <= 100),
    ("longest UI-thread stall (any scenario)", "max_stall", "ms", "bare_stall", None, "≤ 50 ms",
     lambda v, f, b: v <= 0.050),
]
"""The table. The floor of the first screen and of RSS is the bare Textual app;
of the stall, the same timer in that app sitting idle (what the machine itself
adds); of everything else, the same work as bare SQL."""

OWN_FIGURES = {
    "first_screen": ("first_screen",),
    "first_start": ("first_start",),
    "objects": ("objects_",),
    "search": ("search_",),
    "scroll": ("scroll_",),
    "detail": ("detail_", "referrers_"),
    "closure": ("closure_",),
    "why": ("why_",),
    "builds": ("builds_",),
    "tour": (),
}
"""Which figures each scenario reports (prefixes). Every scenario also passes
through the first screen, and the tour through everything; those repeats are
not counted, except for RSS and stalls."""


def aggregate(runs: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Median over runs of each figure; per run, the stall is the worst of all scenarios."""
    figures: dict[str, list[float]] = {}
    n_runs = max((len(v) for v in runs.values()), default=0)
    for i in range(n_runs):
        per_run: dict[str, float] = {}
        stalls: list[float] = []
        for scenario, results in runs.items():
            if i >= len(results):
                continue
            flat = per_run_figures(results[i])
            if "max_stall" in flat:
                stalls.append(flat.pop("max_stall"))
            rss = flat.pop("rss_mib", None)
            if scenario == "tour" and rss is not None:
                per_run["tour_rss"] = rss
            own = OWN_FIGURES.get(scenario)
            for key, value in flat.items():
                if own is None or key.startswith(own):
                    per_run[key] = value
        if stalls:
            per_run["max_stall"] = max(stalls)
        for key, value in per_run.items():
            figures.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in figures.items()}


def fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "–"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value * 1000:.0f} ms" if value >= 0.0095 else f"{value * 1000:.1f} ms"
    return f"{value:.0f} MiB"


def table(
    results: dict[str, dict[str, float]],
    floors: dict[str, dict[str, float]],
    bare: dict[str, float],
    sizes: Sequence[str],
) -> str:
    big = sizes[-1]
    label = SIZE_LABELS.get(big, big)
    header = [
        "measurement",
        *(SIZE_LABELS.get(s, s) for s in sizes),
        f"floor ({label})",
        "ratio",
        f"store part ({label})",
        "target",
        "met?",
    ]
    lines = [header]
    for text, key, unit, floor_key, store_key, target, check in ROWS:
        values = [results.get(size, {}).get(key) for size in sizes]
        value = values[-1]
        floor: float | None = None
        if floor_key in ("bare_start", "bare_rss", "bare_stall"):
            floor = bare.get(floor_key)
        elif floor_key:
            floor = floors.get(big, {}).get(floor_key)
        store = results.get(big, {}).get(store_key) if store_key else None
        ratio = f"{value / floor:.2f}×" if value is not None and floor else "–"
        met = "–"
        if check is not None and value is not None:
            met = "yes" if check(value, floor, bare.get("bare_start", 0.0)) else "NO"
        lines.append(
            [
                text,
                *(fmt(v, unit) for v in values),
                fmt(floor, "MiB" if unit == "MiB" else unit),
                ratio,
                fmt(store, unit) if store_key else "–",
                target or "–",
                met,
            ]
        )
    start = fmt(bare.get("bare_start"), "s")
    lines.append(["bare Textual app start (one Static)", *[start] * len(sizes), "", "", "", "", ""])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = []
    for n, row in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--child" in argv:
        return child_main(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/zbtui-bench", help="where the stores are (generated when missing)")
    parser.add_argument("--runs", type=int, default=5, help="subprocess runs per measurement (medians are shown)")
    parser.add_argument("--sizes", default="10k,100k,1m", help="store sizes, comma-separated: " + ",".join(SIZES))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="which scenarios to run")
    parser.add_argument("--json", help="write every raw figure to this file")
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for size in sizes:
        if size not in SIZES:
            parser.error(f"unknown size {size!r}")
    store_dirs = {size: ensure_store(args.dir, size) for size in sizes}
    compile_zbtui()
    cache_dir = os.path.join(args.dir, "cache")
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {size: {} for size in sizes}
    raw["bare"] = {"bare": []}
    started = time.time()
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for run in range(args.runs):
        # Interleave everything within a run, so that drift (thermal, other
        # load) spreads over all figures instead of biasing one.
        raw["bare"]["bare"].append(spawn("bare", None, cache_dir))
        for size in sizes:
            raw[size].setdefault("floor", []).append(spawn("floor", store_dirs[size], cache_dir))
            for scenario in scenarios:
                raw[size].setdefault(scenario, []).append(spawn(scenario, store_dirs[size], cache_dir))
        print(f"run {run + 1}/{args.runs} done at {time.time() - started:.0f}s", file=sys.stderr, flush=True)
    bare_runs = [per_run_figures(r) for r in raw["bare"]["bare"]]
    bare = {
        "bare_start": statistics.median(r["bare_start"] for r in bare_runs),
        "bare_rss": statistics.median(r["rss_mib"] for r in bare_runs),
        "bare_stall": statistics.median(r["bare_stall"] for r in bare_runs),
    }
    results = {size: aggregate({k: v for k, v in raw[size].items() if k != "floor"}) for size in sizes}
    floors = {size: aggregate({"floor": raw[size]["floor"]}) for size in sizes}
    print(table(results, floors, bare, sizes))
    print(
        f"\n{args.runs} runs, medians; {os.cpu_count()} CPUs; load average at the start {load_start}, "
        f"at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {time.time() - started:.0f} s"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"raw": raw, "results": results, "floors": floors, "bare": bare,
                       "load": [load_start, os.getloadavg()]}, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

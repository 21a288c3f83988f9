"""The browser and a second reader while a simulated zb server writes.

A separate writer process does what ``zb serve`` does (heartbeat every
second, builds appearing and finishing step by step, objects and
realizations registered, automatic WAL checkpoints); the app runs headless on
its live Builds view, and another process pages through objects. Asserted:

* the writer never gets SQLITE_BUSY or any error;
* the browser never shows an error, and shows each new build soon after the
  writer created it;
* checkpoints complete and the WAL stays bounded (no reader holds a read
  transaction open), and a TRUNCATE checkpoint succeeds while the app is
  still open.

Commit latency with and without the browser is measured by
benchmarks/live_writer.py, not asserted here (timing on shared CI machines).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import apsw
from helpers import NOW_MS
from live_procs import CHECKPOINT_PAGES, demo_spec
from reliability_support import RecordingApp, settle

from zbtui.demo.builder import build_demo_store
from zbtui.screens.builds import BuildsScreen
from zbtui.store.open import StoreOptions, open_store

PROCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live_procs.py")

RUN_S = 4.5
"""How long the writer writes."""

SHOW_WITHIN_S = 2.0
"""A new build must be on screen this soon after the writer inserted it (the
probe runs every 0.2 s here; the default is 1 s). Generous for loaded CI."""

WAL_BOUND = 2 << 20
"""The WAL restarts after each complete checkpoint (every CHECKPOINT_PAGES
pages, 400 KiB here), so it never gets near this unless a reader pins it."""


def start(role: str, spec_path: str, out_path: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, PROCS, role, spec_path, out_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(PROCS),
    )
    return proc


def wait_ready(proc: subprocess.Popen[str]) -> None:
    line = proc.stdout.readline() if proc.stdout else ""
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"process did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")


def finish(proc: subprocess.Popen[str], out_path: str) -> dict:
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, stderr
    with open(out_path) as handle:
        return json.load(handle)


async def test_live_writer_browser_and_pager(tmp_path):
    demo = build_demo_store(str(tmp_path / "live"), now_ms=NOW_MS, heartbeat="none")
    # Attach a writer first, as a running zb would be: the browser then opens
    # in shared WAL mode, reading through the WAL index.
    first = apsw.Connection(demo.db_path)
    first.execute("pragma journal_mode = wal; delete from running_server")
    store = open_store(StoreOptions(db=demo.db_path, log_dir=demo.log_dir, store_dir=demo.store_dir, env={}))
    first.close()
    assert not store.db.immutable
    known = {b.id for b in store.builds(limit=1000).items}
    app = RecordingApp(store, theme="textual-dark", watch_interval=0.2)  # the real clock
    seen_at: dict[str, float] = {}
    writer = pager = None
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            app.show_section("builds")
            await settle(pilot)
            deadline = time.time() + 1.5 + RUN_S  # the processes take a moment to start
            spec_path = str(tmp_path / "spec.json")
            with open(spec_path, "w") as handle:
                json.dump(demo_spec(demo, deadline), handle)
            writer = start("writer", spec_path, str(tmp_path / "writer.json"))
            pager = start("pager", spec_path, str(tmp_path / "pager.json"))
            ready = asyncio.gather(asyncio.to_thread(wait_ready, writer), asyncio.to_thread(wait_ready, pager))
            while time.time() < deadline + 0.5:
                await asyncio.sleep(0.05)
                screen = app.screen
                if isinstance(screen, BuildsScreen):
                    now = time.time()
                    for build_id in screen.builds:
                        if build_id not in known:
                            seen_at.setdefault(build_id, now)
            await ready
            writer_figures = await asyncio.to_thread(finish, writer, str(tmp_path / "writer.json"))
            pager_figures = await asyncio.to_thread(finish, pager, str(tmp_path / "pager.json"))
            await asyncio.sleep(0.5)
            await settle(pilot)
            # No read transaction is left open: a TRUNCATE checkpoint from a
            # fresh writer connection completes while the browser is still up.
            check = apsw.Connection(demo.db_path)
            check.set_busy_timeout(3000)
            busy, log, checkpointed = check.execute("pragma wal_checkpoint(TRUNCATE)").fetchall()[0]
            check.close()
            assert busy == 0 and log == checkpointed
            assert os.path.getsize(demo.db_path + "-wal") == 0
            errors = app.errors() + app.internal_errors()
            failed_workers = [w for w in app.workers if w.state.name == "ERROR"]
    finally:
        for proc in (writer, pager):
            if proc is not None and proc.poll() is None:
                proc.kill()
        store.close()

    # The writer: no SQLITE_BUSY, no error at all, and it did real work.
    assert writer_figures["errors"] == [] and writer_figures["busy"] == 0, writer_figures["errors"]
    assert writer_figures["heartbeats"] >= RUN_S - 1
    assert writer_figures["builds_finished"] >= 3
    assert writer_figures["imported"]["objects"] >= 10
    # Checkpoints ran and completed: no reader pinned the WAL.
    assert writer_figures["checkpoints"] >= 2
    # One may find a reader mid-query (it completes next time); a reader that
    # kept its transaction open would leave every later one incomplete.
    assert writer_figures["checkpoints_complete"] >= writer_figures["checkpoints"] // 2
    assert writer_figures["longest_incomplete_streak"] <= 2, writer_figures
    assert writer_figures["max_wal_bytes"] < WAL_BOUND, writer_figures["max_wal_bytes"]
    # The second reader paged all along, without an error.
    assert pager_figures["errors"] == [] and pager_figures["pages"] > 20, pager_figures["errors"][:3]
    # The browser: no error, and every build the writer made, shown soon.
    assert errors == [] and failed_workers == [], errors
    reader = open_store(StoreOptions(db=demo.db_path, env={}))
    try:
        created = {b.id: b.started_at for b in reader.builds(limit=1000).items if b.started_at and b.started_at > NOW_MS}
    finally:
        reader.close()
    assert len(created) >= writer_figures["builds_started"] >= 3
    shown_after = {build_id: seen_at[build_id] - created[build_id] / 1000 for build_id in created if build_id in seen_at}
    # Builds made in the last moments may not have been looked for.
    late = {b: t for b, t in created.items() if t / 1000 > deadline - 1.0}
    assert set(created) - set(shown_after) <= set(late), "a build never appeared"
    assert max(shown_after.values()) < SHOW_WITHIN_S, shown_after
    server = writer_figures["latencies_ms"]["server"]
    print(
        f"\nlive writer: {len(server)} server commits p50 {statistics.median(server):.2f} ms, "
        f"{writer_figures['checkpoints']} checkpoints ({writer_figures['checkpoints_complete']} complete), "
        f"max WAL {writer_figures['max_wal_bytes'] / 1024:.0f} KiB (checkpoint every {CHECKPOINT_PAGES} pages), "
        f"pager {pager_figures['pages']} pages, builds shown after "
        f"{statistics.median(shown_after.values()):.2f} s median, {max(shown_after.values()):.2f} s max"
    )

"""Named views of a demo store, for snapshot tests and the README screenshots.

Each scene drives a running app (a Textual ``Pilot``) to one screen, waits
until every worker has delivered, and leaves it there. The same scenes feed
``tests/snapshots`` and ``scripts/screenshots.py``, so the pictures in the
README are the ones the tests check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable

from .builder import DemoStore, build_demo_store

__all__ = ["SCENES", "SCENE_ROOT", "SCENE_NOW_MS", "build_scene_store", "settle"]

SCENE_ROOT = "/tmp/zbtui-scenes"
"""A fixed place, so every path on screen is the same on every run."""

SCENE_NOW_MS = 1_795_440_000_000
"""The frozen "now" (2026-11-23 13:20 UTC), the same as the tests'."""

SCENE_STORE_DIR = "/opt/zb/store"


def build_scene_store(root: str = SCENE_ROOT) -> DemoStore:
    """A fresh demo store after a server crash: the heartbeat is stale, builds are orphaned."""
    shutil.rmtree(root, ignore_errors=True)
    return build_demo_store(root, now_ms=SCENE_NOW_MS, heartbeat="stale", logical_store_dir=SCENE_STORE_DIR)


async def settle(pilot) -> None:
    """Wait until no worker is running and the screen has repainted.

    Some workers start others (the overview verifies signatures page by
    page), so wait a few rounds.
    """
    for _ in range(8):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            break
    # Screenshots must not catch a blinking cursor half-way.
    from textual.widgets import Input

    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    # Which keys the footer offers depends on the final state (a row selected
    # or not): recompute it now rather than racing the last message.
    # The footer ignores binding changes while the app lacks focus, which a
    # headless run may or may not have: give it focus and ask again.
    pilot.app.app_focus = True
    pilot.app.screen.refresh_bindings()
    await pilot.pause()
    # Tables size their columns when they next go idle, which a loaded machine
    # may delay past the last pause: wait for it (bounded).
    from textual.widgets import DataTable

    for _ in range(40):
        if not any(getattr(t, "_require_update_dimensions", False) for t in pilot.app.screen.query(DataTable)):
            break
        await pilot.pause(0.05)
    await pilot.pause()


def _result_with_log(app, demo: DemoStore, build_id: str) -> str:
    detail = app.store.build(build_id)
    for result in detail.results:
        if result.log.exists:
            return result.drv_path
    return detail.results[0].drv_path


async def overview(pilot, demo: DemoStore) -> None:
    await settle(pilot)


async def objects(pilot, demo: DemoStore) -> None:
    await pilot.press("2")
    await settle(pilot)


async def objects_search(pilot, demo: DemoStore) -> None:
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("slash", *"gcc")
    await pilot.pause(0.3)
    await settle(pilot)


async def object_detail(pilot, demo: DemoStore) -> None:
    pilot.app.open_object(demo.facts["chain"][0])
    await settle(pilot)


async def referrers(pilot, demo: DemoStore) -> None:
    pilot.app.open_object(demo.facts["shared_base"])
    await settle(pilot)
    from textual.widgets import TabbedContent

    tabs = pilot.app.screen.query(TabbedContent)
    if tabs:
        tabs.first().active = "referrers"
    await settle(pilot)


async def realization(pilot, demo: DemoStore) -> None:
    pilot.app.open_realizations(path=demo.facts["signature_cases"]["both_keys"])
    await settle(pilot)


async def realizations(pilot, demo: DemoStore) -> None:
    await pilot.press("4")
    await settle(pilot)


async def builds(pilot, demo: DemoStore) -> None:
    await pilot.press("3")
    await settle(pilot)


async def orphaned_build(pilot, demo: DemoStore) -> None:
    pilot.app.open_build(demo.facts["orphaned_build_id"])
    await settle(pilot)


async def build_log(pilot, demo: DemoStore) -> None:
    # A failed build other than the one whose log is hostile (that is its own scene).
    hostile_build = demo.facts["hostile_log"].split(os.sep)[-2]
    build_id = next(b for b in demo.facts["build_ids"]["fail"] if b != hostile_build)
    pilot.app.open_log(build_id, _result_with_log(pilot.app, demo, build_id))
    await settle(pilot)


async def hostile_log(pilot, demo: DemoStore) -> None:
    path = demo.facts["hostile_log"]
    build_id = path.split(os.sep)[-2]
    detail = pilot.app.store.build(build_id)
    drv = next(r.drv_path for r in detail.results if r.log.path == path)
    pilot.app.open_log(build_id, drv)
    await settle(pilot)


async def help_screen(pilot, demo: DemoStore) -> None:
    await pilot.press("3")
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


SCENES: dict[str, Callable[..., Awaitable[None]]] = {
    "overview": overview,
    "objects": objects,
    "objects-search": objects_search,
    "object-detail": object_detail,
    "referrers": referrers,
    "realizations": realizations,
    "realization": realization,
    "builds": builds,
    "orphaned-build": orphaned_build,
    "build-log": build_log,
    "hostile-log": hostile_log,
    "help": help_screen,
}

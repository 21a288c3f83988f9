"""Snapshot tests of every screen at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: a store at a fixed path with a frozen clock, a fixed theme,
UTC, and no cursor blink. Review `snapshot_report.html` before ever running
`--snapshot-update`.
"""

from __future__ import annotations

import pytest
from helpers import open_demo

from zbtui.app import ZbtuiApp
from zbtui.demo.scenes import SCENE_NOW_MS, SCENES, build_scene_store

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture(scope="session")
def scene_store():
    return build_scene_store()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("scene", list(SCENES))
def test_scene(snap_compare, scene_store, scene, size):
    store = open_demo(scene_store, clock=lambda: SCENE_NOW_MS)
    app = ZbtuiApp(store, theme="textual-dark", clock=lambda: SCENE_NOW_MS, watch_interval=0)

    async def run_before(pilot) -> None:
        await SCENES[scene](pilot, scene_store)

    try:
        assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
    finally:
        store.close()

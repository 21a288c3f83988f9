"""Regenerate screenshots/*.svg from the demo scenes (the README shows them).

    python scripts/screenshots.py            # every scene at 120x40, a few at 80x24

The pictures come from the same scenes the snapshot tests check
(zbtui/demo/scenes.py), on a demo store at a fixed path with a frozen clock.
"""

from __future__ import annotations

import asyncio
import os
import sys

from zbtui.app import ZbtuiApp
from zbtui.demo.scenes import SCENE_NOW_MS, SCENES, build_scene_store
from zbtui.store.open import StoreOptions, open_store

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "screenshots")
NARROW = ("overview", "builds", "orphaned-build", "object-detail")
"""Scenes also shown at 80×24, the size of an SSH session's default terminal."""


async def shoot(demo, scene: str, size: tuple[int, int]) -> str:
    store = open_store(
        StoreOptions(
            db=demo.db_path,
            store_dir=demo.store_dir,
            log_dir=demo.log_dir,
            trusted_keys=[f"ed25519:{demo.trusted_key_b64}"],
            env={},
            clock=lambda: SCENE_NOW_MS,
        )
    )
    app = ZbtuiApp(store, theme="textual-dark", clock=lambda: SCENE_NOW_MS, watch_interval=0)
    name = f"{scene}.svg" if size == (120, 40) else f"{scene}-{size[0]}x{size[1]}.svg"
    try:
        async with app.run_test(size=size) as pilot:
            await SCENES[scene](pilot, demo)
            app.save_screenshot(name, OUT)
    finally:
        store.close()
    return name


async def main() -> int:
    os.environ["TZ"] = "UTC"
    import time

    time.tzset()
    demo = build_scene_store()
    os.makedirs(OUT, exist_ok=True)
    for scene in SCENES:
        print(await shoot(demo, scene, (120, 40)))
        if scene in NARROW:
            print(await shoot(demo, scene, (80, 24)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""``zbtui --demo``: a generated zb store with a simulated server writing to it.

The store lives in a temporary directory that is removed on exit. The
simulated server writes heartbeats, starts a new build now and then and
appends to its log, so the live views have something to show.
"""

from __future__ import annotations

import shutil
import tempfile

__all__ = ["DEMO_STORE_DIR", "run_demo"]

DEMO_STORE_DIR = "/opt/zb/store"
"""zb's default store directory, as the demo's paths name it."""


def run_demo(*, theme: str | None = None) -> int:
    """Build the demo store, start the simulated server, run the browser."""
    from ..app import ZbtuiApp
    from ..store.open import StoreOptions, open_store
    from .builder import build_demo_store
    from .live import SimulatedServer

    root = tempfile.mkdtemp(prefix="zbtui-demo-")
    try:
        # Paths read like a real zb store's; the files live in the temp dir.
        demo = build_demo_store(root, heartbeat="alive", logical_store_dir=DEMO_STORE_DIR)
        server = SimulatedServer(demo)
        server.start()
        try:
            store = open_store(
                StoreOptions(
                    db=demo.db_path,
                    store_dir=demo.store_dir,
                    log_dir=demo.log_dir,
                    trusted_keys=[f"ed25519:{demo.trusted_key_b64}"],
                    env={},
                )
            )
            try:
                app = ZbtuiApp(store, theme=theme)
                app.run()
                return app.return_code or 0
            finally:
                store.close()
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)

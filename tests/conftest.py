"""Shared fixtures: demo stores built to the spec in tmp dirs, apps with a frozen clock."""

from __future__ import annotations

import os
import tempfile
import time

import pytest
from helpers import NOW_MS, frozen_clock, open_demo

from zbtui.demo.builder import DemoStore, build_demo_store

# Times on screen are local times: fix the zone so tests and snapshots agree everywhere.
os.environ["TZ"] = "UTC"
time.tzset()
# No host configuration leaks into tests (zb config files, Nix config, sockets).
for _name in ("ZB_CONFIG_FILE", "ZB_STORE_DIR", "ZB_STORE_SOCKET", "NIX_CONFIG", "NIX_CONF_DIR", "NIX_USER_CONF_FILES"):
    os.environ.pop(_name, None)
os.environ["XDG_CONFIG_HOME"] = "/nonexistent/zbtui-tests"
# zbtui's own cache (summary counts) goes to a private directory, not the user's home.
os.environ["ZBTUI_CACHE_DIR"] = tempfile.mkdtemp(prefix="zbtui-test-cache-")
os.environ["XDG_CONFIG_DIRS"] = "/nonexistent/zbtui-tests"

@pytest.fixture(scope="session")
def demo_alive(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """A demo store whose server heartbeat is alive at NOW_MS. Read it only."""
    return build_demo_store(str(tmp_path_factory.mktemp("demo-alive")), now_ms=NOW_MS, heartbeat="alive")


@pytest.fixture(scope="session")
def demo_stale(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """The same store after a crash: the heartbeat is an hour old, unfinished builds are orphans."""
    return build_demo_store(str(tmp_path_factory.mktemp("demo-stale")), now_ms=NOW_MS, heartbeat="stale")


@pytest.fixture
def demo_fresh(tmp_path) -> DemoStore:
    """A private demo store a test may write to (as a simulated server)."""
    return build_demo_store(str(tmp_path / "demo"), now_ms=NOW_MS, heartbeat="alive")


@pytest.fixture
def zb_alive(demo_alive: DemoStore):
    store = open_demo(demo_alive)
    yield store
    store.close()


@pytest.fixture
def zb_stale(demo_stale: DemoStore):
    store = open_demo(demo_stale)
    yield store
    store.close()


@pytest.fixture
def make_app():
    """Build a deterministic app: frozen clock, fixed theme, no change probe."""
    from zbtui.app import ZbtuiApp

    def factory(store, *, watch_interval: float = 0.0, **kwargs) -> ZbtuiApp:
        return ZbtuiApp(store, theme="textual-dark", clock=frozen_clock, watch_interval=watch_interval, **kwargs)

    return factory

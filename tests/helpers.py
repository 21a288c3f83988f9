"""Helpers shared by the tests (importable as ``helpers``: tests/ is on sys.path)."""

from __future__ import annotations

import os
from collections.abc import Callable

from zbtui.demo.builder import DemoStore
from zbtui.store.open import StoreOptions, open_store
from zbtui.store.zb import ZbStore

NOW_MS = 1_795_440_000_000
"""The frozen "now" of every fixture store (2026-11-23 09:20 UTC)."""

SHARED = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
"""The project's shared/ folder, beside the repository (in CI too)."""

REALDATA = os.path.join(SHARED, "realdata", "nix-2.8")
"""The real Nix 2.8 database and Nix's answers (read-only; copy before opening)."""


def frozen_clock() -> int:
    return NOW_MS


def open_demo(demo: DemoStore, *, trusted: bool = True, clock: Callable[[], int] = frozen_clock, **extra) -> ZbStore:
    """Open a demo store read-only, as a user would with --log-dir and --trusted-key."""
    if demo.logical_store_dir != demo.store_dir and "store_dir" not in extra:
        extra["store_dir"] = demo.store_dir
    options = StoreOptions(
        db=demo.db_path,
        log_dir=demo.log_dir,
        trusted_keys=[f"ed25519:{demo.trusted_key_b64}"] if trusted else [],
        env={},
        clock=clock,
        **extra,
    )
    store = open_store(options)
    assert isinstance(store, ZbStore)
    return store

"""Finding, recognising and opening a store database."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .base import Clock, Store, wall_clock_ms
from .connection import Database
from .errors import StoreError

__all__ = ["DEFAULT_DATABASES", "StoreOptions", "detect_kind", "open_store"]

ZB_DEFAULT_DB = "/opt/zb/var/zb/db.sqlite"
NIX_DEFAULT_DB = "/nix/var/nix/db/db.sqlite"
DEFAULT_DATABASES = (ZB_DEFAULT_DB, NIX_DEFAULT_DB)
"""Where ``zbtui`` looks when no database is named: zb's first, then Nix's."""


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Everything the command line says about which store to open and how.

    Attributes:
        db: The database file.
        store_dir: Where the store's files really are (for on-disk checks);
            defaults to ``$ZB_STORE_DIR`` for zb, or the directory the paths name.
        store_root: Nix chroot store root: logical ``/nix/store`` lives at
            ``<root>/nix/store`` and logs at ``<root>/nix/var/log/nix``.
        log_dir: Build log directory.
        config: zb configuration files (``--config``), for trusted keys.
        trusted_keys: ``FORMAT:BASE64`` (zb) or ``NAME:BASE64`` (Nix) keys to trust.
        known_keys: Nix keys (or ``.pub`` files) known but not trusted.
        nix_conf: nix.conf files to read instead of Nix's own search.
        socket: zb's server socket, asked (read-only) whether an unfinished
            build is running or orphaned; default ``$ZB_STORE_SOCKET`` or
            ``server.sock`` beside the database.
    """

    db: str
    store_dir: str | None = None
    store_root: str | None = None
    log_dir: str | None = None
    config: Sequence[str] = ()
    trusted_keys: Sequence[str] = ()
    known_keys: Sequence[str] = ()
    nix_conf: Sequence[str] | None = None
    socket: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = wall_clock_ms


def detect_kind(db: Database) -> str:
    """``zb`` or ``nix``, from the tables the database has.

    Raises:
        StoreError: naming what was found when it is neither.
    """
    with db.snapshot() as conn:
        tables = sorted(row[0] for row in conn.execute("select name from sqlite_schema where type = 'table'"))
    names = set(tables)
    if {"paths", "objects", "references"} <= names:
        return "zb"
    if {"ValidPaths", "Refs"} <= names:
        return "nix"
    found = ", ".join(tables[:8]) + ("…" if len(tables) > 8 else "") if tables else "no tables at all"
    raise StoreError(f"{db.path}: not a zb or Nix store database (found: {found})")


def open_store(options: StoreOptions, *, expect: str | None = None) -> Store:
    """Open the database read-only and return the right ``Store``.

    Args:
        options: What the command line said.
        expect: ``zb`` or ``nix`` when the caller insists on one kind.

    Raises:
        StoreError: with one clear line for every way this can fail.
    """
    db = Database(options.db)
    try:
        kind = detect_kind(db)
        if expect is not None and kind != expect:
            raise StoreError(f"{db.path}: this is a {kind} database, not a {expect} one")
        if kind == "zb":
            from .trust import load_zb_trust
            from .zb import ZbStore

            trust = load_zb_trust(options.config, options.trusted_keys, env=options.env)
            missing = [p for p in trust.problems if "--config" in p or "does not exist" in p]
            if missing:
                raise StoreError(missing[0])
            store_dir = options.store_dir or options.env.get("ZB_STORE_DIR") or None
            socket_path = options.socket or options.env.get("ZB_STORE_SOCKET") or None
            return ZbStore(
                db, store_dir=store_dir, log_dir=options.log_dir, trust=trust, clock=options.clock, socket_path=socket_path
            )
        from .nix import NixStore

        return NixStore.from_options(db, options)
    except BaseException:
        db.close()
        raise

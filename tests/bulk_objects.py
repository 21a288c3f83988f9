"""A zb database with thousands of objects, for the objects index and list tests.

Importable as ``bulk_objects`` (tests/ is on sys.path). Built with the demo
schema and bulk inserts in one transaction: 3,000 objects take ~0.1 s.
"""

from __future__ import annotations

import os
import random

from zbtui.demo.schema import create_zb_database
from zbtui.store.formats import NIX32_ALPHABET

__all__ = ["BULK_NAMES", "BULK_OBJECTS", "build_bulk_store"]

BULK_OBJECTS = 3000
"""Default object count: many pages of 200, and several chunks of 500 ids."""

BULK_NAMES = ("hello-2.12.1", "openssl-3.0.13", "zlib-1.3.1", "Python-3.11.9.tar.xz", "glibc-2.39")
"""Few names, so that many objects share one and the id decides their order."""

DRV_EVERY = 5
"""Every fifth object is a ``.drv``."""

ON_DISK_EVERY = 3
"""Every third object has files in the store directory; the others are absent."""


def build_bulk_store(root: str, n: int = BULK_OBJECTS, seed: int = 3) -> str:
    """Create ``<root>/db.sqlite`` with ``n`` objects (ids 1..n) and return its path.

    Names repeat (``BULK_NAMES``) and sizes often tie (1 KiB, 4 KiB), so the
    id tie-breaks of both sorts are exercised. One extra path row (id n+1) is
    known but not an object.
    """
    rng = random.Random(seed)
    store_dir = os.path.join(root, "store")
    os.makedirs(store_dir)
    db_path = os.path.join(root, "db.sqlite")
    conn = create_zb_database(db_path)
    paths, objects = [], []
    for i in range(1, n + 1):
        digest = "".join(rng.choice(NIX32_ALPHABET) for _ in range(32))
        name = rng.choice(BULK_NAMES) + (".drv" if i % DRV_EVERY == 0 else "")
        path = f"{store_dir}/{digest}-{name}"
        paths.append((i, path))
        objects.append((i, rng.choice((1024, 4096, rng.randint(1, 1 << 30)))))
        if i % ON_DISK_EVERY == 0:
            open(path, "w").close()
    paths.append((n + 1, f"{store_dir}/{'0' * 32}-absent-1.0"))
    conn.execute("begin")
    conn.executemany('insert into "paths" ("id", "path") values (?, ?)', paths)
    conn.executemany('insert into "objects" ("id", "nar_size") values (?, ?)', objects)
    conn.execute("commit")
    conn.execute("pragma wal_checkpoint(TRUNCATE)")
    conn.close()
    return db_path

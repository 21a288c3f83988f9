"""Separate processes for the live-writer test and benchmark.

``python live_procs.py writer SPEC.json OUT.json``
    A simulated ``zb serve`` (``zbtui.demo.live.SimulatedServer``: heartbeat,
    builds with results, outputs, logs, realizations and signatures, each step
    its own ``BEGIN IMMEDIATE``), plus an importer connection that registers
    objects and realizations, as ``zb store object register`` or a substitution
    would. Every write transaction is timed from ``BEGIN IMMEDIATE`` to the end
    of ``COMMIT``; any error (SQLITE_BUSY included) is counted, never retried.
    WAL checkpoints run automatically (SQLite's auto-checkpoint, done here by
    a WAL hook so that each one's result can be recorded).

``python live_procs.py pager SPEC.json OUT.json``
    A second reader: pages through all objects (by name and by size, with
    their metadata and references) and builds with the store layer, back to
    back, for as long as the writer runs.

Both print ``ready`` on stdout once started and stop at ``deadline`` (a
wall-clock time in the spec) or on SIGTERM, then write their figures as JSON.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from typing import Any

import apsw

from zbtui.demo.builder import DemoStore
from zbtui.demo.live import SimulatedServer
from zbtui.store.formats import nix32_encode

CHECKPOINT_PAGES = 100
"""WAL pages after which a commit checkpoints (PASSIVE), like SQLite's
auto-checkpoint. zb keeps SQLite's default of 1000; a short run uses a tenth
so that it sees many checkpoints, not zero."""


def demo_spec(demo: DemoStore, deadline: float, **extra: Any) -> dict[str, Any]:
    """What a child process needs to rebuild the `DemoStore` and its run."""
    return {
        "root": demo.root,
        "db_path": demo.db_path,
        "store_dir": demo.store_dir,
        "log_dir": demo.log_dir,
        "logical_store_dir": demo.logical_store_dir,
        "trusted_key_b64": demo.trusted_key_b64,
        "untrusted_key_b64": demo.untrusted_key_b64,
        "signing_seeds": {k: v.hex() for k, v in demo.signing_seeds.items()},
        "now_ms": demo.now_ms,
        "deadline": deadline,
        **extra,
    }


def _demo(spec: dict[str, Any]) -> DemoStore:
    return DemoStore(
        root=spec["root"],
        db_path=spec["db_path"],
        store_dir=spec["store_dir"],
        log_dir=spec["log_dir"],
        logical_store_dir=spec["logical_store_dir"],
        trusted_key_b64=spec["trusted_key_b64"],
        untrusted_key_b64=spec["untrusted_key_b64"],
        signing_seeds={k: bytes.fromhex(v) for k, v in spec["signing_seeds"].items()},
        now_ms=spec["now_ms"],
        facts={},
    )


class Recorder:
    """Commit latencies, errors, checkpoints and WAL sizes, from any thread."""

    def __init__(self, wal_path: str) -> None:
        self.wal_path = wal_path
        self.lock = threading.Lock()
        self.latencies_ms: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.busy = 0
        self.checkpoints = 0
        self.checkpoints_complete = 0
        self.checkpoint_busy = 0
        self.incomplete_streak = 0
        self.longest_incomplete_streak = 0
        self.max_wal_bytes = 0
        self._pending: dict[int, dict[str, int]] = {}

    def commit(self, kind: str, ms: float) -> None:
        try:
            wal = os.path.getsize(self.wal_path)
        except OSError:
            wal = 0
        with self.lock:
            self.latencies_ms.setdefault(kind, []).append(ms)
            self.max_wal_bytes = max(self.max_wal_bytes, wal)

    def error(self, where: str, exc: BaseException) -> None:
        with self.lock:
            if isinstance(exc, apsw.BusyError | apsw.LockedError):
                self.busy += 1
            self.errors.append(f"{where}: {type(exc).__name__}: {exc}")

    def watch(self, conn: apsw.Connection) -> None:
        """Take over the connection's auto-checkpoint, to record each result."""
        pending = {"pages": 0}
        # apsw calls the hook with (connection, database name, pages in the WAL).
        conn.set_wal_hook(lambda _conn, _name, pages: pending.__setitem__("pages", pages) or apsw.SQLITE_OK)
        self._pending[id(conn)] = pending

    def after_commit(self, conn: apsw.Connection) -> None:
        # What SQLite's auto-checkpoint does at the end of a COMMIT
        # (sqlite3WalDefaultHook): a PASSIVE checkpoint once the WAL holds
        # enough pages. It never waits for readers; a reader's open snapshot
        # leaves it incomplete, and then the WAL cannot restart and grows.
        pending = self._pending[id(conn)]
        if pending["pages"] < CHECKPOINT_PAGES:
            return
        pending["pages"] = 0
        try:
            log, done = conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
        except apsw.BusyError:
            with self.lock:
                self.checkpoint_busy += 1
            return
        with self.lock:
            self.checkpoints += 1
            self.checkpoints_complete += int(log == done)
            # A reader in the middle of a query when the checkpoint runs leaves
            # it incomplete once; a reader that kept a transaction open would
            # leave every following one incomplete.
            self.incomplete_streak = 0 if log == done else self.incomplete_streak + 1
            self.longest_incomplete_streak = max(self.longest_incomplete_streak, self.incomplete_streak)

    def figures(self) -> dict[str, Any]:
        with self.lock:
            return {
                "latencies_ms": self.latencies_ms,
                "errors": self.errors,
                "busy": self.busy,
                "checkpoints": self.checkpoints,
                "checkpoints_complete": self.checkpoints_complete,
                "checkpoint_busy": self.checkpoint_busy,
                "longest_incomplete_streak": self.longest_incomplete_streak,
                "max_wal_bytes": self.max_wal_bytes,
            }


class TimedServer(SimulatedServer):
    """The demo's simulated zb server, with every write transaction timed."""

    def __init__(self, store: DemoStore, recorder: Recorder, **kwargs: Any) -> None:
        super().__init__(store, **kwargs)
        self.recorder = recorder
        self._hooked = False

    @contextmanager
    def _immediate(self):
        conn = self._conn
        assert conn is not None
        if not self._hooked:
            self.recorder.watch(conn)
            self._hooked = True
        started = time.perf_counter()
        try:
            with super()._immediate() as c:
                yield c
            self.recorder.after_commit(conn)
        except BaseException as exc:
            self.recorder.error("server", exc)
            raise
        self.recorder.commit("server", (time.perf_counter() - started) * 1000)


def _importer(demo: DemoStore, recorder: Recorder, stop: threading.Event, every_s: float, seed: int) -> dict[str, int]:
    """Register objects and realizations, one short transaction each time."""
    rng = random.Random(seed)
    conn = apsw.Connection(demo.db_path, flags=apsw.SQLITE_OPEN_READWRITE)
    conn.set_busy_timeout(5000)
    conn.execute("pragma journal_mode = wal; pragma synchronous = normal; pragma foreign_keys = on")
    recorder.watch(conn)
    counts = {"objects": 0, "realizations": 0}
    existing = [r[0] for r in conn.execute("select id from objects")]
    key_id = conn.execute("select min(id) from signature_public_keys").fetchall()[0][0]
    while not stop.wait(every_s):
        name = rng.choice(["hello-2.12.1", "libfoo-1.0", "python3-3.11.9", "source.tar.xz"])
        path = f"{demo.logical_store_dir}/{nix32_encode(rng.randbytes(20))}-{name}"
        started = time.perf_counter()
        try:
            conn.execute("begin immediate")
            try:
                conn.execute('insert into "paths" ("path") values (?)', (path,))
                pid = conn.last_insert_rowid()
                conn.execute(
                    'insert into "objects" ("id", "nar_size", "nar_hash", "ca") values (?, ?, ?, ?)',
                    (pid, rng.randint(1, 1 << 24), "sha256-" + base64.b64encode(rng.randbytes(32)).decode(),
                     "fixed:r:sha256:" + nix32_encode(rng.randbytes(32))),
                )
                for ref in {pid, *rng.sample(existing, 2)}:
                    conn.execute('insert into "references" ("referrer", "reference") values (?, ?)', (pid, ref))
                conn.execute('insert into "drv_hashes" ("algorithm", "bits") values (\'sha256\', ?)', (rng.randbytes(32),))
                dh = conn.last_insert_rowid()
                conn.execute('insert into "realizations" ("drv_hash", "output_name", "output_path") values (?, \'out\', ?)', (dh, pid))
                conn.execute(
                    'insert into "signatures" ("drv_hash", "output_name", "output_path", "public_key_id", "signature")'
                    " values (?, 'out', ?, ?, ?)",
                    (dh, pid, key_id, rng.randbytes(64)),
                )
            except BaseException:
                conn.execute("rollback")
                raise
            conn.execute("commit")
            recorder.after_commit(conn)
        except apsw.Error as exc:
            recorder.error("importer", exc)
            continue
        recorder.commit("importer", (time.perf_counter() - started) * 1000)
        existing.append(pid)
        counts["objects"] += 1
        counts["realizations"] += 1
    conn.close()
    return counts


def _wait_until(deadline: float, stop: threading.Event) -> None:
    while not stop.is_set() and time.time() < deadline:
        stop.wait(min(0.1, max(0.0, deadline - time.time())))


def run_writer(spec: dict[str, Any]) -> dict[str, Any]:
    demo = _demo(spec)
    recorder = Recorder(demo.db_path + "-wal")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = TimedServer(
        demo,
        recorder,
        heartbeat_s=spec.get("heartbeat_s", 1.0),
        new_build_s=spec.get("new_build_s", 1.0),
        first_build_s=spec.get("first_build_s", 0.3),
        line_interval_s=spec.get("line_interval_s", 0.02),
        max_log_lines=spec.get("max_log_lines", 12),
        seed=spec.get("seed", 5),
        serve_rpc=spec.get("serve_rpc", True),
    )
    imported: dict[str, int] = {}
    importer = threading.Thread(
        target=lambda: imported.update(_importer(demo, recorder, stop, spec.get("import_every_s", 0.15), spec.get("seed", 5))),
        daemon=True,
    )
    server.start()
    importer.start()
    print("ready", flush=True)
    _wait_until(spec["deadline"], stop)
    stop.set()
    server.stop()
    importer.join(10)
    if server.error is not None:
        recorder.error("server thread", server.error)
    figures = recorder.figures()
    figures.update(
        heartbeats=server.heartbeats,
        builds_started=server.builds_started,
        builds_finished=server.builds_finished,
        imported=imported,
        rpc_calls=server.rpc.calls if server.rpc is not None else 0,
    )
    return figures


def run_pager(spec: dict[str, Any]) -> dict[str, Any]:
    from zbtui.store.errors import StoreError
    from zbtui.store.open import StoreOptions, open_store

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store = open_store(StoreOptions(db=spec["db_path"], log_dir=spec["log_dir"], store_dir=spec["store_dir"], env={}))
    pages = rows = 0
    errors: list[str] = []
    longest_ms = 0.0
    print("ready", flush=True)
    pause = spec.get("pager_pause_s", 0.01)
    while not stop.is_set() and time.time() < spec["deadline"]:
        for sort in ("name", "size"):
            after = None
            while not stop.is_set() and time.time() < spec["deadline"]:
                started = time.perf_counter()
                try:
                    page = store.objects(sort=sort, after=after, limit=50)
                    for row in page.items[:5]:
                        store.object_info(row.path)
                        store.references(row.path, limit=20)
                    if sort == "name" and after is None:
                        store.builds(limit=50)
                except StoreError as exc:
                    errors.append(str(exc))
                    break
                except Exception as exc:  # noqa: BLE001 - counted: the test asserts there are none
                    errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
                    break
                longest_ms = max(longest_ms, (time.perf_counter() - started) * 1000)
                pages += 1
                rows += len(page.items)
                time.sleep(pause)
                if page.next_key is None:
                    break
                after = page.next_key
    store.close()
    return {"pages": pages, "rows": rows, "errors": errors, "longest_page_ms": longest_ms}


def main(argv: list[str]) -> int:
    role, spec_path, out_path = argv
    with open(spec_path) as handle:
        spec = json.load(handle)
    result = run_writer(spec) if role == "writer" else run_pager(spec)
    with open(out_path + ".tmp", "w") as handle:
        json.dump(result, handle)
    os.replace(out_path + ".tmp", out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

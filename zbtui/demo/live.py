"""A simulated ``zb serve`` that keeps writing to a demo database.

It writes what zb writes, in the order and the transaction granularity zb
uses (spec §1.7–1.9), so the browser's live refresh, orphan detection and log
following can be watched and tested without zb:

* a heartbeat every ``heartbeat_s`` seconds (``delete`` + ``insert`` in one
  IMMEDIATE transaction), cleared on a clean stop;
* a new build every ``new_build_s`` seconds that rebuilds one derivation the
  store already built, non-reproducibly (a new output path), step by step:
  build row, ``active`` result with NULL-output placeholders, builder start,
  log lines appended every ``line_interval_s``, builder end, output object,
  outputs replaced, result ended, realization and signature, build ended.

Every step is its own short ``BEGIN IMMEDIATE … COMMIT``, as zb's are, so a
reader sees every intermediate state.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import apsw

from zbtui.demo.builder import DemoStore, build_log_lines, log_path_for, public_key_of, uuid7
from zbtui.demo.rpc_server import RpcServer
from zbtui.store.formats import nix32_encode, split_store_path
from zbtui.store.signatures import sign_zb_realization, zb_realization_message

__all__ = ["SimulatedServer"]

_log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for a lock; readers in WAL mode rarely block it."""

STEP_S = 0.05
"""Pause between DB steps that zb performs back to back (keeps states visible)."""


@dataclass
class _LiveBuild:
    """What a cancellation on stop must finish off."""

    build_id: int
    uuid: str
    result_id: int | None = None
    log_path: str | None = None
    builder_started: bool = False
    builder_ended: bool = False
    finished: bool = False


@dataclass
class _Plan:
    """One derivation to rebuild and everything copied from its last build."""

    drv_path: str
    drv_hash_id: int
    drv_hash_algorithm: str
    drv_hash_bits: bytes
    # output name -> (old output path, nar size, references, reference classes)
    outputs: dict[str, tuple[str, int, list[str], list[tuple[str, int | None, str | None]]]] = (
        field(default_factory=dict)
    )


def _one(conn: apsw.Connection, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The single row a query must return (it was just written in this transaction)."""
    row = conn.execute(sql, args).fetchone()
    if row is None:
        raise LookupError(f"no row for {sql!r} {args!r}")
    return tuple(row)


class SimulatedServer:
    """A background thread that writes to a demo database as ``zb serve`` would.

    Usable as a context manager. Counters (`heartbeats`, `builds_started`,
    `builds_finished`) and `error` let tests observe it; they are plain
    attributes written only by the thread.
    """

    def __init__(
        self,
        store: DemoStore,
        *,
        heartbeat_s: float = 5.0,
        new_build_s: float = 20.0,
        line_interval_s: float = 0.3,
        first_build_s: float | None = None,
        max_log_lines: int | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        serve_rpc: bool = True,
    ) -> None:
        """Prepare a simulator; nothing runs until `start`.

        Args:
            store: The demo store to write to (its database must exist).
            heartbeat_s: Heartbeat period; zb's ``heartRate`` is 5 s.
            new_build_s: Period between build starts. A build still running
                delays the next one.
            line_interval_s: Pause between appended log lines.
            first_build_s: Delay before the first build; defaults to
                ``min(2, new_build_s)`` so a demo shows activity at once.
            max_log_lines: Truncate each build's log to this many lines.
            seed: Seed for the simulator's random choices (None: unseeded).
            clock: Wall clock in seconds, for the ms timestamps written.
            serve_rpc: Answer zb.getBuild on ``server.sock`` beside the database.
        """
        self.store = store
        self.heartbeat_s = heartbeat_s
        self.new_build_s = new_build_s
        self.line_interval_s = line_interval_s
        self.first_build_s = min(2.0, new_build_s) if first_build_s is None else first_build_s
        self.max_log_lines = max_log_lines
        self._rng = random.Random(seed)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: apsw.Connection | None = None
        self._live: _LiveBuild | None = None
        self._tools: dict[str, str] = {}
        self.serve_rpc = serve_rpc
        self.rpc: RpcServer | None = None

        self.heartbeats = 0
        """Heartbeats written so far."""
        self.last_heartbeat_ms: int | None = None
        """The last ``running_as_of`` written."""
        self.builds_started = 0
        """Builds inserted so far."""
        self.builds_finished = 0
        """Builds that reached ``ended_at``."""
        self.last_build_id: str | None = None
        """Canonical UUID of the most recent build started."""
        self.error: BaseException | None = None
        """The exception that stopped the thread, if any."""

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread.

        Raises:
            RuntimeError: Already started.
        """
        if self._thread is not None:
            raise RuntimeError("SimulatedServer already started")
        if self.serve_rpc:
            # zb's socket sits beside its database; answering zb.getBuild lets a
            # reader tell the build we are running from orphans of earlier runs.
            self.rpc = RpcServer(os.path.join(os.path.dirname(self.store.db_path), "server.sock"), self._active_ids)
            self.rpc.start()
        self._thread = threading.Thread(target=self._run, name="zbtui-demo-server", daemon=True)
        self._thread.start()

    def _active_ids(self) -> set[str]:
        live = self._live
        return {live.uuid} if live is not None and not live.finished else set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop as ``zb serve`` does on a clean shutdown, and wait for the thread.

        A build in progress is cancelled (result and build end with status
        ``error``), then the heartbeat row is deleted.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.rpc is not None:
            self.rpc.stop()

    @property
    def running(self) -> bool:
        """Whether the writer thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- thread ----------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _run(self) -> None:
        current: Generator[float, None, None] | None = None
        try:
            conn = apsw.Connection(self.store.db_path, flags=apsw.SQLITE_OPEN_READWRITE)
            self._conn = conn
            conn.set_busy_timeout(BUSY_TIMEOUT_MS)
            conn.execute("pragma journal_mode = wal")
            conn.execute("pragma synchronous = normal")
            conn.execute("pragma foreign_keys = on")
            self._tools = self._find_tools()
            start = time.monotonic()
            next_heartbeat = start
            next_build = start + self.first_build_s
            next_step = math.inf
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_heartbeat:
                    self._heartbeat()
                    next_heartbeat = now + self.heartbeat_s
                if current is None and now >= next_build:
                    current = self._build_steps()
                    next_build = now + self.new_build_s
                    next_step = now
                if current is not None and now >= next_step:
                    try:
                        next_step = time.monotonic() + next(current)
                    except StopIteration:
                        current = None
                        next_step = math.inf
                wake = min(next_heartbeat, next_step if current is not None else next_build)
                self._stop.wait(max(0.0, wake - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - reported through .error, thread must end cleanly
            self.error = exc
            _log.exception("simulated zb server stopped")
        finally:
            if current is not None:
                current.close()
            self._shutdown()

    def _shutdown(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            self._cancel_live_build()
            with self._immediate():
                conn.execute('delete from "running_server"')
        except apsw.Error:
            _log.exception("simulated zb server: clean shutdown failed")
        finally:
            conn.close()
            self._conn = None

    @contextmanager
    def _immediate(self) -> Iterator[apsw.Connection]:
        """One short write transaction, as zb's ``sqlitex.ImmediateTransaction``."""
        conn = self._conn
        assert conn is not None
        conn.execute("begin immediate")
        try:
            yield conn
        except BaseException:
            conn.execute("rollback")
            raise
        conn.execute("commit")

    def _heartbeat(self) -> None:
        now = self._now_ms()
        with self._immediate() as conn:
            conn.execute('delete from "running_server"')
            conn.execute('insert into "running_server" ("running_as_of") values (?)', (now,))
        self.heartbeats += 1
        self.last_heartbeat_ms = now

    def _find_tools(self) -> dict[str, str]:
        """Store paths to show in ``checking for gcc...`` lines."""
        conn = self._conn
        assert conn is not None
        tools = {}
        for tool, pattern in (
            ("coreutils", "%-coreutils-%"),
            ("gcc", "%-gcc-%"),
            ("bash", "%-bash-%"),
        ):
            row = conn.execute(
                'select "path" from "paths" join "objects" using ("id")'
                ' where "path" like ? and "path" not like \'%.drv\' and "path" not like \'%-lib\''
                ' order by "id" limit 1',
                (pattern,),
            ).fetchone()
            if row is not None:
                tools[tool] = row[0]
        return tools

    # -- one build ---------------------------------------------------------------

    def _plan(self) -> _Plan | None:
        """Pick a derivation built before whose outputs are all present."""
        conn = self._conn
        assert conn is not None
        conn.execute("begin")
        try:
            candidates = conn.execute(
                """
                select r."id", p."path", r."drv_hash", dh."algorithm", dh."bits"
                from "build_results" r
                join "paths" p on p."id" = r."drv_path"
                join "drv_hashes" dh on dh."id" = r."drv_hash"
                where r."status" = 'success' and r."builder_started_at" is not null
                  and not exists (
                    select 1 from "build_outputs" o
                    left join "objects" ob on ob."id" = o."output_path"
                    where o."result_id" = r."id"
                      and (ob."id" is null or ob."ca" not like 'fixed:r:%'))
                order by r."id"
                """
            ).fetchall()
            if not candidates:
                return None
            chosen: tuple[Any, ...] = self._rng.choice(candidates)
            result_id, drv_path, dh_id, algorithm, bits = chosen
            plan = _Plan(str(drv_path), int(dh_id), str(algorithm), bytes(bits))
            rows: list[tuple[Any, ...]] = conn.execute(
                'select o."output_name", p."path", p."id", ob."nar_size" from "build_outputs" o'
                ' join "paths" p on p."id" = o."output_path"'
                ' join "objects" ob on ob."id" = o."output_path"'
                ' where o."result_id" = ? order by o."output_name"',
                (result_id,),
            ).fetchall()
            for output_name, out_path, out_id, nar_size in rows:
                refs = [
                    str(r[0])
                    for r in conn.execute(
                        'select p."path" from "references" rf'
                        ' join "paths" p on p."id" = rf."reference"'
                        ' where rf."referrer" = ? order by p."path"',
                        (out_id,),
                    )
                ]
                classes = [
                    (r[0], r[1], r[2])
                    for r in conn.execute(
                        'select distinct p."path", rc."reference_drv_hash",'
                        ' rc."reference_output_name"'
                        ' from "reference_classes" rc join "paths" p on p."id" = rc."reference"'
                        ' where rc."referrer_drv_hash" = ? and rc."referrer_output_name" = ?'
                        ' and rc."referrer" = ? order by 1, 2, 3',
                        (dh_id, output_name, out_id),
                    )
                ]
                plan.outputs[str(output_name)] = (str(out_path), int(nar_size), refs, classes)
        finally:
            conn.execute("commit")
        return plan if plan.outputs else None

    def _build_steps(self) -> Generator[float, None, None]:
        """Run one build; each ``yield`` is the pause before the next step."""
        plan = self._plan()
        if plan is None:
            return
        rng = self._rng
        store = self.store
        started = self._now_ms()
        build_uuid = uuid7(started, rng)

        with self._immediate() as conn:
            conn.execute(
                'insert into "builds" ("uuid", "started_at") values (?, ?)',
                (build_uuid.bytes, started),
            )
            live = _LiveBuild(conn.last_insert_rowid(), str(build_uuid))
        self._live = live
        self.builds_started += 1
        self.last_build_id = live.uuid
        yield STEP_S

        with self._immediate() as conn:
            # status is left to the column default, 'active', as zb does.
            conn.execute(
                'insert into "build_results" ("build_id", "drv_path", "started_at", "drv_hash")'
                ' values (?, (select "id" from "paths" where "path" = ?), ?, ?)',
                (live.build_id, plan.drv_path, self._now_ms(), plan.drv_hash_id),
            )
            live.result_id = conn.last_insert_rowid()
            for output_name in plan.outputs:
                conn.execute(
                    'insert into "build_outputs" ("result_id", "output_name", "output_path")'
                    " values (?, ?, null)",
                    (live.result_id, output_name),
                )
        yield STEP_S

        # New output paths: same names, new digests (a non-reproducible rebuild).
        new_paths = {name: self._fresh_path(old) for name, (old, _, _, _) in plan.outputs.items()}
        renames = {old: new_paths[name] for name, (old, _, _, _) in plan.outputs.items()}

        log_path = log_path_for(store.log_dir, build_uuid, plan.drv_path)
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        live.log_path = log_path
        with os.fdopen(fd, "ab") as log:
            with self._immediate() as conn:
                conn.execute(
                    'update "build_results" set "builder_started_at" = ? where "id" = ?',
                    (self._now_ms(), live.result_id),
                )
            live.builder_started = True
            _, _, drv_name = split_store_path(plan.drv_path)
            name = drv_name.removesuffix(".drv")
            first_out = next(iter(new_paths.values()))
            lines = build_log_lines(name, first_out, self._tools, rng)
            if self.max_log_lines is not None:
                lines = lines[: self.max_log_lines]
            for line in lines:
                log.write(line.encode() + b"\n")
                # zb flushes the builder log at least every 100 ms.
                log.flush()
                yield self.line_interval_s

        with self._immediate() as conn:
            conn.execute(
                'update "build_results" set "builder_ended_at" = ? where "id" = ?',
                (self._now_ms(), live.result_id),
            )
        live.builder_ended = True
        yield STEP_S

        # Post-process: each output object is recorded in its own transaction,
        # an output before its siblings that refer to it ("references" has a
        # foreign key to objects: gcc's out refers to its lib).
        for output_name, (old, nar_size, refs, _) in _siblings_first(plan.outputs, new_paths, renames):
            path = new_paths[output_name]
            new_refs = sorted({renames.get(r, r) for r in refs})
            real = self.store.store_dir + path[len(self.store.logical_store_dir) :]
            os.makedirs(real, exist_ok=False)
            with open(os.path.join(real, "README.zbtui-demo"), "wb") as f:
                f.write(f"rebuilt by the zbtui demo server from {plan.drv_path}\n".encode())
            with self._immediate() as conn:
                conn.execute('insert into "paths" ("path") values (?)', (path,))
                pid = conn.last_insert_rowid()
                conn.execute(
                    'insert into "objects" ("id", "nar_size", "nar_hash", "ca")'
                    " values (?, ?, ?, ?)",
                    (
                        pid,
                        max(1, int(nar_size * rng.uniform(0.98, 1.02))),
                        "sha256-" + base64.b64encode(rng.randbytes(32)).decode(),
                        "fixed:r:sha256:" + nix32_encode(rng.randbytes(32)),
                    ),
                )
                for ref in new_refs:
                    conn.execute(
                        'insert into "references" ("referrer", "reference")'
                        ' values (?, (select "id" from "paths" where "path" = ?))',
                        (pid, ref),
                    )

        with self._immediate() as conn:
            conn.execute('delete from "build_outputs" where "result_id" = ?', (live.result_id,))
            for output_name, path in new_paths.items():
                conn.execute(
                    'insert into "build_outputs" ("result_id", "output_name", "output_path")'
                    ' values (?, ?, (select "id" from "paths" where "path" = ?))',
                    (live.result_id, output_name, path),
                )
        yield STEP_S

        with self._immediate() as conn:
            conn.execute(
                'update "build_results" set "status" = \'success\', "ended_at" = ? where "id" = ?',
                (self._now_ms(), live.result_id),
            )
        yield STEP_S

        self._record_realizations(plan, new_paths)
        yield STEP_S

        with self._immediate() as conn:
            conn.execute(
                'update "builds" set "ended_at" = ? where "id" = ?', (self._now_ms(), live.build_id)
            )
        live.finished = True
        self._live = None
        self.builds_finished += 1

    def _fresh_path(self, old: str) -> str:
        directory, _, name = split_store_path(old)
        return f"{directory}/{nix32_encode(self._rng.randbytes(20))}-{name}"

    def _record_realizations(self, plan: _Plan, new_paths: dict[str, str]) -> None:
        """Realization, reference classes and a trusted signature, in one transaction."""
        seed = self.store.signing_seeds["trusted"]
        public_key = public_key_of(seed)
        with self._immediate() as conn:
            conn.execute(
                'insert or ignore into "signature_public_keys" ("format", "public_key")'
                " values ('ed25519', ?)",
                (public_key,),
            )
            (key_id,) = _one(
                conn,
                'select "id" from "signature_public_keys"'
                ' where "format" = \'ed25519\' and "public_key" = ?',
                (public_key,),
            )
            for output_name, (_, _, _, classes) in plan.outputs.items():
                path = new_paths[output_name]
                (out_id,) = _one(conn, 'select "id" from "paths" where "path" = ?', (path,))
                conn.execute(
                    'insert into "realizations" ("drv_hash", "output_name", "output_path")'
                    " values (?, ?, ?)",
                    (plan.drv_hash_id, output_name, out_id),
                )
                signed: list[tuple[str, str | None, bytes | None, str | None]] = []
                for ref_path, ref_hash, ref_output in classes:
                    conn.execute(
                        'insert into "reference_classes" ("referrer", "referrer_drv_hash",'
                        ' "referrer_output_name", "reference", "reference_drv_hash",'
                        ' "reference_output_name") values (?, ?, ?,'
                        ' (select "id" from "paths" where "path" = ?), ?, ?)',
                        (out_id, plan.drv_hash_id, output_name, ref_path, ref_hash, ref_output),
                    )
                    if ref_hash is None:
                        signed.append((ref_path, None, None, None))
                    else:
                        algorithm, bits = _one(
                            conn,
                            'select "algorithm", "bits" from "drv_hashes" where "id" = ?',
                            (ref_hash,),
                        )
                        signed.append((ref_path, algorithm, bytes(bits), ref_output))
                message = zb_realization_message(
                    plan.drv_hash_algorithm, plan.drv_hash_bits, output_name, path, signed
                )
                conn.execute(
                    'insert into "signatures" ("drv_hash", "output_name", "output_path",'
                    ' "public_key_id", "signature") values (?, ?, ?, ?, ?)',
                    (
                        plan.drv_hash_id,
                        output_name,
                        out_id,
                        key_id,
                        sign_zb_realization(seed, message),
                    ),
                )

    def _cancel_live_build(self) -> None:
        """Finish an interrupted build as zb does on cancellation: status ``error``."""
        live = self._live
        if live is None or live.finished:
            return
        self._live = None
        message = "context canceled"
        if live.log_path is not None and live.builder_started:
            with open(live.log_path, "ab") as log:
                if not live.builder_ended:
                    log.write(b"*** Build failed\n")
                log.write(f"zb internal error: {message}\n".encode())
        now = self._now_ms()
        with self._immediate() as conn:
            if live.result_id is not None:
                conn.execute(
                    'update "build_results" set "status" = \'error\', "ended_at" = ?,'
                    ' "builder_ended_at" = case when "builder_started_at" is not null'
                    ' then coalesce("builder_ended_at", ?) end'
                    ' where "id" = ? and "ended_at" is null',
                    (now, now, live.result_id),
                )
            conn.execute(
                'update "builds" set "ended_at" = ?, "internal_error" = ? where "id" = ?',
                (now, message, live.build_id),
            )


def _siblings_first(outputs: dict, new_paths: dict[str, str], renames: dict[str, str]) -> list:
    """The outputs ordered so that an output comes after every sibling it refers to."""
    pending = dict(outputs)
    ordered: list = []
    done: set[str] = set()
    while pending:
        for name, value in list(pending.items()):
            siblings = {renames.get(r, r) for r in value[2]} & set(new_paths.values())
            siblings.discard(new_paths[name])  # a self-reference is fine: its own path comes first
            if siblings <= done:
                ordered.append((name, value))
                done.add(new_paths[name])
                del pending[name]
                break
        else:  # a cycle between outputs cannot be recorded anyway; keep the rest in order
            ordered.extend(pending.items())
            break
    return ordered

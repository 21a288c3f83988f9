"""The ``Store`` implementation for zb's backend database (schema version 5).

Every SQL statement zbtui runs against a zb database is in this module. The
schema and its quirks are in ``shared/spec/zb-format.md``: ``"references"`` is
an SQL keyword and is always quoted; ``realizations.output_path`` points at
``paths``, not ``objects``; UUIDs and drv hash bits are raw blobs.
"""

from __future__ import annotations

import array
import base64
import bisect
import collections
import itertools
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import IO

import humanize

from .base import Clock, Store, in_list, stored_values, wall_clock_ms
from .connection import Database
from .connection import column_blob as _blob
from .connection import column_int as _int
from .connection import column_ms as _ms
from .connection import column_text as _text
from .errors import StoreError
from .formats import (
    NIX32_ALPHABET,
    HashValue,
    parse_hash,
    uuid_from_blob,
    uuid_to_blob,
)
from .logs import stat_log, zb_log_path
from .models import (
    Build,
    BuildDetail,
    BuildOutput,
    BuildResult,
    BuildStatus,
    LogRef,
    ObjectInfo,
    ObjectRow,
    Page,
    Realization,
    ReferenceClass,
    ServerState,
    SignatureCheck,
    StoreSummary,
)
from .rpc import RpcError, ZbRpcClient
from .signatures import SigStatus, check_zb_signature, zb_realization_message
from .trust import ZbTrust, load_zb_trust

__all__ = ["HEARTBEAT_ALIVE_MS", "ZB_SCHEMA_VERSION", "ZbStore"]

ZB_SCHEMA_VERSION = 5
"""``PRAGMA user_version`` after zb's migrations 01–05."""

HEARTBEAT_ALIVE_MS = 10_000
"""zb's launch check: a heartbeat younger than 2 × 5 s means a live server."""

DEFAULT_LOG_DIR = "/opt/zb/var/log/zb"
DEFAULT_STORE_DIR = "/opt/zb/store"

RPC_CACHE_MS = 2000

COUNTS_CACHE_ENTRIES = 32
"""Databases whose summary counts the cache file remembers (most recent kept)."""

COUNTS_CACHE_LARGEST = 64
"""Largest objects kept with the counts: the overview's list is 8 of them."""
"""How long the server's "active" answer for a build is reused (one refresh cycle)."""

MAX_IN_LIST = 500
"""Ids per ``id in (…)`` query: well under SQLite's default limit of 32,766
host parameters, and large enough that a page of the list is one query."""

NAME_SCAN_CHUNK = 1 << 18
"""Bytes of the name index one regex call scans: about 10k names in about a
millisecond. The regex engine holds the GIL for a whole call, so a search in
a worker thread gives the UI thread a turn at least every chunk, and the first
page of a common term is found in the first chunk or two."""

IDS_CHUNK = 1 << 16
"""Matches turned into ids per C-level ``map`` call, for the same reason."""

CHEAP_REBUILD_SECONDS = 0.25
"""A name index that took less than this to build (up to ~100k objects) is
rebuilt before answering whenever the database changed, so searches are exact.
A bigger one serves searches as of the Objects list's last (re)load, which is
what that list shows anyway; reloading the unfiltered list rebuilds it."""


class _NameText:
    """The name index's lines, kept in an unlinked temporary file.

    A search reads them back a chunk at a time with ``pread`` into a fresh
    256 KB buffer: the lines live in the kernel's page cache, like SQLite's own
    pages, instead of in the process (~26 MB for a million objects), and a
    full scan costs ~5 ms more than from memory. Where no temporary file can
    be made they stay in memory instead.
    """

    def __init__(self) -> None:
        self._memory: bytearray | None = None
        try:
            self._file: IO[bytes] | None = tempfile.TemporaryFile(prefix="zbtui-names-")
        except OSError:
            self._file = None
            self._memory = bytearray()
        self.size = 0
        self.newlines = 0
        self.markers = 0
        self.longest = 0

    def append(self, data: bytes, longest: int) -> None:
        if self._file is not None:
            self._file.write(data)
        else:
            assert self._memory is not None
            self._memory.extend(data)
        self.size += len(data)
        self.newlines += data.count(b"\n")
        self.markers += data.count(b"\x01")
        self.longest = max(self.longest, longest)

    def finish(self) -> None:
        if self._file is not None:
            self._file.flush()

    def chunks(self) -> Iterator[tuple[bytes | bytearray, int, int]]:
        """``(buffer, start, stop)`` slices covering whole lines, in order."""
        pos = 0
        if self._memory is not None:
            memory = self._memory
            while pos < self.size:
                stop = memory.find(b"\n", min(pos + NAME_SCAN_CHUNK, self.size - 1)) + 1
                yield memory, pos, stop
                pos = stop
            return
        assert self._file is not None
        fd = self._file.fileno()
        while pos < self.size:
            buffer = os.pread(fd, NAME_SCAN_CHUNK, pos)
            stop = buffer.rfind(b"\n") + 1  # lines are shorter than a chunk (see usable)
            if stop == 0:
                raise StoreError("the object name index file was cut short")
            yield buffer, 0, stop
            pos += stop


class _NameIndex:
    """Every object's name in name order, searched with a regex instead of SQL.

    SQLite cannot use an index for ``instr(lower(name), ?)``, so each keystroke
    of a search used to scan and sort every object: a second on a million.
    This keeps one read of the objects (the same query and order as
    ``object_ids_by_name``) and answers searches with a C-speed regex scan.

    ``text`` holds one line per object, in name order: the name lowered the
    way SQLite's ``lower()`` lowers it (ASCII only), a ``\\x01``, and the
    object's row (position in the order) in hex, so a match names its row
    without a search for line starts. For a million objects: ``text`` ~26 MB
    in a temporary file (page cache, not process memory), ``ids`` 8 MB
    (returned as the unfiltered index, shared with the caller) and ``row_of``
    4 MB (id → row, to merge digest matches into name order).
    """

    __slots__ = ("token", "ids", "text", "row_of", "usable", "shaped", "build_seconds")

    def __init__(self, token: tuple, ids: array.array, text: _NameText, *, shaped: bool, build_seconds: float) -> None:
        self.token = token
        """``Database.data_version()`` read before the build."""
        self.ids = ids
        """Object ids in name order (ties by id), ``array("q")``."""
        self.text = text
        self.build_seconds = build_seconds
        # A name holding a newline or \x01 (a damaged database) would break
        # the line structure, and one longer than half a scan chunk would not
        # fit one: then SQL answers everything, as before.
        self.usable = (
            text.newlines == len(ids) and text.markers == len(ids) and text.longest < NAME_SCAN_CHUNK // 2
        )
        self.shaped = shaped
        """Every path is "<dir><sep><digest>-<name>": digest prefixes are a
        range of the paths index and ``like '%.drv'`` is a test of the name."""
        self.row_of: array.array | None = None
        top = max(ids, default=0)
        if self.usable and top <= 4 * len(ids) + 1024:  # sparse ids would make it huge
            row_of = array.array("q" if len(ids) >= 1 << 31 else "i", [-1]) * (top + 1)
            for start in range(0, len(ids), IDS_CHUNK):
                # row_of[ids[i]] = i in a C-level loop, a chunk at a time.
                chunk = ids[start : start + IDS_CHUNK]
                collections.deque(map(row_of.__setitem__, chunk, range(start, start + len(chunk))), maxlen=0)
            self.row_of = row_of

    def pattern(self, needle: bytes | None, drv_only: bool) -> re.Pattern[bytes] | None:
        """The regex whose matches' group 1 are the rows of matching names (None: none match)."""
        if needle is not None and (b"\n" in needle or b"\x01" in needle):
            return None  # no indexed name contains these (usable checked it)
        if needle is None:
            # drv only: the name ends with ".drv" (like '%.drv' ignores ASCII case).
            return re.compile(rb"\.drv\x01([0-9a-f]+)")
        tail = rb"(?<=\.drv)" if drv_only else b""
        return re.compile(re.escape(needle) + rb"[^\n\x01]*" + tail + rb"\x01([0-9a-f]+)")

    def scan(
        self, pattern: re.Pattern[bytes], limit: int | None, check_cancelled: Callable[[], None] = lambda: None
    ) -> tuple[array.array, int]:
        """Rows matching ``pattern`` in order, at least ``limit`` of them if given.

        ``check_cancelled`` runs between chunks (it raises to stop a scan the
        caller no longer wants: a keystroke superseded it).

        Returns:
            The rows, and the last row scanned (every match up to it is in the rows).
        """
        rows = array.array("q")
        findall = pattern.findall
        for buffer, start, stop in self.text.chunks():
            check_cancelled()
            found = findall(buffer, start, stop)
            if found:
                rows.extend(map(int, found, itertools.repeat(16)))
            if limit is not None and len(rows) >= limit:
                marker = buffer.rfind(b"\x01", start, stop)
                return rows, int(buffer[marker + 1 : stop - 1], 16)
        return rows, len(self.ids) - 1

    def ids_of(self, rows: Sequence[int]) -> array.array:
        ids = array.array("q")
        for i in range(0, len(rows), IDS_CHUNK):
            ids.extend(map(self.ids.__getitem__, rows[i : i + IDS_CHUNK]))
        return ids


def _merge_rows(rows: array.array, extra: Sequence[int]) -> array.array:
    """The sorted union of sorted ``rows`` and sorted ``extra`` (usually few)."""
    if not extra:
        return rows
    merged = array.array(rows.typecode)
    start = 0
    for row in extra:
        at = bisect.bisect_left(rows, row, start)
        merged.extend(rows[start:at])
        if at >= len(rows) or rows[at] != row:
            merged.append(row)
        start = at
    merged.extend(rows[start:])
    return merged

_STATUS_SQL = """
    case
      when b.ended_at is null then 'active'
      when b.internal_error is not null
        or exists (select 1 from build_results r where r.build_id = b.id and r.status = 'error') then 'error'
      when exists (select 1 from build_results r where r.build_id = b.id and r.status = 'fail') then 'fail'
      else 'success'
    end"""

_BUILD_COLUMNS = f"""
    b.id, b.uuid, b.started_at, b.ended_at, b.internal_error,
    b.expand_builder, b.expand_args, b.expand_env, {_STATUS_SQL} as status,
    (select count(*) from build_results r where r.build_id = b.id),
    (select group_concat(status || '=' || n) from
        (select r.status, count(*) as n from build_results r where r.build_id = b.id group by r.status))"""

_SQL = {
    "tables": "select name from sqlite_schema where type = 'table'",
    "user_version": "pragma user_version",
    "first_path": """
        select path from paths where id = (select min(id) from objects)
        union all select path from paths where id = (select min(id) from paths)""",
    "object_totals": "select count(*), coalesce(sum(nar_size), 0) from objects",
    "drv_count": """select count(*) from objects o join paths p on p.id = o.id where p.path like '%.drv'""",
    "path_count": "select count(*) from paths",
    "realization_totals": """
        select count(*), coalesce(sum(o.id is not null), 0)
        from realizations r left join objects o on o.id = r.output_path""",
    "signature_totals": "select (select count(*) from signatures), (select count(*) from signature_public_keys)",
    "build_status_counts": f"select {_STATUS_SQL} as status, count(*) from builds b group by status",
    "heartbeat": "select max(running_as_of) from running_server",
    "unfinished_builds": "select uuid from builds where ended_at is null",
    "path_id": "select id from paths where path = ?",
    "object_by_path": """
        select p.id, o.id is not null, o.nar_size, o.nar_hash, o.ca
        from paths p left join objects o on o.id = p.id where p.path = ?""",
    "reference_count": """select count(*) from "references" where referrer = ? and reference != referrer""",
    "referrer_count": """select count(*) from "references" where reference = ? and referrer != reference""",
    "has_self_reference": """select 1 from "references" where referrer = ?1 and reference = ?1""",
    # Edges. child_count is the number of further edges of each node, for the tree.
    "references_by_name": """
        select r.reference, p.path, o.nar_size, r.reference = r.referrer,
               (select count(*) from "references" x where x.referrer = r.reference and x.reference != x.referrer)
        from "references" r join paths p on p.id = r.reference left join objects o on o.id = r.reference
        where r.referrer = :id and (p.path, r.reference) > (:k1, :k2)
        order by p.path, r.reference limit :n""",
    "references_by_id": """
        select r.reference, p.path, o.nar_size, r.reference = r.referrer,
               (select count(*) from "references" x where x.referrer = r.reference and x.reference != x.referrer)
        from "references" r join paths p on p.id = r.reference left join objects o on o.id = r.reference
        where r.referrer = :id and r.reference > :k2
        order by r.reference limit :n""",
    "referrers_by_name": """
        select r.referrer, p.path, o.nar_size, r.reference = r.referrer,
               (select count(*) from "references" x where x.reference = r.referrer and x.reference != x.referrer)
        from "references" r join paths p on p.id = r.referrer left join objects o on o.id = r.referrer
        where r.reference = :id and (p.path, r.referrer) > (:k1, :k2)
        order by p.path, r.referrer limit :n""",
    "referrers_by_id": """
        select r.referrer, p.path, o.nar_size, r.reference = r.referrer,
               (select count(*) from "references" x where x.reference = r.referrer and x.reference != x.referrer)
        from "references" r join paths p on p.id = r.referrer left join objects o on o.id = r.referrer
        where r.reference = :id and r.referrer > :k2
        order by r.referrer limit :n""",
    "closure": """
        with recursive closure(id) as (
            select :id
            union
            select r.reference from "references" r join closure c on r.referrer = c.id
        )
        select count(*), coalesce(sum(o.nar_size), 0) from closure c left join objects o on o.id = c.id""",
    "edges_from": """select referrer, reference from "references" where referrer in ({ids}) and reference != referrer""",
    "paths_by_id": "select id, path from paths where id in ({ids})",
    # Objects list: keyset pages by (name, id) or (size desc, id).
    "objects_by_name": """
        select o.id, p.path, o.nar_size from objects o join paths p on p.id = o.id
        where (substr(p.path, :cut), o.id) > (:k1, :k2) {filters}
        order by substr(p.path, :cut), o.id limit :n""",
    "objects_by_size": """
        select o.id, p.path, o.nar_size from objects o join paths p on p.id = o.id
        where (o.nar_size < :k1 or (o.nar_size = :k1 and o.id > :k2)) {filters}
        order by o.nar_size desc, o.id limit :n""",
    # Objects index: every matching id in the order of the two pages above
    # (same joins, filters and sort keys), for the Objects screen's scroll index.
    "object_ids_by_name": """
        select o.id from objects o join paths p on p.id = o.id
        where 1 {filters} order by substr(p.path, :cut), o.id""",
    "object_ids_by_size": """
        select o.id from objects o join paths p on p.id = o.id
        where 1 {filters} order by o.nar_size desc, o.id""",
    "objects_by_ids": "select o.id, p.path, o.nar_size from objects o join paths p on p.id = o.id where o.id in ({ids})",
    # The in-memory name index (_NameIndex): every object in the order of
    # object_ids_by_name, and whether its path has the usual shape
    # "<dir><sep><32-char digest>-<name>" that digest ranges rely on.
    "name_index": """
        select o.id, substr(p.path, :cut),
               substr(p.path, 1, :plen) = :prefix and substr(p.path, :cut - 1, 1) = '-'
        from objects o join paths p on p.id = o.id order by substr(p.path, :cut), o.id""",
    # Paths whose digest starts with a prefix: a range of the unique index on
    # paths.path (it covers path and id) instead of substr() over every path.
    # Which of them are objects, the name index knows without a lookup each.
    "digest_ids": """
        select p.id from paths p where p.path >= :lo and p.path < :hi {filters}""",
    "paths_with_prefix": "select path from paths where path >= :lo and path < :hi order by path limit :n",
    "paths_by_name": """
        select p.path from paths p where instr(lower(substr(p.path, :cut)), :s) > 0
        order by (select 0 from objects o where o.id = p.id) is null, substr(p.path, :cut) limit :n""",
    # Realizations.
    "realizations_for_path": """
        select r.drv_hash, dh.algorithm, dh.bits, r.output_name, r.output_path, p.path, o.id is not null
        from realizations r join drv_hashes dh on dh.id = r.drv_hash
        join paths p on p.id = r.output_path left join objects o on o.id = r.output_path
        where r.output_path = (select id from paths where path = ?)
        order by dh.algorithm, dh.bits, r.output_name""",
    "realizations_for_drv_hash": """
        select r.drv_hash, dh.algorithm, dh.bits, r.output_name, r.output_path, p.path, o.id is not null
        from realizations r join drv_hashes dh on dh.id = r.drv_hash
        join paths p on p.id = r.output_path left join objects o on o.id = r.output_path
        where dh.algorithm = ? and dh.bits = ?
        order by r.output_name, p.path""",
    "realizations_page": """
        select r.drv_hash, dh.algorithm, dh.bits, r.output_name, r.output_path, p.path, o.id is not null
        from realizations r join drv_hashes dh on dh.id = r.drv_hash
        join paths p on p.id = r.output_path left join objects o on o.id = r.output_path
        where (r.drv_hash, r.output_name, r.output_path) > (:k1, :k2, :k3) {filters}
        order by r.drv_hash, r.output_name, r.output_path limit :n""",
    "reference_classes": """
        select distinct p.path, rdh.algorithm, rdh.bits, rc.reference_output_name
        from reference_classes rc join paths p on p.id = rc.reference
        left join drv_hashes rdh on rdh.id = rc.reference_drv_hash
        where rc.referrer_drv_hash = ? and rc.referrer_output_name = ? and rc.referrer = ?""",
    # The same for a page of realizations in one query (the caller keeps each
    # key's rows, distinct, in this order: that of the index the single-key
    # query walks). One query instead of one per realization: under load each
    # query's round trips wait for the GIL, and a page has 500 of them.
    "reference_classes_batch": """
        select rc.referrer, rc.referrer_drv_hash, rc.referrer_output_name,
               p.path, rdh.algorithm, rdh.bits, rc.reference_output_name
        from reference_classes rc join paths p on p.id = rc.reference
        left join drv_hashes rdh on rdh.id = rc.reference_drv_hash
        where rc.referrer in ({ids})
        order by rc.referrer, rc.reference, rc.referrer_drv_hash, rc.referrer_output_name,
                 rc.reference_drv_hash, rc.reference_output_name""",
    # signatures has no index: one scan serves a whole batch of realizations.
    # The scan tests drv_hash against a plain list (the caller keeps the rows
    # of the exact keys): a list of (drv_hash, name, path) row values made
    # SQLite test each row against every key, 3.7x slower on 336k signatures.
    "signatures_for": """
        select s.drv_hash, s.output_name, s.output_path, spk.format, spk.public_key, s.signature, count(*)
        from signatures s left join signature_public_keys spk on spk.id = s.public_key_id
        where s.drv_hash in ({ids})
        group by s.drv_hash, s.output_name, s.output_path, spk.format, spk.public_key, s.signature
        order by min(s.id)""",
    # Builds: newest first by coalesce(ended_at, started_at), the builds_by_time_desc index.
    "builds_page": f"""
        select {_BUILD_COLUMNS} from builds b {{where}}
        order by coalesce(b.ended_at, b.started_at) desc, b.uuid limit :n""",
    "builds_page_status": f"""
        select * from (select {_BUILD_COLUMNS} from builds b {{where}}
        order by coalesce(b.ended_at, b.started_at) desc, b.uuid) where status = :status limit :n""",
    # Keyset continuations; NULL times sort last in a descending order.
    "after_time": """where coalesce(b.ended_at, b.started_at) < :k1
        or (coalesce(b.ended_at, b.started_at) = :k1 and b.uuid > :k2)
        or coalesce(b.ended_at, b.started_at) is null""",
    "after_null_time": "where coalesce(b.ended_at, b.started_at) is null and b.uuid > :k2",
    "build_by_uuid": f"select {_BUILD_COLUMNS} from builds b where b.uuid = ?",
    "build_by_rowid": f"select {_BUILD_COLUMNS} from builds b where b.id = ?",
    "build_results": """
        select r.id, p.path, r.status, r.started_at, r.builder_started_at, r.builder_ended_at, r.ended_at,
               dh.algorithm, dh.bits
        from build_results r join paths p on p.id = r.drv_path left join drv_hashes dh on dh.id = r.drv_hash
        where r.build_id = ? order by r.started_at, p.path""",
    "build_outputs": """
        select bo.result_id, bo.output_name, p.path, o.id is not null
        from build_outputs bo join build_results r on r.id = bo.result_id
        left join paths p on p.id = bo.output_path left join objects o on o.id = bo.output_path
        where r.build_id = ? order by bo.result_id, bo.output_name""",
    "builds_for_path": f"""
        select {_BUILD_COLUMNS} from builds b where b.id in (
            select r.build_id from build_outputs bo join build_results r on r.id = bo.result_id
            where bo.output_path = :pid
            union select r.build_id from build_results r where r.drv_path = :pid)
        order by coalesce(b.ended_at, b.started_at) desc, b.uuid limit :n""",
}

_STATUS_VALUES = {s.value for s in BuildStatus}


class ZbStore(Store):
    """zb's backend database, read-only."""

    kind = "zb"
    _sql = _SQL

    def __init__(
        self,
        db: Database,
        *,
        store_dir: str | None = None,
        log_dir: str | None = None,
        trust: ZbTrust | None = None,
        clock: Clock = wall_clock_ms,
        socket_path: str | None = None,
    ) -> None:
        with db.snapshot() as conn:
            tables = {row[0] for row in conn.execute(_SQL["tables"])}
            self.user_version = conn.execute(_SQL["user_version"]).fetchall()[0][0]
        missing = {"paths", "objects", "references", "realizations", "builds", "build_results"} - tables
        if missing:
            raise StoreError(f"{db.path}: not a zb database (missing tables: {', '.join(sorted(missing))})")
        if self.user_version < ZB_SCHEMA_VERSION:
            raise StoreError(
                f"{db.path}: zb database schema version {self.user_version} is older than "
                f"{ZB_SCHEMA_VERSION}; zbtui reads version {ZB_SCHEMA_VERSION} (run a current zb once to migrate)"
            )
        if self.user_version > ZB_SCHEMA_VERSION:
            db.warnings.append(
                f"zb database schema version {self.user_version} is newer than {ZB_SCHEMA_VERSION}: "
                "some information may be missing or wrong"
            )
        self.has_running_server = "running_server" in tables
        super().__init__(db, store_dir=store_dir, clock=clock)
        self.trust = trust if trust is not None else load_zb_trust()
        self.log_dirs = self._log_dir_candidates(log_dir)
        # zb's default socket sits beside its default database (/opt/zb/var/zb).
        self.rpc = ZbRpcClient(socket_path or os.path.join(os.path.dirname(self.path), "server.sock"))
        self._rpc_cache: dict[str, tuple[int, str]] = {}
        # Position of the name part in a path: after "<dir>/<32-char digest>-".
        self._name_cut = len(self.store_dir) + 35
        self._digest_cut = len(self.store_dir) + 2
        self._name_index: _NameIndex | None = None
        """Object names in memory for search-as-you-type (see `object_ids`)."""
        self._name_index_lock = threading.Lock()

    # -- setup ---------------------------------------------------------------

    def _logical_store_dir(self) -> str:
        with self.db.snapshot() as conn:
            for (path,) in conn.execute(_SQL["first_path"]):
                if path:
                    cut = max(path.rfind("/"), path.rfind("\\"))
                    if cut > 0:
                        return path[:cut]
        return DEFAULT_STORE_DIR

    def _log_dir_candidates(self, log_dir: str | None) -> list[str]:
        if log_dir:
            return [log_dir]
        db_dir = os.path.dirname(self.path)
        # zb's defaults put the database in <var>/zb and logs in <var>/log/zb.
        candidates = [os.path.join(os.path.dirname(db_dir), "log", "zb"), DEFAULT_LOG_DIR, os.path.join(db_dir, "log")]
        seen: list[str] = []
        for c in candidates:
            if c not in seen:
                seen.append(c)
        return seen

    @property
    def log_dir(self) -> str:
        """The first candidate log directory that exists (else the first candidate)."""
        for candidate in self.log_dirs:
            if os.path.isdir(candidate):
                return candidate
        return self.log_dirs[0]

    def trust_description(self) -> str:
        return self.trust.describe()

    # -- summary -----------------------------------------------------------------

    def server(self) -> ServerState:
        if not self.has_running_server:
            return ServerState("none", None, None)
        with self.db.snapshot() as conn:
            value = conn.execute(_SQL["heartbeat"]).fetchall()[0][0]
        value = _ms(value)
        if value is None:  # no row, or a damaged one that says nothing
            return ServerState("none", None, None)
        age = self.clock() - value
        return ServerState("alive" if age < HEARTBEAT_ALIVE_MS else "stale", value, age)

    def _derive(self, sql_status: str, server: ServerState, build_id: str | None = None) -> BuildStatus:
        """The build status zb's RPC would give, as far as we can know it.

        An unfinished build is orphaned when no live heartbeat claims it. With
        a live heartbeat only the server's memory knows: when its socket answers,
        ``zb.getBuild`` says ``unknown`` for an orphan from an earlier process.
        """
        if sql_status != "active":
            return BuildStatus(sql_status)
        if server.state != "alive":
            return BuildStatus.ORPHANED
        if build_id is not None and self.server_status(build_id) == "unknown":
            return BuildStatus.ORPHANED
        return BuildStatus.ACTIVE

    def server_status(self, build_id: str) -> str | None:
        """The running server's own status for a build, or None if it cannot be asked."""
        now = self.clock()
        cached = self._rpc_cache.get(build_id)
        # An orphan stays one; an active answer may change, so it is kept briefly.
        if cached is not None and (cached[1] == "unknown" or now - cached[0] < RPC_CACHE_MS):
            return cached[1]
        if not self.rpc.available():
            return None
        try:
            status = self.rpc.build_status(build_id)
        except RpcError:
            return None
        self._rpc_cache[build_id] = (now, status)
        return status

    # -- the counts cache ----------------------------------------------------------
    #
    # The summary's counts are full scans: about a second on a million objects,
    # which would hold the first screen back that long on every start. A
    # database nobody writes to (opened immutable: no -wal, no server) is
    # identified exactly by its file's inode, mtime and size, so its counts,
    # and its largest objects, are kept in a small JSON file of ours
    # (~/.cache/zbtui/summary-counts.json, a few hundred bytes per database)
    # and reused while that identity holds. A database with a writer is always
    # counted afresh: its WAL changes with every heartbeat.

    def _counts_token(self) -> list | None:
        token = self.db.data_version()
        return list(token) if token and token[0] == "immutable" else None

    def _counts_cache(self, token: list | None) -> dict | None:
        """What the cache file knows about this database at this identity."""
        path = _counts_cache_path()
        if token is None or path is None:
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                entry = json.load(handle).get(self.path)
        except (OSError, ValueError, AttributeError):
            return None
        if isinstance(entry, dict) and entry.get("token") == token:
            return entry
        return None

    def _remember_counts(self, token: list | None, **values: object) -> None:
        path = _counts_cache_path()
        if token is None or path is None:
            return
        try:
            try:
                with open(path, encoding="utf-8") as handle:
                    entries = json.load(handle)
                if not isinstance(entries, dict):
                    entries = {}
            except (OSError, ValueError):
                entries = {}
            entry = entries.pop(self.path, None)
            if not isinstance(entry, dict) or entry.get("token") != token:
                entry = {"token": token}
            entry.update(values)
            entries[self.path] = entry  # re-inserted last: the most recent
            while len(entries) > COUNTS_CACHE_ENTRIES:
                entries.pop(next(iter(entries)))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            partial = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(partial, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
            os.replace(partial, path)  # atomic: a concurrent reader sees the old or the new file
        except OSError:
            pass  # a read-only home: no cache, just slower starts

    def _counts(self, conn) -> list:
        """The summary's SQL counts, from the cache when the file is unchanged."""
        token = self._counts_token()
        cached = self._counts_cache(token)
        if cached is not None and isinstance(cached.get("counts"), list):
            return cached["counts"]
        objects, nar_total = conn.execute(_SQL["object_totals"]).fetchall()[0]
        drvs = conn.execute(_SQL["drv_count"]).fetchall()[0][0]
        paths = conn.execute(_SQL["path_count"]).fetchall()[0][0]
        real_total, real_present = conn.execute(_SQL["realization_totals"]).fetchall()[0]
        sigs, keys = conn.execute(_SQL["signature_totals"]).fetchall()[0]
        statuses = [list(row) for row in conn.execute(_SQL["build_status_counts"])]
        counts = [objects, nar_total, drvs, paths, real_total, real_present, sigs, keys, statuses]
        self._remember_counts(token, counts=counts)
        return counts

    def summary(self) -> StoreSummary:
        with self.db.snapshot() as conn:
            objects, nar_total, drvs, paths, real_total, real_present, sigs, keys, statuses = self._counts(conn)
            server = self.server()
            builds: dict[str, int] = {s.value: 0 for s in BuildStatus}
            for status, count in statuses:
                if status == "active" and server.state == "alive" and self.rpc.available():
                    continue  # counted one by one below, asking the server
                builds[self._derive(status, server).value] += count
            if server.state == "alive" and self.rpc.available():
                for (blob,) in conn.execute(_SQL["unfinished_builds"]):
                    builds[self._derive("active", server, uuid_from_blob(blob)).value] += 1
        return self._summary(
            schema=f"zb user_version {self.user_version}",
            objects=objects,
            drv_objects=drvs,
            absent_paths=paths - objects,
            total_nar_size=nar_total,
            realizations=real_total,
            realizations_present=real_present,
            signatures=sigs,
            signature_keys=keys,
            builds=builds,
            server=server,
        )

    # -- objects -------------------------------------------------------------------

    def _search_filter(self, search: str | None, drv_only: bool, params: dict) -> str:
        return self._name_search_sql("p", search, drv_only, params)

    # -- the in-memory name index (search-as-you-type) ---------------------------------

    def _index_prefix(self) -> str:
        """What every path starts with before its digest: the store directory and its separator."""
        sep = "\\" if "\\" in self.store_dir and "/" not in self.store_dir else "/"
        return self.store_dir + sep

    def _build_name_index(self, token: tuple) -> _NameIndex:
        started = time.perf_counter()
        prefix = self._index_prefix()
        params = {"cut": self._name_cut, "plen": len(prefix), "prefix": prefix}
        ids = array.array("q")
        text = _NameText()
        shaped = typed = True
        with self.db.snapshot() as conn:
            cursor = conn.execute(_SQL["name_index"], params)
            while True:
                # Whole batches through C-level loops (islice, zip, map): a
                # Python statement per object would double the build time.
                batch = list(itertools.islice(cursor, 4096))
                if not batch:
                    break
                batch_ids, names, usual = zip(*batch)
                first = len(ids)
                ids.extend(batch_ids)
                shaped = shaped and all(usual)
                if set(map(type, names)) != {str}:  # a blob or a number where a path should be
                    typed = False
                    names = tuple(n if isinstance(n, str) else "" for n in names)
                lines = "".join(map("{}\x01{:x}\n".format, names, range(first, len(ids))))
                # bytes.lower() folds ASCII only, exactly like SQLite's lower().
                text.append(lines.encode("utf-8", "surrogatepass").lower(), max(map(len, names)))
        text.finish()
        index = _NameIndex(token, ids, text, shaped=shaped,
                           build_seconds=time.perf_counter() - started)
        if not typed:
            index.usable = False  # SQL compares such values its own way: let it answer
        return index

    def _index_for(self, *, unfiltered: bool) -> _NameIndex | None:
        """The name index for a name-sorted `object_ids` call, built if need be.

        The unfiltered call (the Objects list loading or reloading) always gets
        an index of the current data version. A search gets one too when that
        is cheap; otherwise it searches the snapshot the list was loaded from
        (see CHEAP_REBUILD_SECONDS).
        """
        self.db.check_cancelled()
        token = self.db.data_version()
        index = self._name_index
        if index is None or not (
            index.token == token or (not unfiltered and index.build_seconds >= CHEAP_REBUILD_SECONDS)
        ):
            with self._name_index_lock:
                token = self.db.data_version()
                index = self._name_index
                if index is None or index.token != token:
                    # Once started, the build serves every later call: a caller
                    # superseded meanwhile (the next keystroke) must not abort it.
                    with self.db.cancellable(lambda: False):
                        index = self._build_name_index(token)
                    self._name_index = index
            self.db.check_cancelled()
        return index if index.usable else None

    def _index_rows(
        self, index: _NameIndex, search: str | None, drv_only: bool, limit: int | None = None
    ) -> array.array | None:
        """Rows of ``index`` that `_search_filter` would select (None: let SQL answer).

        With ``limit``, at least the first ``limit`` rows (fewer only at the end).
        """
        needle = search.strip().lower() if search else ""
        digest = bool(needle) and len(needle) <= 32 and all(c in NIX32_ALPHABET for c in needle)
        if (drv_only or digest) and (not index.shaped or index.row_of is None):
            return None
        try:
            pattern = index.pattern(needle.encode("utf-8") if needle else None, drv_only)
        except UnicodeEncodeError:  # a lone surrogate: SQL says what matches it
            return None
        if pattern is None:
            rows, last = array.array("q"), len(index.ids) - 1
        else:
            rows, last = index.scan(pattern, limit, self.db.check_cancelled)
        if digest:
            rows = _merge_rows(rows, self._digest_rows(index, needle, drv_only, last))
        return rows

    def _digest_rows(self, index: _NameIndex, needle: str, drv_only: bool, last: int) -> list[int]:
        """Rows (up to ``last``) of the indexed objects whose digest starts with ``needle``."""
        prefix = self._index_prefix()
        # Every string starting with P sorts in [P, P with its last character
        # incremented): a range of the unique index on paths.path.
        params = {"lo": prefix + needle, "hi": prefix + needle[:-1] + chr(ord(needle[-1]) + 1)}
        sql = _SQL["digest_ids"].format(filters=" and p.path like '%.drv'" if drv_only else "")
        row_of = index.row_of
        assert row_of is not None
        top = len(row_of)
        rows = []
        with self.db.snapshot() as conn:
            for (object_id,) in conn.execute(sql, params):
                # Paths that are not objects have no row; nor do objects newer
                # than the index, which are not in the list it serves.
                if 0 <= object_id < top and 0 <= (row := row_of[object_id]) <= last:
                    rows.append(row)
        rows.sort()
        return rows

    def _first_page_from_index(self, search: str | None, drv_only: bool, limit: int) -> Page[ObjectRow] | None:
        """The first page by name from a current name index (None: let SQL answer)."""
        index = self._name_index
        if index is None or not index.usable or limit <= 0 or index.token != self.db.data_version():
            return None  # keyset pages must be exact: SQL answers while the index is stale
        self.db.check_cancelled()
        if (search and search.strip()) or drv_only:
            rows = self._index_rows(index, search, drv_only, limit)
            if rows is None:
                return None
            ids: Sequence[int] = index.ids_of(rows[:limit])
        else:
            ids = index.ids[:limit]
        found = self.objects_by_ids(ids)
        if len(found) != len(ids):
            return None  # an object went away since the check: SQL answers
        next_key = (found[-1].path[self._name_cut - 1 :], found[-1].id) if len(found) == limit else None
        return Page(tuple(found), next_key)

    # -- objects, continued ---------------------------------------------------------------

    def objects(self, *, sort="name", search=None, drv_only=False, after=None, limit=200) -> Page[ObjectRow]:
        if sort == "name" and after is None:
            # A search's first page in a few ms instead of a scan and sort of every object.
            page = self._first_page_from_index(search, drv_only, limit)
            if page is not None:
                return page
        if sort == "size" and after is None and not search and not drv_only and 0 < limit <= COUNTS_CACHE_LARGEST:
            page = self._largest_from_cache(limit)
            if page is not None:
                return page
        return self._objects_page(sort, search, drv_only, after, limit)

    def _largest_from_cache(self, limit: int) -> Page[ObjectRow] | None:
        """The largest objects of an unchanged database (see the counts cache)."""
        token = self._counts_token()
        if token is None:
            return None
        cached = self._counts_cache(token)
        raw = cached.get("largest") if cached is not None else None
        if not isinstance(raw, list):
            params = {"cut": self._name_cut, "n": COUNTS_CACHE_LARGEST, "k1": 1 << 62, "k2": -1}
            with self.db.snapshot() as conn:
                raw = [list(r) for r in conn.execute(_SQL["objects_by_size"].format(filters=""), params)]
            self._remember_counts(token, largest=raw)
        raw = raw[:limit]
        rows = [ObjectRow(i, _text(p) or "", _int(s) or 0) for i, p, s in raw]
        next_key = (raw[-1][2], raw[-1][0]) if len(rows) == limit else None
        return Page(tuple(rows), next_key)

    def object_ids(self, *, sort="name", search=None, drv_only=False) -> array.array:
        """See `Store.object_ids`. By name, the answer comes from the in-memory
        name index (`_NameIndex`); the unfiltered array is the index's own, shared
        with the caller, who must not modify it."""
        if sort == "name":
            filtered = bool(search and search.strip()) or drv_only
            index = self._index_for(unfiltered=not filtered)
            if index is not None:
                if not filtered:
                    return index.ids
                rows = self._index_rows(index, search, drv_only)
                if rows is not None:
                    return index.ids_of(rows)
        return self._object_ids_from_sql(sort, search, drv_only)

    def resolve(self, text: str, limit: int = 20) -> list[str]:
        text = text.strip()
        if not text:
            return []
        with self.db.snapshot() as conn:
            if conn.execute(_SQL["path_id"], (text,)).fetchall():
                return [text]
            base = text.rstrip("/").rsplit("/", 1)[-1]
            # A sub-path inside an object: /store/<digest>-name/bin/hello.
            if text.startswith(self.store_dir + "/"):
                base = text[len(self.store_dir) + 1 :].split("/", 1)[0]
            prefix = base.split("-", 1)[0] if len(base) > 32 and base[32:33] == "-" else base
            if prefix and len(prefix) <= 32 and all(c in NIX32_ALPHABET for c in prefix):
                lo = f"{self.store_dir}/{prefix}"
                found = [r[0] for r in conn.execute(_SQL["paths_with_prefix"], {"lo": lo, "hi": lo + "\uffff", "n": limit})]
                if found:
                    return found
            rows = conn.execute(_SQL["paths_by_name"], {"cut": self._name_cut, "s": base.lower(), "n": limit})
            return [r[0] for r in rows]

    def object_info(self, path: str) -> ObjectInfo | None:
        with self.db.snapshot() as conn:
            rows = conn.execute(_SQL["object_by_path"], (path,)).fetchall()
            if not rows:
                return None
            pid, is_object, nar_size, nar_hash, ca = rows[0]
            refs = conn.execute(_SQL["reference_count"], (pid,)).fetchall()[0][0]
            back = conn.execute(_SQL["referrer_count"], (pid,)).fetchall()[0][0]
        values = stored_values(nar_size, nar_hash, ca)
        return ObjectInfo(
            path=path,
            is_object=bool(is_object),
            on_disk=self.on_disk(path),
            nar_size=values.nar_size,
            nar_hash=values.nar_hash,
            nar_hash_value=values.nar_hash_value,
            ca=values.ca,
            content_address=values.content_address,
            reference_count=refs,
            referrer_count=back,
            id=pid,
            problems=values.problems,
        )

    # -- realizations -----------------------------------------------------------------

    def _realizations(self, conn, rows: Sequence[tuple]) -> tuple[Realization, ...]:
        if not rows:
            return ()
        signatures: dict[tuple, list[tuple]] = {}
        keys = {(r[0], r[3], r[4]) for r in rows}
        # Each drv hash is in one chunk, so each key's signatures keep their order.
        for chunk in _chunks(list(dict.fromkeys(r[0] for r in rows)), MAX_IN_LIST):
            sql = _SQL["signatures_for"].format(ids=in_list(len(chunk)))
            for dh, name, op, fmt, key, sig, count in conn.execute(sql, list(chunk)):
                if (dh, name, op) not in keys:
                    continue  # another output of the same derivation hash
                signatures.setdefault((dh, name, op), []).append((_text(fmt), _blob(key), _blob(sig), count))
        classes_of: dict[tuple, list[tuple]] = {}
        for chunk in _chunks(list(dict.fromkeys(r[4] for r in rows)), MAX_IN_LIST):
            sql = _SQL["reference_classes_batch"].format(ids=in_list(len(chunk)))
            for referrer, dh, name, *entry in conn.execute(sql, list(chunk)):
                if (dh, name, referrer) in keys:
                    found = classes_of.setdefault((dh, name, referrer), [])
                    if tuple(entry) not in found:  # select distinct, first occurrence kept
                        found.append(tuple(entry))
        result = []
        for dh_id, algorithm, bits, output_name, output_id, output_path, present in rows:
            raw_classes = classes_of.get((dh_id, output_name, output_id), [])
            signed = signatures.get((dh_id, output_name, output_id), [])
            # The keys above stay raw (they match rows); what is shown and
            # signed is typed, whatever a damaged row holds.
            algorithm, bits = _text(algorithm) or "", _blob(bits) or b""
            output_name, output_path = _text(output_name) or "", _text(output_path) or ""
            classes = [(_text(p) or "", _text(a), _blob(b), _text(n)) for p, a, b, n in raw_classes]
            try:
                message: bytes | None = zb_realization_message(algorithm, bits, output_name, output_path, classes)
            except ValueError:  # a reference class with an algorithm but no digest
                message = None
            checks = tuple(
                SignatureCheck(
                    format=fmt,
                    public_key=base64.b64encode(key).decode() if key is not None else None,
                    key_name=None,
                    status=str(
                        check_zb_signature(fmt, key, sig, message, self.trust)
                        if message is not None
                        else SigStatus.MALFORMED
                    ),
                    count=count,
                )
                for fmt, key, sig, count in signed
            )
            result.append(
                Realization(
                    drv_hash=HashValue(algorithm, bits),
                    output_name=output_name,
                    output_path=output_path,
                    present_in_store=bool(present),
                    reference_classes=tuple(
                        ReferenceClass(p, HashValue(a, b) if a is not None else None, n) for p, a, b, n in classes
                    ),
                    signatures=checks,
                )
            )
        return tuple(result)

    def realizations_for_path(self, path: str) -> tuple[Realization, ...]:
        with self.db.snapshot() as conn:
            rows = conn.execute(_SQL["realizations_for_path"], (path,)).fetchall()
            return self._realizations(conn, rows)

    def realizations_for_drv_hash(self, drv_hash: str) -> tuple[Realization, ...]:
        try:
            value = parse_hash(drv_hash)
        except ValueError as exc:
            raise StoreError(f"not a derivation hash: {drv_hash!r} ({exc})") from None
        with self.db.snapshot() as conn:
            rows = conn.execute(_SQL["realizations_for_drv_hash"], (value.algorithm, value.digest)).fetchall()
            return self._realizations(conn, rows)

    def realizations(self, *, search=None, after=None, limit=100) -> Page[Realization]:
        params: dict = {"n": limit}
        params["k1"], params["k2"], params["k3"] = after if after else (-1, "", -1)
        filters = ""
        if search:
            params["s"] = search.strip().lower()
            params["cut"] = self._name_cut
            filters = " and instr(lower(substr(p.path, :cut)), :s) > 0"
        with self.db.snapshot() as conn:
            rows = conn.execute(_SQL["realizations_page"].format(filters=filters), params).fetchall()
            items = self._realizations(conn, rows)
        next_key = (rows[-1][0], rows[-1][3], rows[-1][4]) if len(rows) == limit else None
        return Page(items, next_key)

    # -- builds ---------------------------------------------------------------------------

    def _build(self, row: Sequence, server: ServerState) -> Build:
        rid, blob, started, ended, internal_error, builder, args, env, status, count, counts = row[:11]
        build_id = uuid_from_blob(blob) or f"row:{rid}"
        expand_args = expand_env = None
        problem = None
        if args is not None:
            try:
                parsed = json.loads(_text(args))  # type: ignore[arg-type]
                if not isinstance(parsed, list):
                    raise ValueError("not a JSON array")
                expand_args = tuple(str(a) for a in parsed)
            except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
                problem = f"expand_args is malformed ({type(exc).__name__}: {str(exc)[:100]})"
        if env is not None:
            try:
                parsed_env = json.loads(_text(env))  # type: ignore[arg-type]
                if not isinstance(parsed_env, dict):
                    raise ValueError("not a JSON object")
                expand_env = {str(k): str(v) for k, v in parsed_env.items()}
            except (ValueError, RecursionError) as exc:
                problem = (problem + "; " if problem else "") + (
                    f"expand_env is malformed ({type(exc).__name__}: {str(exc)[:100]})"
                )
        result_counts: dict[str, int] = {}
        for part in (counts or "").split(","):
            name, _, n = part.rpartition("=")
            # A stored status holding "," or "=" (never one of zb's) cannot
            # be counted by name; it still counts in result_count.
            if name and n.isdigit():
                result_counts[name] = int(n)
        return Build(
            id=build_id,
            row_id=rid,
            status=self._derive(status, server, build_id),
            started_at=_ms(started),
            ended_at=_ms(ended),
            internal_error=_text(internal_error),
            result_count=count,
            result_counts=result_counts,
            expand_builder=_text(builder),
            expand_args=expand_args,
            expand_env=expand_env,
            expand_problem=problem,
        )

    def builds(self, *, status=None, after=None, limit=100) -> Page[Build]:
        server = self.server()
        params: dict = {"n": limit}
        where = ""
        if after is not None:
            params["k1"], params["k2"] = after
            where = _SQL["after_time"] if after[0] is not None else _SQL["after_null_time"]
        sql = _SQL["builds_page"]
        if status is not None:
            if status not in _STATUS_VALUES:
                raise StoreError(f"unknown build status {status!r} (one of {', '.join(sorted(_STATUS_VALUES))})")
            # Orphaned and active are both "unfinished" in SQL; the heartbeat decides which.
            if status in ("active", "orphaned"):
                if status == "active" and server.state != "alive":
                    return Page((), None)
                params["status"] = "active"
            else:
                params["status"] = status
            sql = _SQL["builds_page_status"]
        with self.db.snapshot() as conn:
            rows = conn.execute(sql.format(where=where), params).fetchall()
        items = tuple(self._build(r, server) for r in rows)
        if status is not None:
            # With a live server, unfinished builds split into active and orphaned.
            items = tuple(b for b in items if b.status.value == status)
        next_key = None
        if len(rows) == limit:
            last = rows[-1]
            next_key = (last[3] if last[3] is not None else last[2], last[1])
        return Page(items, next_key)

    def build(self, build_id: str) -> BuildDetail | None:
        with self.db.snapshot() as conn:
            server = self.server()
            if build_id.startswith("row:"):
                if not build_id[4:].isdigit():
                    raise StoreError(f"not a build id: {build_id!r} (expected a UUID or row:<number>)")
                rows = conn.execute(_SQL["build_by_rowid"], (int(build_id[4:]),)).fetchall()
            else:
                try:
                    blob = uuid_to_blob(build_id)
                except ValueError:
                    raise StoreError(f"not a build id: {build_id!r} (expected a UUID)") from None
                rows = conn.execute(_SQL["build_by_uuid"], (blob,)).fetchall()
            if not rows:
                return None
            build = self._build(rows[0], server)
            outputs: dict[int, list[BuildOutput]] = {}
            for result_id, name, path, present in conn.execute(_SQL["build_outputs"], (build.row_id,)):
                output = BuildOutput(_text(name) or "", _text(path), bool(present))
                outputs.setdefault(result_id, []).append(output)
            result_rows = conn.execute(_SQL["build_results"], (build.row_id,)).fetchall()
        results = []
        for rid, drv_path, status, started, b_start, b_end, ended, algo, bits in result_rows:
            drv_path, status, b_start = _text(drv_path) or "", _text(status) or "", _ms(b_start)
            algo, bits = _text(algo), _blob(bits)
            drv_hash = HashValue(algo, bits) if algo is not None and bits is not None else None
            results.append(
                BuildResult(
                    id=rid,
                    build_id=build.id,
                    drv_path=drv_path,
                    status=status,
                    started_at=_ms(started),
                    builder_started_at=b_start,
                    builder_ended_at=_ms(b_end),
                    ended_at=_ms(ended),
                    drv_hash=drv_hash,
                    outputs=tuple(outputs.get(rid, ())),
                    log=self._log_ref(build, drv_path, status, b_start),
                )
            )
        return BuildDetail(
            build=build,
            results=tuple(results),
            server=server,
            orphan_evidence=self._orphan_evidence(build, results, server),
        )

    def _log_ref(self, build: Build, drv_path: str, status: str, builder_started: int | None) -> LogRef:
        growing = status == "active" and build.status == BuildStatus.ACTIVE
        if build.id.startswith("row:"):
            return LogRef(None, False, None, growing, "the build id is damaged, so its log cannot be located")
        try:
            path = zb_log_path(self.log_dir, build.id, drv_path)
        except ValueError:  # a drv path with no base name (damaged row)
            reason = f"the derivation path {drv_path!r} names no file, so its log cannot be located"
            return LogRef(None, False, None, growing, reason)
        info = stat_log(path)
        if info.exists:
            return LogRef(path, True, info.size, growing, None, info.compressed)
        if builder_started is None and status != "active":
            reason = "no log: the result was reused or substituted, no builder ran"
        elif not os.path.isdir(self.log_dir):
            reason = f"log directory {self.log_dir} not found (use --log-dir)"
        else:
            reason = info.error or "log file not found (removed by build log GC?)"
        return LogRef(path, False, None, growing, reason)

    def _orphan_evidence(self, build: Build, results: Sequence[BuildResult], server: ServerState) -> tuple[str, ...]:
        if build.status != BuildStatus.ORPHANED:
            return ()
        evidence = ["no end time was recorded for this build (ended_at is NULL)"]
        if server.state == "alive":
            evidence.append(
                "a zb server is running, but it does not know this build (zb.getBuild answers "
                "'unknown'): an earlier server process started it and died"
            )
        elif server.state == "none":
            evidence.append("no server heartbeat: no zb server is running on this database")
        else:
            evidence.append(
                f"the server heartbeat is stale: last written {_age(server.age_ms)} ago "
                f"(a live server writes one every 5 seconds)"
            )
        active = [r for r in results if r.status == "active"]
        if active:
            evidence.append(f"{len(active)} of {len(results)} results were left 'active' and will never finish")
        last_log = max((os.path.getmtime(r.log.path) for r in results if r.log.exists and r.log.path), default=None)
        if last_log is not None:
            evidence.append(f"last log write {_age(self.clock() - int(last_log * 1000))} ago")
        if build.started_at is not None:
            evidence.append(f"started {_age(self.clock() - build.started_at)} ago and never ended")
        return tuple(evidence)

    def builds_for_path(self, path: str, limit: int = 50) -> tuple[Build, ...]:
        with self.db.snapshot() as conn:
            pid = self._path_id(conn, path)
            if pid is None:
                return ()
            server = self.server()
            rows = conn.execute(_SQL["builds_for_path"], {"pid": pid, "n": limit}).fetchall()
        return tuple(self._build(r, server) for r in rows)


def _counts_cache_path() -> str | None:
    """The counts cache file: ``$ZBTUI_CACHE_DIR`` (empty: no cache), else the XDG cache dir."""
    base = os.environ.get("ZBTUI_CACHE_DIR")
    if base == "":
        return None
    if base is None:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zbtui")
    return os.path.join(base, "summary-counts.json")


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _age(ms: int | None) -> str:
    """A human duration ("12 seconds", "3 hours")."""
    if ms is None:
        return "an unknown time"
    return humanize.naturaldelta(timedelta(milliseconds=max(0, ms)))

"""The ``Store`` implementation for zb's backend database (schema version 5).

Every SQL statement zbtui runs against a zb database is in this module. The
schema and its quirks are in ``shared/spec/zb-format.md``: ``"references"`` is
an SQL keyword and is always quoted; ``realizations.output_path`` points at
``paths``, not ``objects``; UUIDs and drv hash bits are raw blobs.
"""

from __future__ import annotations

import array
import base64
import json
import os
from datetime import timedelta
from collections.abc import Iterable, Sequence

import humanize

from .base import Clock, Store, wall_clock_ms
from .connection import Database
from .errors import StoreError
from .formats import (
    HASH_SIZES,
    NIX32_ALPHABET,
    HashValue,
    parse_content_address,
    parse_hash,
    uuid_from_blob,
    uuid_to_blob,
)
from .logs import stat_log, zb_log_path
from .rpc import RpcError, ZbRpcClient
from .models import (
    Build,
    BuildDetail,
    BuildOutput,
    BuildResult,
    BuildStatus,
    ClosureStats,
    Edge,
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
from .signatures import check_zb_signature, zb_realization_message
from .trust import ZbTrust, load_zb_trust

__all__ = ["HEARTBEAT_ALIVE_MS", "ZB_SCHEMA_VERSION", "ZbStore"]

ZB_SCHEMA_VERSION = 5
"""``PRAGMA user_version`` after zb's migrations 01–05."""

HEARTBEAT_ALIVE_MS = 10_000
"""zb's launch check: a heartbeat younger than 2 × 5 s means a live server."""

DEFAULT_LOG_DIR = "/opt/zb/var/log/zb"
DEFAULT_STORE_DIR = "/opt/zb/store"

RPC_CACHE_MS = 2000
"""How long the server's "active" answer for a build is reused (one refresh cycle)."""

SORTED_EDGE_LIMIT = 5000
"""Edges of an object are listed by name up to this many; beyond it by id,
which pages straight off the index instead of sorting 100k rows per page."""

MAX_IN_LIST = 500
"""Ids per ``id in (…)`` query: well under SQLite's default limit of 32,766
host parameters, and large enough that a page of the list is one query."""

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
    # signatures has no index: one scan serves a whole batch of realizations.
    "signatures_for": """
        select s.drv_hash, s.output_name, s.output_path, spk.format, spk.public_key, s.signature, count(*)
        from signatures s left join signature_public_keys spk on spk.id = s.public_key_id
        where (s.drv_hash, s.output_name, s.output_path) in ({keys})
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


def _in_list(n: int) -> str:
    return ",".join("?" * n)


class ZbStore(Store):
    """zb's backend database, read-only."""

    kind = "zb"

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
        if value is None:
            return ServerState("none", None, None)
        age = self.clock() - int(value)
        return ServerState("alive" if age < HEARTBEAT_ALIVE_MS else "stale", int(value), age)

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

    def summary(self) -> StoreSummary:
        with self.db.snapshot() as conn:
            objects, nar_total = conn.execute(_SQL["object_totals"]).fetchall()[0]
            drvs = conn.execute(_SQL["drv_count"]).fetchall()[0][0]
            paths = conn.execute(_SQL["path_count"]).fetchall()[0][0]
            real_total, real_present = conn.execute(_SQL["realization_totals"]).fetchall()[0]
            sigs, keys = conn.execute(_SQL["signature_totals"]).fetchall()[0]
            server = self.server()
            builds: dict[str, int] = {s.value: 0 for s in BuildStatus}
            for status, count in conn.execute(_SQL["build_status_counts"]):
                if status == "active" and server.state == "alive" and self.rpc.available():
                    continue  # counted one by one below, asking the server
                builds[self._derive(status, server).value] += count
            if server.state == "alive" and self.rpc.available():
                for (blob,) in conn.execute(_SQL["unfinished_builds"]):
                    builds[self._derive("active", server, uuid_from_blob(blob)).value] += 1
        db_size, wal_size = self.db.file_sizes()
        return StoreSummary(
            kind=self.kind,
            db_path=self.path,
            store_dir=self.store_dir,
            real_store_dir=self.real_store_dir,
            schema=f"zb user_version {self.user_version}",
            objects=objects,
            drv_objects=drvs,
            absent_paths=paths - objects,
            total_nar_size=nar_total,
            realizations=real_total,
            realizations_present=real_present,
            realizations_absent=real_total - real_present,
            signatures=sigs,
            signature_keys=keys,
            builds=builds,
            build_total=sum(builds.values()),
            server=server,
            db_size=db_size,
            wal_size=wal_size,
            warnings=tuple(self.warnings),
        )

    # -- objects -------------------------------------------------------------------

    def _search_filter(self, search: str | None, drv_only: bool, params: dict) -> str:
        filters = ""
        if search:
            needle = search.strip().lower()
            params["s"] = needle
            clause = "instr(lower(substr(p.path, :cut)), :s) > 0"
            if needle and len(needle) <= 32 and all(c in NIX32_ALPHABET for c in needle):
                params["dcut"] = self._digest_cut
                params["slen"] = len(needle)
                clause = f"({clause} or substr(p.path, :dcut, :slen) = :s)"
            filters += " and " + clause
        if drv_only:
            filters += " and p.path like '%.drv'"
        return filters

    def objects(self, *, sort="name", search=None, drv_only=False, after=None, limit=200) -> Page[ObjectRow]:
        params: dict = {"cut": self._name_cut, "n": limit}
        filters = self._search_filter(search, drv_only, params)
        if sort == "size":
            params["k1"], params["k2"] = after if after else (1 << 62, -1)
            sql = _SQL["objects_by_size"]
        elif sort == "name":
            params["k1"], params["k2"] = after if after else ("", -1)
            sql = _SQL["objects_by_name"]
        else:
            raise ValueError(f"unknown sort {sort!r}")
        with self.db.snapshot() as conn:
            rows = [ObjectRow(i, p, s) for i, p, s in conn.execute(sql.format(filters=filters), params)]
        next_key = None
        if len(rows) == limit:
            last = rows[-1]
            next_key = (last.nar_size, last.id) if sort == "size" else (last.path[self._name_cut - 1 :], last.id)
        return Page(tuple(rows), next_key)

    def object_ids(self, *, sort="name", search=None, drv_only=False) -> array.array:
        params: dict = {"cut": self._name_cut}
        filters = self._search_filter(search, drv_only, params)
        if sort not in ("name", "size"):
            raise ValueError(f"unknown sort {sort!r}")
        sql = _SQL[f"object_ids_by_{sort}"].format(filters=filters)
        ids = array.array("q")
        with self.db.snapshot() as conn:
            # Stream the rows into the array: a list of a million row tuples
            # would briefly cost ~100 MB, for an index of 8 MB.
            ids.extend(row[0] for row in conn.execute(sql, params))
        return ids

    def objects_by_ids(self, ids: Sequence[int]) -> list[ObjectRow]:
        found: dict[int, ObjectRow] = {}
        with self.db.snapshot() as conn:
            for chunk in _chunks(ids, MAX_IN_LIST):
                sql = _SQL["objects_by_ids"].format(ids=_in_list(len(chunk)))
                for i, p, s in conn.execute(sql, list(chunk)):
                    found[i] = ObjectRow(i, p, s)
        return [found[i] for i in ids if i in found]

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

    def _path_id(self, conn, path: str) -> int | None:
        rows = conn.execute(_SQL["path_id"], (path,)).fetchall()
        return rows[0][0] if rows else None

    def object_info(self, path: str) -> ObjectInfo | None:
        with self.db.snapshot() as conn:
            rows = conn.execute(_SQL["object_by_path"], (path,)).fetchall()
            if not rows:
                return None
            pid, is_object, nar_size, nar_hash, ca = rows[0]
            refs = conn.execute(_SQL["reference_count"], (pid,)).fetchall()[0][0]
            back = conn.execute(_SQL["referrer_count"], (pid,)).fetchall()[0][0]
        problems: list[str] = []
        hash_value = None
        if nar_hash:
            try:
                hash_value = parse_hash(nar_hash)
            except ValueError as exc:
                problems.append(f"NAR hash cannot be parsed: {exc}")
        content_address = None
        if ca:
            try:
                content_address = parse_content_address(ca)
            except ValueError as exc:
                problems.append(f"content address cannot be parsed: {exc}")
        return ObjectInfo(
            path=path,
            is_object=bool(is_object),
            on_disk=self.on_disk(path),
            nar_size=nar_size,
            nar_hash=nar_hash,
            nar_hash_value=hash_value,
            ca=ca,
            content_address=content_address,
            reference_count=refs,
            referrer_count=back,
            id=pid,
            problems=tuple(problems),
        )

    def _edges(self, path: str, direction: str, after: tuple | None, limit: int) -> Page[Edge]:
        with self.db.snapshot() as conn:
            pid = self._path_id(conn, path)
            if pid is None:
                return Page((), None)
            if after is None:
                count_sql = "reference_count" if direction == "references" else "referrer_count"
                total = conn.execute(_SQL[count_sql], (pid,)).fetchall()[0][0]
                mode = "name" if total <= SORTED_EDGE_LIMIT else "id"
                k1, k2 = "", -1
            else:
                mode, k1, k2 = after
            sql = _SQL[f"{direction}_by_{mode}"]
            rows = conn.execute(sql, {"id": pid, "k1": k1, "k2": k2, "n": limit}).fetchall()
        edges = tuple(Edge(i, p, s, bool(self_ref), c) for i, p, s, self_ref, c in rows)
        next_key = (mode, edges[-1].path, edges[-1].id) if len(edges) == limit else None
        return Page(edges, next_key)

    def references(self, path, *, after=None, limit=200) -> Page[Edge]:
        return self._edges(path, "references", after, limit)

    def referrers(self, path, *, after=None, limit=200) -> Page[Edge]:
        return self._edges(path, "referrers", after, limit)

    def closure(self, path: str) -> ClosureStats:
        with self.db.snapshot() as conn:
            pid = self._path_id(conn, path)
            if pid is None:
                return ClosureStats(0, 0)
            count, size = conn.execute(_SQL["closure"], {"id": pid}).fetchall()[0]
        return ClosureStats(count, size)

    def why(self, source: str, target: str) -> list[str] | None:
        # Breadth-first search, one query per level and batch, so the first
        # chain found is a shortest one and only the needed part is explored.
        with self.db.snapshot() as conn:
            start, goal = self._path_id(conn, source), self._path_id(conn, target)
            if start is None or goal is None:
                return None
            if start == goal:
                return [source]
            parent: dict[int, int] = {start: start}
            frontier = [start]
            while frontier and goal not in parent:
                next_frontier: list[int] = []
                for chunk in _chunks(frontier, 500):
                    sql = _SQL["edges_from"].format(ids=_in_list(len(chunk)))
                    for referrer, reference in conn.execute(sql, chunk):
                        if reference not in parent:
                            parent[reference] = referrer
                            next_frontier.append(reference)
                frontier = next_frontier
            if goal not in parent:
                return None
            chain = [goal]
            while chain[-1] != start:
                chain.append(parent[chain[-1]])
            chain.reverse()
            names = dict(conn.execute(_SQL["paths_by_id"].format(ids=_in_list(len(chain))), chain).fetchall())
        return [names[i] for i in chain]

    # -- realizations -----------------------------------------------------------------

    def _realizations(self, conn, rows: Sequence[tuple]) -> tuple[Realization, ...]:
        if not rows:
            return ()
        signatures: dict[tuple, list[tuple]] = {}
        keys = [(r[0], r[3], r[4]) for r in rows]
        for chunk in _chunks(keys, 300):
            sql = _SQL["signatures_for"].format(keys=",".join(["(?,?,?)"] * len(chunk)))
            flat = [v for key in chunk for v in key]
            for dh, name, op, fmt, key, sig, count in conn.execute(sql, flat):
                signatures.setdefault((dh, name, op), []).append((fmt, key, sig, count))
        result = []
        for dh_id, algorithm, bits, output_name, output_id, output_path, present in rows:
            classes = conn.execute(_SQL["reference_classes"], (dh_id, output_name, output_id)).fetchall()
            message = zb_realization_message(algorithm, bits, output_name, output_path, classes)
            checks = tuple(
                SignatureCheck(
                    format=fmt,
                    public_key=base64.b64encode(key).decode() if key is not None else None,
                    key_name=None,
                    status=str(check_zb_signature(fmt, key, sig, message, self.trust)),
                    count=count,
                )
                for fmt, key, sig, count in signatures.get((dh_id, output_name, output_id), [])
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
                parsed = json.loads(args)
                if not isinstance(parsed, list):
                    raise ValueError("not a JSON array")
                expand_args = tuple(str(a) for a in parsed)
            except ValueError as exc:
                problem = f"expand_args is malformed ({exc})"
        if env is not None:
            try:
                parsed_env = json.loads(env)
                if not isinstance(parsed_env, dict):
                    raise ValueError("not a JSON object")
                expand_env = {str(k): str(v) for k, v in parsed_env.items()}
            except ValueError as exc:
                problem = (problem + "; " if problem else "") + f"expand_env is malformed ({exc})"
        result_counts: dict[str, int] = {}
        for part in (counts or "").split(","):
            name, _, n = part.rpartition("=")
            if name:
                result_counts[name] = int(n)
        return Build(
            id=build_id,
            row_id=rid,
            status=self._derive(status, server, build_id),
            started_at=started,
            ended_at=ended,
            internal_error=internal_error,
            result_count=count,
            result_counts=result_counts,
            expand_builder=builder,
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
                outputs.setdefault(result_id, []).append(BuildOutput(name, path, bool(present)))
            result_rows = conn.execute(_SQL["build_results"], (build.row_id,)).fetchall()
        results = []
        for rid, drv_path, status, started, b_start, b_end, ended, algo, bits in result_rows:
            drv_hash = HashValue(algo, bits) if algo is not None and bits is not None else None
            results.append(
                BuildResult(
                    id=rid,
                    build_id=build.id,
                    drv_path=drv_path,
                    status=status,
                    started_at=started,
                    builder_started_at=b_start,
                    builder_ended_at=b_end,
                    ended_at=ended,
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
        path = zb_log_path(self.log_dir, build.id, drv_path)
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


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _age(ms: int | None) -> str:
    """A human duration ("12 seconds", "3 hours")."""
    if ms is None:
        return "an unknown time"
    return humanize.naturaldelta(timedelta(milliseconds=max(0, ms)))

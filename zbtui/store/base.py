"""The one ``Store`` interface, implemented once per database kind (zb, Nix).

Every method is blocking (it runs SQL or touches the filesystem) and must be
called from a worker thread in the UI. Methods called inside a
``with store.snapshot():`` block share one read transaction; outside one, each
method takes its own short transaction.
"""

from __future__ import annotations

import array
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from .connection import Database
from .connection import column_int as _int
from .connection import column_text as _text
from .formats import NIX32_ALPHABET, ContentAddress, HashValue, parse_content_address, parse_hash
from .models import (
    Build,
    BuildDetail,
    BuildOutput,
    ClosureStats,
    Edge,
    ObjectInfo,
    ObjectRow,
    Page,
    Realization,
    ServerState,
    StoreSummary,
)

__all__ = ["Clock", "StoredValues", "Store", "in_list", "shortest_chain", "stored_values", "wall_clock_ms"]

Clock = Callable[[], int]
"""Returns the current time in ms since the epoch (injectable for tests)."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class StoredValues:
    """An object's NAR size, NAR hash and content address as stored, and parsed."""

    nar_size: int | None
    nar_hash: str | None
    nar_hash_value: HashValue | None
    ca: str | None
    content_address: ContentAddress | None
    problems: tuple[str, ...]


def stored_values(nar_size: object, nar_hash: object, ca: object) -> StoredValues:
    """Parse the columns both kinds of store keep per object, naming what is damaged.

    A damaged row may hold values of other types than zb or Nix write; each
    problem becomes a sentence for the detail screen instead of an exception.
    """
    problems: list[str] = []
    if nar_size is not None and _int(nar_size) is None:
        problems.append(f"NAR size is not a number: {_text(nar_size)!r}")
    size, hash_text, ca_text = _int(nar_size), _text(nar_hash), _text(ca)
    hash_value = None
    if hash_text:
        try:
            hash_value = parse_hash(hash_text)
        except ValueError as exc:
            problems.append(f"NAR hash cannot be parsed: {exc}")
    content_address = None
    if ca_text:
        try:
            content_address = parse_content_address(ca_text)
        except ValueError as exc:
            problems.append(f"content address cannot be parsed: {exc}")
    return StoredValues(size, hash_text, hash_value, ca_text, content_address, tuple(problems))


def in_list(n: int) -> str:
    """``?,?,…`` for an ``IN (…)`` list of ``n`` host parameters."""
    return ",".join("?" * n)


IN_LIST_CHUNK = 500
"""Host parameters per ``IN (…)`` list: well under SQLite's limit of 32,766."""

SORTED_EDGE_LIMIT = 5000
"""Edges of an object are listed by name up to this many; beyond it by id,
which pages straight off the index instead of sorting 100k rows per page."""

WHY_BATCH = 500
"""Frontier ids per edge query in why-depends (well under SQLite's 32k host parameters)."""


def shortest_chain(
    start: int, goal: int, edges_from: Callable[[Sequence[int]], Iterable[tuple[int, int]]]
) -> list[int] | None:
    """One shortest reference chain from ``start`` to ``goal``, as ids.

    Breadth-first, one ``edges_from`` call per level and batch of ids (each
    returns ``(referrer, reference)`` pairs), so the first chain found is a
    shortest one and only the part of the graph needed is read. The stores
    supply their own edge query; the search itself is the same for zb and Nix.
    """
    if start == goal:
        return [start]
    parent: dict[int, int] = {start: start}
    frontier = [start]
    while frontier and goal not in parent:
        next_frontier: list[int] = []
        for i in range(0, len(frontier), WHY_BATCH):
            for referrer, reference in edges_from(frontier[i : i + WHY_BATCH]):
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
    return chain


class Store(ABC):
    """Read-only queries over one store database."""

    kind: str
    """``zb`` or ``nix``."""

    def __init__(self, db: Database, *, store_dir: str | None, clock: Clock = wall_clock_ms) -> None:
        self.db = db
        self.clock = clock
        self._store_dir_override = store_dir
        self.store_dir = self._logical_store_dir()
        self.real_store_dir = store_dir or self.store_dir

    # -- plumbing shared by the implementations ----------------------------

    @property
    def path(self) -> str:
        return self.db.path

    @property
    def warnings(self) -> list[str]:
        return self.db.warnings

    def snapshot(self) -> AbstractContextManager:
        """Group the following calls in one consistent read transaction."""
        return self.db.snapshot()

    @contextmanager
    def cancellable(self, cancelled: Callable[[], bool]) -> Iterator[None]:
        """Stop this thread's queries as soon as ``cancelled()`` returns True."""
        with self.db.cancellable(cancelled):
            yield

    def data_version(self) -> tuple:
        """A token that changes when anything in the database changed."""
        return self.db.data_version()

    def close(self) -> None:
        self.db.close()

    def on_disk(self, path: str) -> bool:
        """Whether the store path exists under the (real) store directory."""
        if path.startswith(self.store_dir):
            real = self.real_store_dir + path[len(self.store_dir) :]
        else:
            real = path
        try:
            return os.path.lexists(real)
        except (OSError, ValueError):
            return False

    def _summary(
        self,
        *,
        schema: str,
        objects: int,
        drv_objects: int,
        absent_paths: int,
        total_nar_size: int,
        realizations: int,
        realizations_present: int,
        signatures: int,
        signature_keys: int,
        builds: dict[str, int],
        server: ServerState | None,
    ) -> StoreSummary:
        """A `StoreSummary` from the counts a store found; the rest is the same for every kind."""
        db_size, wal_size = self.db.file_sizes()
        return StoreSummary(
            kind=self.kind,
            db_path=self.path,
            store_dir=self.store_dir,
            real_store_dir=self.real_store_dir,
            schema=schema,
            objects=objects,
            drv_objects=drv_objects,
            absent_paths=absent_paths,
            total_nar_size=total_nar_size,
            realizations=realizations,
            realizations_present=realizations_present,
            realizations_absent=realizations - realizations_present,
            signatures=signatures,
            signature_keys=signature_keys,
            builds=builds,
            build_total=sum(builds.values()),
            server=server,
            db_size=db_size,
            wal_size=wal_size,
            warnings=tuple(self.warnings),
        )

    def _name_search_sql(self, alias: str, search: str | None, drv_only: bool, params: dict) -> str:
        """SQL conditions for "name contains ``search``, or digest starts with it" and ".drv only".

        Shared by both stores (their path column is ``<alias>.path``); fills
        ``params`` with the values the conditions name.
        """
        filters = ""
        if search:
            needle = search.strip().lower()
            params["s"] = needle
            params["cut"] = self._name_cut
            clause = f"instr(lower(substr({alias}.path, :cut)), :s) > 0"
            if needle and len(needle) <= 32 and all(c in NIX32_ALPHABET for c in needle):
                params["dcut"] = self._digest_cut
                params["slen"] = len(needle)
                clause = f"({clause} or substr({alias}.path, :dcut, :slen) = :s)"
            filters += " and " + clause
        if drv_only:
            filters += f" and {alias}.path like '%.drv'"
        return filters

    @abstractmethod
    def _logical_store_dir(self) -> str:
        """The store directory the database's paths name."""

    # -- queries -----------------------------------------------------------

    @abstractmethod
    def summary(self) -> StoreSummary: ...

    @abstractmethod
    def server(self) -> ServerState | None: ...

    @abstractmethod
    def objects(
        self,
        *,
        sort: str = "name",
        search: str | None = None,
        drv_only: bool = False,
        after: tuple | None = None,
        limit: int = 200,
    ) -> Page[ObjectRow]:
        """A page of objects by name (``sort="name"``) or size (largest first).

        ``search`` matches a substring of the name (case-insensitive) or a
        prefix of the digest.
        """

    @abstractmethod
    def resolve(self, text: str, limit: int = 20) -> list[str]:
        """Known paths matching a full path, base name, digest prefix or name."""

    @abstractmethod
    def object_info(self, path: str) -> ObjectInfo | None: ...

    # -- objects: the SQL paths both kinds share ------------------------------
    #
    # ``objects_by_{name,size}``, ``object_ids_by_{name,size}`` (with a
    # ``{filters}`` slot for `_search_filter`) and ``objects_by_ids`` (with an
    # ``{ids}`` slot) in ``_sql``.

    @abstractmethod
    def _search_filter(self, search: str | None, drv_only: bool, params: dict) -> str:
        """`_name_search_sql` with this store's path alias."""

    def _objects_page(
        self, sort: str, search: str | None, drv_only: bool, after: tuple | None, limit: int
    ) -> Page[ObjectRow]:
        """A keyset page of objects straight from SQL (see `objects`)."""
        params: dict = {"cut": self._name_cut, "n": limit}
        filters = self._search_filter(search, drv_only, params)
        if sort == "size":
            params["k1"], params["k2"] = after if after else (1 << 62, -1)
        elif sort == "name":
            params["k1"], params["k2"] = after if after else ("", -1)
        else:
            raise ValueError(f"unknown sort {sort!r}")
        with self.db.snapshot() as conn:
            raw = conn.execute(self._sql[f"objects_by_{sort}"].format(filters=filters), params).fetchall()
        # Typed whatever a damaged row holds; the key stays raw, to compare in SQL.
        rows = [ObjectRow(i, _text(p) or "", _int(s) or 0) for i, p, s in raw]
        next_key = None
        if len(rows) == limit:
            last = raw[-1]
            next_key = (last[2], last[0]) if sort == "size" else (rows[-1].path[self._name_cut - 1 :], last[0])
        return Page(tuple(rows), next_key)

    def _object_ids_from_sql(self, sort: str, search: str | None, drv_only: bool) -> array.array:
        """`object_ids` from one SQL query."""
        if sort not in ("name", "size"):
            raise ValueError(f"unknown sort {sort!r}")
        params: dict = {"cut": self._name_cut}
        filters = self._search_filter(search, drv_only, params)
        sql = self._sql[f"object_ids_by_{sort}"].format(filters=filters)
        ids = array.array("q")
        with self.db.snapshot() as conn:
            # Stream the rows into the array: a list of a million row tuples
            # would briefly cost ~100 MB, for an index of 8 MB.
            ids.extend(row[0] for row in conn.execute(sql, params))
        return ids

    def objects_by_ids(self, ids: Sequence[int]) -> list[ObjectRow]:
        """The objects with these ids, in the order asked.

        Ids that are not (or no longer) objects are left out. One ``id IN (…)``
        query per 500 ids.
        """
        found: dict[int, ObjectRow] = {}
        with self.db.snapshot() as conn:
            for start in range(0, len(ids), IN_LIST_CHUNK):
                chunk = list(ids[start : start + IN_LIST_CHUNK])
                sql = self._sql["objects_by_ids"].format(ids=in_list(len(chunk)))
                for i, p, size in conn.execute(sql, chunk):
                    found[i] = ObjectRow(i, _text(p) or "", _int(size) or 0)
        return [found[i] for i in ids if i in found]

    # -- the reference graph: the same queries in both kinds of database -----
    #
    # Each implementation names its SQL in ``_sql`` under the same keys
    # (``path_id``, ``reference_count``, ``referrer_count``,
    # ``{references,referrers}_by_{name,id}``, ``closure``, ``edges_from``,
    # ``paths_by_id``); the statements themselves stay in zb.py and nix.py.

    _sql: Mapping[str, str]

    def _path_id(self, conn, path: str) -> int | None:
        rows = conn.execute(self._sql["path_id"], (path,)).fetchall()
        return rows[0][0] if rows else None

    def _edges(self, path: str, direction: str, after: tuple | None, limit: int) -> Page[Edge]:
        with self.db.snapshot() as conn:
            pid = self._path_id(conn, path)
            if pid is None:
                return Page((), None)
            if after is None:
                count_sql = "reference_count" if direction == "references" else "referrer_count"
                total = conn.execute(self._sql[count_sql], (pid,)).fetchall()[0][0]
                # Small lists read in name order; a hub's (100k+ referrers) in id
                # order, which its index gives without sorting them all.
                mode = "name" if total <= SORTED_EDGE_LIMIT else "id"
                k1, k2 = "", -1
            else:
                mode, k1, k2 = after
            sql = self._sql[f"{direction}_by_{mode}"]
            rows = conn.execute(sql, {"id": pid, "k1": k1, "k2": k2, "n": limit}).fetchall()
        edges = tuple(Edge(i, _text(p) or "", _int(s), bool(self_ref), c) for i, p, s, self_ref, c in rows)
        next_key = (mode, edges[-1].path, edges[-1].id) if len(edges) == limit else None
        return Page(edges, next_key)

    def references(self, path: str, *, after: tuple | None = None, limit: int = 200) -> Page[Edge]:
        """What ``path`` refers to, a page at a time (``after`` is the previous page's key)."""
        return self._edges(path, "references", after, limit)

    def referrers(self, path: str, *, after: tuple | None = None, limit: int = 200) -> Page[Edge]:
        """What refers to ``path``, a page at a time (``after`` is the previous page's key)."""
        return self._edges(path, "referrers", after, limit)

    def closure(self, path: str) -> ClosureStats:
        """Count and total NAR size of the closure (``nix path-info -S``'s closureSize)."""
        with self.db.snapshot() as conn:
            pid = self._path_id(conn, path)
            if pid is None:
                return ClosureStats(0, 0)
            count, size = conn.execute(self._sql["closure"], {"id": pid}).fetchall()[0]
        return ClosureStats(count, size)

    def why(self, source: str, target: str) -> list[str] | None:
        """One shortest reference chain from ``source`` to ``target``, or None."""
        with self.db.snapshot() as conn:
            start, goal = self._path_id(conn, source), self._path_id(conn, target)
            if start is None or goal is None:
                return None
            chain = shortest_chain(
                start,
                goal,
                lambda ids: conn.execute(self._sql["edges_from"].format(ids=in_list(len(ids))), list(ids)),
            )
            if chain is None:
                return None
            names = dict(conn.execute(self._sql["paths_by_id"].format(ids=in_list(len(chain))), chain).fetchall())
        # A reference to an id with no paths row (a damaged database) still
        # shows where the chain goes, rather than failing the whole answer.
        return [_text(names[i]) or "" if i in names else f"<id {i}: not in the paths table>" for i in chain]

    @abstractmethod
    def realizations_for_path(self, path: str) -> tuple[Realization, ...]: ...

    @abstractmethod
    def realizations_for_drv_hash(self, drv_hash: str) -> tuple[Realization, ...]: ...

    @abstractmethod
    def realizations(
        self, *, search: str | None = None, after: tuple | None = None, limit: int = 100
    ) -> Page[Realization]:
        """All realizations, grouped by derivation hash and output name."""

    @abstractmethod
    def builds(self, *, status: str | None = None, after: tuple | None = None, limit: int = 100) -> Page[Build]: ...

    @abstractmethod
    def build(self, build_id: str) -> BuildDetail | None: ...

    @abstractmethod
    def builds_for_path(self, path: str, limit: int = 50) -> tuple[Build, ...]:
        """Builds that produced ``path`` (as an output) or built it (as a ``.drv``)."""

    def derivation_outputs(self, drv_path: str) -> tuple[BuildOutput, ...]:
        """The outputs a derivation declares, with whether each is present.

        Only Nix records this outside builds (``DerivationOutputs``); stores
        that do not return ``()``.
        """
        return ()

    def derivers_of(self, path: str) -> tuple[str, ...]:
        """Present ``.drv`` paths that declare ``path`` as one of their outputs.

        Only Nix records this outside builds (``DerivationOutputs``); stores
        that do not return ``()``.
        """
        return ()

    @abstractmethod
    def trust_description(self) -> str:
        """Which trust configuration verification uses, in one line."""

    @abstractmethod
    def object_ids(self, *, sort: str = "name", search: str | None = None, drv_only: bool = False) -> array.array:
        """The ids of every matching object, in display order, from one query.

        The order and the ``search``/``drv_only`` semantics are exactly those of
        `objects` (walking its pages gives the same ids in the same order). The
        objects list keeps this as its index (8 bytes per object, ``"q"``
        typecode) and fetches rows for the visible part with `objects_by_ids`.

        Raises:
            ValueError: ``sort`` is neither ``"name"`` nor ``"size"``.
        """

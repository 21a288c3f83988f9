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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from .connection import Database
from .formats import NIX32_ALPHABET
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

__all__ = ["Clock", "Store", "shortest_chain", "wall_clock_ms"]

Clock = Callable[[], int]
"""Returns the current time in ms since the epoch (injectable for tests)."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


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

    @abstractmethod
    def references(self, path: str, *, after: tuple | None = None, limit: int = 200) -> Page[Edge]: ...

    @abstractmethod
    def referrers(self, path: str, *, after: tuple | None = None, limit: int = 200) -> Page[Edge]: ...

    @abstractmethod
    def closure(self, path: str) -> ClosureStats: ...

    @abstractmethod
    def why(self, source: str, target: str) -> list[str] | None:
        """One shortest reference chain from ``source`` to ``target``, or None."""

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

    @abstractmethod
    def objects_by_ids(self, ids: Sequence[int]) -> list[ObjectRow]:
        """The objects with these ids, in the order asked.

        Ids that are not (or no longer) objects are left out. One ``id IN (…)``
        query per 500 ids.
        """

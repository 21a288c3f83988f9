"""Frozen dataclasses returned by the store layer.

Screens and the ``zbtui query`` command only ever see these; they never see
rows, cursors or SQL. Times are milliseconds since the Unix epoch, as zb
stores them (Nix registration times are converted to ms too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from .formats import ContentAddress, HashValue, split_store_path

__all__ = [
    "Build",
    "BuildDetail",
    "BuildOutput",
    "BuildResult",
    "BuildStatus",
    "ClosureStats",
    "Edge",
    "LogRef",
    "ObjectInfo",
    "ObjectRow",
    "Page",
    "PathSignature",
    "Realization",
    "ReferenceClass",
    "ServerState",
    "SignatureCheck",
    "StoreSummary",
]

T = TypeVar("T")


class BuildStatus(StrEnum):
    """Derived build status (zb has no status column; spec §1.8)."""

    SUCCESS = "success"
    FAIL = "fail"
    ERROR = "error"
    ACTIVE = "active"
    ORPHANED = "orphaned"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paged list.

    Attributes:
        items: The rows of this page.
        next_key: Opaque key to pass back for the following page, or None at the end.
    """

    items: tuple[T, ...]
    next_key: tuple | None


@dataclass(frozen=True, slots=True)
class ServerState:
    """The zb server heartbeat (``running_server``).

    Attributes:
        state: ``alive`` (a heartbeat younger than 10 s), ``stale`` (an older
            one, left by a crash) or ``none`` (no row: stopped cleanly).
        running_as_of: The last heartbeat, ms since the epoch.
        age_ms: How old the heartbeat was when read.
    """

    state: str
    running_as_of: int | None
    age_ms: int | None


@dataclass(frozen=True, slots=True)
class StoreSummary:
    """Everything the overview screen and ``query stats`` show."""

    kind: str
    db_path: str
    store_dir: str
    real_store_dir: str
    schema: str
    objects: int
    drv_objects: int
    absent_paths: int
    total_nar_size: int
    realizations: int
    realizations_present: int
    realizations_absent: int
    signatures: int
    signature_keys: int
    builds: Mapping[str, int]
    build_total: int
    server: ServerState | None
    db_size: int
    wal_size: int | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectRow:
    """One line of the objects list."""

    id: int
    path: str
    nar_size: int

    @property
    def digest(self) -> str:
        return split_store_path(self.path)[1]

    @property
    def name(self) -> str:
        return split_store_path(self.path)[2]

    @property
    def is_drv(self) -> bool:
        return self.path.endswith(".drv")


@dataclass(frozen=True, slots=True)
class PathSignature:
    """A signature over a store path (Nix ``ValidPaths.sigs``)."""

    key_name: str | None
    status: str
    text: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """All metadata about one store path.

    ``is_object`` is False for a path the database knows (a reference, a
    realization output, a build output) that is not a present object; then the
    object fields are None.
    """

    path: str
    is_object: bool
    on_disk: bool
    nar_size: int | None
    nar_hash: str | None
    nar_hash_value: HashValue | None
    ca: str | None
    content_address: ContentAddress | None
    reference_count: int
    referrer_count: int
    id: int | None = None
    # Nix-only metadata; None for zb.
    registration_time: int | None = None
    deriver: str | None = None
    ultimate: bool | None = None
    signatures: tuple[PathSignature, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return split_store_path(self.path)[1]

    @property
    def name(self) -> str:
        return split_store_path(self.path)[2]

    @property
    def is_drv(self) -> bool:
        return self.path.endswith(".drv")


@dataclass(frozen=True, slots=True)
class Edge:
    """A reference or referrer of an object, as a tree node.

    Attributes:
        child_count: How many references (in a references tree) or referrers
            (in a referrers tree) this node has in turn, self excluded.
        is_self: The edge points back at the object itself.
    """

    id: int
    path: str
    nar_size: int | None
    is_self: bool
    child_count: int

    @property
    def name(self) -> str:
        return split_store_path(self.path)[2]


@dataclass(frozen=True, slots=True)
class ClosureStats:
    """Size of a closure: the object and everything it references, transitively."""

    count: int
    nar_size: int


@dataclass(frozen=True, slots=True)
class ReferenceClass:
    """A reference of a realization and the equivalence class it came from.

    ``drv_hash`` and ``output_name`` are None for a source (not produced by a
    derivation in the build's input closure).
    """

    path: str
    drv_hash: HashValue | None
    output_name: str | None


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One signature and what verifying it found.

    Attributes:
        format: ``ed25519`` or whatever the row says.
        public_key: Standard base64 of the key, or None when the row has none.
        key_name: A Nix key name, or the label of a known zb key.
        status: A ``SigStatus`` value.
        count: How many identical rows carry this signature (duplicates).
    """

    format: str | None
    public_key: str | None
    key_name: str | None
    status: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Realization:
    """A realization: (derivation hash, output name) → output path."""

    drv_hash: HashValue
    output_name: str
    output_path: str
    present_in_store: bool
    reference_classes: tuple[ReferenceClass, ...]
    signatures: tuple[SignatureCheck, ...]


@dataclass(frozen=True, slots=True)
class LogRef:
    """Where a build result's log lives and what we found there.

    Attributes:
        path: The file looked for (None when the store cannot say).
        exists: Whether it is there and readable.
        size: Its size in bytes when known.
        growing: The result is still running, so the log may grow.
        reason: One line saying why it is missing or unreadable.
    """

    path: str | None
    exists: bool
    size: int | None
    growing: bool
    reason: str | None = None
    compressed: bool = False


@dataclass(frozen=True, slots=True)
class BuildOutput:
    name: str
    path: str | None
    present_in_store: bool = False


@dataclass(frozen=True, slots=True)
class BuildResult:
    """One derivation processed by a build (``build_results``)."""

    id: int
    build_id: str
    drv_path: str
    status: str
    started_at: int | None
    builder_started_at: int | None
    builder_ended_at: int | None
    ended_at: int | None
    drv_hash: HashValue | None
    outputs: tuple[BuildOutput, ...]
    log: LogRef
    builder_ran: bool | None = None
    """Set when the store knows a builder ran without recording its start (Nix: a log exists)."""

    @property
    def built(self) -> bool:
        """A builder ran (False for a reused or substituted result)."""
        if self.builder_ran is not None:
            return self.builder_ran
        return self.builder_started_at is not None

    @property
    def builder_ms(self) -> int | None:
        if self.builder_started_at is None or self.builder_ended_at is None:
            return None
        return self.builder_ended_at - self.builder_started_at

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(frozen=True, slots=True)
class Build:
    """One build, with its derived status.

    Attributes:
        id: Canonical lowercase UUID text (or ``row:<n>`` for a damaged blob).
        expand_args / expand_env: Parsed expand results, None when absent or
            malformed (then ``expand_problem`` says why).
        result_counts: Number of results by stored status.
    """

    id: str
    row_id: int
    status: BuildStatus
    started_at: int | None
    ended_at: int | None
    internal_error: str | None
    result_count: int
    result_counts: Mapping[str, int] = field(default_factory=dict)
    expand_builder: str | None = None
    expand_args: tuple[str, ...] | None = None
    expand_env: Mapping[str, str] | None = None
    expand_problem: str | None = None

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(frozen=True, slots=True)
class BuildDetail:
    """A build with all its results, and, for orphans, the evidence."""

    build: Build
    results: tuple[BuildResult, ...]
    server: ServerState | None
    orphan_evidence: tuple[str, ...] = ()

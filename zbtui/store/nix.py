"""The ``Store`` implementation for Nix's store database (``db.sqlite``).

Every SQL statement zbtui runs against a Nix database is in :data:`_SQL`.
The layout and its quirks are described in ``shared/realdata/README.md``:

* ``ValidPaths`` holds the valid store paths. Columns were added over the
  years: Nix's SQLite store (schema 6) had ``id, path, hash,
  registrationTime, deriver``; ``narSize`` came later, then ``ultimate`` and
  ``sigs``, then ``ca`` (schema 10). Absent columns read as NULL here, so an
  old database answers with None rather than failing.
* ``hash`` is ``sha256:<hex>``; signatures sign it as ``sha256:<nix32>``.
* ``DerivationOutputs`` maps a ``.drv`` to the output paths it declares; the
  paths are text and need not be valid (a failed or never-run build).
* ``FailedPaths`` (older schemas only) records output paths whose build failed.
* ``Realisations`` / ``RealisationsRefs`` exist only when ``ca-derivations``
  was enabled; ``drvPath`` there is a derivation-output hash ``sha256:<hex>``,
  not a store path.
* The schema version is not ``PRAGMA user_version`` (always 0) but the files
  ``schema`` and ``ca-schema`` beside the database.

Nix has no builds table. What Nix does leave behind is a build log per
derivation it ran, under ``<logDir>/drvs/<2 chars>/<rest of the .drv base
name>[.bz2]``, so a "build" here is a derivation with evidence that Nix ran
its builder: a log file, or (old schemas) a ``FailedPaths`` row. See
:meth:`NixStore.builds`.
"""

from __future__ import annotations

import array
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import Clock, Store, in_list, stored_values, wall_clock_ms
from .connection import Database, column_int, column_text
from .errors import StoreError
from .formats import NIX32_ALPHABET, HashValue, parse_hash, split_store_path
from .logs import LogFile, LogInfo, find_nix_log, open_log
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
    PathSignature,
    Realization,
    ReferenceClass,
    ServerState,
    SignatureCheck,
    StoreSummary,
)
from .signatures import (
    SigStatus,
    check_nix_signature,
    nix_path_fingerprint,
    nix_realisation_fingerprint,
)
from .trust import NixKeys, load_nix_keys

if TYPE_CHECKING:
    from .open import StoreOptions

__all__ = ["NIX_CA_SCHEMA_VERSION", "NIX_SCHEMA_VERSION", "NixStore", "detect_store_root"]

NIX_SCHEMA_VERSION = 10
"""The newest ``schema`` file version zbtui knows (Nix 2.4 and later)."""

NIX_CA_SCHEMA_VERSION = 3
"""The newest ``ca-schema`` file version zbtui knows (Nix 2.8)."""

DEFAULT_STORE_DIR = "/nix/store"
DB_TAIL = os.path.join("nix", "var", "nix", "db", "db.sqlite")
"""Where a store root keeps its database, relative to the root."""
LOG_TAIL = os.path.join("nix", "var", "log", "nix")
"""Where a store root keeps its build logs, relative to the root."""

_CHUNK = 400
"""Bound parameters per ``in (...)`` list: well under SQLite's limit."""

NO_LOG_REASON = "no build log: Nix did not build this derivation here (substituted, or never started)"

# Optional ValidPaths columns, by the name used in the SQL templates below.
_OPTIONAL_COLUMNS = {"nar_size": "narSize", "ultimate": "ultimate", "sigs": "sigs", "ca": "ca"}

# Templates: {nar_size}, {ultimate}, {sigs} and {ca} become ``v.<column>`` when
# the column exists and ``null`` when it does not (see NixStore._compile_sql).
_SQL = {
    "tables": "select name from sqlite_schema where type = 'table'",
    "columns": "pragma table_info(ValidPaths)",
    "first_path": "select path from ValidPaths where id = (select min(id) from ValidPaths)",
    # Summary.
    "object_totals": "select count(*), coalesce(sum({nar_size}), 0) from ValidPaths v",
    "drv_count": "select count(*) from ValidPaths v where v.path like '%.drv'",
    "absent_outputs": """
        select count(distinct d.path) from DerivationOutputs d
        where not exists (select 1 from ValidPaths v where v.path = d.path)""",
    "realisation_totals": """
        select count(*), coalesce(sum(v.id is not null), 0)
        from Realisations r left join ValidPaths v on v.id = r.outputPath""",
    "path_sigs": "select {sigs} from ValidPaths v where {sigs} is not null and {sigs} != ''",
    "realisation_sigs": "select signatures from Realisations where signatures is not null and signatures != ''",
    # Single paths.
    "path_id": "select id from ValidPaths where path = ?",
    "object_by_path": """
        select v.id, v.hash, v.registrationTime, v.deriver, {nar_size}, {ultimate}, {sigs}, {ca}
        from ValidPaths v where v.path = ?""",
    "is_declared_output": "select 1 from DerivationOutputs where path = ? limit 1",
    "is_named_deriver": "select 1 from ValidPaths where deriver = ? limit 1",
    "reference_count": "select count(*) from Refs where referrer = ? and reference != referrer",
    "referrer_count": "select count(*) from Refs where reference = ? and referrer != reference",
    "reference_paths": "select v.path from Refs r join ValidPaths v on v.id = r.reference where r.referrer = ?",
    # Edges. child_count is the number of further edges of each node, for the tree.
    "references_by_name": """
        select r.reference, v.path, {nar_size}, r.reference = r.referrer,
               (select count(*) from Refs x where x.referrer = r.reference and x.reference != x.referrer)
        from Refs r join ValidPaths v on v.id = r.reference
        where r.referrer = :id and (v.path, r.reference) > (:k1, :k2)
        order by v.path, r.reference limit :n""",
    "references_by_id": """
        select r.reference, v.path, {nar_size}, r.reference = r.referrer,
               (select count(*) from Refs x where x.referrer = r.reference and x.reference != x.referrer)
        from Refs r join ValidPaths v on v.id = r.reference
        where r.referrer = :id and r.reference > :k2
        order by r.reference limit :n""",
    "referrers_by_name": """
        select r.referrer, v.path, {nar_size}, r.reference = r.referrer,
               (select count(*) from Refs x where x.reference = r.referrer and x.reference != x.referrer)
        from Refs r join ValidPaths v on v.id = r.referrer
        where r.reference = :id and (v.path, r.referrer) > (:k1, :k2)
        order by v.path, r.referrer limit :n""",
    "referrers_by_id": """
        select r.referrer, v.path, {nar_size}, r.reference = r.referrer,
               (select count(*) from Refs x where x.reference = r.referrer and x.reference != x.referrer)
        from Refs r join ValidPaths v on v.id = r.referrer
        where r.reference = :id and r.referrer > :k2
        order by r.referrer limit :n""",
    "closure": """
        with recursive closure(id) as (
            select :id
            union
            select r.reference from Refs r join closure c on r.referrer = c.id
        )
        select count(*), coalesce(sum({nar_size}), 0) from closure c join ValidPaths v on v.id = c.id""",
    "edges_from": "select referrer, reference from Refs where referrer in ({ids}) and reference != referrer",
    "paths_by_id": "select id, path from ValidPaths where id in ({ids})",
    # Objects list: keyset pages by (name, id) or (size desc, id).
    "objects_by_name": """
        select v.id, v.path, coalesce({nar_size}, 0) from ValidPaths v
        where (substr(v.path, :cut), v.id) > (:k1, :k2) {filters}
        order by substr(v.path, :cut), v.id limit :n""",
    "objects_by_size": """
        select v.id, v.path, coalesce({nar_size}, 0) from ValidPaths v
        where (coalesce({nar_size}, 0) < :k1 or (coalesce({nar_size}, 0) = :k1 and v.id > :k2)) {filters}
        order by coalesce({nar_size}, 0) desc, v.id limit :n""",
    # Objects index: every matching id in the order of the two pages above
    # (same filters and sort keys), for the Objects screen's scroll index.
    "object_ids_by_name": "select v.id from ValidPaths v where 1 {filters} order by substr(v.path, :cut), v.id",
    "object_ids_by_size": """
        select v.id from ValidPaths v where 1 {filters} order by coalesce({nar_size}, 0) desc, v.id""",
    "objects_by_ids": "select v.id, v.path, coalesce({nar_size}, 0) from ValidPaths v where v.id in ({ids})",
    # Resolving text to known paths: valid paths, then declared outputs that are not valid.
    "valid_with_prefix": "select path from ValidPaths where path >= :lo and path < :hi order by path limit :n",
    "outputs_with_prefix": """
        select distinct path from DerivationOutputs where path >= :lo and path < :hi order by path limit :n""",
    "valid_by_name": """
        select v.path from ValidPaths v where instr(lower(substr(v.path, :cut)), :s) > 0
        order by substr(v.path, :cut) limit :n""",
    "absent_outputs_by_name": """
        select distinct d.path from DerivationOutputs d
        where instr(lower(substr(d.path, :cut)), :s) > 0
          and not exists (select 1 from ValidPaths v where v.path = d.path)
        order by substr(d.path, :cut) limit :n""",
    # Derivation outputs.
    "derivation_outputs": """
        select d.id, d.path, v.id is not null from DerivationOutputs d
        left join ValidPaths v on v.path = d.path
        where d.drv = (select id from ValidPaths where path = ?) order by d.id""",
    "derivers_of": """
        select distinct dv.path from DerivationOutputs d join ValidPaths dv on dv.id = d.drv
        where d.path = ? order by dv.path""",
    # No index on deriver: these scan ValidPaths once per batch, and are only
    # asked for derivations without DerivationOutputs rows (floating CA).
    "outputs_by_derivers": """
        select v.deriver, v.path, v.registrationTime from ValidPaths v where v.deriver in ({marks})""",
    "drvs_by_path": "select id, path from ValidPaths where path in ({marks})",
    "outputs_of_drvs": """
        select d.drv, d.id, d.path, v.id is not null from DerivationOutputs d
        left join ValidPaths v on v.path = d.path where d.drv in ({marks}) order by d.drv, d.id""",
    "derivers_of_paths": """
        select d.path, dv.path from DerivationOutputs d join ValidPaths dv on dv.id = d.drv
        where d.path in ({marks})""",
    "failed_paths": "select path, time from FailedPaths",
    # Realisations. outputPath is a ValidPaths id (FK, cascade on delete).
    "realisations_for_path": """
        select r.id, r.drvPath, r.outputName, v.path, 1, r.signatures
        from Realisations r join ValidPaths v on v.id = r.outputPath
        where r.outputPath = (select id from ValidPaths where path = ?)
        order by r.drvPath, r.outputName, r.id""",
    "realisations_for_drv_hash": """
        select r.id, r.drvPath, r.outputName, v.path, 1, r.signatures
        from Realisations r join ValidPaths v on v.id = r.outputPath
        where r.drvPath = ? order by r.outputName, r.id""",
    "realisations_page": """
        select r.id, r.drvPath, r.outputName, v.path, 1, r.signatures
        from Realisations r join ValidPaths v on v.id = r.outputPath
        where (r.drvPath, r.outputName, r.id) > (:k1, :k2, :k3) {filters}
        order by r.drvPath, r.outputName, r.id limit :n""",
    # RealisationsRefs has no uniqueness constraint and Nix 2.8 leaves
    # duplicate rows; DISTINCT gives the set Nix signs.
    "realisation_refs": """
        select distinct d.drvPath, d.outputName, v.path
        from RealisationsRefs rr join Realisations d on d.id = rr.realisationReference
        join ValidPaths v on v.id = d.outputPath
        where rr.referrer = ? order by d.drvPath, d.outputName""",
}

_STATUS_VALUES = {s.value for s in BuildStatus}


def detect_store_root(db_path: str) -> str | None:
    """The chroot store root a database path implies, or None.

    A database at ``<ROOT>/nix/var/nix/db/db.sqlite`` whose ``<ROOT>/nix/store``
    exists belongs to the store rooted at ``ROOT`` (``nix --store ROOT``).
    The plain ``/nix/var/nix/db/db.sqlite`` gives None (no root needed).
    """
    path = os.path.abspath(db_path)
    tail = os.sep + DB_TAIL
    if not path.endswith(tail):
        return None
    root = path[: -len(tail)]
    if not root or root == os.sep:
        return None
    return root if os.path.isdir(os.path.join(root, "nix", "store")) else None


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _read_version_file(path: str, warnings: list[str]) -> int | None:
    """The integer in a ``schema``/``ca-schema`` file, or None when absent or bad."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(64).decode("ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        warnings.append(f"{path}: cannot read the schema version ({exc.strerror or exc})")
        return None
    try:
        return int(text)
    except ValueError:
        warnings.append(f"{path}: not a schema version number ({text[:20]!r})")
        return None


def _output_name_guess(drv_path: str, output_path: str) -> str:
    """An output's name from its path, for derivations with no DerivationOutputs rows.

    Nix names output ``o`` of derivation ``n`` as ``n`` (for ``out``) or
    ``n-o``; the name is all Nix leaves when it registers a floating CA output.
    """
    drv_name = split_store_path(drv_path)[2].removesuffix(".drv")
    name = split_store_path(output_path)[2]
    if name.startswith(drv_name + "-") and len(name) > len(drv_name) + 1:
        return name[len(drv_name) + 1 :]
    return "out"


@dataclass(frozen=True, slots=True)
class _NixBuild:
    """One derivation Nix has evidence of having built (see NixStore.builds).

    Attributes:
        drv_path: The ``.drv`` (or, for a FailedPaths row no derivation
            declares, the failed path itself).
        row_id: Its ValidPaths id (0 when it is not a valid path).
        status: success when every known output is valid now, else fail.
        ended_at: Log mtime, else FailedPaths time (ms).
        outputs: Known outputs and their presence.
        failed_at: The FailedPaths time (ms) when there is a row.
        has_log: A log file was found for it.
    """

    drv_path: str
    row_id: int
    status: BuildStatus
    ended_at: int | None
    outputs: tuple[BuildOutput, ...]
    failed_at: int | None
    has_log: bool

    def sort_key(self) -> tuple:
        # Newest first; unknown times last; ties by path.
        return (self.ended_at is None, -(self.ended_at or 0), self.drv_path)


class NixStore(Store):
    """A Nix store database (schemas 6 to 10, with or without ``ca-derivations``), read-only."""

    kind = "nix"

    def __init__(
        self,
        db: Database,
        *,
        store_root: str | None = None,
        store_dir: str | None = None,
        log_dir: str | None = None,
        keys: NixKeys | None = None,
        clock: Clock = wall_clock_ms,
    ) -> None:
        """Inspect the schema and set up paths.

        Args:
            db: The open database.
            store_root: Chroot store root (``nix --store ROOT``): the logical
                store dir lives under it, and so does the default log dir.
            store_dir: Where the store's files really are (overrides the root).
            log_dir: Nix's log directory; default ``<ROOT>/nix/var/log/nix``.
            keys: Trusted and known public keys; default: Nix's own configuration.
            clock: Current time in ms (injectable for tests).

        Raises:
            StoreError: The database lacks ``ValidPaths`` or ``Refs``.
        """
        with db.snapshot() as conn:
            self.tables = frozenset(row[0] for row in conn.execute(_SQL["tables"]))
            missing = {"ValidPaths", "Refs"} - self.tables
            if missing:
                raise StoreError(f"{db.path}: not a Nix database (missing tables: {', '.join(sorted(missing))})")
            self.columns = frozenset(row[1] for row in conn.execute(_SQL["columns"]))
        self.has_failed_paths = "FailedPaths" in self.tables
        self.has_derivation_outputs = "DerivationOutputs" in self.tables
        self.has_realisations = "Realisations" in self.tables
        self.has_realisation_refs = self.has_realisations and "RealisationsRefs" in self.tables
        self._sql = self._compile_sql()
        db_dir = os.path.dirname(db.path)
        self.schema_version = _read_version_file(os.path.join(db_dir, "schema"), db.warnings)
        self.ca_schema_version = _read_version_file(os.path.join(db_dir, "ca-schema"), db.warnings)
        if self.schema_version is not None and self.schema_version > NIX_SCHEMA_VERSION:
            db.warnings.append(
                f"Nix schema version {self.schema_version} is newer than {NIX_SCHEMA_VERSION}: "
                "some information may be missing or wrong"
            )
        if self.ca_schema_version is not None and self.ca_schema_version > NIX_CA_SCHEMA_VERSION:
            db.warnings.append(
                f"Nix ca-schema version {self.ca_schema_version} is newer than {NIX_CA_SCHEMA_VERSION}: "
                "realisations may be shown incompletely"
            )
        super().__init__(db, store_dir=store_dir, clock=clock)
        self.store_root = store_root
        if store_root and not store_dir:
            self.real_store_dir = os.path.join(store_root, self.store_dir.lstrip("/"))
        self.log_dir = log_dir or os.path.join(store_root or os.sep, LOG_TAIL)
        self.keys = keys if keys is not None else load_nix_keys()
        # Position of the name part in a path: after "<dir>/<32-char digest>-".
        self._name_cut = len(self.store_dir) + 35
        self._digest_cut = len(self.store_dir) + 2
        self._index_lock = threading.Lock()
        self._index_key: tuple | None = None
        self._index: tuple[_NixBuild, ...] = ()
        self._index_by_id: dict[str, _NixBuild] = {}

    @classmethod
    def from_options(cls, db: Database, options: StoreOptions) -> NixStore:
        """Open from the command line's ``StoreOptions``.

        The store root is ``options.store_root``, else the one the database
        path implies (:func:`detect_store_root`). Keys come from Nix's
        configuration (or ``--nix-conf`` files) plus ``--trusted-key`` /
        ``--known-key``. A chroot root's own ``etc/nix/nix.conf`` is never read
        on its own: trusting keys is the user's call (``--nix-conf``).

        Raises:
            StoreError: A named ``--nix-conf`` or key file does not exist, or
                the database is not a Nix one.
        """
        root = options.store_root or detect_store_root(db.path)
        if root:
            root = os.path.abspath(root)
        keys = load_nix_keys(
            options.trusted_keys, options.known_keys, env=options.env, conf_files=options.nix_conf
        )
        named = set(options.nix_conf or ())
        for problem in keys.problems:
            path = problem.split(": ", 1)[0]
            if path in named and problem.endswith(": not found"):
                raise StoreError(f"--nix-conf {path}: file does not exist")
        store = cls(
            db,
            store_root=root,
            store_dir=options.store_dir,
            log_dir=options.log_dir,
            keys=keys,
            clock=options.clock,
        )
        store.warnings.extend(keys.problems)
        if root and options.nix_conf is None:
            chroot_conf = os.path.join(root, "etc", "nix", "nix.conf")
            if os.path.isfile(chroot_conf):
                store.warnings.append(
                    f"{chroot_conf} is not read automatically; pass --nix-conf {chroot_conf} "
                    "to trust the keys it names"
                )
        return store

    def _compile_sql(self) -> dict[str, str]:
        """Fill the column placeholders: absent columns read as NULL."""
        columns = {
            key: (f"v.{column}" if column in self.columns else "null") for key, column in _OPTIONAL_COLUMNS.items()
        }
        compiled = {}
        for name, sql in _SQL.items():
            # Templates with run-time placeholders ({filters}, {ids}, {marks})
            # keep them: format only the column names here.
            compiled[name] = sql.replace("{nar_size}", columns["nar_size"]).replace(
                "{ultimate}", columns["ultimate"]
            ).replace("{sigs}", columns["sigs"]).replace("{ca}", columns["ca"])
        return compiled

    # -- setup ---------------------------------------------------------------

    def _logical_store_dir(self) -> str:
        with self.db.snapshot() as conn:
            for (path,) in conn.execute(_SQL["first_path"]):
                if path:
                    cut = path.rfind("/")
                    if cut > 0:
                        return path[:cut]
        return DEFAULT_STORE_DIR

    def trust_description(self) -> str:
        return self.keys.describe()

    def schema_description(self) -> str:
        """``nix schema 10, ca-schema 3``, plus what an older schema lacks."""
        parts = [
            f"nix schema {self.schema_version}" if self.schema_version is not None else "nix schema unknown (no schema file)"
        ]
        if self.ca_schema_version is not None:
            parts.append(f"ca-schema {self.ca_schema_version}")
        lacking = [c for c in ("narSize", "ultimate", "sigs", "ca") if c not in self.columns]
        if not self.has_realisations:
            lacking.append("Realisations")
        text = ", ".join(parts)
        if lacking:
            text += f" (without {', '.join(lacking)})"
        if self.has_failed_paths:
            text += " with FailedPaths"
        return text

    # -- summary ---------------------------------------------------------------

    def server(self) -> ServerState | None:
        """Nix records no server heartbeat: always None."""
        return None

    def summary(self) -> StoreSummary:
        with self.db.snapshot() as conn:
            objects, nar_total = conn.execute(self._sql["object_totals"]).fetchall()[0]
            drvs = conn.execute(self._sql["drv_count"]).fetchall()[0][0]
            absent = 0
            if self.has_derivation_outputs:
                absent = conn.execute(self._sql["absent_outputs"]).fetchall()[0][0]
            real_total = real_present = 0
            key_names: set[str] = set()
            signatures = 0
            if self.has_realisations:
                real_total, real_present = conn.execute(self._sql["realisation_totals"]).fetchall()[0]
                for (text,) in conn.execute(self._sql["realisation_sigs"]):
                    for token in (column_text(text) or "").split():
                        signatures += 1
                        key_names.add(token.partition(":")[0])
            if "sigs" in self.columns:
                for (text,) in conn.execute(self._sql["path_sigs"]):
                    for token in (column_text(text) or "").split():
                        signatures += 1
                        key_names.add(token.partition(":")[0])
            index = self._build_index()
        builds: dict[str, int] = {s.value: 0 for s in BuildStatus}
        for entry in index:
            builds[entry.status.value] += 1
        return self._summary(
            schema=self.schema_description(),
            objects=objects,
            drv_objects=drvs,
            absent_paths=absent,
            total_nar_size=nar_total,
            realizations=real_total,
            realizations_present=real_present,
            signatures=signatures,
            signature_keys=len(key_names),
            builds=builds,
            server=None,
        )

    # -- objects -------------------------------------------------------------------

    def _search_filter(self, search: str | None, drv_only: bool, params: dict) -> str:
        return self._name_search_sql("v", search, drv_only, params)

    def objects(self, *, sort="name", search=None, drv_only=False, after=None, limit=200) -> Page[ObjectRow]:
        """A page of valid paths; sizes are 0 where Nix recorded none (old schemas)."""
        return self._objects_page(sort, search, drv_only, after, limit)

    def object_ids(self, *, sort="name", search=None, drv_only=False) -> array.array:
        return self._object_ids_from_sql(sort, search, drv_only)

    def _is_known(self, conn, path: str) -> bool:
        """A valid path, a declared output, or a deriver some valid path names."""
        if conn.execute(self._sql["path_id"], (path,)).fetchall():
            return True
        if self.has_derivation_outputs and conn.execute(self._sql["is_declared_output"], (path,)).fetchall():
            return True
        return bool(conn.execute(self._sql["is_named_deriver"], (path,)).fetchall())

    def resolve(self, text: str, limit: int = 20) -> list[str]:
        """Known paths matching text: valid paths first, then declared outputs that are not valid."""
        text = text.strip()
        if not text:
            return []
        with self.db.snapshot() as conn:
            if self._is_known(conn, text):
                return [text]
            base = text.rstrip("/").rsplit("/", 1)[-1]
            # A sub-path inside a store path: /nix/store/<digest>-name/bin/hello.
            if text.startswith(self.store_dir + "/"):
                base = text[len(self.store_dir) + 1 :].split("/", 1)[0]
            prefix = base.split("-", 1)[0] if len(base) > 32 and base[32:33] == "-" else base
            if prefix and len(prefix) <= 32 and all(c in NIX32_ALPHABET for c in prefix):
                lo = f"{self.store_dir}/{prefix}"
                params = {"lo": lo, "hi": lo + "\uffff", "n": limit}
                found = [r[0] for r in conn.execute(self._sql["valid_with_prefix"], params)]
                if self.has_derivation_outputs and len(found) < limit:
                    for (path,) in conn.execute(self._sql["outputs_with_prefix"], params):
                        if path not in found:
                            found.append(path)
                if found:
                    return sorted(found)[:limit]
            params = {"cut": self._name_cut, "s": base.lower(), "n": limit}
            found = [r[0] for r in conn.execute(self._sql["valid_by_name"], params)]
            if self.has_derivation_outputs and len(found) < limit:
                found += [r[0] for r in conn.execute(self._sql["absent_outputs_by_name"], params)]
            return found[:limit]

    def object_info(self, path: str) -> ObjectInfo | None:
        """Everything ValidPaths says about a path, with its signatures checked.

        A path that is only declared (a DerivationOutputs path that is not
        valid) or only named as a deriver gives ``is_object=False``.
        """
        with self.db.snapshot() as conn:
            rows = conn.execute(self._sql["object_by_path"], (path,)).fetchall()
            if not rows:
                if not self._is_known(conn, path):
                    return None
                return ObjectInfo(
                    path=path,
                    is_object=False,
                    on_disk=self.on_disk(path),
                    nar_size=None,
                    nar_hash=None,
                    nar_hash_value=None,
                    ca=None,
                    content_address=None,
                    reference_count=0,
                    referrer_count=0,
                )
            pid, nar_hash, reg_time, deriver, nar_size, ultimate, sigs, ca = rows[0]
            refs = conn.execute(self._sql["reference_count"], (pid,)).fetchall()[0][0]
            back = conn.execute(self._sql["referrer_count"], (pid,)).fetchall()[0][0]
            reference_paths = [r[0] for r in conn.execute(self._sql["reference_paths"], (pid,))] if sigs else []
        values = stored_values(nar_size, nar_hash, ca)
        problems = list(values.problems)
        sigs, reg_time, deriver = column_text(sigs), column_int(reg_time), column_text(deriver)
        signatures = self._path_signatures(path, values.nar_hash, values.nar_size, reference_paths, sigs, problems)
        return ObjectInfo(
            path=path,
            is_object=True,
            on_disk=self.on_disk(path),
            nar_size=values.nar_size,
            nar_hash=values.nar_hash,
            nar_hash_value=values.nar_hash_value,
            ca=values.ca,
            content_address=values.content_address,
            reference_count=refs,
            referrer_count=back,
            id=pid,
            registration_time=int(reg_time) * 1000 if reg_time is not None else None,
            deriver=deriver or None,
            # NULL means false (Nix's schema comment); no column means unknown.
            ultimate=bool(ultimate) if "ultimate" in self.columns else None,
            signatures=signatures,
            problems=tuple(problems),
        )

    def _path_signatures(
        self,
        path: str,
        nar_hash: str | None,
        nar_size: int | None,
        references: Sequence[str],
        sigs: str | None,
        problems: list[str],
    ) -> tuple[PathSignature, ...]:
        """Check each ``sigs`` token against ``1;path;sha256:<nix32>;narSize;refs``."""
        tokens = (sigs or "").split()
        if not tokens:
            return ()
        fingerprint = None
        if not nar_size:
            # Nix refuses to fingerprint a path of unknown size, so nothing can verify.
            problems.append("signatures cannot be checked: the NAR size is not recorded")
        else:
            try:
                fingerprint = nix_path_fingerprint(path, nar_hash or "", nar_size, references)
            except ValueError as exc:
                problems.append(f"signatures cannot be checked: {exc}")
        out = []
        for token in tokens:
            if fingerprint is None:
                name = token.partition(":")[0] or None
                out.append(PathSignature(name, SigStatus.MALFORMED.value, token))
                continue
            name, status = check_nix_signature(token, fingerprint, self.keys)
            out.append(PathSignature(name, status.value, token))
        return tuple(out)

    def derivation_outputs(self, drv_path: str) -> tuple[BuildOutput, ...]:
        """The outputs a valid ``.drv`` declares (``DerivationOutputs``), with presence.

        Floating content-addressed and deferred derivations have no rows
        (their output paths are unknown until built); then the valid paths
        whose ``deriver`` is this ``.drv`` are returned, named from their paths.
        """
        with self.db.snapshot() as conn:
            return self._outputs_for(conn, [drv_path]).get(drv_path, ())

    def derivers_of(self, path: str) -> tuple[str, ...]:
        """Valid ``.drv`` paths with a ``DerivationOutputs`` row naming ``path``.

        This differs from ``ObjectInfo.deriver`` (``ValidPaths.deriver``): a
        CA output's deriver is the resolved ``.drv``, which has no rows here,
        and an output can be declared by several derivations.
        """
        if not self.has_derivation_outputs:
            return ()
        with self.db.snapshot() as conn:
            return tuple(r[0] for r in conn.execute(self._sql["derivers_of"], (path,)))

    def _outputs_for(self, conn, drv_paths: Sequence[str]) -> dict[str, tuple[BuildOutput, ...]]:
        """Outputs of several valid ``.drv`` paths (see :meth:`derivation_outputs`)."""
        ids: dict[int, str] = {}
        for chunk in _chunks(list(drv_paths)):
            for pid, path in conn.execute(self._sql["drvs_by_path"].format(marks=in_list(len(chunk))), chunk):
                ids[pid] = path
        found: dict[str, list[BuildOutput]] = {}
        if self.has_derivation_outputs and ids:
            for chunk in _chunks(list(ids)):
                sql = self._sql["outputs_of_drvs"].format(marks=in_list(len(chunk)))
                for drv, name, path, present in conn.execute(sql, chunk):
                    found.setdefault(ids[drv], []).append(BuildOutput(name, path, bool(present)))
        lacking = [p for p in ids.values() if p not in found]
        for chunk in _chunks(lacking):
            sql = self._sql["outputs_by_derivers"].format(marks=in_list(len(chunk)))
            for deriver, path, _time in conn.execute(sql, chunk):
                found.setdefault(deriver, []).append(BuildOutput(_output_name_guess(deriver, path), path, True))
        return {drv: tuple(sorted(outs, key=lambda o: o.name)) for drv, outs in found.items()}

    # -- realisations -----------------------------------------------------------------

    def _realisations(self, conn, rows: Sequence[tuple]) -> tuple[Realization, ...]:
        result = []
        for rid, drv_id, output_name, output_path, present, sig_text in rows:
            dependencies: list[tuple[str, str, str]] = []
            if self.has_realisation_refs:
                dependencies = conn.execute(self._sql["realisation_refs"], (rid,)).fetchall()
            fingerprint = nix_realisation_fingerprint(
                f"{drv_id}!{output_name}",
                output_path,
                {f"{d_id}!{d_name}": d_path for d_id, d_name, d_path in dependencies},
            )
            result.append(
                Realization(
                    drv_hash=_drv_hash(drv_id),
                    output_name=output_name,
                    output_path=output_path,
                    present_in_store=bool(present),
                    reference_classes=tuple(
                        ReferenceClass(d_path, _drv_hash(d_id), d_name) for d_id, d_name, d_path in dependencies
                    ),
                    signatures=self._realisation_signatures(sig_text, fingerprint),
                )
            )
        return tuple(result)

    def _realisation_signatures(self, text: str | None, fingerprint: bytes) -> tuple[SignatureCheck, ...]:
        counts: dict[str, int] = {}
        for token in (text or "").split():
            counts[token] = counts.get(token, 0) + 1
        checks = []
        for token, count in counts.items():
            name, status = check_nix_signature(token, fingerprint, self.keys)
            key = self.keys.get(name) if name else None
            checks.append(
                SignatureCheck(
                    format=None if status == SigStatus.MALFORMED else "ed25519",
                    public_key=key.public_key_b64 if key is not None else None,
                    key_name=name,
                    status=status.value,
                    count=count,
                )
            )
        return tuple(checks)

    def realizations_for_path(self, path: str) -> tuple[Realization, ...]:
        if not self.has_realisations:
            return ()
        with self.db.snapshot() as conn:
            rows = conn.execute(self._sql["realisations_for_path"], (path,)).fetchall()
            return self._realisations(conn, rows)

    def realizations_for_drv_hash(self, drv_hash: str) -> tuple[Realization, ...]:
        """Realisations of one derivation-output hash (``sha256:<hex>``, SRI or nix32)."""
        try:
            value = parse_hash(drv_hash)
        except ValueError as exc:
            raise StoreError(f"not a derivation hash: {drv_hash!r} ({exc})") from None
        if not self.has_realisations:
            return ()
        with self.db.snapshot() as conn:
            rows = conn.execute(self._sql["realisations_for_drv_hash"], (value.hex,)).fetchall()
            return self._realisations(conn, rows)

    def realizations(self, *, search=None, after=None, limit=100) -> Page[Realization]:
        if not self.has_realisations:
            return Page((), None)
        params: dict = {"n": limit}
        params["k1"], params["k2"], params["k3"] = after if after else ("", "", -1)
        filters = ""
        if search:
            params["s"] = search.strip().lower()
            params["cut"] = self._name_cut
            filters = " and instr(lower(substr(v.path, :cut)), :s) > 0"
        with self.db.snapshot() as conn:
            rows = conn.execute(self._sql["realisations_page"].format(filters=filters), params).fetchall()
            items = self._realisations(conn, rows)
        next_key = (rows[-1][1], rows[-1][2], rows[-1][0]) if len(rows) == limit else None
        return Page(items, next_key)

    # -- builds -------------------------------------------------------------------------

    def _log_token(self) -> tuple:
        """Cheap change token of the log tree: mtimes of ``drvs`` and its subdirectories.

        A new or removed log changes its directory's mtime; a log that only
        grows does not, so a running build's ``ended_at`` may lag until the
        next change elsewhere (the log viewer reads the file itself).
        """
        drvs = os.path.join(self.log_dir, "drvs")
        try:
            top = os.stat(drvs).st_mtime_ns
            subdirs = []
            with os.scandir(drvs) as entries:
                for entry in entries:
                    if len(entry.name) == 2 and entry.is_dir():
                        subdirs.append((entry.name, entry.stat().st_mtime_ns))
        except OSError:
            return ("none",)
        return (top, tuple(sorted(subdirs)))

    def _scan_logs(self) -> dict[str, int]:
        """Every ``.drv`` with a log file under the log dir → the log's mtime (ms).

        Reads directory entries only, never the logs. A ``.bz2`` log wins
        over a plain one, as Nix's ``nix-store --read-log`` tries it first.
        """
        drvs = os.path.join(self.log_dir, "drvs")
        found: dict[str, tuple[bool, int]] = {}
        try:
            with os.scandir(drvs) as top:
                subdirs = [e.path for e in top if len(e.name) == 2 and e.is_dir()]
        except OSError:
            return {}
        for subdir in subdirs:
            prefix = os.path.basename(subdir)
            try:
                with os.scandir(subdir) as listing:
                    entries = list(listing)
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                compressed = name.endswith(".bz2")
                base = prefix + (name[:-4] if compressed else name)
                if not base.endswith(".drv"):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    mtime = entry.stat().st_mtime_ns // 1_000_000
                except OSError:
                    continue
                drv = f"{self.store_dir}/{base}"
                previous = found.get(drv)
                if previous is None or (compressed and not previous[0]):
                    found[drv] = (compressed, mtime)
        return {drv: mtime for drv, (_c, mtime) in found.items()}

    def _build_index(self) -> tuple[_NixBuild, ...]:
        """All builds, newest first; rebuilt when the logs or the database change."""
        key = (self._log_token(), self.data_version())
        with self._index_lock:
            if key == self._index_key:
                return self._index
        logs = self._scan_logs()
        with self.db.snapshot() as conn:
            failed: dict[str, int | None] = {}
            if self.has_failed_paths:
                for path, when in conn.execute(self._sql["failed_paths"]):
                    if path:
                        failed[path] = _later(failed.get(path), int(when) * 1000 if when is not None else None)
            # FailedPaths holds output paths (and .drv paths in some versions):
            # map each to the derivations that declare it.
            drv_failed: dict[str, int | None] = {}
            orphans: dict[str, int | None] = {}
            declared: dict[str, list[str]] = {}
            if failed and self.has_derivation_outputs:
                paths = list(failed)
                for chunk in _chunks(paths):
                    sql = self._sql["derivers_of_paths"].format(marks=in_list(len(chunk)))
                    for out_path, drv in conn.execute(sql, chunk):
                        declared.setdefault(out_path, []).append(drv)
            for path, when in failed.items():
                drvs = declared.get(path) or ([path] if path.endswith(".drv") else [])
                if not drvs:
                    orphans[path] = when
                for drv in drvs:
                    drv_failed[drv] = _later(drv_failed.get(drv), when)
            candidates = sorted(set(logs) | set(drv_failed))
            ids: dict[str, int] = {}
            for chunk in _chunks(candidates):
                for pid, path in conn.execute(self._sql["drvs_by_path"].format(marks=in_list(len(chunk))), chunk):
                    ids[path] = pid
            # A log of a .drv that is no longer valid (garbage-collected) is left out:
            # nothing in the database can say what it built.
            valid = [p for p in candidates if p in ids]
            outputs = self._outputs_for(conn, valid)
        entries: list[_NixBuild] = []
        for drv in valid:
            outs = outputs.get(drv, ())
            ok = bool(outs) and all(o.present_in_store for o in outs)
            ended = logs.get(drv)
            if ended is None:
                ended = drv_failed.get(drv)
            entries.append(
                _NixBuild(
                    drv_path=drv,
                    row_id=ids[drv],
                    status=BuildStatus.SUCCESS if ok else BuildStatus.FAIL,
                    ended_at=ended,
                    outputs=outs,
                    failed_at=drv_failed.get(drv),
                    has_log=drv in logs,
                )
            )
        for path, when in orphans.items():
            entries.append(
                _NixBuild(
                    drv_path=path,
                    row_id=0,
                    status=BuildStatus.FAIL,
                    ended_at=when,
                    outputs=(BuildOutput("out", path, False),),
                    failed_at=when,
                    has_log=False,
                )
            )
        entries.sort(key=_NixBuild.sort_key)
        index = tuple(entries)
        with self._index_lock:
            self._index_key = key
            self._index = index
            self._index_by_id = {e.drv_path: e for e in index}
        return index

    def _as_build(self, entry: _NixBuild) -> Build:
        return Build(
            id=entry.drv_path,
            row_id=entry.row_id,
            status=entry.status,
            started_at=None,
            ended_at=entry.ended_at,
            internal_error=None,
            result_count=1,
            result_counts={entry.status.value: 1},
        )

    def builds(self, *, status=None, after=None, limit=100) -> Page[Build]:
        """Derivations Nix has evidence of having built, newest first.

        Nix keeps no build records, so a build here is one derivation:

        * a valid ``.drv`` with a log under the log dir (Nix writes one for
          every builder it runs, including failed ones); status ``success``
          when all its known outputs are valid *now*, else ``fail`` (so a
          successful build whose outputs were garbage-collected since shows
          as ``fail``);
        * a ``FailedPaths`` row (older schemas), mapped to the derivations
          declaring that path; status ``fail`` unless the outputs became valid
          since.

        Derivations that were only instantiated, substituted, or never started
        (outputs not valid, no log) are not builds; ``summary().absent_paths``
        counts their missing outputs. ``Build.id`` is the ``.drv`` path;
        ``started_at`` is None (Nix records no start time) and ``ended_at`` is
        the log file's mtime (or the FailedPaths time).

        Args:
            status: Only builds with this status (``success`` or ``fail``;
                the other statuses never occur for Nix).
            after: ``next_key`` of the previous page: ``(ended_at, drv path)``.
            limit: Page size.
        """
        if status is not None and status not in _STATUS_VALUES:
            raise StoreError(f"unknown build status {status!r} (one of {', '.join(sorted(_STATUS_VALUES))})")
        index = self._build_index()
        if after is not None:
            time, path = after
            bound = (time is None, -(time or 0), path)
            index = tuple(e for e in index if e.sort_key() > bound)
        if status is not None:
            index = tuple(e for e in index if e.status.value == status)
        page = index[:limit]
        next_key = (page[-1].ended_at, page[-1].drv_path) if len(index) > limit else None
        return Page(tuple(self._as_build(e) for e in page), next_key)

    def _drv_id(self, build_id: str) -> str:
        """A build id as given on the command line: full path, or base name."""
        text = build_id.strip()
        if "/" not in text:
            text = f"{self.store_dir}/{text}"
        return text

    def build(self, build_id: str) -> BuildDetail | None:
        """One derivation as a build: its outputs and its log.

        Works for any build :meth:`builds` lists, and also for a valid
        ``.drv`` whose outputs are all valid but that has no log (substituted
        or copied: the result then says there is no log and why). A
        derivation that has neither valid outputs nor a log was never built
        here: None.
        """
        drv = self._drv_id(build_id)
        self._build_index()
        with self._index_lock:
            entry = self._index_by_id.get(drv)
        if entry is None:
            with self.db.snapshot() as conn:
                pid = self._path_id(conn, drv)
                if pid is None or not drv.endswith(".drv"):
                    return None
                outs = self._outputs_for(conn, [drv]).get(drv, ())
            if not outs or not all(o.present_in_store for o in outs):
                return None
            entry = _NixBuild(drv, pid, BuildStatus.SUCCESS, None, outs, None, False)
        build = self._as_build(entry)
        result = BuildResult(
            id=entry.row_id,
            build_id=build.id,
            drv_path=entry.drv_path,
            status=entry.status.value,
            started_at=None,
            builder_started_at=None,
            builder_ended_at=entry.ended_at if entry.has_log else None,
            ended_at=entry.ended_at,
            drv_hash=None,
            outputs=entry.outputs,
            log=self._log_ref(entry),
            # Nix records no builder start, but a build log means its builder ran here.
            builder_ran=entry.has_log,
        )
        return BuildDetail(build=build, results=(result,), server=None)

    def _log_ref(self, entry: _NixBuild) -> LogRef:
        if entry.row_id == 0:
            return LogRef(
                None,
                False,
                None,
                False,
                "Nix recorded this path as failed (FailedPaths), but no derivation in the database declares it",
            )
        return self.log_ref(entry.drv_path, failed=entry.failed_at is not None)

    def log_ref(self, drv_path: str, *, failed: bool = False) -> LogRef:
        """Where the build log of a derivation is, or why there is none.

        Args:
            drv_path: The ``.drv`` path.
            failed: Nix recorded the build as failed (changes the wording only).
        """
        try:
            info: LogInfo = find_nix_log(self.log_dir, drv_path)
        except ValueError as exc:
            return LogRef(None, False, None, False, str(exc))
        if info.exists and info.error is None:
            return LogRef(info.path, True, info.size, False, None, info.compressed)
        if not os.path.isdir(self.log_dir):
            reason = f"log directory {self.log_dir} not found (use --log-dir, or --store-root for a chroot store)"
        elif info.error and not info.error.startswith("no log file"):
            reason = info.error
        elif failed:
            reason = "no build log: Nix recorded the failure but kept no log (keep-build-log off, or deleted)"
        else:
            reason = NO_LOG_REASON
        return LogRef(info.path, False, None, False, reason, info.compressed)

    def open_log(self, drv_path: str) -> LogFile:
        """Open a derivation's build log for reading by offset.

        A ``.bz2`` log is decompressed by streaming into a private temporary
        file, never into memory (:func:`zbtui.store.logs.open_log`).

        Raises:
            LogError: There is no readable log; the message says why.
        """
        from .logs import LogError

        ref = self.log_ref(self._drv_id(drv_path))
        if not ref.exists or ref.path is None:
            raise LogError(ref.reason or f"no build log for {drv_path}")
        return open_log(ref.path)

    def builds_for_path(self, path: str, limit: int = 50) -> tuple[Build, ...]:
        """Builds of the path itself (a ``.drv``) or of the derivations that produce it.

        Producers are the derivations declaring it (``DerivationOutputs``)
        and its recorded deriver (``ValidPaths.deriver``: for a floating CA
        output that is the resolved ``.drv``, under whose name Nix keeps the log).
        """
        with self.db.snapshot() as conn:
            candidates = {path} if path.endswith(".drv") else set()
            if self.has_derivation_outputs:
                candidates.update(r[0] for r in conn.execute(self._sql["derivers_of"], (path,)))
            rows = conn.execute(self._sql["object_by_path"], (path,)).fetchall()
            if rows and rows[0][3]:
                candidates.add(rows[0][3])
            if self.has_failed_paths:
                candidates.add(path)
        index = self._build_index()
        found = [e for e in index if e.drv_path in candidates]
        return tuple(self._as_build(e) for e in found[:limit])


def _later(a: int | None, b: int | None) -> int | None:
    """The later of two optional times."""
    if a is None:
        return b
    return a if b is None else max(a, b)


def _drv_hash(text: str) -> HashValue:
    """A ``Realisations.drvPath`` (``sha256:<hex>``) as a HashValue.

    A value that does not parse keeps its algorithm prefix with an empty
    digest, so one damaged row does not hide the others.
    """
    try:
        return parse_hash(text)
    except ValueError:
        return HashValue(text.split(":", 1)[0] if ":" in text else "unknown", b"")

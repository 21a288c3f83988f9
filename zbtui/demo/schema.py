"""The zb backend schema after migrations 01–05, and a function that creates it.

This is the *writing* side used only to build demo and test databases; the
read-only query layer lives in :mod:`zbtui.store` and never imports this.

The SQL below is written from the schema tables of ``shared/spec/zb-format.md``
§1.4–1.5. It describes the end state of zb's migrations rather than replaying
them, so ``build_logs`` (created by 02, dropped by 03) is absent and
``build_results.drv_hash`` (added by 04 with ``alter table``) is simply the last
column. Every identifier is double-quoted as zb does: ``references`` is an SQL
keyword, and zb's connections run with double-quoted string literals disabled.
"""

from __future__ import annotations

import os

import apsw

__all__ = [
    "ZB_INDEXES",
    "ZB_SCHEMA_SQL",
    "ZB_SCHEMA_VERSION",
    "ZB_TABLES",
    "create_zb_database",
]

ZB_SCHEMA_VERSION = 5
"""``PRAGMA user_version`` after migrations 01–05 (spec §1.3)."""

ZB_TABLES = (
    "paths",
    "objects",
    "references",
    "drv_hashes",
    "realizations",
    "reference_classes",
    "builds",
    "build_results",
    "build_outputs",
    "signature_public_keys",
    "signatures",
    "running_server",
)
"""The twelve tables of a version-5 database, in creation order."""

ZB_INDEXES = (
    "back_references",
    "realizations_by_output_path",
    "reference_classes_by_realization",
    "reference_classes_by_reference",
    "builds_by_time_desc",
)
"""The explicit indexes (spec §1.5); UNIQUE constraints add automatic ones."""

ZB_SCHEMA_SQL = """\
-- String table of store paths. Rows are never deleted: a path without an
-- "objects" row is known but not present.
create table "paths" (
  "id" integer primary key not null,
  "path" text unique not null
);

-- Store objects present in the store; the id is the id of its "paths" row.
create table "objects" (
  "id" integer primary key not null
    references "paths",
  "nar_size" integer not null
    check ("nar_size" > 0),
  "nar_hash" text,
  "ca" text
);

-- Object-level references, self-references included (referrer = reference).
create table "references" (
  "referrer" integer not null
    references "objects" on delete cascade,
  "reference" integer not null
    references "objects" on delete restrict,
  primary key ("referrer", "reference")
) without rowid;

create index "back_references" on "references" ("reference");

-- String table of derivation (equivalence-class) hashes; bits are raw bytes.
create table "drv_hashes" (
  "id" integer primary key not null,
  "algorithm" text not null,
  "bits" blob not null,
  unique ("algorithm", "bits")
);

-- Realizations point at "paths", not "objects": the output may be absent.
create table "realizations" (
  "drv_hash" integer not null
    references "drv_hashes",
  "output_name" text not null
    default 'out',
  "output_path" integer not null
    references "paths",
  primary key ("drv_hash", "output_name", "output_path")
) without rowid;

create index "realizations_by_output_path" on "realizations" ("output_path");

-- Which equivalence class each reference of a realization's output came from;
-- NULL/NULL for a source. The second foreign key is only enforced when all
-- three of its columns are non-NULL.
create table "reference_classes" (
  "id" integer primary key not null,
  "referrer" integer not null,
  "referrer_drv_hash" integer not null,
  "referrer_output_name" text not null,
  "reference" integer not null,
  "reference_drv_hash" integer
    references "drv_hashes",
  "reference_output_name" text,
  foreign key ("referrer_drv_hash", "referrer_output_name", "referrer")
    references "realizations" on delete cascade,
  foreign key ("reference_drv_hash", "reference_output_name", "reference")
    references "realizations" on delete restrict,
  check (("reference_drv_hash" is null) = ("reference_output_name" is null))
);

create index "reference_classes_by_realization" on "reference_classes" (
  "referrer_drv_hash",
  "referrer_output_name",
  "referrer"
);

create unique index "reference_classes_by_reference" on "reference_classes" (
  "referrer",
  "reference",
  "referrer_drv_hash",
  "referrer_output_name",
  "reference_drv_hash",
  "reference_output_name"
);

-- Builds; times are milliseconds since the Unix epoch, uuid is a UUIDv7 blob.
create table "builds" (
  "id" integer primary key not null,
  "uuid" blob unique not null,
  "started_at" integer,
  "ended_at" integer,
  "internal_error" text,
  "expand_builder" text,
  "expand_args" text
    check ("expand_args" is null or json_type("expand_args") = 'array'),
  "expand_env" text
    check ("expand_env" is null or json_type("expand_env") = 'object')
);

create index "builds_by_time_desc"
  on "builds" (coalesce("ended_at", "started_at") desc, "uuid");

-- One row per derivation a build processed. "drv_hash" came with migration 04
-- (appended by alter table, hence last) and is NULL on older rows.
create table "build_results" (
  "id" integer primary key not null,
  "build_id" integer not null
    references "builds" on delete cascade,
  "drv_path" integer not null
    references "paths",
  "status" text not null
    default 'active',
  "started_at" integer,
  "builder_started_at" integer,
  "builder_ended_at" integer,
  "ended_at" integer,
  "drv_hash" integer
    references "drv_hashes",
  unique ("build_id", "drv_path")
);

-- A NULL output_path is a placeholder: the output is unknown or not produced.
create table "build_outputs" (
  "result_id" integer not null
    references "build_results" on delete cascade,
  "output_name" text not null
    default 'out',
  "output_path" integer
    references "paths",
  primary key ("result_id", "output_name")
) without rowid;

-- String table of signing keys; only format 'ed25519' is defined.
create table "signature_public_keys" (
  "id" integer primary key not null,
  "format" text not null,
  "public_key" blob not null,
  unique ("format", "public_key")
);

-- No unique constraint and no index: duplicates and NULLs are possible.
create table "signatures" (
  "id" integer primary key not null,
  "drv_hash" integer not null,
  "output_name" text not null,
  "output_path" integer not null,
  "public_key_id" integer
    references "signature_public_keys",
  "signature" blob,
  foreign key ("drv_hash", "output_name", "output_path")
    references "realizations" on delete cascade
);

-- Zero or one row: the last heartbeat of the running server.
create table "running_server" (
  "running_as_of" integer
);
"""
"""The full version-5 schema as one SQL script."""


def create_zb_database(path: str | os.PathLike[str]) -> apsw.Connection:
    """Create a new, empty zb database with the version-5 schema.

    The pragmas follow zb's connection setup (spec §1.2–1.3): ``auto_vacuum``
    must be set before the first table exists or it has no effect, and
    ``application_id`` is written as 0 because zb passes no application id.

    Args:
        path: The database file to create. It must not exist yet.

    Returns:
        An open read-write connection with ``foreign_keys`` on, in WAL mode.
        The caller closes it.

    Raises:
        FileExistsError: ``path`` already exists; refusing protects real data.
    """
    path = os.fspath(path)
    if os.path.exists(path):
        raise FileExistsError(path)
    conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
    conn.set_busy_timeout(5000)
    conn.execute("pragma auto_vacuum = incremental")
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma synchronous = normal")
    conn.execute("pragma foreign_keys = on")
    conn.execute("begin immediate")
    try:
        conn.execute(ZB_SCHEMA_SQL)
        conn.execute(f"pragma user_version = {ZB_SCHEMA_VERSION}")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        conn.close()
        raise
    conn.execute("pragma application_id = 0")
    return conn

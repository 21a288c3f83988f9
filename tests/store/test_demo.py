"""The demo store builder, the simulated server and the hand-written fixture follow the spec.

Checks are written against ``shared/spec/zb-format.md`` with plain SQL and
independent computations, not by calling the builder's own helpers, so a
mistake in the generator cannot hide behind itself.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import apsw
import pytest

from zbtui.demo.builder import DemoStore, build_demo_store
from zbtui.demo.live import SimulatedServer
from zbtui.demo.schema import ZB_INDEXES, ZB_SCHEMA_SQL, ZB_TABLES
from zbtui.store.signatures import SigStatus, check_zb_signature, zb_realization_message
from zbtui.store.trust import TrustedKey, ZbTrust

NOW_MS = 1_795_440_000_000
DATA = Path(__file__).resolve().parent.parent / "data"

# Spec §1.4: column names in order (build_results.drv_hash last: added by 04).
SPEC_COLUMNS = {
    "paths": ["id", "path"],
    "objects": ["id", "nar_size", "nar_hash", "ca"],
    "references": ["referrer", "reference"],
    "drv_hashes": ["id", "algorithm", "bits"],
    "realizations": ["drv_hash", "output_name", "output_path"],
    "reference_classes": [
        "id",
        "referrer",
        "referrer_drv_hash",
        "referrer_output_name",
        "reference",
        "reference_drv_hash",
        "reference_output_name",
    ],
    "builds": [
        "id",
        "uuid",
        "started_at",
        "ended_at",
        "internal_error",
        "expand_builder",
        "expand_args",
        "expand_env",
    ],
    "build_results": [
        "id",
        "build_id",
        "drv_path",
        "status",
        "started_at",
        "builder_started_at",
        "builder_ended_at",
        "ended_at",
        "drv_hash",
    ],
    "build_outputs": ["result_id", "output_name", "output_path"],
    "signature_public_keys": ["id", "format", "public_key"],
    "signatures": ["id", "drv_hash", "output_name", "output_path", "public_key_id", "signature"],
    "running_server": ["running_as_of"],
}
SPEC_INDEXES: dict[str, tuple[str, bool, list[str] | None]] = {
    "back_references": ("references", False, ["reference"]),
    "realizations_by_output_path": ("realizations", False, ["output_path"]),
    "reference_classes_by_realization": (
        "reference_classes",
        False,
        ["referrer_drv_hash", "referrer_output_name", "referrer"],
    ),
    "reference_classes_by_reference": (
        "reference_classes",
        True,
        [
            "referrer",
            "reference",
            "referrer_drv_hash",
            "referrer_output_name",
            "reference_drv_hash",
            "reference_output_name",
        ],
    ),
    # An expression index: pragma index_info gives no column names for its first part.
    "builds_by_time_desc": ("builds", False, None),
}
WITHOUT_ROWID = {"references", "realizations", "build_outputs"}

# find.sql's derived build status (spec §1.8), in SQL.
BUILD_STATUS_SQL = """
select case
  when b.ended_at is null then 'active'
  when b.internal_error is not null
    or exists (select 1 from build_results r
               where r.build_id = b.id and r.status = 'error') then 'error'
  when exists (select 1 from build_results r
               where r.build_id = b.id and r.status = 'fail') then 'fail'
  else 'success' end
from builds b
"""

CLOSURE_SQL = """
with recursive closure(id) as (
  select id from paths where path = ?
  union
  select r.reference from "references" r join closure c on r.referrer = c.id
)
select count(*), coalesce(sum(o.nar_size), 0) from closure c left join objects o on o.id = c.id
"""


def _ro(path: str) -> apsw.Connection:
    conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    conn.set_busy_timeout(5000)
    return conn


def _row(conn: apsw.Connection, sql: str, *args: object) -> Any:
    """The one row a query returns (apsw types rows loosely; tests unpack them)."""
    row = conn.execute(sql, args).fetchone()
    assert row is not None, sql
    return row


def _scalar(conn: apsw.Connection, sql: str, *args: object) -> Any:
    return _row(conn, sql, *args)[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    return build_demo_store(str(tmp_path_factory.mktemp("demo")), now_ms=NOW_MS, seed=1)


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("small") / "db.sqlite")
    conn = apsw.Connection(path)
    conn.execute((DATA / "zb_small.sql").read_text()).fetchall()
    conn.close()
    return path


# ----------------------------------------------------------------------------- schema


def _schema_shape(conn: apsw.Connection) -> dict[str, Any]:
    tables = {
        name: sql
        for name, sql in conn.execute("select name, sql from sqlite_schema where type = 'table'")
    }
    indexes = {
        name: tbl
        for name, tbl in conn.execute(
            "select name, tbl_name from sqlite_schema where type = 'index' and sql is not null"
        )
    }
    return {
        "tables": sorted(tables),
        "columns": {
            t: [(c[1], c[2].lower(), c[3], c[5]) for c in conn.execute(f'pragma table_info("{t}")')]
            for t in tables
        },
        "fks": {
            t: sorted(
                (f[2], f[3], f[4], f[6]) for f in conn.execute(f'pragma foreign_key_list("{t}")')
            )
            for t in tables
        },
        "indexes": {
            i: (tbl, [r[2] for r in conn.execute(f'pragma index_info("{i}")')])
            for i, tbl in indexes.items()
        },
        "without_rowid": sorted(t for t, sql in tables.items() if "without rowid" in sql.lower()),
    }


@pytest.mark.parametrize("which", ["demo", "small"])
def test_schema_matches_spec(which: str, demo: DemoStore, small_db: str) -> None:
    conn = _ro(demo.db_path if which == "demo" else small_db)
    assert _scalar(conn, "pragma user_version") == 5
    assert _scalar(conn, "pragma application_id") == 0
    assert _scalar(conn, "pragma auto_vacuum") == 2  # incremental
    assert _scalar(conn, "pragma journal_mode") == "wal"
    assert conn.execute("pragma foreign_key_check").fetchall() == []
    assert _scalar(conn, "pragma integrity_check") == "ok"

    shape = _schema_shape(conn)
    assert shape["tables"] == sorted(ZB_TABLES) == sorted(SPEC_COLUMNS)
    for table, columns in SPEC_COLUMNS.items():
        assert [c[0] for c in shape["columns"][table]] == columns, table
    assert shape["without_rowid"] == sorted(WITHOUT_ROWID)
    assert set(shape["indexes"]) == set(SPEC_INDEXES) == set(ZB_INDEXES)
    for name, (table, unique, index_columns) in SPEC_INDEXES.items():
        assert shape["indexes"][name][0] == table
        if index_columns is not None:
            assert shape["indexes"][name][1] == index_columns
        index_list = {r[1]: r[2] for r in conn.execute(f'pragma index_list("{table}")')}
        assert index_list[name] == int(unique), name
    # Automatic indexes from UNIQUE constraints (spec §1.5).
    auto = {
        tbl
        for (tbl,) in conn.execute(
            "select tbl_name from sqlite_schema"
            " where type = 'index' and name like 'sqlite_autoindex_%'"
        )
    }
    assert {"paths", "builds", "drv_hashes", "build_results", "signature_public_keys"} <= auto
    # Cascades and restricts that readers rely on.
    refs = {(f[2], f[3], f[6]) for f in conn.execute('pragma foreign_key_list("references")')}
    assert refs == {("objects", "referrer", "CASCADE"), ("objects", "reference", "RESTRICT")}
    sigs = {(f[2], f[3], f[6]) for f in conn.execute('pragma foreign_key_list("signatures")')}
    assert ("realizations", "drv_hash", "CASCADE") in sigs
    conn.close()


def test_fixture_and_builder_schemas_agree(demo: DemoStore, small_db: str, tmp_path: Path) -> None:
    """Two hand-written schemas (zb_small.sql and ZB_SCHEMA_SQL) describe the same database."""
    a, b = _ro(demo.db_path), _ro(small_db)
    assert _schema_shape(a) == _schema_shape(b)
    # The schema text also runs on a bare connection (no builder pragmas needed).
    scratch = apsw.Connection(str(tmp_path / "bare.sqlite"))
    scratch.execute(ZB_SCHEMA_SQL)
    assert _schema_shape(scratch)["indexes"] == _schema_shape(a)["indexes"]


def test_checks_reject_bad_rows(tmp_path: Path) -> None:
    from zbtui.demo.schema import create_zb_database

    conn = create_zb_database(str(tmp_path / "db.sqlite"))
    conn.execute("insert into paths (id, path) values (1, '/opt/zb/store/x')")
    with pytest.raises(apsw.ConstraintError):
        conn.execute("insert into objects (id, nar_size) values (1, 0)")
    with pytest.raises(apsw.ConstraintError):
        conn.execute("insert into builds (uuid, expand_args) values (x'00', '{}')")
    with pytest.raises(apsw.ConstraintError):  # foreign_keys is on
        conn.execute("insert into objects (id, nar_size) values (2, 1)")
    with pytest.raises(FileExistsError):
        create_zb_database(str(tmp_path / "db.sqlite"))
    conn.close()


# ----------------------------------------------------------------------------- facts


def test_counts_match_facts(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    counts = demo.facts["counts"]
    for table in ZB_TABLES:
        assert _scalar(conn, f'select count(*) from "{table}"') == counts[table], table
    assert 60 <= counts["objects"] <= 120
    assert counts["builds"] >= 30
    absent = [
        p
        for (p,) in conn.execute(
            "select p.path from paths p left join objects o on o.id = p.id"
            " where o.id is null order by p.path"
        )
    ]
    assert absent == demo.facts["absent_paths"] and absent
    self_refs = [
        p
        for (p,) in conn.execute(
            'select p.path from "references" r join paths p on p.id = r.referrer'
            " where r.referrer = r.reference order by p.path"
        )
    ]
    assert self_refs == demo.facts["self_referencing"]
    assert demo.facts["self_reference_path"] in self_refs
    conn.close()


def test_store_paths_and_formats(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    alphabet = set("0123456789abcdfghijklmnpqrsvwxyz")
    for path, nar_hash, ca in conn.execute(
        "select p.path, o.nar_hash, o.ca from paths p left join objects o using (id)"
    ):
        assert path.startswith(demo.store_dir + "/")
        base = path[len(demo.store_dir) + 1 :]
        assert set(base[:32]) <= alphabet and base[32] == "-"
        if nar_hash is None:
            continue
        assert nar_hash.startswith("sha256-") and len(base64.b64decode(nar_hash[7:])) == 32
        kind, _, digest = ca.rpartition(":")
        assert len(digest) == 52 and set(digest) <= alphabet
        if path.endswith(".drv"):
            assert kind == "text:sha256"
        else:
            assert kind in ("fixed:r:sha256", "fixed:sha256")
    kinds = Counter(ca.rpartition(":")[0] for (ca,) in conn.execute("select ca from objects"))
    assert kinds["fixed:sha256"] >= 2 and kinds["text:sha256"] >= 20
    # drv hashes are raw 32-byte sha256 bits.
    assert (
        _row(
            conn,
            "select count(*) from drv_hashes where algorithm != 'sha256' or length(bits) != 32",
        )[0]
        == 0
    )
    conn.close()


def test_on_disk_presence(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    objects = [p for (p,) in conn.execute("select p.path from objects o join paths p using (id)")]
    missing = sorted(p for p in objects if not os.path.lexists(p))
    assert missing == demo.facts["not_on_disk"] and missing
    absent_on_disk = [p for p in demo.facts["absent_paths"] if os.path.lexists(p)]
    assert absent_on_disk == []
    conn.close()


def test_graph_facts(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    for top, expected in demo.facts["closures"].items():
        count, size = _row(conn, CLOSURE_SQL, top)
        assert {"count": count, "nar_size": size} == expected, top
    glibc = demo.facts["shared_base"]
    referrers = _scalar(
        conn,
        'select count(*) from "references" r join paths p on p.id = r.reference'
        " where p.path = ? and r.referrer != r.reference",
        glibc,
    )
    assert referrers == demo.facts["shared_base_referrers"] >= 20
    chain = demo.facts["chain"]
    for a, b in itertools.pairwise(chain):
        assert (
            _scalar(
                conn,
                'select count(*) from "references" r join paths x on x.id = r.referrer'
                " join paths y on y.id = r.reference where x.path = ? and y.path = ?",
                a,
                b,
            )
            == 1
        )
    # One (drv_hash, output_name) with two output paths, one of them absent.
    multi = demo.facts["multi_path_realization"]
    rows: list[Any] = conn.execute(
        "select p.path, o.id is not null from realizations r join drv_hashes d on d.id = r.drv_hash"
        " join paths p on p.id = r.output_path left join objects o on o.id = r.output_path"
        " where d.bits = ? and r.output_name = ? order by p.path",
        (base64.b64decode(multi["drv_hash_b64"]), multi["output_name"]),
    ).fetchall()
    assert [r[0] for r in rows] == multi["paths"]
    assert dict(rows) == {multi["present"]: 1, multi["absent"]: 0}
    absent_outputs = [
        p
        for (p,) in conn.execute(
            "select distinct p.path from realizations r join paths p on p.id = r.output_path"
            " left join objects o on o.id = r.output_path where o.id is null order by p.path"
        )
    ]
    assert absent_outputs == demo.facts["absent_realization_outputs"]
    conn.close()


def test_reference_classes_semantics(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    # No reference classes for self-references.
    assert _scalar(conn, "select count(*) from reference_classes where referrer = reference") == 0
    # Fixed-output realizations have none.
    for path in demo.facts["fixed_output_realizations"]:
        assert (
            _scalar(
                conn,
                "select count(*) from reference_classes rc join paths p on p.id = rc.referrer"
                " where p.path = ?",
                path,
            )
            == 0
        )
    # Every class row names a reference of the output object, when that object is present.
    stray = _scalar(
        conn,
        "select count(*) from reference_classes rc join objects o on o.id = rc.referrer"
        ' where not exists (select 1 from "references" r'
        "   where r.referrer = rc.referrer and r.reference = rc.reference)",
    )
    assert stray == 0
    # The duplicated NULL/NULL row: DISTINCT removes exactly one row.
    total = _scalar(conn, "select count(*) from reference_classes")
    distinct = _scalar(
        conn,
        "select count(*) from (select distinct referrer, referrer_drv_hash, referrer_output_name,"
        " reference, reference_drv_hash, reference_output_name from reference_classes)",
    )
    assert total - distinct == 1
    dup = demo.facts["duplicate_null_reference_class"]
    assert (
        _scalar(
            conn,
            "select count(*) from reference_classes rc join paths a on a.id = rc.referrer"
            " join paths b on b.id = rc.reference where a.path = ? and b.path = ?"
            " and rc.reference_drv_hash is null and rc.reference_output_name is null",
            dup["referrer"],
            dup["reference"],
        )
        == 2
    )
    conn.close()


def _classify_signatures(db_path: str, trusted_key: bytes) -> list[tuple[int, str, SigStatus]]:
    """Every signature row: (id, output path, status), message rebuilt per spec §3."""
    trust = ZbTrust(keys=(TrustedKey("ed25519", trusted_key, "test"),))
    conn = _ro(db_path)
    out: list[tuple[int, str, SigStatus]] = []
    rows: list[Any] = conn.execute(
        "select s.id, s.drv_hash, d.algorithm, d.bits, s.output_name, s.output_path, p.path,"
        " k.format, k.public_key, s.signature from signatures s"
        " join drv_hashes d on d.id = s.drv_hash join paths p on p.id = s.output_path"
        " left join signature_public_keys k on k.id = s.public_key_id order by s.id"
    ).fetchall()
    for sid, dh_id, algo, bits, name, out_id, path, fmt, key, sig in rows:
        classes: list[Any] = conn.execute(
            "select distinct p.path, rd.algorithm, rd.bits, rc.reference_output_name"
            " from reference_classes rc join paths p on p.id = rc.reference"
            " left join drv_hashes rd on rd.id = rc.reference_drv_hash"
            " where rc.referrer_drv_hash = ? and rc.referrer_output_name = ? and rc.referrer = ?",
            (dh_id, name, out_id),
        ).fetchall()
        message = zb_realization_message(algo, bits, name, path, classes)
        out.append((sid, path, check_zb_signature(fmt, key, sig, message, trust)))
    conn.close()
    return out


def test_signatures_verify(demo: DemoStore) -> None:
    trusted = base64.b64decode(demo.trusted_key_b64)
    results = _classify_signatures(demo.db_path, trusted)
    counts = Counter(str(status) for _, _, status in results)
    assert counts == Counter({k: v for k, v in demo.facts["signature_statuses"].items() if v})
    by_path: dict[str, set[str]] = {}
    for _, path, status in results:
        by_path.setdefault(path, set()).add(str(status))
    cases = demo.facts["signature_cases"]
    assert by_path[cases["tampered"]] == {"invalid"}
    assert by_path[cases["malformed"]] == {"malformed"}
    assert by_path[cases["untrusted_only"]] == {"valid-untrusted"}
    assert by_path[cases["unsupported"]] == {"trusted", "unsupported"}
    assert by_path[cases["both_keys"]] == {"trusted", "valid-untrusted"}
    assert sum(1 for _, p, _ in results if p == cases["duplicate"]) == 2
    # Trusting nobody turns every valid signature into valid-untrusted.
    untrusted = _classify_signatures(demo.db_path, b"\x00" * 32)
    assert not any(s == SigStatus.TRUSTED for _, _, s in untrusted)
    # The published untrusted key really is the key of the cache signatures.
    key_b64s = {
        base64.b64encode(k).decode()
        for (k,) in _ro(demo.db_path).execute("select public_key from signature_public_keys")
    }
    assert {demo.trusted_key_b64, demo.untrusted_key_b64} <= key_b64s


def test_small_fixture_answers(small_db: str) -> None:
    """The header comment of zb_small.sql states these answers."""
    k1 = base64.b64decode("lQkivSdlrDBjwgE/VNmPefTRYAH3Yklhkb1m12JRlHA=")
    statuses = [str(s) for _, _, s in _classify_signatures(small_db, k1)]
    assert statuses == [
        "trusted",
        "trusted",
        "trusted",
        "valid-untrusted",
        "invalid",
        "unsupported",
        "malformed",
    ]
    conn = _ro(small_db)
    hello = "/opt/zb/store/55555555555555555555555555555555-hello-2.12.1"
    assert _row(conn, CLOSURE_SQL, hello) == (5, 39_100_000)
    drv = "/opt/zb/store/99999999999999999999999999999999-hello-2.12.1.drv"
    assert _row(conn, CLOSURE_SQL, drv) == (4, 1_205_424)
    statuses = [s for (s,) in conn.execute(BUILD_STATUS_SQL + " order by b.id")]
    assert statuses == ["success", "fail", "active", "active"]
    order = [
        str(uuid.UUID(bytes=u))
        for (u,) in conn.execute(
            "select uuid from builds order by coalesce(ended_at, started_at) desc, uuid"
        )
    ]
    assert [u[-1] for u in order] == ["3", "2", "1", "4"]
    for u, started in conn.execute("select uuid, started_at from builds"):
        assert uuid.UUID(bytes=u).version == 7 and uuid.UUID(bytes=u).int >> 80 == started
    assert _scalar(conn, "select running_as_of from running_server") == NOW_MS - 1000
    conn.close()


# ----------------------------------------------------------------------------- builds and logs


def test_builds_and_lifecycle(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    statuses = Counter(s for (s,) in conn.execute(BUILD_STATUS_SQL))
    assert statuses == Counter(demo.facts["builds"]["by_status"])
    assert set(statuses) == {"success", "fail", "error", "active"}
    assert statuses["active"] >= 3  # the running build and at least two orphans
    for u, started, ended in conn.execute("select uuid, started_at, ended_at from builds"):
        value = uuid.UUID(bytes=u)
        assert value.version == 7 and value.int >> 80 == started
        assert NOW_MS - 7 * 86_400_000 < started < NOW_MS
        assert ended is None or ended >= started
    # Result times follow the lifecycle.
    for status, s, bs, be, e, bstart, bend in conn.execute(
        "select r.status, r.started_at, r.builder_started_at, r.builder_ended_at, r.ended_at,"
        " b.started_at, b.ended_at from build_results r join builds b on b.id = r.build_id"
    ):
        assert status in ("active", "success", "fail", "error")
        assert s >= bstart
        if bs is not None:
            assert bs >= s and (be is None or be > bs)
        assert be is None or bs is not None
        if status == "active":
            assert e is None and be is None
        else:
            assert e is not None and e >= (be or s)
            assert bend is None or bend >= e
    # Orphans: old, unfinished, results still 'active'.
    for build_id in demo.facts["build_ids"]["orphaned"]:
        started, ended = _row(
            conn,
            "select started_at, ended_at from builds where uuid = ?",
            uuid.UUID(build_id).bytes,
        )
        assert ended is None and NOW_MS - started > 86_400_000
        # Results finished before the crash keep their status; the rest stay 'active'.
        assert "active" in {
            s
            for (s,) in conn.execute(
                "select r.status from build_results r join builds b on b.id = r.build_id"
                " where b.uuid = ?",
                (uuid.UUID(build_id).bytes,),
            )
        }
    # Unfinished results keep NULL output placeholders; failed ones produced nothing.
    assert (
        _scalar(
            conn,
            "select count(*) from build_outputs o join build_results r on r.id = o.result_id"
            " where r.status in ('active', 'fail') and o.output_path is not null",
        )
        == 0
    )
    # A pre-04 result without drv_hash, and the expand build's JSON.
    assert [i for (i,) in conn.execute("select id from build_results where drv_hash is null")] == (
        demo.facts["pre04_result_ids"]
    )
    builder, args, env = _row(
        conn,
        "select expand_builder, json_type(expand_args), json_type(expand_env) from builds"
        " where expand_builder is not null",
    )
    assert builder.endswith("/bin/bash") and (args, env) == ("array", "object")
    assert _scalar(conn, "select count(*) from builds where internal_error is not null") == 1
    conn.close()


def test_log_files(demo: DemoStore) -> None:
    conn = _ro(demo.db_path)
    expected = set()
    for u, drv, builder_started in conn.execute(
        "select b.uuid, p.path, r.builder_started_at from build_results r"
        " join builds b on b.id = r.build_id join paths p on p.id = r.drv_path"
    ):
        text = str(uuid.UUID(bytes=u))
        base = os.path.basename(drv)
        log = os.path.join(demo.log_dir, text[:4], text, base.removesuffix(".drv") + ".txt")
        if builder_started is None:
            assert not os.path.exists(log)  # reused results have no log
        else:
            assert os.path.isfile(log), log
            expected.add(log)
    on_disk = {str(p) for p in Path(demo.log_dir).rglob("*.txt")}
    assert on_disk == expected == set(demo.facts["log_files"])
    texts = {p: Path(p).read_bytes() for p in expected}
    with pytest.raises(UnicodeDecodeError):
        texts[demo.facts["non_utf8_log"]].decode("utf-8")
    hostile = texts[demo.facts["hostile_log"]]
    assert b"\x1b]52;" in hostile and b"\x1b]0;" in hostile and b"\x1b[2J" in hostile
    assert hostile.endswith(b"*** Build failed: exit status 2\n")
    assert any(b"\x1b[0;32mPASS" in t for t in texts.values())
    assert any(b"zb internal error: " in t for t in texts.values())
    assert not texts[demo.facts["active_log"]].endswith(b"\n")  # still being written
    for status, u, drv in conn.execute(
        "select r.status, b.uuid, p.path from build_results r join builds b on b.id = r.build_id"
        " join paths p on p.id = r.drv_path where r.status = 'fail'"
    ):
        text = str(uuid.UUID(bytes=u))
        log = os.path.join(demo.log_dir, text[:4], text, os.path.basename(drv)[:-4] + ".txt")
        assert texts[log].splitlines()[-1].startswith(b"*** Build failed: ")
    conn.close()


@pytest.mark.parametrize("heartbeat, age", [("alive", 1_000), ("stale", 40_000), ("none", None)])
def test_heartbeat_and_determinism(heartbeat: str, age: int | None, tmp_path: Path) -> None:
    a = build_demo_store(str(tmp_path / "a"), now_ms=NOW_MS, seed=7, heartbeat=heartbeat)  # type: ignore[arg-type]
    rows = _ro(a.db_path).execute("select running_as_of from running_server").fetchall()
    assert rows == ([] if age is None else [(NOW_MS - age,)])
    assert a.facts["heartbeat"] == (None if age is None else NOW_MS - age)
    if heartbeat != "alive":
        return
    # Same seed and time: identical rows apart from the root directory.
    b = build_demo_store(str(tmp_path / "b"), now_ms=NOW_MS, seed=7, heartbeat="alive")

    def dump(store: DemoStore) -> list[str]:
        conn = _ro(store.db_path)
        # Signatures cover the store paths, which contain the root: compare
        # the rest of their row only (test_signatures_verify checks them).
        lines = [
            str(row[:-1] if table == "signatures" else row).replace(store.root, "<root>")
            for table in ZB_TABLES
            for row in conn.execute(f'select * from "{table}"')
        ]
        conn.close()
        return lines

    assert dump(a) == dump(b)
    c = build_demo_store(str(tmp_path / "c"), now_ms=NOW_MS, seed=8, heartbeat="alive")
    assert dump(a) != dump(c)


# ----------------------------------------------------------------------------- live server


def test_simulated_server(tmp_path: Path) -> None:
    demo = build_demo_store(str(tmp_path / "live"), seed=3, heartbeat="none")
    before = set(Path(demo.log_dir).rglob("*.txt"))
    reader = _ro(demo.db_path)
    builds_before = _scalar(reader, "select count(*) from builds")
    # A build takes about 30 lines x 10 ms + 7 steps x 50 ms = 0.65 s.
    server = SimulatedServer(
        demo,
        heartbeat_s=0.05,
        new_build_s=0.4,
        line_interval_s=0.01,
        first_build_s=0.05,
        max_log_lines=30,
        seed=1,
    )
    heartbeats: list[int] = []
    log_sizes: dict[Path, list[int]] = {}
    saw_active = False
    server.start()
    try:
        start = time.monotonic()
        # Run ~1.5 s; on a slow machine wait (up to 5 s) for the first build to finish.
        while (elapsed := time.monotonic() - start) < 1.5 or (
            server.builds_finished < 1 and elapsed < 5
        ):
            heartbeats += [r for (r,) in reader.execute("select running_as_of from running_server")]
            saw_active |= bool(
                _scalar(
                    reader,
                    "select count(*) from build_results r"
                    " join build_outputs o on o.result_id = r.id"
                    " where r.status = 'active' and o.output_path is null"
                    " and r.builder_started_at is not null"
                    " and r.build_id > ?",
                    builds_before,
                )
            )
            for p in set(Path(demo.log_dir).rglob("*.txt")) - before:
                log_sizes.setdefault(p, []).append(p.stat().st_size)
            time.sleep(0.02)
    finally:
        server.stop()
    assert server.error is None
    assert not server.running

    # Heartbeat advanced while running, and was cleared on the clean stop.
    assert len(set(heartbeats)) >= 3 and heartbeats == sorted(heartbeats)
    assert reader.execute("select * from running_server").fetchall() == []
    # A new build appeared, passed through 'active' with placeholders, and finished.
    assert saw_active
    assert server.builds_finished >= 1
    new_builds = reader.execute(
        "select id, ended_at, internal_error from builds where id > ? order by id", (builds_before,)
    ).fetchall()
    finished = [b for b in new_builds if b[1] is not None and b[2] is None]
    assert len(finished) == server.builds_finished
    build_id = finished[0][0]
    status, bs, be, ended = _row(
        reader,
        "select status, builder_started_at, builder_ended_at, ended_at from build_results"
        " where build_id = ?",
        build_id,
    )
    assert status == "success" and bs < be <= ended
    assert (
        _scalar(
            reader,
            "select count(*) from build_outputs o join build_results r on r.id = o.result_id"
            " join objects ob on ob.id = o.output_path"
            " join realizations z on z.output_path = o.output_path"
            " where r.build_id = ?",
            build_id,
        )
        >= 1
    )
    # A build cut short by stop() is ended as an error, as zb does on cancellation.
    for _, ended_at, error in new_builds:
        assert ended_at is not None and error in (None, "context canceled")
    # The log grew line by line.
    assert any(len(set(sizes)) >= 3 and sizes == sorted(sizes) for sizes in log_sizes.values())
    # Everything written is consistent and the new signatures verify.
    assert reader.execute("pragma foreign_key_check").fetchall() == []
    reader.close()
    results = _classify_signatures(demo.db_path, base64.b64decode(demo.trusted_key_b64))
    assert len(results) > demo.facts["counts"]["signatures"]
    new = results[demo.facts["counts"]["signatures"] :]
    assert all(s == SigStatus.TRUSTED for _, _, s in new)

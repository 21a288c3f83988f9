"""The bad-input catalogue: every way a database or log can be wrong.

Each case goes through ``zbtui query`` (exit status, one line on stderr, no
traceback) and, where the damage is found after opening, through the browser
run headless (it stays up; the problem is a notification, never an "internal
error"). Nothing is ever written: the files are compared before and after.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid

import apsw
import pytest
from helpers import NOW_MS, REALDATA, open_demo
from reliability_support import (
    checkpoint,
    copy_db,
    corrupt_page_header,
    corrupt_record_headers,
    db_files,
    file_state,
    leaf_pages,
    settle,
    tour,
    writable,
)

from zbtui.demo.builder import DemoStore, build_demo_store
from zbtui.screens.log import LogScreen
from zbtui.store import connection
from zbtui.store.errors import StoreError
from zbtui.store.open import StoreOptions, open_store
from zbtui.widgets.log_view import LogView

QUERIES = (
    ("stats",),
    ("objects", "--limit", "500"),
    ("objects", "--sort", "size", "--limit", "500"),
    ("builds", "--limit", "500"),
    ("server",),
)
"""Queries that read every table a screen reads."""


def one_line_error(code: int, out: str, err: str, needle: str | None = None) -> str:
    """Assert the shape of every failure: status 1, nothing on stdout, one line."""
    assert code == 1, (code, out[:200], err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zbtui: "), err
    assert "internal error" not in err, err
    if needle is not None:
        assert needle in err, err
    return lines[0]


def fine_or_one_line(code: int, out: str, err: str) -> None:
    """Damage found while reading: either an answer or one clear line, never a crash."""
    assert "Traceback" not in err and "internal error" not in err, err
    if code != 0:
        one_line_error(code, out, err)


def states(db: str) -> dict:
    return {f: file_state(f) for f in db_files(db)}


# -- databases that cannot be opened at all -----------------------------------------


def _missing(tmp_path, demo):
    return str(tmp_path / "nothing" / "db.sqlite")


def _directory(tmp_path, demo):
    return str(tmp_path)


def _empty(tmp_path, demo):
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    return str(path)


def _text(tmp_path, demo):
    path = tmp_path / "notes.sqlite"
    path.write_text("this is not a database\n" * 50)
    return str(path)


def _random_bytes(tmp_path, demo):
    path = tmp_path / "noise.sqlite"
    path.write_bytes(os.urandom(8192))
    return str(path)


def _header_only(tmp_path, demo):
    path = tmp_path / "short.sqlite"
    with open(demo.db_path, "rb") as handle:
        path.write_bytes(handle.read(60))
    return str(path)


def _magic_then_garbage(tmp_path, demo):
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\xa5" * 8176)
    return str(path)


def _other_database(tmp_path, demo):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("create table notes(x)")
    return str(path)


def _no_tables(tmp_path, demo):
    path = tmp_path / "blank.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("pragma user_version = 5")
    return str(path)


def _zb_missing_a_table(tmp_path, demo):
    db = copy_db(demo.db_path, str(tmp_path / "partial" / "db.sqlite"))
    conn = writable(db)
    conn.execute("pragma foreign_keys = off; drop table build_results")
    conn.close()
    checkpoint(db)
    return db


def _older_schema(tmp_path, demo):
    db = copy_db(demo.db_path, str(tmp_path / "v4" / "db.sqlite"))
    conn = writable(db)
    conn.execute("pragma user_version = 4")
    conn.close()
    checkpoint(db)
    return db


def _never_migrated(tmp_path, demo):
    db = copy_db(demo.db_path, str(tmp_path / "v0" / "db.sqlite"))
    conn = writable(db)
    conn.execute("pragma user_version = 0")
    conn.close()
    checkpoint(db)
    return db


UNOPENABLE = {
    "missing file": (_missing, "no such file"),
    "a directory": (_directory, "is a directory"),
    "empty file": (_empty, "empty file"),
    "text file": (_text, "not a SQLite database"),
    "random bytes": (_random_bytes, "not a SQLite database"),
    "truncated inside the header": (_header_only, "truncated SQLite file"),
    "SQLite magic then garbage": (_magic_then_garbage, "not a SQLite database"),
    "another application's database": (_other_database, "not a zb or Nix store database"),
    "no tables at all": (_no_tables, "no tables at all"),
    "zb database missing tables": (_zb_missing_a_table, "missing tables: build_results"),
    "older user_version": (_older_schema, "schema version 4 is older than 5"),
    "user_version 0": (_never_migrated, "schema version 0 is older than 5"),
}


@pytest.mark.parametrize("case", list(UNOPENABLE))
def test_unopenable_database_is_one_clear_line(case, cli, tmp_path, demo_alive):
    make, needle = UNOPENABLE[case]
    db = make(tmp_path, demo_alive)
    before = states(db)
    for argv in (["query", "stats", "--db", db], ["query", "builds", "--db", db], [db]):
        one_line_error(*cli(*argv), needle)
    # Opening through the layer: the same line, as a StoreError.
    with pytest.raises(StoreError, match=needle.split(":")[0]):
        open_store(StoreOptions(db=db, env={}))
    assert states(db) == before
    assert not any(os.path.exists(f) for f in db_files(db)[1:]), "a -wal/-shm/-journal appeared"


def test_newer_user_version_works_with_a_warning(cli, tmp_path, demo_alive, recording_app):
    db = copy_db(demo_alive.db_path, str(tmp_path / "v6" / "db.sqlite"))
    conn = writable(db)
    conn.execute("pragma user_version = 6")
    conn.close()
    checkpoint(db)
    code, out, err = cli("query", "stats", "--db", db)
    assert code == 0 and out.startswith("{")
    assert err.splitlines() == ["zbtui: warning: zb database schema version 6 is newer than 5: some information may be missing or wrong"]


async def test_newer_user_version_is_a_warning_in_the_browser(tmp_path, demo_alive, recording_app):
    db = copy_db(demo_alive.db_path, str(tmp_path / "v6" / "db.sqlite"))
    conn = writable(db)
    conn.execute("pragma user_version = 6")
    conn.close()
    checkpoint(db)
    store = open_store(StoreOptions(db=db, env={}))
    app = recording_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert ("warning", "Warning", "zb database schema version 6 is newer than 5: some information may be missing or wrong") in app.notes
        assert not app.errors()
    store.close()


def test_nix_and_zb_databases_are_told_apart(tmp_path, demo_alive, cli):
    """zbtui detects the kind; a caller that insists on one kind gets one line."""
    nix = copy_db(os.path.join(REALDATA, "db.sqlite"), str(tmp_path / "nix" / "db.sqlite"))
    before = states(nix)
    with pytest.raises(StoreError, match="this is a nix database, not a zb one"):
        open_store(StoreOptions(db=nix, env={}), expect="zb")
    with pytest.raises(StoreError, match="this is a zb database, not a nix one"):
        open_store(StoreOptions(db=demo_alive.db_path, env={}), expect="nix")
    # The command line has no --expect: a Nix database is simply read as one.
    code, out, err = cli("query", "stats", "--db", nix)
    assert code == 0 and '"kind": "nix"' in out and "Traceback" not in err
    # zb-only questions on a Nix database are answered, not crashed on.
    code, out, err = cli("query", "server", "--db", nix)
    assert code == 0 and "Nix databases record no server heartbeat" in out
    code, out, err = cli("query", "build", "00000000-0000-7000-8000-000000000000", "--db", nix)
    fine_or_one_line(code, out, err)
    assert states(nix) == before


# -- rows no zb would write -----------------------------------------------------------
#
# Each case damages a copy of the demo store with SQL (foreign keys and CHECK
# constraints off, as a damaged or foreign database would have them), then
# every query of the layer runs over every entity, and the JSON each command
# would print is produced and encoded. Only StoreError (one line) may stop one.


@pytest.fixture(scope="module")
def base_demo(tmp_path_factory) -> DemoStore:
    return build_demo_store(str(tmp_path_factory.mktemp("bad-input-base")), now_ms=NOW_MS, heartbeat="stale")


def damaged_copy(demo: DemoStore, directory, sql: str, params: dict | None = None) -> str:
    db = copy_db(demo.db_path, str(directory / "var" / "zb" / "db.sqlite"))
    conn = writable(db)
    conn.execute("pragma foreign_keys = off; pragma ignore_check_constraints = on")
    conn.execute(sql, params or {})
    conn.close()
    checkpoint(db)
    return db


def _id(text: str) -> bytes:
    return uuid.UUID(text).bytes


DEEP = "[" * 100_000 + "]" * 100_000

ROW_DAMAGE: dict[str, str] = {
    "malformed expand_args and expand_env": """
        update builds set expand_builder = '/bin/sh', expand_args = 'not json', expand_env = '[1, 2]'
            where id = (select min(id) from builds);
        update builds set expand_builder = '/bin/sh', expand_args = '{"a": 1}', expand_env = '"text"'
            where id = (select min(id) + 1 from builds);
        update builds set expand_builder = '/bin/sh', expand_args = :deep, expand_env = :deep
            where id = (select min(id) + 2 from builds);
        update builds set expand_builder = x'ff00', expand_args = '["\\ud800", "\\u009b2J", 3, null, {"x": []}]',
            expand_env = '{"K\\u202e": "v\\u0007", "n": 1}' where id = (select min(id) + 3 from builds)""",
    "UUID blobs of the wrong length": """
        update builds set uuid = substr(uuid, 1, 15) where id = (select max(id) from builds);
        update builds set uuid = cast(uuid || x'00' as blob) where id = (select max(id) - 1 from builds);
        update builds set uuid = 'not-a-uuid' where id = (select max(id) - 2 from builds)""",
    "drv hash bits of the wrong length": "update drv_hashes set bits = substr(bits, 1, 31)",
    "drv hash bits stored as text": "update drv_hashes set bits = hex(bits), algorithm = algorithm || ''",
    "unknown hash algorithms": "update drv_hashes set algorithm = 'sha3-' || id",
    "references to ids missing from paths": """
        insert into "references" values ((select min(id) from objects), 999999), (999999, (select max(id) from objects));
        insert into objects values (888888, 10, null, null);
        insert into realizations values (1, 'out', 777777);
        insert into build_outputs values ((select min(id) from build_results), 'ghost', 666666);
        insert into build_results (build_id, drv_path, status) values ((select min(id) from builds), 555555, 'success');
        insert into reference_classes (referrer, referrer_drv_hash, referrer_output_name, reference, reference_drv_hash, reference_output_name)
            select output_path, drv_hash, output_name, 444444, 333333, 'out' from realizations limit 1""",
    "NULL and duplicate signature rows": """
        insert into signatures (drv_hash, output_name, output_path, public_key_id, signature)
            select drv_hash, output_name, output_path, null, signature from signatures limit 2;
        insert into signatures (drv_hash, output_name, output_path, public_key_id, signature)
            select drv_hash, output_name, output_path, public_key_id, null from signatures limit 2;
        insert into signatures (drv_hash, output_name, output_path, public_key_id, signature)
            select drv_hash, output_name, output_path, 424242, signature from signatures limit 2;
        insert into signatures (drv_hash, output_name, output_path, public_key_id, signature)
            select drv_hash, output_name, output_path, public_key_id, signature from signatures, (select 1 union all select 2 union all select 3)
            where signatures.id = (select min(id) from signatures)""",
    "unknown signature formats": """
        insert into signature_public_keys (id, format, public_key) values
            (9001, 'rsa-9000', x'00'), (9002, '', x'0102'), (9003, char(27) || ']52;c;aGk=' || char(7), zeroblob(32)),
            (9004, 'ed25519', zeroblob(31));
        insert into signatures (drv_hash, output_name, output_path, public_key_id, signature)
            select drv_hash, output_name, output_path, k.id, x'00' from realizations, (select id from signature_public_keys where id > 9000) k""",
    "values of the wrong type": """
        update builds set started_at = 'yesterday', ended_at = 1.5e300, internal_error = x'ff00' where id % 3 = 0;
        update builds set started_at = 9223372036854775807, ended_at = -5 where id % 3 = 1;
        update build_results set status = 'a=b,c', started_at = x'00', builder_started_at = 'x', ended_at = 2.5 where id % 2 = 0;
        update objects set nar_size = 'big', nar_hash = x'00ff', ca = 42 where id % 4 = 0;
        update objects set nar_size = -5, nar_hash = 'sha256-!!', ca = 'fixed:r:sha999:abc' where id % 4 = 1;
        update build_outputs set output_name = cast(output_name as blob), output_path = 'text' where result_id % 2 = 1;
        update signature_public_keys set public_key = 'text key ' || id;
        update signatures set signature = 12345 where id % 2 = 0;
        update realizations set output_name = cast(char(27) || '[2J' || output_name as blob) where output_path % 2 = 0;
        delete from running_server; insert into running_server values ('now')""",
}


def sweep(store) -> list[str]:
    """Every question the browser and ``zbtui query`` ask, over everything.

    Returns the StoreError messages met (each must be one line); any other
    exception fails the test.
    """
    from zbtui import query
    from zbtui.__main__ import dump_json

    errors: list[str] = []

    def ask(fn, *args):
        try:
            result = fn(*args)
        except StoreError as exc:
            assert "\n" not in str(exc), str(exc)
            errors.append(str(exc))
            return None
        dump_json(result).encode("utf-8")  # what `zbtui query` prints, encodable
        return result

    ask(query.stats, store)
    ask(query.server, store)
    objects = ask(query.objects, store, None, "name", 10_000) or []
    ask(query.objects, store, None, "size", 10_000)
    ask(query.objects, store, "a", "name", 10_000, True)
    ask(lambda: list(store.object_ids(sort="size")))
    for row in objects:
        ask(query.object_, store, row["path"])
        ask(query.realizations, store, row["path"], None)
        ask(lambda p=row["path"]: [str(e) for e in store.builds_for_path(p)])
    if len(objects) > 1:
        ask(query.why, store, objects[0]["path"], objects[-1]["path"])
        ask(query.why, store, objects[-1]["path"], objects[0]["path"])
    realizations = ask(query.realizations, store, None, None) or []
    for r in realizations[:50]:
        ask(query.realizations, store, None, r["drv_hash"])
    builds = ask(query.builds, store, None, 10_000) or []
    for status in ("success", "fail", "error", "active", "orphaned"):
        ask(query.builds, store, status, 10_000)
    for b in builds:
        detail = ask(query.build, store, b["id"])
        for result in (detail or {}).get("results", []):
            if result["log_exists"]:
                ask(query.log, store, b["id"], result["drv_path"], 4096)
    return errors


@pytest.mark.parametrize("case", list(ROW_DAMAGE))
def test_damaged_rows_never_crash_the_layer_or_the_cli(case, base_demo, tmp_path, cli):
    db = damaged_copy(base_demo, tmp_path, ROW_DAMAGE[case], {"deep": DEEP} if ":deep" in ROW_DAMAGE[case] else None)
    before = states(db)
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    try:
        errors = sweep(store)
    finally:
        store.close()
    # Only "not found" answers: nothing in these damaged rows stops a query.
    # (A drv hash of the wrong length is shown, but cannot be looked up by
    # its text: parsing it back says why, in one line.)
    allowed = ("no such", "has no result", "no log for", "not a derivation hash", "unknown hash algorithm")
    assert all(any(a in e for a in allowed) for e in errors), errors
    for argv in QUERIES:
        code, out, err = cli("query", *argv, "--db", db, "--log-dir", base_demo.log_dir)
        assert code == 0 and "Traceback" not in err, (argv, err)
    assert states(db) == before


def test_damaged_rows_are_reported_for_what_they_are(base_demo, tmp_path):
    """What the layer makes of each kind of damage (the UI and the CLI show this)."""
    sql = ";".join(ROW_DAMAGE[c] for c in ("malformed expand_args and expand_env", "UUID blobs of the wrong length",
                                             "references to ids missing from paths", "NULL and duplicate signature rows",
                                             "unknown signature formats"))
    db = damaged_copy(base_demo, tmp_path, sql, {"deep": DEEP})
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}, trusted_keys=[f"ed25519:{base_demo.trusted_key_b64}"]))
    try:
        builds = {b.row_id: b for b in store.builds(limit=1000).items}
        first = min(builds)
        assert "expand_args is malformed" in builds[first].expand_problem
        assert "expand_env is malformed" in builds[first].expand_problem
        assert "not a JSON array" in builds[first + 1].expand_problem
        assert "RecursionError" in builds[first + 2].expand_problem
        odd = builds[first + 3]
        assert odd.expand_problem is None and odd.expand_args == ("\ud800", "\x9b2J", "3", "None", "{'x': []}")
        # UUID blobs of 15 and 17 bytes, and text: listed by row, log not locatable.
        last = max(builds)
        for rid in (last, last - 1, last - 2):
            assert builds[rid].id == f"row:{rid}"
            detail = store.build(f"row:{rid}")
            assert detail is not None and detail.build.row_id == rid
            assert all(r.log.reason == "the build id is damaged, so its log cannot be located" for r in detail.results)
        with pytest.raises(StoreError, match="not a build id"):
            store.build("row:x")
        # A reference to an id with no path: counted, not listed, and why() names the gap.
        first_object = store.objects_by_ids([min(store.object_ids(sort="size"))])[0].path
        listed = [e for e in store.references(first_object).items if not e.is_self]
        assert store.object_info(first_object).reference_count == len(listed) + 1
        # Signatures: NULL key or signature rows are malformed, duplicates counted once,
        # unknown formats unsupported, a 31-byte ed25519 key malformed.
        statuses: dict[str, int] = {}
        counts = []
        for r in store.realizations(limit=1000).items:
            for s in r.signatures:
                statuses[s.status] = statuses.get(s.status, 0) + 1
                counts.append(s.count)
        assert statuses["malformed"] >= 4 + len(store.realizations(limit=1000).items)
        assert statuses["unsupported"] >= 3 * len(store.realizations(limit=1000).items)
        assert max(counts) == 4
    finally:
        store.close()


def test_why_through_an_id_missing_from_paths(base_demo, tmp_path):
    chain = base_demo.facts["chain"]
    glibc, bash = chain[-1], chain[0]
    db = damaged_copy(
        base_demo,
        tmp_path,
        """insert into "references" values ((select id from paths where path = :a), 999999),
                                            (999999, (select id from paths where path = :b))""",
        {"a": glibc, "b": bash},
    )
    store = open_store(StoreOptions(db=db, env={}))
    try:
        assert store.why(glibc, bash) == [glibc, "<id 999999: not in the paths table>", bash]
    finally:
        store.close()


def test_text_that_is_not_utf8_is_one_line(base_demo, tmp_path, cli):
    db = damaged_copy(
        base_demo,
        tmp_path,
        "update paths set path = cast(cast(path as blob) || x'ff' as text) where id = (select max(id) from objects)",
    )
    before = states(db)
    code, out, err = cli("query", "objects", "--db", db)
    one_line_error(code, out, err, "holds text that is not valid UTF-8")
    code, out, err = cli("query", "stats", "--db", db)  # does not read that row's text
    assert code == 0
    assert states(db) == before


async def test_the_browser_survives_every_damaged_row(base_demo, tmp_path, recording_app):
    """All the row damage at once, browsed: every section, builds, objects, logs."""
    sql = ";".join(ROW_DAMAGE[c] for c in ROW_DAMAGE if c not in ("drv hash bits stored as text", "unknown hash algorithms"))
    db = damaged_copy(base_demo, tmp_path, sql, {"deep": DEEP})
    before = states(db)
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    app = recording_app(store)
    all_builds = store.builds(limit=1000).items
    damaged_builds = [b.id for b in all_builds if b.expand_builder is not None or b.id.startswith("row:") or b.started_at is None]
    objects = [r.path for r in store.objects(limit=1000).items]
    async with app.run_test(size=(140, 45)) as pilot:
        with_logs = base_demo.facts["build_ids"]["fail"][0]
        visited, unsafe = await tour(
            pilot, store, builds=[damaged_builds[0], with_logs], objects=objects[:1], logs=1,
            sections=("overview", "builds"),
        )
        assert {"BuildDetailScreen", "LogScreen", "ObjectDetailScreen", "RealizationDetailScreen"} <= set(visited)
        assert not app.internal_errors(), app.internal_errors()
        assert not app.errors(), app.errors()
    store.close()
    assert states(db) == before


HOSTILE_TEXT = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;owned\x07\u009b31m\u202e"
"""OSC 52 (clipboard write), a screen clear, OSC 0 (title), an 8-bit CSI and
a bidi override: what a hostile binary cache or a damaged row could put in any
text column."""


async def test_database_text_reaches_the_terminal_inert(base_demo, tmp_path, recording_app):
    sql = """
        update builds set expand_builder = :t, expand_args = json_array(:t), expand_env = json_object(:t, :t),
            internal_error = :t where id = (select max(id) from builds);
        update build_results set status = :t where build_id = (select max(id) from builds);
        update build_outputs set output_name = :t || output_name
            where result_id in (select id from build_results where build_id = (select max(id) from builds));
        update realizations set output_name = :t || output_name;
        update signature_public_keys set format = :t || format;
        update drv_hashes set algorithm = :t || algorithm;
        update objects set nar_hash = :t, ca = :t where id = (select min(id) from objects);
        update paths set path = path || :t where id = (select max(id) from objects)"""
    db = damaged_copy(base_demo, tmp_path, sql, {"t": HOSTILE_TEXT})
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    newest = max(store.builds(limit=1000).items, key=lambda b: b.row_id).id
    objects = [r.path for r in store.objects(limit=1000).items]
    app = recording_app(store)
    async with app.run_test(size=(140, 45)) as pilot:
        _visited, unsafe = await tour(pilot, store, builds=[newest], objects=[objects[-1]], logs=0, sections=("realizations",))
        assert not app.internal_errors(), app.internal_errors()
    store.close()
    assert not unsafe, unsafe


# -- corruption ------------------------------------------------------------------------


def test_truncated_database_is_reported_as_damaged(base_demo, tmp_path, cli):
    """Cut anywhere, the demo database fails at open (the schema and the first
    path are read at once): the browser does not start, one line says why."""
    db = copy_db(base_demo.db_path, str(tmp_path / "cut" / "db.sqlite"))
    size = os.path.getsize(db)
    for cut in (size // 2, size - 4096, 8192):
        os.truncate(db, cut)
        before = states(db)
        for argv in QUERIES:
            one_line_error(*cli("query", *argv, "--db", db), "the database is damaged")
        one_line_error(*cli(db), "the database is damaged")
        assert states(db) == before


@pytest.mark.parametrize("seed", range(8))
def test_randomly_corrupted_pages_never_crash(seed, base_demo, tmp_path, cli):
    """Overwrite a few random byte runs after the schema page (seeded, so reproducible)."""
    import random

    rng = random.Random(seed)
    db = copy_db(base_demo.db_path, str(tmp_path / "noise" / "db.sqlite"))
    size = os.path.getsize(db)
    with open(db, "r+b") as handle:
        for _ in range(rng.randint(1, 6)):
            handle.seek(rng.randrange(4096, size - 64))
            handle.write(rng.randbytes(rng.randint(1, 64)))
    before = states(db)
    for argv in QUERIES:
        fine_or_one_line(*cli("query", *argv, "--db", db, "--log-dir", base_demo.log_dir))
    try:
        store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    except StoreError as exc:
        assert "\n" not in str(exc)
    else:
        try:
            errors = sweep(store)
        finally:
            store.close()
        assert all("\n" not in e for e in errors)
    assert states(db) == before


@pytest.fixture(scope="module")
def bulk_damaged(tmp_path_factory) -> str:
    """3,000 objects; the rows of one paths leaf page in the middle are the
    smallest objects (last by size) and their records are damaged, so the
    list by size shows its first pages and fails only when scrolled there."""
    from bulk_objects import build_bulk_store
    from reliability_support import leaf_rowids

    db = build_bulk_store(str(tmp_path_factory.mktemp("bulk-damaged")))
    page = leaf_pages(db, "paths")[len(leaf_pages(db, "paths")) // 2]
    ids = leaf_rowids(db, page)
    conn = writable(db)
    conn.execute("update objects set nar_size = 1 where id between ? and ?", (ids[0], ids[-1]))
    conn.close()
    checkpoint(db)
    assert page in leaf_pages(db, "paths")  # nar_size lives in objects: paths did not move
    corrupt_record_headers(db, page)
    return db


def test_corruption_found_mid_scroll_by_the_cli(bulk_damaged, cli):
    before = states(bulk_damaged)
    code, out, err = cli("query", "objects", "--sort", "size", "--limit", "200", "--db", bulk_damaged)
    assert code == 0 and out.count('"path"') == 200
    one_line_error(*cli("query", "objects", "--sort", "size", "--limit", "5000", "--db", bulk_damaged), "the database is damaged")
    assert states(bulk_damaged) == before


async def test_corruption_found_mid_scroll_in_the_browser(bulk_damaged, recording_app):
    from zbtui.widgets.object_list import ObjectList

    before = states(bulk_damaged)
    store = open_store(StoreOptions(db=bulk_damaged, env={}))
    app = recording_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.show_section("objects", sort="size")
        await settle(pilot, rounds=4)
        seen = len(app.notes)
        object_list = app.screen.query_one(ObjectList)
        assert object_list.row_count == 3000, "the index (ids only) reads no damaged record"
        await pilot.press("end")
        await settle(pilot, rounds=4)
        new = [m for s, _t, m in app.notes[seen:] if s == "error"]
        assert new and all("the database is damaged" in m for m in new), app.notes
        # Still usable: back to the top, where the rows are fine.
        await pilot.press("home")
        await settle(pilot)
        assert object_list.item_at(0) is not None
        assert not app.internal_errors()
    store.close()
    assert states(bulk_damaged) == before


async def test_corrupt_builds_found_when_paging_down(base_demo, tmp_path, recording_app):
    """400 older builds; the leaf page holding the oldest is damaged: the first
    page of the Builds list shows, loading further pages reports the damage."""
    import random

    from textual.widgets import DataTable

    db = copy_db(base_demo.db_path, str(tmp_path / "many" / "db.sqlite"))
    rng = random.Random(7)
    conn = writable(db)
    conn.execute("begin")
    oldest = NOW_MS - 30 * 86_400_000
    for i in range(400):
        when = oldest - i * 60_000  # inserted newest first: the last rowids are the oldest builds
        conn.execute("insert into builds (uuid, started_at, ended_at) values (?, ?, ?)", (rng.randbytes(16), when, when + 5000))
    conn.execute("commit")
    conn.close()
    checkpoint(db)
    corrupt_page_header(db, leaf_pages(db, "builds")[-1])
    before = states(db)
    store = open_store(StoreOptions(db=db, env={}))
    app = recording_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_section("builds")
        await settle(pilot, rounds=4)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 100
        seen = len(app.notes)
        for _ in range(6):
            await pilot.press("end")
            await settle(pilot, rounds=2)
            if any(s == "error" for s, _t, _m in app.notes[seen:]):
                break
        new = [m for s, _t, m in app.notes[seen:] if s == "error"]
        assert new and all("the database is damaged" in m for m in new), app.notes
        assert table.row_count >= 100
        assert not app.internal_errors()
    store.close()
    assert states(db) == before


# -- locks, and the file going away ------------------------------------------------------


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """0.5 s instead of 3 s, so lock tests are quick (the mechanism is the same)."""
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 500)
    return 0.5


def exclusive_writer(db: str, journal_mode: str) -> apsw.Connection:
    """A writer holding the database exclusively, as ``locking_mode=exclusive`` does."""
    conn = writable(db)
    conn.execute(f"pragma journal_mode = {journal_mode}")
    conn.execute("pragma locking_mode = exclusive")
    conn.execute("begin exclusive")
    conn.execute("delete from running_server")
    conn.execute("commit")  # the exclusive lock stays until the connection closes
    return conn


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_database_locked_exclusively(journal_mode, base_demo, tmp_path, cli, short_busy_timeout):
    db = copy_db(base_demo.db_path, str(tmp_path / journal_mode / "db.sqlite"))
    writer = exclusive_writer(db, journal_mode)
    try:
        before = states(db)
        for argv in (["query", "stats", "--db", db], [db]):
            started = time.monotonic()
            one_line_error(*cli(*argv), "the database is locked by another process")
            # It waited for the lock (the busy timeout), and no longer.
            assert short_busy_timeout * 0.8 <= time.monotonic() - started < short_busy_timeout + 3
        assert states(db) == before
    finally:
        writer.close()
    code, out, err = cli("query", "stats", "--db", db)
    assert code == 0, err


def test_a_lock_held_briefly_is_waited_for(base_demo, tmp_path, cli):
    """A writer's commit or checkpoint holds a lock for a moment: a reader
    opening then waits (busy timeout) instead of failing at once."""
    import threading

    db = copy_db(base_demo.db_path, str(tmp_path / "brief" / "db.sqlite"))
    writer = writable(db)
    writer.execute("pragma journal_mode = delete")
    writer.execute("begin exclusive")
    release = threading.Timer(0.4, lambda: writer.execute("commit"))
    release.start()
    try:
        code, out, err = cli("query", "stats", "--db", db)
        assert code == 0, err
    finally:
        release.join()
        writer.close()


async def test_lock_taken_while_browsing(base_demo, tmp_path, recording_app, short_busy_timeout):
    db = copy_db(base_demo.db_path, str(tmp_path / "later" / "db.sqlite"))
    store = open_store(StoreOptions(db=db, env={}))
    # Shared mode: a writer was attached when we opened (-wal exists).
    app = recording_app(store, watch_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        writer = exclusive_writer(db, "delete")
        try:
            app.show_section("builds")
            await pilot.pause(1.0)
            await settle(pilot)
            assert any("locked by another process" in e for e in app.errors()), app.notes
            assert not app.internal_errors()
        finally:
            writer.close()
    store.close()


def test_file_deleted_or_replaced_while_open_immutable(base_demo, tmp_path):
    """No writer attached (immutable reads): the change probe says what happened."""
    db = copy_db(base_demo.db_path, str(tmp_path / "imm" / "db.sqlite"))
    store = open_store(StoreOptions(db=db, env={}))
    assert store.db.immutable
    token = store.data_version()
    other = build_demo_store(str(tmp_path / "other"), now_ms=NOW_MS, seed=9)
    os.replace(copy_db(other.db_path, db + ".new"), db)
    with pytest.raises(StoreError, match="the database file was replaced by another file"):
        store.data_version()
    with pytest.raises(StoreError, match="replaced by another file"):
        store.db._open()
    os.remove(db)
    with pytest.raises(StoreError, match="the database file was deleted"):
        store.data_version()
    assert token
    store.close()


def _attached(db: str) -> apsw.Connection:
    writer = writable(db)
    writer.execute("pragma journal_mode = wal; delete from running_server")
    return writer


async def test_file_replaced_then_deleted_while_open(base_demo, tmp_path, recording_app):
    """A zb writer attached (shared WAL reads): the file is replaced by
    another database, then deleted. Each is said once, and what was read
    stays on screen; nothing of the new file is mixed in."""
    db = copy_db(base_demo.db_path, str(tmp_path / "swap" / "db.sqlite"))
    writer = _attached(db)
    other = build_demo_store(str(tmp_path / "other"), now_ms=NOW_MS, seed=9)
    store = open_store(StoreOptions(db=db, env={}))
    assert not store.db.immutable
    app = recording_app(store, watch_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_section("builds")
        await settle(pilot)
        shown = dict(app.screen.builds)
        os.replace(copy_db(other.db_path, db + ".new"), db)
        await pilot.pause(0.8)
        await settle(pilot)
        replaced = [e for e in app.errors() if "the database file was replaced by another file" in e]
        assert len(replaced) == 1, app.notes
        assert set(app.screen.builds) <= set(shown)
        # New connections refuse the new file rather than mix it in.
        with pytest.raises(StoreError, match="replaced by another file"):
            store.db._open()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        await pilot.pause(0.8)
        await settle(pilot)
        deleted = [e for e in app.errors() if "the database file was deleted" in e]
        assert len(deleted) == 1, app.notes
        assert set(app.screen.builds) <= set(shown) and app.screen.builds
        assert not app.internal_errors()
    writer.close()
    store.close()
    with pytest.raises(StoreError, match="no such file"):
        open_store(StoreOptions(db=db, env={}))


# -- logs ------------------------------------------------------------------------------------


@pytest.fixture
def log_case(base_demo, tmp_path):
    """A private demo store, and (build id, drv path, log path) of a result with a log."""
    demo = build_demo_store(str(tmp_path / "logs"), now_ms=NOW_MS, heartbeat="stale")
    log = demo.facts["hostile_log"]
    build_id = os.path.basename(os.path.dirname(log))
    store = open_demo(demo)
    drv = next(r.drv_path for r in store.build(build_id).results if r.log.path == log)
    store.close()
    return demo, build_id, drv, log


def test_missing_log(log_case, cli):
    demo, build_id, drv, log = log_case
    os.remove(log)
    code, out, err = cli("query", "log", build_id, drv, "--db", demo.db_path, "--log-dir", demo.log_dir)
    one_line_error(code, out, err, f"no log for {drv}: no log file at {log}")
    code, out, err = cli("query", "build", build_id, "--db", demo.db_path, "--log-dir", demo.log_dir)
    result = next(r for r in __import__("json").loads(out)["results"] if r["drv_path"] == drv)
    assert code == 0 and result["log_exists"] is False and result["log_problem"].startswith("no log file at")


@pytest.mark.parametrize("where", ["log directory", "bucket directory"])
def test_log_directory_that_is_a_file(where, log_case, cli, tmp_path):
    demo, build_id, drv, log = log_case
    if where == "log directory":
        log_dir = str(tmp_path / "not-a-dir")
        open(log_dir, "w").close()
        needle = f"log directory {log_dir} not found (use --log-dir)"
    else:
        log_dir = demo.log_dir
        bucket = os.path.dirname(os.path.dirname(log))
        shutil.rmtree(bucket)
        open(bucket, "w").close()
        needle = f"{bucket} is not a directory"
    code, out, err = cli("query", "log", build_id, drv, "--db", demo.db_path, "--log-dir", log_dir)
    one_line_error(code, out, err, needle)


def test_log_of_a_build_with_a_damaged_id_or_drv_path(base_demo, tmp_path, cli):
    db = damaged_copy(
        base_demo,
        tmp_path,
        """update builds set uuid = substr(uuid, 1, 15) where id = (select max(id) from builds);
           update paths set path = path || '/' where id in (select drv_path from build_results where build_id = (select min(id) from builds))""",
    )
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    try:
        builds = store.builds(limit=1000).items
        damaged = next(b for b in builds if b.id.startswith("row:"))
        detail = store.build(damaged.id)
        first = store.build(min(builds, key=lambda b: b.row_id).id)
    finally:
        store.close()
    assert {r.log.reason for r in detail.results} == {"the build id is damaged, so its log cannot be located"}
    assert all("names no file" in r.log.reason for r in first.results)
    if detail.results:
        code, out, err = cli("query", "log", damaged.id, detail.results[0].drv_path, "--db", db)
        one_line_error(code, out, err, "the build id is damaged")


def test_ten_gigabyte_sparse_log_tails_at_once(log_case, cli):
    demo, build_id, drv, log = log_case
    size = 10 << 30
    with open(log, "wb") as handle:
        handle.truncate(size)
        handle.seek(size - 20)
        handle.write(b"\nthe very last line\n")
    started = time.monotonic()
    code, out, err = cli("query", "log", build_id, drv, "--tail", "19", "--db", demo.db_path, "--log-dir", demo.log_dir)
    assert code == 0 and out == "the very last line\n", err
    code, out, err = cli("query", "log", build_id, drv, "--tail", "4096", "--json", "--db", demo.db_path, "--log-dir", demo.log_dir)
    data = __import__("json").loads(out)
    assert data["size"] == size and data["offset"] == size - 4096 and data["text"].endswith("the very last line\n")
    code, out, err = cli("query", "build", build_id, "--db", demo.db_path, "--log-dir", demo.log_dir)
    assert code == 0 and f'"log_size": {size}' in out
    assert time.monotonic() - started < 5
    assert os.stat(log).st_blocks * 512 < 1 << 20, "still sparse: nothing was written to it"


async def test_ten_gigabyte_log_keeps_the_browser_responsive(log_case, recording_app):
    """The log view shows the end at once and indexes the rest in the
    background (docs/reliability.md); meanwhile the event loop never stalls,
    and leaving the log stops the indexing."""
    import asyncio

    demo, build_id, drv, log = log_case
    size = 10 << 30
    with open(log, "wb") as handle:
        handle.truncate(size)
        handle.seek(size - 20)
        handle.write(b"\nthe very last line\n")
    store = open_demo(demo)
    app = recording_app(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.open_log(build_id, drv)
        worst = 0.0
        for _ in range(6):
            before = time.monotonic()
            await asyncio.sleep(0.1)
            worst = max(worst, time.monotonic() - before - 0.1)
        assert worst < 1.0, f"the event loop stalled {worst:.2f} s"
        view = app.screen.query_one(LogView)
        assert view.indexing and 0 < view.size_bytes < size
        app.pop_screen()
        await asyncio.sleep(0.1)
        assert not isinstance(app.screen, LogScreen)
        # The indexing thread stops at its next slice (8 MiB).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            indexing = [w for w in app.workers if w.description == "LogView.index" and not w.is_finished]
            if not indexing:
                break
            await asyncio.sleep(0.1)
        assert not indexing, "leaving the log must stop its indexing"
        assert not app.internal_errors()
    store.close()


async def test_long_line_missing_log_and_log_path_through_a_file_in_the_browser(log_case, recording_app, cli):
    """One session: a 1 MB single line (rendered capped), then the log
    removed, then its bucket directory replaced by a file: each time the log
    screen says what it found, and nothing is raised."""
    from textual.widgets import Static

    from zbtui.widgets.log_view import LINE_CHAR_CAP

    demo, build_id, drv, log = log_case
    with open(log, "wb") as handle:
        handle.write(b"start\n" + b"0123456789" * 100_000 + b"END\nlast\n")
    code, out, err = cli("query", "log", build_id, drv, "--db", demo.db_path, "--log-dir", demo.log_dir)
    assert code == 0 and len(out) == 6 + 1_000_003 + 1 + 5
    bucket = os.path.dirname(os.path.dirname(log))
    store = open_demo(demo)
    app = recording_app(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.open_log(build_id, drv)
        await settle(pilot)
        view = app.screen.query_one(LogView)
        assert view.line_count == 3
        long_line = view.line_strip(1)
        assert long_line is not None
        assert long_line.text.startswith("0123456789") and long_line.text.endswith(" …")
        assert len(long_line.text) <= LINE_CHAR_CAP + 2
        await pilot.press("right", "end")
        await settle(pilot)
        app.pop_screen()
        for damage, needle in (
            (lambda: os.remove(log), f"no log file at {log}"),
            (lambda: (shutil.rmtree(bucket), open(bucket, "w").close()), "is not a directory"),
        ):
            damage()
            app.open_log(build_id, drv)
            await settle(pilot)
            missing = app.screen.query_one("#log-missing", Static)
            assert missing.display and needle.lower() in str(missing.render()).lower(), str(missing.render())
            app.pop_screen()
            await pilot.pause()
        assert not app.errors() and not app.internal_errors()
    store.close()


# -- store paths no zb would write ----------------------------------------------------------

DIGEST = "0123456789abcdfghijklmnpqrsvwxyz"

UNUSUAL_NAMES = {
    "spaces": "hello world 2.0",
    "unicode": "héllo-日本語-😀",
    "question mark": "foo?bar=1",
    "very long name": "a" * 400,
    "shell metacharacters": "x;rm -rf ~;$(id)`id`|&>",
    "percent and quotes": "100%-'q'-\"dq\"",
    "dot names": "..",
}


def _unusual_paths(store_dir: str) -> dict[str, str]:
    paths = {name: f"{store_dir}/{DIGEST}-{text}" for name, text in UNUSUAL_NAMES.items()}
    paths["windows path"] = f"C:\\zb\\store\\{DIGEST[::-1]}-hello-2.12.1"
    paths["windows drv"] = f"C:\\zb\\store\\{DIGEST[1:]}0-hello-2.12.1.drv"
    paths["no digest"] = f"{store_dir}/short"
    paths["not absolute"] = "relative/path"
    paths["root"] = "/"
    paths["empty"] = ""
    paths["trailing slash"] = f"{store_dir}/{DIGEST[:-1]}0-dir/"
    return paths


@pytest.fixture
def unusual(base_demo, tmp_path):
    """The demo store plus objects at every unusual path, referencing each
    other and a real object, and a build whose result's drv path is a Windows path."""
    paths = _unusual_paths(base_demo.store_dir)
    sql = ["insert into paths (id, path) values " + ",".join(f"({900 + i}, :p{i})" for i in range(len(paths)))]
    sql.append("insert into objects (id, nar_size) select id, 1000 + id from paths where id >= 900")
    sql.append('insert into "references" select id, id + 1 from paths where id >= 900 and id + 1 in (select id from paths where id >= 900)')
    sql.append('insert into "references" select id, (select min(id) from objects) from paths where id >= 900')
    windows_drv = 900 + list(paths).index("windows drv")
    sql.append(
        f"insert into build_results (build_id, drv_path, status, started_at, builder_started_at, ended_at) "
        f"values ((select max(id) from builds), {windows_drv}, 'success', 1, 2, 3)"
    )
    db = damaged_copy(base_demo, tmp_path, ";".join(sql), {f"p{i}": p for i, p in enumerate(paths.values())})
    return db, paths


def test_unusual_store_paths_in_the_cli(unusual, base_demo, cli):
    db, paths = unusual
    import json

    code, out, err = cli("query", "objects", "--limit", "1000", "--db", db)
    listed = {o["path"] for o in json.loads(out)}
    assert code == 0 and set(paths.values()) <= listed
    for name, path in paths.items():
        code, out, err = cli("query", "object", path, "--db", db)
        assert "Traceback" not in err and "internal error" not in err, (name, err)
        if path:  # "" resolves to nothing
            assert code == 0, (name, err)
            obj = json.loads(out)
            assert obj["path"] == path and obj["nar_size"] >= 1000
    code, out, err = cli("query", "why", paths["spaces"], paths["trailing slash"], "--db", db)
    assert code == 0 and json.loads(out)["chain"][0] == paths["spaces"]
    # The Windows drv path's log is looked for as zb does on Windows: by its base name.
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    try:
        newest = max(store.builds(limit=1000).items, key=lambda b: b.row_id)
        result = next(r for r in store.build(newest.id).results if r.drv_path == paths["windows drv"])
        assert result.log.path.endswith(f"{DIGEST[1:]}0-hello-2.12.1.txt")
    finally:
        store.close()


async def test_unusual_store_paths_in_the_browser(unusual, base_demo, recording_app):
    db, paths = unusual
    before = states(db)
    store = open_store(StoreOptions(db=db, log_dir=base_demo.log_dir, env={}))
    app = recording_app(store)
    newest = max(store.builds(limit=1000).items, key=lambda b: b.row_id).id
    hardest = [paths["very long name"]]
    async with app.run_test(size=(140, 40)) as pilot:
        _visited, unsafe = await tour(
            pilot, store, builds=[newest], objects=hardest, logs=0, sections=("objects",), realizations=False
        )
        assert not app.internal_errors(), app.internal_errors()
        assert not unsafe, unsafe
    store.close()
    assert states(db) == before


# -- a Nix database no Nix wrote -----------------------------------------------------------

NIX_DAMAGE = [
    "update ValidPaths set sigs = x'ff'",
    "update ValidPaths set narSize = 'big'",
    "update ValidPaths set registrationTime = 'yesterday'",
    "update ValidPaths set registrationTime = 1e300",
    "update ValidPaths set hash = x'00ff', ca = x'ff'",
    "update ValidPaths set deriver = 5, ca = 7",
    "update ValidPaths set sigs = 'a:b c:' || char(27) || ']52;c;x' || char(7) || ' :: x', ultimate = 'yes'",
    "insert into Refs values (1, 999999), (999999, 2)",
    "update DerivationOutputs set path = 42 where rowid = 1",
]


@pytest.mark.parametrize("sql", NIX_DAMAGE)
def test_damaged_nix_rows_never_crash(sql, tmp_path, cli):
    db = copy_db(os.path.join(REALDATA, "db.sqlite"), str(tmp_path / "nix" / "db.sqlite"))
    conn = writable(db)
    conn.execute(sql)
    conn.close()
    before = states(db)
    store = open_store(StoreOptions(db=db, env={}, nix_conf=()))
    try:
        errors = sweep(store)
    finally:
        store.close()
    assert all("no such" in e or "has no result" in e or "no log for" in e for e in errors), errors
    for argv in QUERIES:
        code, out, err = cli("query", *argv, "--db", db, "--nix-conf", os.devnull)
        assert code == 0 and "Traceback" not in err, (argv, err)
    assert states(db) == before


def test_a_bug_is_still_one_line(monkeypatch, cli, demo_alive):
    """Whatever slips through (a bug, not bad input) is one line, exit status 1."""
    import zbtui.query

    def broken(store):
        raise KeyError("surprise\nsecond line")

    monkeypatch.setattr(zbtui.query, "stats", broken)
    code, out, err = cli("query", "stats", "--db", demo_alive.db_path)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.splitlines() == [
        "zbtui: internal error: KeyError: 'surprise\\nsecond line' (a bug in zbtui; ZBTUI_DEBUG=1 shows the traceback)"
    ]
    monkeypatch.setenv("ZBTUI_DEBUG", "1")
    with pytest.raises(KeyError):
        cli("query", "stats", "--db", demo_alive.db_path)

"""Read-only, proved: nothing we do changes a byte of the store's files.

* A whole session (every query, the browser touring every screen) with a zb
  writer attached leaves the database and its WAL byte-identical with the
  same mtimes; in the -shm only the reader's own read-mark slot may change
  (the WAL-index protocol every reader follows; see docs/reliability.md).
* Writes through the layer are refused three times over: the authorizer,
  ``query_only``, and the read-only open flag each refuse on their own.
* As an unprivileged user, in a directory it cannot write, on a read-only
  filesystem: it works, with the warnings the issue asks for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import apsw
import pytest
from helpers import NOW_MS, open_demo
from reliability_support import (
    can_drop_privileges,
    db_files,
    file_state,
    run_as_nobody,
    settle,
    tour,
    writable,
)

from zbtui.demo.builder import DemoStore, build_demo_store
from zbtui.store.errors import StoreError

# WAL-index header copies (0-95), then nBackfill (96), aReadMark[0..4]
# (100-119), aLock (120-127), nBackfillAttempted (128): a reader that finds
# no read mark equal to the WAL's end takes a free slot and writes it.
READ_MARKS = range(104, 120)


def writer_with_wal(demo: DemoStore, commits: int = 25) -> apsw.Connection:
    """A zb-like writer that committed and stays attached (-wal and -shm exist)."""
    conn = writable(demo.db_path)
    conn.execute("pragma journal_mode = wal; pragma synchronous = normal")
    for i in range(commits):
        with conn:
            conn.execute("delete from running_server; insert into running_server values (?)", (NOW_MS + i,))
    return conn


def states(demo_or_db) -> dict:
    db = demo_or_db if isinstance(demo_or_db, str) else demo_or_db.db_path
    return {f: file_state(f) for f in db_files(db)}


def assert_untouched(before: dict, after: dict) -> None:
    for path, old in before.items():
        new = after[path]
        if path.endswith("-shm") and old.data is not None and new.data is not None:
            changed = [i for i in range(len(old.data)) if old.data[i] != new.data[i]]
            assert set(changed) <= set(READ_MARKS), f"-shm bytes {changed} changed (only read marks may)"
            assert len(old.data) == len(new.data)
            continue
        assert new == old, f"{os.path.basename(path)} changed"


def full_session(store) -> None:
    from test_bad_input import sweep

    with store.snapshot():
        store.summary()
    assert sweep(store) is not None
    store.data_version()


def test_a_session_with_a_writer_attached_changes_nothing(demo_fresh):
    writer = writer_with_wal(demo_fresh)
    try:
        before = states(demo_fresh)
        assert before[demo_fresh.db_path + "-wal"].size > 0
        store = open_demo(demo_fresh)
        assert not store.db.immutable
        assert store.server().running_as_of == NOW_MS + 24  # read from the WAL
        full_session(store)
        store.close()
        assert_untouched(before, states(demo_fresh))
    finally:
        writer.close()


async def test_a_browser_session_with_a_writer_attached_changes_nothing(demo_fresh, recording_app):
    writer = writer_with_wal(demo_fresh)
    try:
        before = states(demo_fresh)
        store = open_demo(demo_fresh)
        app = recording_app(store, watch_interval=0.2)
        builds = [b.id for b in store.builds(limit=1).items]
        async with app.run_test(size=(120, 40)) as pilot:
            await tour(pilot, store, builds=builds, logs=1, sections=("overview", "builds"))
            await pilot.pause(0.5)
            await settle(pilot)
            assert not app.errors(), app.notes
        store.close()
        assert_untouched(before, states(demo_fresh))
    finally:
        writer.close()


def test_crash_leftovers_are_read_and_left_as_they_are(demo_fresh, tmp_path):
    """-wal and -shm left by a writer that died: read (with the WAL's commits),
    never checkpointed, recovered into the -shm beyond read marks, or deleted."""
    writer = writer_with_wal(demo_fresh)
    crash = tmp_path / "crash"
    crash.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(demo_fresh.db_path + suffix, str(crash / "db.sqlite") + suffix)
    writer.close()
    db = str(crash / "db.sqlite")
    before = states(db)
    from zbtui.store.open import StoreOptions, open_store

    store = open_store(StoreOptions(db=db, env={}))
    assert store.server().running_as_of == NOW_MS + 24
    full_session(store)
    store.close()
    after = states(db)
    assert after[db] == before[db] and after[db + "-wal"] == before[db + "-wal"]
    assert os.path.exists(db + "-shm")


def test_every_layer_refuses_writes_on_its_own(zb_alive):
    statements = [
        "delete from objects",
        "insert into paths (path) values ('x') returning id",
        "replace into running_server values (1)",
        "with t(x) as (select 1) insert into running_server select x from t",
        "update builds set ended_at = 0",
        "create table t(x)",
        "create temp table t(x)",
        "create temp view v as select 1",
        "drop index back_references",
        "alter table builds add column x",
        "pragma journal_mode = delete",
        "pragma wal_checkpoint(TRUNCATE)",
        "pragma incremental_vacuum(10)",
        "pragma optimize",
        "pragma user_version = 9",
        "pragma application_id = 7",
        "pragma query_only = 0",
        "pragma writable_schema = 1",
        "pragma foreign_keys = on",
        "attach database ':memory:' as other",
        "vacuum",
        "vacuum into '/tmp/zbtui-copy.sqlite'",
        "analyze",
        "reindex",
        "select load_extension('libc.so.6')",
    ]
    db = zb_alive.db
    # 1. The authorizer, on the connections the store uses.
    with zb_alive.snapshot() as conn:
        for sql in statements:
            with pytest.raises((apsw.AuthError, apsw.ReadOnlyError, apsw.SQLError)):
                conn.execute(sql)
    assert not os.path.exists("/tmp/zbtui-copy.sqlite")
    # 2. query_only alone (authorizer removed).
    conn = db._open()
    conn.authorizer = None
    for sql in ("delete from objects", "insert into running_server values (1)", "create table t(x)"):
        with pytest.raises((apsw.ReadOnlyError, apsw.SQLError)):
            conn.execute(sql)
    # 3. The read-only open flag alone (authorizer removed, query_only off).
    conn.execute("pragma query_only = 0")
    for sql in ("delete from objects", "insert into running_server values (1)", "create table t(x)", "pragma user_version = 9"):
        with pytest.raises(apsw.ReadOnlyError):
            conn.execute(sql)
    conn.close()


# -- as an unprivileged user --------------------------------------------------------------


@pytest.fixture
def nobody_demo() -> Iterator[DemoStore]:
    """A demo store nobody can read (directories 755, files 644) but not write.

    Not under pytest's tmp_path: its root is private to root (mode 700).
    """
    reason = can_drop_privileges()
    if reason is not None:
        pytest.skip(reason)
    root = tempfile.mkdtemp(prefix="zbtui-nobody-")
    try:
        demo = build_demo_store(os.path.join(root, "d"), now_ms=NOW_MS, heartbeat="alive")
        for directory, _dirs, files in os.walk(root):
            os.chmod(directory, 0o755)
            for name in files:
                os.chmod(os.path.join(directory, name), 0o644)
        yield demo
    finally:
        for directory, _dirs, _files in os.walk(root):
            os.chmod(directory, 0o755)
        shutil.rmtree(root)


def lock_directory(path: str) -> None:
    os.chmod(path, 0o555)


def query_as_nobody(demo: DemoStore, *args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_as_nobody(["query", *args, "--db", db or demo.db_path, "--log-dir", demo.log_dir])


def listing(directory: str) -> list[str]:
    return sorted(os.listdir(directory))


def test_nobody_reads_a_live_database_in_a_directory_it_cannot_write(nobody_demo):
    writer = writer_with_wal(nobody_demo)
    try:
        db_dir = os.path.dirname(nobody_demo.db_path)
        for suffix in ("-wal", "-shm"):
            os.chmod(nobody_demo.db_path + suffix, 0o644)  # readable, not writable, by nobody
        lock_directory(db_dir)
        files = listing(db_dir)
        result = query_as_nobody(nobody_demo, "server")
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert json.loads(result.stdout)["running_as_of"] == NOW_MS + 24  # the WAL's last commit
        # A commit made while the database is shared is seen on the next read.
        with writer:
            writer.execute("delete from running_server; insert into running_server values (?)", (NOW_MS + 99,))
        before = states(nobody_demo)
        result = query_as_nobody(nobody_demo, "server")
        assert json.loads(result.stdout)["running_as_of"] == NOW_MS + 99
        result = query_as_nobody(nobody_demo, "builds", "--limit", "500")
        assert result.returncode == 0 and len(json.loads(result.stdout)) > 10, result.stderr
        assert listing(db_dir) == files
        # Not even a read mark: nobody can only open the -shm read-only.
        assert states(nobody_demo) == before
    finally:
        writer.close()


def test_nobody_without_wal_files_reads_immutable_with_a_warning(nobody_demo):
    db_dir = os.path.dirname(nobody_demo.db_path)
    lock_directory(db_dir)
    files = listing(db_dir)
    before = states(nobody_demo)
    result = query_as_nobody(nobody_demo, "stats")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "zbtui: warning: the database's directory is not writable and no writer has the database open "
        "(no -wal/-shm): reading it as immutable; live reading starts when a writer opens it"
    ]
    assert json.loads(result.stdout)["objects"] == nobody_demo.facts["counts"]["objects"]
    assert listing(db_dir) == files and states(nobody_demo) == before


def test_nobody_reads_crash_leftovers_it_cannot_write(nobody_demo):
    writer = writer_with_wal(nobody_demo)
    crash = os.path.join(os.path.dirname(os.path.dirname(nobody_demo.db_path)), "crash")
    os.mkdir(crash)
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(nobody_demo.db_path + suffix, os.path.join(crash, "db.sqlite" + suffix))
        os.chmod(os.path.join(crash, "db.sqlite" + suffix), 0o644)
    writer.close()
    lock_directory(crash)
    db = os.path.join(crash, "db.sqlite")
    before = states(db)
    result = query_as_nobody(nobody_demo, "server", db=db)
    assert result.returncode == 0, result.stderr
    # SQLite reads the WAL through a private copy of the index (no writer holds it).
    assert json.loads(result.stdout)["running_as_of"] == NOW_MS + 24
    assert states(db) == before


def test_nobody_with_a_wal_but_no_shm_falls_back_to_immutable_with_a_warning(nobody_demo):
    writer = writer_with_wal(nobody_demo)
    crash = os.path.join(os.path.dirname(os.path.dirname(nobody_demo.db_path)), "half")
    os.mkdir(crash)
    for suffix in ("", "-wal"):
        shutil.copyfile(nobody_demo.db_path + suffix, os.path.join(crash, "db.sqlite" + suffix))
        os.chmod(os.path.join(crash, "db.sqlite" + suffix), 0o644)
    writer.close()
    lock_directory(crash)
    db = os.path.join(crash, "db.sqlite")
    before = states(db)
    result = query_as_nobody(nobody_demo, "server", db=db)
    assert result.returncode == 0, result.stderr
    assert "reading the main file as immutable" in result.stderr
    # The WAL's commits cannot be seen this way: the main file's heartbeat.
    assert json.loads(result.stdout)["running_as_of"] == nobody_demo.facts["heartbeat"]
    assert states(db) == before and sorted(os.listdir(crash)) == ["db.sqlite", "db.sqlite-wal"]


def test_nobody_gets_one_line_for_an_unreadable_database_or_log_directory(nobody_demo):
    os.chmod(nobody_demo.db_path, 0o600)
    result = query_as_nobody(nobody_demo, "stats")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"zbtui: {nobody_demo.db_path}: cannot be read (Permission denied)\n"
    os.chmod(nobody_demo.db_path, 0o644)
    # The log directory: 0700, root's.
    log = nobody_demo.facts["hostile_log"]
    build_id = os.path.basename(os.path.dirname(log))
    from zbtui.store.open import StoreOptions, open_store

    store = open_store(StoreOptions(db=nobody_demo.db_path, log_dir=nobody_demo.log_dir, env={}))
    drv = next(r.drv_path for r in store.build(build_id).results if r.log.path == log)
    store.close()
    os.chmod(nobody_demo.log_dir, 0o700)
    result = query_as_nobody(nobody_demo, "log", build_id, drv)
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == f"zbtui: no log for {drv}: log directory {nobody_demo.log_dir} is not readable (permission denied)"
    assert all(line.startswith("zbtui: warning: ") for line in lines[:-1])
    result = query_as_nobody(nobody_demo, "build", build_id)
    assert result.returncode == 0
    assert any("permission denied" in (r["log_problem"] or "") for r in json.loads(result.stdout)["results"])


# -- a read-only filesystem ---------------------------------------------------------------


@pytest.fixture
def read_only_mount(tmp_path) -> Iterator[str]:
    """A tmpfs mounted read-only after the test fills it (skipped if mount is not permitted)."""
    mount_point = tempfile.mkdtemp(prefix="zbtui-rofs-")
    os.chmod(mount_point, 0o755)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=755", "tmpfs", mount_point], capture_output=True, text=True)
    if done.returncode != 0:
        os.rmdir(mount_point)
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", mount_point], check=False)
        os.rmdir(mount_point)


def remount_read_only(mount_point: str) -> None:
    subprocess.run(["mount", "-o", "remount,ro", mount_point], check=True)
    with pytest.raises(OSError):
        open(os.path.join(mount_point, "probe"), "w")


def test_read_only_filesystem(read_only_mount, demo_fresh, cli):
    writer = writer_with_wal(demo_fresh)
    for name, suffixes in (("clean", ("",)), ("leftovers", ("", "-wal", "-shm"))):
        os.mkdir(os.path.join(read_only_mount, name))
        for suffix in suffixes:
            shutil.copyfile(demo_fresh.db_path + suffix, os.path.join(read_only_mount, name, "db.sqlite" + suffix))
    writer.close()
    remount_read_only(read_only_mount)
    for name, heartbeat in (("clean", demo_fresh.facts["heartbeat"]), ("leftovers", NOW_MS + 24)):
        db = os.path.join(read_only_mount, name, "db.sqlite")
        before = states(db)
        code, out, err = cli("query", "server", "--db", db)
        assert code == 0, err
        assert json.loads(out)["running_as_of"] == heartbeat, name
        if name == "clean":
            assert "reading it as immutable" in err  # the directory cannot be written
        code, out, err = cli("query", "builds", "--db", db)
        assert code == 0 and len(json.loads(out)) > 10
        assert states(db) == before
        if can_drop_privileges() is None:
            result = run_as_nobody(["query", "server", "--db", db])
            assert result.returncode == 0 and json.loads(result.stdout)["running_as_of"] == heartbeat, result.stderr


def test_the_store_error_for_a_missing_database_names_it(tmp_path):
    from zbtui.store.open import StoreOptions, open_store

    with pytest.raises(StoreError, match="no such file"):
        open_store(StoreOptions(db=str(tmp_path / "none.sqlite"), env={}))
    assert os.listdir(tmp_path) == []

"""The store layer on a tiny zb database written by hand from the spec (tests/data/zb_small.sql).

Every expected value below is derived in that file's header, not by our generator.
"""

from __future__ import annotations

import base64
import os
import sqlite3

import pytest
from helpers import NOW_MS

from zbtui.store.models import BuildStatus
from zbtui.store.open import StoreOptions, open_store

SQL = os.path.join(os.path.dirname(__file__), "..", "data", "zb_small.sql")
D = "/opt/zb/store/"
GLIBC, NCURSES, READLINE, BASH, HELLO = (
    D + "11111111111111111111111111111111-glibc-2.39",
    D + "22222222222222222222222222222222-ncurses-6.4",
    D + "33333333333333333333333333333333-readline-8.2",
    D + "44444444444444444444444444444444-bash-5.2p26",
    D + "55555555555555555555555555555555-hello-2.12.1",
)
HELLO_DRV = D + "99999999999999999999999999999999-hello-2.12.1.drv"
HELLO_ABSENT = D + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-hello-2.12.1"
ZLIB = D + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-zlib-1.3.1"
K1 = "lQkivSdlrDBjwgE/VNmPefTRYAH3Yklhkb1m12JRlHA="  # zb's test-vector key (spec §3)
B1, B2, B3, B4 = (
    "01a20822-5f00-7000-8000-000000000001",
    "01a20859-4d80-7000-8000-000000000002",
    "01a2088f-51a0-7000-8000-000000000003",
    "01a1f91d-2800-7000-8000-000000000004",
)


@pytest.fixture
def small_db(tmp_path):
    path = tmp_path / "db.sqlite"
    with open(SQL) as handle:
        sqlite3.connect(path).executescript(handle.read()).close()
    return str(path)


def open_small(db: str, heartbeat: str = "alive"):
    if heartbeat != "alive":
        conn = sqlite3.connect(db)
        if heartbeat == "none":
            conn.execute("delete from running_server")
        else:
            conn.execute("update running_server set running_as_of = ?", (NOW_MS - 3_600_000,))
        conn.commit()
        conn.close()
    return open_store(StoreOptions(db=db, trusted_keys=[f"ed25519:{K1}"], env={}, log_dir="/nonexistent", clock=lambda: NOW_MS))


def test_counts(small_db):
    s = open_small(small_db).summary()
    assert (s.objects, s.absent_paths, s.realizations, s.signatures, s.build_total) == (10, 2, 4, 7, 4)
    assert (s.realizations_present, s.realizations_absent) == (3, 1)
    assert s.store_dir == "/opt/zb/store"


def test_closures(small_db):
    store = open_small(small_db)
    assert (store.closure(HELLO).count, store.closure(HELLO).nar_size) == (5, 39_100_000)
    assert (store.closure(HELLO_DRV).count, store.closure(HELLO_DRV).nar_size) == (4, 1_205_424)


def test_why_and_referrers(small_db):
    store = open_small(small_db)
    assert store.why(HELLO, NCURSES) == [HELLO, BASH, READLINE, NCURSES]
    referrers = {e.path for e in store.referrers(GLIBC).items if not e.is_self}
    assert referrers == {NCURSES, READLINE, BASH, HELLO, ZLIB}
    assert [e.is_self for e in store.references(GLIBC).items] == [True]


def test_object_info_encodings(small_db):
    info = open_small(small_db).object_info(GLIBC)
    assert info.nar_hash == "sha256-AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    assert info.nar_hash_value.digest == bytes([1]) * 32
    assert info.content_address.hash.digest == bytes([0x81]) * 32
    assert info.on_disk is False  # the fixture creates no files
    absent = open_small(small_db).object_info(HELLO_ABSENT)
    assert absent.is_object is False


def test_signature_statuses(small_db):
    store = open_small(small_db)
    by_path = {}
    for r in store.realizations(limit=10).items:
        by_path.setdefault(r.output_path, []).extend((s.status, s.count) for s in r.signatures)
    assert by_path[GLIBC] == [("trusted", 1)]
    assert by_path[BASH] == [("trusted", 2)]  # one signature, stored twice
    assert sorted(by_path[HELLO]) == [("invalid", 1), ("valid-untrusted", 1)]
    assert sorted(by_path[HELLO_ABSENT]) == [("malformed", 1), ("unsupported", 1)]


def test_reference_classes_distinct_and_multi_path(small_db):
    store = open_small(small_db)
    (bash,) = store.realizations_for_path(BASH)
    assert sorted((c.path, c.drv_hash is None) for c in bash.reference_classes) == [(GLIBC, False), (READLINE, True)]
    two = store.realizations_for_drv_hash("sha256-" + base64.b64encode(bytes([0x22]) * 32).decode())
    assert {(r.output_path, r.present_in_store) for r in two} == {(HELLO, True), (HELLO_ABSENT, False)}


def test_builds_newest_first_and_status(small_db):
    store = open_small(small_db)
    builds = store.builds().items
    assert [b.id for b in builds] == [B3, B2, B1, B4]
    assert [b.status for b in builds] == [BuildStatus.ACTIVE, BuildStatus.FAIL, BuildStatus.SUCCESS, BuildStatus.ACTIVE]


@pytest.mark.parametrize("heartbeat", ["stale", "none"])
def test_orphans_without_a_live_heartbeat(small_db, heartbeat):
    store = open_small(small_db, heartbeat)
    statuses = {b.id: b.status for b in store.builds().items}
    assert statuses[B3] == statuses[B4] == BuildStatus.ORPHANED
    detail = store.build(B4)
    assert detail.results and all(r.status == "active" for r in detail.results)
    assert any(r.drv_hash is None for r in detail.results)
    assert detail.orphan_evidence


def test_log_paths(small_db):
    store = open_small(small_db)
    detail = store.build(B1)
    built = [r for r in detail.results if r.built]
    assert [r.log.path for r in built] == [
        f"/nonexistent/01a2/{B1}/99999999999999999999999999999999-hello-2.12.1.txt"
    ]
    assert not built[0].log.exists and "not found" in built[0].log.reason
    reused = [r for r in detail.results if not r.built]
    assert reused and "reused" in reused[0].log.reason

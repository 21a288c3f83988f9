"""NixStore on older (and odd) Nix database schemas, built here with apsw.

The schemas follow Nix's own history (``shared/seeds``): the first SQLite
store (schema 6: ``ValidPaths(id, path, hash, registrationTime, deriver)``,
``Refs``, ``DerivationOutputs``, ``FailedPaths``), then ``narSize``, then
``ultimate``/``sigs``, then ``ca`` without ``FailedPaths`` and without the
``ca-derivations`` tables. Absent features must read as None or empty.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import apsw
import pytest
from nacl.signing import SigningKey

from zbtui.store.errors import StoreError
from zbtui.store.formats import nix32_encode
from zbtui.store.nix import NixStore
from zbtui.store.open import StoreOptions, open_store
from zbtui.store.signatures import nix_path_fingerprint

T = 1_300_000_000
"""A registration time (seconds) in Nix 1.x days."""


def _path(name: str) -> str:
    digest = nix32_encode(hashlib.sha1(name.encode()).digest())
    return f"/nix/store/{digest}-{name}"


def _hash(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


SRC = _path("src.txt")
HELLO_DRV = _path("hello-1.0.drv")
HELLO = _path("hello-1.0")
FAIL_DRV = _path("fail-1.0.drv")
FAIL_OUT = _path("fail-1.0")
MYSTERY = _path("mystery-2.0")

SIGNER = SigningKey(bytes(range(32)))
PUBLIC_KEY = "test-key-1:" + base64.b64encode(bytes(SIGNER.verify_key)).decode()

# (version, extra ValidPaths columns, has FailedPaths)
SCHEMAS = {
    6: ((), True),
    7: (("narSize integer",), True),
    8: (("narSize integer", "ultimate integer", "sigs text"), True),
    10: (("narSize integer", "ultimate integer", "sigs text", "ca text"), False),
}

SIZES = {SRC: 120, HELLO_DRV: 400, HELLO: 1000, FAIL_DRV: 380}


def _make_db(
    directory: Path,
    version: int | None,
    *,
    columns: tuple[str, ...] = (),
    failed_paths: bool = True,
    derivation_outputs: bool = True,
) -> Path:
    """A small Nix database in ``directory`` with the given schema features."""
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "db.sqlite"
    conn = apsw.Connection(str(db))
    extra = "".join(f",\n    {c}" for c in columns)
    conn.execute(
        f"""
        create table ValidPaths (
            id               integer primary key autoincrement not null,
            path             text unique not null,
            hash             text not null,
            registrationTime integer not null,
            deriver          text{extra}
        );
        create table Refs (
            referrer  integer not null,
            reference integer not null,
            primary key (referrer, reference)
        );
        create index IndexReferrer on Refs(referrer);
        create index IndexReference on Refs(reference);
        """
    )
    if derivation_outputs:
        conn.execute(
            """
            create table DerivationOutputs (
                drv  integer not null,
                id   text not null,
                path text not null,
                primary key (drv, id)
            );
            create index IndexDerivationOutputs on DerivationOutputs(path);
            """
        )
    if failed_paths:
        conn.execute("create table FailedPaths (path text primary key not null, time integer not null);")
    names = {c.split()[0] for c in columns}
    rows = [
        (1, SRC, None, T),
        (2, HELLO_DRV, None, T),
        (3, HELLO, HELLO_DRV, T + 5),
        (4, FAIL_DRV, None, T),
    ]
    refs = {1: [], 2: [1], 3: [1, 3], 4: [1]}
    id_path = {pid: path for pid, path, _d, _t in rows}
    for pid, path, deriver, when in rows:
        values: dict[str, object] = {
            "id": pid,
            "path": path,
            "hash": _hash(path),
            "registrationTime": when,
            "deriver": deriver,
        }
        if "narSize" in names:
            values["narSize"] = SIZES[path]
        if "ultimate" in names:
            values["ultimate"] = 1 if path == HELLO else None
        if "sigs" in names and path == HELLO:
            fingerprint = nix_path_fingerprint(path, _hash(path), SIZES[path], [id_path[r] for r in refs[pid]])
            values["sigs"] = "test-key-1:" + base64.b64encode(SIGNER.sign(fingerprint).signature).decode()
        if "ca" in names and path.endswith(".drv"):
            values["ca"] = "text:sha256:" + nix32_encode(hashlib.sha256(path.encode()).digest())
        cols = ", ".join(values)
        conn.execute(f"insert into ValidPaths ({cols}) values ({', '.join('?' * len(values))})", list(values.values()))
    for referrer, references in refs.items():
        for reference in references:
            conn.execute("insert into Refs values (?, ?)", (referrer, reference))
    if derivation_outputs:
        conn.execute("insert into DerivationOutputs values (2, 'out', ?), (4, 'out', ?)", (HELLO, FAIL_OUT))
    if failed_paths:
        # Nix registered the failed derivation's OUTPUT paths here.
        conn.execute("insert into FailedPaths values (?, ?), (?, ?)", (FAIL_OUT, T + 10, MYSTERY, T + 20))
    conn.close()
    if version is not None:
        (directory / "schema").write_text(str(version))
    return db


def _open(db: Path, **kw) -> NixStore:
    # An empty log directory of its own (the host's /nix/var/log/nix stays out).
    kw.setdefault("log_dir", str(db.parent / "logs"))
    Path(kw["log_dir"]).mkdir(parents=True, exist_ok=True)
    store = open_store(StoreOptions(db=str(db), env={}, nix_conf=(), **kw))
    assert isinstance(store, NixStore)
    return store


@pytest.fixture(params=sorted(SCHEMAS), ids=lambda v: f"schema{v}")
def versioned(request: pytest.FixtureRequest, tmp_path: Path):
    version = request.param
    columns, failed = SCHEMAS[version]
    db = _make_db(tmp_path / "db", version, columns=columns, failed_paths=failed)
    store = _open(db, trusted_keys=(PUBLIC_KEY,))
    yield version, store
    store.close()


def test_summary_per_schema(versioned) -> None:
    version, store = versioned
    columns, failed = SCHEMAS[version]
    s = store.summary()
    assert s.kind == "nix" and s.store_dir == "/nix/store"
    assert (s.objects, s.drv_objects, s.absent_paths) == (4, 2, 1)
    assert s.total_nar_size == (sum(SIZES.values()) if version >= 7 else 0)
    assert (s.realizations, s.realizations_present) == (0, 0)
    assert s.signatures == (1 if version >= 8 else 0)
    assert s.signature_keys == (1 if version >= 8 else 0)
    assert s.schema.startswith(f"nix schema {version}")
    lacking = s.schema.split("(without ", 1)[1].split(")", 1)[0].split(", ")
    assert ("narSize" in lacking) == (version < 7)
    assert ("sigs" in lacking) == ("ultimate" in lacking) == (version < 8)
    assert ("ca" in lacking) == (version < 10)
    assert "Realisations" in lacking
    assert s.schema.endswith("with FailedPaths") == failed
    assert s.builds["fail"] == (2 if failed else 0) and s.builds["success"] == 0
    assert s.server is None and s.warnings == ()


def test_objects_and_metadata_per_schema(versioned) -> None:
    version, store = versioned
    info = store.object_info(HELLO)
    assert info is not None and info.is_object
    assert info.registration_time == (T + 5) * 1000
    assert info.deriver == HELLO_DRV
    assert info.nar_hash == _hash(HELLO)
    assert info.nar_hash_value is not None and info.nar_hash_value.hex == _hash(HELLO)
    assert (info.reference_count, info.referrer_count) == (1, 0)  # self excluded
    assert info.nar_size == (1000 if version >= 7 else None)
    assert info.ultimate == (True if version >= 8 else None)
    assert info.ca is None and info.content_address is None
    if version >= 8:
        assert [(sig.key_name, sig.status) for sig in info.signatures] == [("test-key-1", "trusted")]
    else:
        assert info.signatures == ()
    src = store.object_info(SRC)
    assert src is not None and src.ultimate == (False if version >= 8 else None)
    drv = store.object_info(HELLO_DRV)
    assert drv is not None
    assert (drv.content_address is not None) == (version >= 10)
    assert info.problems == () and drv.problems == ()

    sizes = [r.nar_size for r in store.objects(sort="size").items]
    assert sizes == ([1000, 400, 380, 120] if version >= 7 else [0, 0, 0, 0])
    first = store.objects(sort="size", limit=3)
    rest = store.objects(sort="size", after=first.next_key, limit=3)
    assert len({r.id for r in first.items + rest.items}) == 4 and rest.next_key is None
    assert list(store.object_ids(sort="size")) == [r.id for r in first.items + rest.items]
    assert store.closure(HELLO).count == 2
    assert store.closure(HELLO).nar_size == (1120 if version >= 7 else 0)
    assert [e.path for e in store.references(HELLO).items] == sorted([SRC, HELLO])
    assert store.why(HELLO, SRC) == [HELLO, SRC]
    assert store.resolve("hello-1.0") == [HELLO, HELLO_DRV]
    assert store.resolve("fail-1.0") == [FAIL_DRV, FAIL_OUT]


def test_no_realisations_tables(versioned) -> None:
    _version, store = versioned
    page = store.realizations()
    assert page.items == () and page.next_key is None
    assert store.realizations_for_path(HELLO) == ()
    assert store.realizations_for_drv_hash("sha256:" + "00" * 32) == ()
    with pytest.raises(StoreError, match="not a derivation hash"):
        store.realizations_for_drv_hash("nonsense")


def test_derivation_outputs_per_schema(versioned) -> None:
    _version, store = versioned
    assert [(o.name, o.path, o.present_in_store) for o in store.derivation_outputs(HELLO_DRV)] == [
        ("out", HELLO, True)
    ]
    assert [(o.name, o.path, o.present_in_store) for o in store.derivation_outputs(FAIL_DRV)] == [
        ("out", FAIL_OUT, False)
    ]
    assert store.derivers_of(HELLO) == (HELLO_DRV,)
    absent = store.object_info(FAIL_OUT)
    assert absent is not None and not absent.is_object


def test_failed_paths_become_failed_builds(versioned) -> None:
    version, store = versioned
    _columns, failed = SCHEMAS[version]
    builds = store.builds().items
    if not failed:
        assert builds == ()
        assert store.build(FAIL_DRV) is None
        return
    # Newest first: the undeclared failure (T+20), then fail.drv's output (T+10).
    assert [(b.id, b.status.value, b.ended_at) for b in builds] == [
        (MYSTERY, "fail", (T + 20) * 1000),
        (FAIL_DRV, "fail", (T + 10) * 1000),
    ]
    detail = store.build(FAIL_DRV)
    assert detail is not None
    (result,) = detail.results
    assert result.status == "fail" and [(o.path, o.present_in_store) for o in result.outputs] == [(FAIL_OUT, False)]
    assert not result.log.exists and "recorded the failure" in (result.log.reason or "")
    mystery = store.build(MYSTERY)
    assert mystery is not None and mystery.results[0].log.path is None
    assert "FailedPaths" in (mystery.results[0].log.reason or "")
    assert [b.id for b in store.builds_for_path(FAIL_OUT)] == [FAIL_DRV]
    assert [b.id for b in store.builds_for_path(MYSTERY)] == [MYSTERY]
    second = store.builds(limit=1, after=store.builds(limit=1).next_key)
    assert [b.id for b in second.items] == [FAIL_DRV] and second.next_key is None


def test_a_log_makes_a_build(tmp_path: Path) -> None:
    db = _make_db(tmp_path / "db", 7, columns=("narSize integer",))
    logs = tmp_path / "logs"
    base = HELLO_DRV.rsplit("/", 1)[1]
    log = logs / "drvs" / base[:2] / base[2:]
    log.parent.mkdir(parents=True)
    log.write_bytes(b"hello builds\n")
    store = _open(db, log_dir=str(logs))
    try:
        builds = {b.id: b for b in store.builds().items}
        assert builds[HELLO_DRV].status == "success"
        assert [b.id for b in store.builds(status="success").items] == [HELLO_DRV]
        detail = store.build(HELLO_DRV)
        assert detail is not None and detail.results[0].log.exists and detail.results[0].log.size == 13
        assert [b.id for b in store.builds_for_path(HELLO)] == [HELLO_DRV]
        with store.open_log(HELLO_DRV) as handle:
            assert handle.read(0, 100) == b"hello builds\n"
        assert store.summary().builds == {"success": 1, "fail": 2, "error": 0, "active": 0, "orphaned": 0}
        with pytest.raises(StoreError, match="unknown build status"):
            store.builds(status="bogus")
    finally:
        store.close()


def test_schema_files(tmp_path: Path) -> None:
    db = _make_db(tmp_path / "none", None)
    store = _open(db)
    try:
        assert store.summary().schema.startswith("nix schema unknown (no schema file)")
        assert store.schema_version is None and store.ca_schema_version is None
    finally:
        store.close()
    db = _make_db(tmp_path / "new", 11, columns=SCHEMAS[10][0], failed_paths=False)
    (tmp_path / "new" / "ca-schema").write_text("4\n")
    store = _open(db)
    try:
        assert store.summary().schema.startswith("nix schema 11, ca-schema 4")
        assert any("newer than 10" in w for w in store.warnings)
        assert any("ca-schema version 4" in w for w in store.warnings)
    finally:
        store.close()
    db = _make_db(tmp_path / "bad", None)
    (tmp_path / "bad" / "schema").write_text("ten")
    store = _open(db)
    try:
        assert store.schema_version is None
        assert any("not a schema version number" in w for w in store.warnings)
    finally:
        store.close()


def test_minimal_database_without_derivation_outputs(tmp_path: Path) -> None:
    db = _make_db(tmp_path / "db", 6, failed_paths=False, derivation_outputs=False)
    store = _open(db)
    try:
        s = store.summary()
        assert (s.objects, s.absent_paths, s.build_total) == (4, 0, 0)
        assert store.derivers_of(HELLO) == ()
        # Without DerivationOutputs, the outputs come from ValidPaths.deriver.
        assert [(o.name, o.path) for o in store.derivation_outputs(HELLO_DRV)] == [("out", HELLO)]
        assert store.resolve("fail-1.0") == [FAIL_DRV]
        assert store.object_info(FAIL_OUT) is None
    finally:
        store.close()


def test_unsigned_size_unknown_signature_is_reported(tmp_path: Path) -> None:
    # A signature on a path whose narSize is NULL cannot be checked (Nix refuses too).
    db = _make_db(tmp_path / "db", 8, columns=SCHEMAS[8][0])
    conn = apsw.Connection(str(db))
    conn.execute("update ValidPaths set narSize = null where path = ?", (HELLO,))
    conn.close()
    store = _open(db, trusted_keys=(PUBLIC_KEY,))
    try:
        info = store.object_info(HELLO)
        assert info is not None and info.nar_size is None
        assert [s.status for s in info.signatures] == ["malformed"]
        assert any("NAR size" in p for p in info.problems)
    finally:
        store.close()


def test_not_a_nix_database(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    conn = apsw.Connection(str(db))
    conn.execute("create table ValidPaths (id integer primary key, path text)")
    conn.close()
    with pytest.raises(StoreError, match="not a zb or Nix store database"):
        open_store(StoreOptions(db=str(db), env={}, nix_conf=()))


def test_missing_nix_conf_is_an_error(tmp_path: Path) -> None:
    db = _make_db(tmp_path / "db", 10, columns=SCHEMAS[10][0], failed_paths=False)
    missing = str(tmp_path / "nope.conf")
    with pytest.raises(StoreError, match="--nix-conf .*nope.conf: file does not exist"):
        open_store(StoreOptions(db=str(db), env={}, nix_conf=(missing,)))

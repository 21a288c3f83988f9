"""NixStore against a real Nix 2.8 database, checked against Nix's own answers.

The fixture (``shared/realdata/nix-2.8`` beside the repository) was written by the real Nix
program; every expected value here comes from the files Nix printed beside it
(``path-info.json``, ``expected-*.txt``...). The shared directory is never
written: each test copies what it needs into ``tmp_path`` first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import helpers
import pytest

from zbtui.__main__ import main
from zbtui.store.formats import parse_hash
from zbtui.store.logs import open_log
from zbtui.store.nix import NO_LOG_REASON, NixStore
from zbtui.store.open import StoreOptions, open_store

REALDATA = Path(helpers.REALDATA)
DB_FILES = ("db.sqlite", "schema", "ca-schema")
KEY_FILES = ("nixreal-build-1.pub", "nixreal-release-1.pub", "nixreal-aux-1.pub")

S = "/nix/store/"
HELLO = S + "s007w998i569mhdq9ia0f85q33a8zzik-hello.txt"
SYSTEM_ENV = S + "k5l29cqq7yv3a0qyhiq1axn1r6bi69z6-system-env"
LIBBAR = S + "9ld2y7i3h45mf7fhr5d96wbv284p9djm-libbar-1.2"
LIBFOO_DRV = S + "5wjfbdi3gfjw9636bhaxf2bkkdgfrh5y-libfoo-2.0.drv"
LIBFOO = S + "h29fyzfrx9h4i4hav35x1dcrqnia2ac9-libfoo-2.0"
LIBFOO_DEV = S + "vmh28hwmy5m5asizfhq66jhyrz6m5l01-libfoo-2.0-dev"
LIBFOO_LIB = S + "p0dhkyyw2j5lyglwi7b1ji15fp5p44l0-libfoo-2.0-lib"
CA_BASE = S + "ymdqhwfl2nxdqjw2l0m58bp8y63j0dla-ca-base-1.0"
CA_BASE_RESOLVED_DRV = S + "prdyvc609ldzqmk0fqpbg3dylpjkzhar-ca-base-1.0.drv"
CA_TOOL_RESOLVED_DRV = S + "awlisxqsmnb4dn09q9191s6v2l0h92rr-ca-tool-0.1.drv"
CA_TOOL = S + "9dk8cmchbm0zhzd927q0lcylv7g89gsi-ca-tool-0.1"
CA_TOOL_DEV = S + "xzr8lmdpfddb8f70v9i68rjhrc72ncbw-ca-tool-0.1-dev"
BROKEN_DRV = S + "bhbz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv"
BROKEN_OUT = S + "pjw9yz0cwyysihgpch2lky947w8jvj7d-broken-0.1"
NEEDS_BROKEN_DRV = S + "yl65hhqj1sfr8d7w7rl34rynifd51wf5-needs-broken-0.1.drv"
IMPORTED_LIB = S + "bn7p2qdv28ys03kdvvgmpnc9ag5bzw7p-imported-lib-3.1"
IMPORTED_LIB_DERIVER = S + "dirzk9cdid3v26qsrizi1ra97bgm0mnz-imported-lib-3.1.drv"
CA_TOOL_HASH = "sha256:4826f129b3340c6817a70164eca20112099f026f6f98cd104eabf64845ea07ae"
BROKEN_LOG_TAIL = "nix/var/log/nix/drvs/bh/bz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv.bz2"
BROKEN_LOG_SAMPLE = REALDATA / "log-sample-bhbz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv.bz2"


# -- fixtures -------------------------------------------------------------------------


def _keys(*names: str) -> list[str]:
    return [(REALDATA / n).read_text().strip() for n in names]


ALL_KEYS = _keys(*KEY_FILES)


def _copy_db(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in DB_FILES:
        shutil.copyfile(REALDATA / name, dest / name)
    return dest / "db.sqlite"


def _open(db: Path, trusted: Sequence[str] = ALL_KEYS, known: Sequence[str] = (), **kw) -> NixStore:
    # env={} and nix_conf=() keep the host's nix.conf out of the tests.
    options = StoreOptions(
        db=str(db), trusted_keys=tuple(trusted), known_keys=tuple(known), env={}, nix_conf=kw.pop("nix_conf", ()), **kw
    )
    store = open_store(options)
    assert isinstance(store, NixStore)
    return store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return _copy_db(tmp_path / "db")


@pytest.fixture
def store(db_path: Path) -> Iterator[NixStore]:
    # An empty log directory of its own: the host's /nix/var/log/nix stays out.
    logs = db_path.parent / "logs"
    logs.mkdir()
    s = _open(db_path, log_dir=str(logs))
    yield s
    s.close()


@pytest.fixture
def chroot(tmp_path: Path) -> Path:
    """A fake chroot store root: the db in its place, the broken build's log, an empty store."""
    root = tmp_path / "root"
    _copy_db(root / "nix/var/nix/db")
    (root / "nix/store").mkdir(parents=True)
    log = root / BROKEN_LOG_TAIL
    log.parent.mkdir(parents=True)
    shutil.copyfile(BROKEN_LOG_SAMPLE, log)
    return root


@pytest.fixture
def path_info() -> list[dict]:
    return json.loads((REALDATA / "path-info.json").read_text())


def _lines(name: str) -> list[str]:
    return [line for line in (REALDATA / name).read_text().splitlines() if line.strip()]


def _all(fetch, path: str) -> list[str]:
    out: list[str] = []
    after = None
    while True:
        page = fetch(path, after=after, limit=3)
        out += [e.path for e in page.items]
        if page.next_key is None:
            return out
        after = page.next_key


def _nix_print_order(store: NixStore, paths: set[str]) -> list[str]:
    """The order ``nix-store -q --referrers/--requisites`` prints a set of paths in.

    Nix's ``topoSortPaths`` (a DFS over references within the set, visiting
    paths and references in base-name order), printed in reverse: every path
    after the paths it refers to. Edges come from the store under test.
    """
    by_base = sorted(paths, key=os.path.basename)
    visited: set[str] = set()
    ordered: list[str] = []

    def visit(path: str) -> None:
        if path in visited:
            return
        visited.add(path)
        for ref in sorted(_all(store.references, path), key=os.path.basename):
            if ref != path and ref in paths:
                visit(ref)
        ordered.append(path)

    for path in by_base:
        visit(path)
    # topoSort reverses the post-order; nix-store prints that reversed again.
    return ordered


def _all_objects(store: NixStore, **kw) -> list:
    rows: list = []
    after = None
    while True:
        page = store.objects(after=after, limit=7, **kw)
        rows += page.items
        if page.next_key is None:
            return rows
        after = page.next_key


def _all_realisations(store: NixStore) -> list:
    items: list = []
    after = None
    while True:
        page = store.realizations(after=after, limit=5)
        items += page.items
        if page.next_key is None:
            return items
        after = page.next_key


# -- summary --------------------------------------------------------------------------


def test_summary(store: NixStore, db_path: Path) -> None:
    s = store.summary()
    assert s.kind == "nix"
    assert s.db_path == str(db_path)
    assert s.store_dir == "/nix/store" and s.real_store_dir == "/nix/store"
    assert s.schema == "nix schema 10, ca-schema 3"
    assert (s.objects, s.drv_objects, s.absent_paths) == (53, 22, 3)
    assert s.total_nar_size == 566952
    assert (s.realizations, s.realizations_present, s.realizations_absent) == (24, 24, 0)
    assert s.signatures == 42 + 24
    assert s.signature_keys == 3
    assert s.server is None and store.server() is None
    assert s.db_size == 94208 and s.wal_size is None
    # No logs in its log directory and no FailedPaths table: no builds to show.
    assert s.build_total == 0 and set(s.builds.values()) == {0}
    assert store.builds().items == ()
    assert s.warnings == ()
    # The three keys, plus Nix's built-in cache.nixos.org-1 default.
    assert store.trust_description() == "4 trusted Nix keys from built-in default, --trusted-key"


# -- path-info ------------------------------------------------------------------------


def test_every_path_matches_nix_path_info(store: NixStore, path_info: list[dict]) -> None:
    assert len(path_info) == 53
    assert {r.path for r in _all_objects(store)} == {e["path"] for e in path_info}
    for entry in path_info:
        path = entry["path"]
        info = store.object_info(path)
        assert info is not None and info.is_object, path
        assert info.nar_size == entry["narSize"], path
        assert info.nar_hash_value is not None and info.nar_hash_value.sri == entry["narHash"], path
        assert info.nar_hash == parse_hash(entry["narHash"]).hex, path
        assert sorted(_all(store.references, path)) == sorted(entry["references"]), path
        assert store.closure(path).nar_size == entry["closureSize"], path
        assert info.ca == entry.get("ca"), path
        if info.ca is not None:
            assert info.content_address is not None and info.content_address.raw == info.ca
        assert info.deriver == entry.get("deriver"), path
        assert info.ultimate is entry.get("ultimate", False), path
        assert info.registration_time == entry["registrationTime"] * 1000, path
        assert sorted(s.text for s in info.signatures) == sorted(entry.get("signatures", [])), path
        assert info.problems == (), path


def test_path_info_sizes(store: NixStore) -> None:
    lines = _lines("path-info-sizes.txt")
    assert len(lines) == 53
    for line in lines:
        path, nar_size, closure_size = line.split()
        info = store.object_info(path)
        assert info is not None and info.nar_size == int(nar_size)
        assert store.closure(path).nar_size == int(closure_size)


def test_examples_from_the_readme(store: NixStore) -> None:
    assert store.closure(SYSTEM_ENV).nar_size == 541032
    assert store.object_info(SYSTEM_ENV).nar_size == 3104  # type: ignore[union-attr]
    assert store.closure(LIBBAR).nar_size == 525808
    hello = store.object_info(HELLO)
    assert hello is not None
    assert hello.nar_hash == "sha256:79ec1c7112ba800fe1175bb65c42ae4b5758be0760adb1a2c24dfc0cb3acef27"
    assert hello.nar_hash_value is not None
    assert hello.nar_hash_value.sri == "sha256-eewccRK6gA/hF1u2XEKuS1dYvgdgrbGiwk38DLOs7yc="
    assert hello.nar_hash_value.nix32 == "sha256:09zgmjrhrz2dqaib3bb00yz5hmsbmr15rdjv2zhhz05s29qirv3r"
    assert hello.content_address is not None and hello.content_address.method == "nar"
    blob = store.object_info(S + "n676kjdi4hx149rs47skga0lfanarxkm-blob.bin")
    assert blob is not None and blob.content_address is not None
    assert (blob.content_address.method, blob.content_address.hash.algorithm) == ("flat", "sha512")
    dataset = store.object_info(S + "yj5h7vbb080njq715hnxg870b1cpa4yx-dataset")
    assert dataset is not None and dataset.content_address is not None
    assert dataset.content_address.hash.nix32 == "sha1:z1ix052s2jnd0rkwssb87gb2hrkz91jn"
    # Self-references are ordinary edges, flagged.
    dev_refs = store.references(LIBFOO_DEV).items
    assert sorted(e.path for e in dev_refs) == sorted([LIBFOO, LIBFOO_LIB, LIBFOO_DEV])
    assert [e.path for e in dev_refs if e.is_self] == [LIBFOO_DEV]
    dev = store.object_info(LIBFOO_DEV)
    assert dev is not None and dev.reference_count == 2  # self excluded


# -- graph queries ----------------------------------------------------------------------


def test_referrers_of_hello(store: NixStore) -> None:
    referrers = _all(store.referrers, HELLO)
    assert referrers == sorted(referrers)  # by path, as listed in the UI
    # Nix prints them in reverse topological order (not by path): same set, its order.
    assert _nix_print_order(store, set(referrers)) == _lines("expected-referrers-hello.txt")
    info = store.object_info(HELLO)
    assert info is not None and info.referrer_count == 7 and info.reference_count == 0


def test_referrers_closure_of_hello(store: NixStore) -> None:
    seen = {HELLO}
    todo = [HELLO]
    while todo:
        for path in _all(store.referrers, todo.pop()):
            if path not in seen:
                seen.add(path)
                todo.append(path)
    expected = _lines("expected-referrers-closure-hello.txt")
    assert len(expected) == 16
    assert _nix_print_order(store, seen) == expected


def test_requisites_of_system_env(store: NixStore) -> None:
    seen = {SYSTEM_ENV}
    todo = [SYSTEM_ENV]
    while todo:
        for path in _all(store.references, todo.pop()):
            if path not in seen:
                seen.add(path)
                todo.append(path)
    expected = _lines("expected-requisites-system-env.txt")
    assert _nix_print_order(store, seen) == expected
    assert store.closure(SYSTEM_ENV).count == len(expected)


def test_why(store: NixStore) -> None:
    chain = store.why(SYSTEM_ENV, HELLO)
    assert chain is not None and chain[0] == SYSTEM_ENV and chain[-1] == HELLO
    assert len(chain) == 2  # system-env refers to hello.txt directly
    chain = store.why(SYSTEM_ENV, LIBBAR)
    assert chain is not None and chain[0] == SYSTEM_ENV and chain[-1] == LIBBAR
    for a, b in zip(chain, chain[1:]):
        assert b in _all(store.references, a)
    assert store.why(HELLO, SYSTEM_ENV) is None
    assert store.why(HELLO, HELLO) == [HELLO]
    assert store.why(HELLO, "/nix/store/nope") is None


def test_objects_paging_search_and_resolve(store: NixStore) -> None:
    by_size = _all_objects(store, sort="size")
    assert len(by_size) == 53 and len({r.id for r in by_size}) == 53
    assert by_size[0].path == LIBBAR and by_size[0].nar_size == 525808
    assert [r.nar_size for r in by_size] == sorted((r.nar_size for r in by_size), reverse=True)
    by_name = _all_objects(store)
    assert [r.name for r in by_name] == sorted(r.name for r in by_name)
    assert len(_all_objects(store, drv_only=True)) == 22
    assert len(_all_objects(store, search="stage")) == 10
    assert [r.path for r in _all_objects(store, search="s007w9")] == [HELLO]
    assert store.resolve(HELLO) == [HELLO]
    assert store.resolve("s007w998") == [HELLO]
    assert store.resolve(HELLO + "/some/file") == [HELLO]
    assert store.resolve("hello.txt") == [HELLO]
    # Declared outputs that are not valid are known paths too, listed after valid ones.
    assert store.resolve("pjw9yz0") == [BROKEN_OUT]
    assert store.resolve("broken-0.1") == [
        BROKEN_DRV,
        NEEDS_BROKEN_DRV,
        BROKEN_OUT,
        S + "9wpyh3rb8cqxb282908mq1vnb23c8q6g-needs-broken-0.1",
    ]
    assert store.resolve("no-such-thing") == []


def test_object_index_matches_pages(store: NixStore) -> None:
    for kw in ({"sort": "name"}, {"sort": "size"}, {"search": "stage"}, {"drv_only": True}):
        ids = store.object_ids(**kw)
        rows = _all_objects(store, **kw)
        assert list(ids) == [r.id for r in rows], kw
        assert store.objects_by_ids(list(reversed(ids))) == list(reversed(rows)), kw
    assert store.objects_by_ids([999_999]) == []
    with pytest.raises(ValueError):
        store.object_ids(sort="age")


def test_known_but_absent_paths(store: NixStore) -> None:
    out = store.object_info(BROKEN_OUT)
    assert out is not None and not out.is_object and out.nar_size is None
    assert store.derivers_of(BROKEN_OUT) == (BROKEN_DRV,)
    # A deriver recorded by a copied path, not itself in this store.
    lib = store.object_info(IMPORTED_LIB)
    assert lib is not None and lib.deriver == IMPORTED_LIB_DERIVER and lib.ultimate is False
    deriver = store.object_info(IMPORTED_LIB_DERIVER)
    assert deriver is not None and not deriver.is_object
    assert store.object_info(S + "00000000000000000000000000000000-nothing") is None
    assert store.closure(BROKEN_OUT).count == 0


def test_derivation_outputs_and_derivers(store: NixStore) -> None:
    outs = store.derivation_outputs(LIBFOO_DRV)
    assert [(o.name, o.path, o.present_in_store) for o in outs] == [
        ("dev", LIBFOO_DEV, True),
        ("lib", LIBFOO_LIB, True),
        ("out", LIBFOO, True),
    ]
    assert [(o.name, o.path, o.present_in_store) for o in store.derivation_outputs(BROKEN_DRV)] == [
        ("out", BROKEN_OUT, False)
    ]
    assert store.derivers_of(LIBFOO_DEV) == (LIBFOO_DRV,)
    # Floating CA: no DerivationOutputs rows; the resolved .drv is the deriver.
    assert store.derivers_of(CA_BASE) == ()
    info = store.object_info(CA_BASE)
    assert info is not None and info.deriver == CA_BASE_RESOLVED_DRV
    assert [(o.name, o.path) for o in store.derivation_outputs(CA_TOOL_RESOLVED_DRV)] == [
        ("dev", CA_TOOL_DEV),
        ("out", CA_TOOL),
    ]
    assert store.derivation_outputs(HELLO) == ()
    assert store.derivation_outputs("/nix/store/nope.drv") == ()


# -- realisations -----------------------------------------------------------------------


def _realisation_json(r) -> dict:
    return {
        "id": f"{r.drv_hash.hex}!{r.output_name}",
        "outPath": os.path.basename(r.output_path),
        "dependentRealisations": {
            f"{c.drv_hash.hex}!{c.output_name}": os.path.basename(c.path) for c in r.reference_classes
        },
    }


def test_realisations_match_nix(store: NixStore) -> None:
    expected = json.loads((REALDATA / "expected-realisations.json").read_text())
    assert len(expected) == 7
    for entry in expected:
        drv_hash, output = entry["id"].split("!")
        value = parse_hash(drv_hash)
        for form in (drv_hash, value.sri, value.nix32):
            found = [r for r in store.realizations_for_drv_hash(form) if r.output_name == output]
            assert len(found) == 1, (entry["id"], form)
            got = found[0]
            assert _realisation_json(got) == {k: entry[k] for k in ("id", "outPath", "dependentRealisations")}
            assert got.present_in_store
            names = sorted(s.key_name for s in got.signatures)
            assert names == sorted(sig.split(":")[0] for sig in entry["signatures"])
            assert all(s.status == "trusted" and s.format == "ed25519" and s.count == 1 for s in got.signatures)


def test_realisations_paging_and_by_path(store: NixStore) -> None:
    items = _all_realisations(store)
    assert len(items) == 24
    assert len({(r.drv_hash, r.output_name, r.output_path) for r in items}) == 24
    assert sum(len(r.signatures) for r in items) == 24
    assert all(s.status == "trusted" for r in items for s in r.signatures)
    build_key = next(k for k in ALL_KEYS if k.startswith("nixreal-build-1:")).split(":", 1)[1]
    assert all(s.public_key == build_key for r in items for s in r.signatures)
    # The duplicate RealisationsRefs row (11, 5) counts once.
    (tool,) = [r for r in store.realizations_for_drv_hash(CA_TOOL_HASH) if r.output_name == "out"]
    assert [(c.path, c.output_name) for c in tool.reference_classes] == [(CA_BASE, "out")]
    # A resolved CA derivation: two realisations (instantiated and resolved hashes), one path.
    assert len(store.realizations_for_path(CA_BASE)) == 2
    assert len(store.realizations_for_path(CA_TOOL)) == 2
    assert store.realizations_for_path(HELLO) == ()
    assert len(store.realizations(search="libfoo").items) == 3


# -- signatures and trust ------------------------------------------------------------------


def _path_sig_statuses(store: NixStore) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in _all_objects(store):
        info = store.object_info(row.path)
        assert info is not None
        for sig in info.signatures:
            out.setdefault(sig.key_name or "", []).append(sig.status)
    return out


def _realisation_sig_statuses(store: NixStore) -> list[str]:
    return [s.status for r in _all_realisations(store) for s in r.signatures]


def test_all_signatures_trusted_with_three_keys(store: NixStore) -> None:
    statuses = _path_sig_statuses(store)
    assert sum(len(v) for v in statuses.values()) == 42
    assert {s for v in statuses.values() for s in v} == {"trusted"}
    assert _realisation_sig_statuses(store) == ["trusted"] * 24


def test_known_key_gives_valid_untrusted(db_path: Path) -> None:
    store = _open(
        db_path,
        trusted=_keys("nixreal-build-1.pub", "nixreal-release-1.pub"),
        known=[str(REALDATA / "nixreal-aux-1.pub")],
    )
    try:
        statuses = _path_sig_statuses(store)
        assert set(statuses["nixreal-aux-1"]) == {"valid-untrusted"}
        assert set(statuses["nixreal-build-1"]) == {"trusted"}
        assert set(statuses["nixreal-release-1"]) == {"trusted"}
        assert "known" in store.trust_description()
    finally:
        store.close()


def test_no_keys_gives_unknown_key(db_path: Path) -> None:
    store = _open(db_path, trusted=())
    try:
        statuses = _path_sig_statuses(store)
        assert {s for v in statuses.values() for s in v} == {"unknown-key"}
        assert set(_realisation_sig_statuses(store)) == {"unknown-key"}
        assert all(s.public_key is None for r in _all_realisations(store) for s in r.signatures)
    finally:
        store.close()


def test_a_wrong_key_gives_invalid(db_path: Path) -> None:
    # The aux key's bytes under the build key's name: every build signature fails.
    aux = _keys("nixreal-aux-1.pub")[0].split(":", 1)[1]
    store = _open(db_path, trusted=[f"nixreal-build-1:{aux}"])
    try:
        assert set(_path_sig_statuses(store)["nixreal-build-1"]) == {"invalid"}
        assert set(_realisation_sig_statuses(store)) == {"invalid"}
    finally:
        store.close()


# -- chroot store, builds and logs -----------------------------------------------------------


def test_chroot_root_is_detected(chroot: Path) -> None:
    store = _open(chroot / "nix/var/nix/db/db.sqlite")
    try:
        assert store.store_root == str(chroot)
        assert store.store_dir == "/nix/store"
        assert store.real_store_dir == str(chroot / "nix/store")
        assert store.log_dir == str(chroot / "nix/var/log/nix")
        assert not store.object_info(HELLO).on_disk  # type: ignore[union-attr]
        (chroot / "nix/store" / os.path.basename(HELLO)).write_text("Hello from the nixreal test store!\n")
        assert store.object_info(HELLO).on_disk  # type: ignore[union-attr]
    finally:
        store.close()


def test_failed_build_and_its_log(chroot: Path) -> None:
    store = _open(chroot / "nix/var/nix/db/db.sqlite")
    try:
        page = store.builds()
        assert [b.id for b in page.items] == [BROKEN_DRV] and page.next_key is None
        build = page.items[0]
        assert build.status == "fail" and build.result_count == 1 and build.started_at is None
        assert build.ended_at == os.stat(chroot / BROKEN_LOG_TAIL).st_mtime_ns // 1_000_000
        assert store.builds(status="fail").items == page.items
        assert store.builds(status="success").items == ()
        s = store.summary()
        assert s.builds["fail"] == 1 and s.build_total == 1
        detail = store.build(BROKEN_DRV)
        assert detail is not None and detail.server is None
        (result,) = detail.results
        assert result.drv_path == BROKEN_DRV and result.status == "fail"
        assert [(o.name, o.path, o.present_in_store) for o in result.outputs] == [("out", BROKEN_OUT, False)]
        assert result.log.exists and result.log.compressed
        assert result.log.path == str(chroot / BROKEN_LOG_TAIL)
        expected = (REALDATA / "expected-log-broken.txt").read_bytes()
        with open_log(result.log.path) as handle:
            assert handle.read(0, 1 << 20) == expected
        with store.open_log(BROKEN_DRV) as handle:
            assert handle.size() == len(expected)
            assert handle.read(0, 1 << 20) == expected
        # By base name too, as on the command line.
        assert store.build(os.path.basename(BROKEN_DRV)) is not None
        assert [b.id for b in store.builds_for_path(BROKEN_DRV)] == [BROKEN_DRV]
        assert [b.id for b in store.builds_for_path(BROKEN_OUT)] == [BROKEN_DRV]
        assert store.builds_for_path(HELLO) == ()
    finally:
        store.close()


def test_derivations_without_logs(chroot: Path) -> None:
    store = _open(chroot / "nix/var/nix/db/db.sqlite")
    try:
        # Never started (its dependency failed): no valid output, no log: not a build.
        assert store.build(NEEDS_BROKEN_DRV) is None
        assert store.build("/nix/store/nope.drv") is None
        assert store.build(HELLO) is None
        # Built, but this copy has no log for it: success, and the log says why.
        detail = store.build(LIBFOO_DRV)
        assert detail is not None and detail.build.status == "success"
        (result,) = detail.results
        assert len(result.outputs) == 3 and all(o.present_in_store for o in result.outputs)
        assert not result.log.exists and result.log.reason == NO_LOG_REASON
        assert result.log.path == str(chroot / "nix/var/log/nix/drvs/5w/jfbdi3gfjw9636bhaxf2bkkdgfrh5y-libfoo-2.0.drv.bz2")
        with pytest.raises(Exception, match="no build log"):
            store.open_log(LIBFOO_DRV)
    finally:
        store.close()


def test_builds_follow_new_logs(chroot: Path) -> None:
    store = _open(chroot / "nix/var/nix/db/db.sqlite")
    try:
        assert store.summary().build_total == 1
        # The CA output's log lives under its resolved .drv; a plain (uncompressed) log.
        log = chroot / "nix/var/log/nix/drvs/pr/dyvc609ldzqmk0fqpbg3dylpjkzhar-ca-base-1.0.drv"
        log.parent.mkdir(parents=True)
        log.write_bytes(b"building ca-base\n")
        os.utime(log, ns=(0, 0))
        builds = store.builds().items
        assert [b.id for b in builds] == [BROKEN_DRV, CA_BASE_RESOLVED_DRV]
        assert builds[1].status == "success" and builds[1].ended_at == 0
        assert [b.id for b in store.builds_for_path(CA_BASE)] == [CA_BASE_RESOLVED_DRV]
        first = store.builds(limit=1)
        assert [b.id for b in first.items] == [BROKEN_DRV] and first.next_key is not None
        second = store.builds(limit=1, after=first.next_key)
        assert [b.id for b in second.items] == [CA_BASE_RESOLVED_DRV] and second.next_key is None
        detail = store.build(CA_BASE_RESOLVED_DRV)
        assert detail is not None
        ref = detail.results[0].log
        assert ref.exists and not ref.compressed and ref.size == len(b"building ca-base\n")
        # A log for a .drv this database does not have is not a build.
        stray = chroot / "nix/var/log/nix/drvs/00/000000000000000000000000000000-gone.drv.bz2"
        stray.parent.mkdir(parents=True)
        stray.write_bytes(b"")
        assert store.summary().build_total == 2
    finally:
        store.close()


def test_chroot_nix_conf_is_not_read_by_itself(chroot: Path) -> None:
    conf = chroot / "etc/nix/nix.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("trusted-public-keys = " + " ".join(ALL_KEYS) + "\n")
    db = chroot / "nix/var/nix/db/db.sqlite"
    store = open_store(StoreOptions(db=str(db), env={}))
    try:
        assert isinstance(store, NixStore)
        assert any(str(conf) in w and "--nix-conf" in w for w in store.warnings)
        assert set(_realisation_sig_statuses(store)) == {"unknown-key"}
    finally:
        store.close()
    store = _open(db, trusted=(), nix_conf=[str(conf)])
    try:
        assert set(_realisation_sig_statuses(store)) == {"trusted"}
        assert str(conf) in store.trust_description()
        assert not any("--nix-conf" in w for w in store.warnings)
    finally:
        store.close()


def test_explicit_paths_override_the_root(chroot: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "logs"
    store = _open(chroot / "nix/var/nix/db/db.sqlite", log_dir=str(elsewhere), store_dir=str(tmp_path / "st"))
    try:
        assert store.log_dir == str(elsewhere)
        assert store.real_store_dir == str(tmp_path / "st")
        assert store.builds().items == ()
        detail = store.build(LIBFOO_DRV)
        assert detail is not None and "not found" in (detail.results[0].log.reason or "")
    finally:
        store.close()
    # --store-root for a database that is not in its usual place.
    store = _open(_copy_db(tmp_path / "loose"), store_root=str(chroot))
    try:
        assert store.log_dir == str(chroot / "nix/var/log/nix")
        assert [b.id for b in store.builds().items] == [BROKEN_DRV]
    finally:
        store.close()


# -- read-only ----------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _exercise(store: NixStore) -> None:
    with store.snapshot():
        store.summary()
        for row in _all_objects(store):
            store.object_info(row.path)
            _all(store.references, row.path)
            _all(store.referrers, row.path)
            store.closure(row.path)
            store.realizations_for_path(row.path)
            store.builds_for_path(row.path)
    _all_realisations(store)
    store.why(SYSTEM_ENV, LIBBAR)
    store.builds()
    store.build(BROKEN_DRV)
    store.data_version()


def test_read_only_directory_gets_no_new_files(chroot: Path) -> None:
    db_dir = chroot / "nix/var/nix/db"
    db = db_dir / "db.sqlite"
    before = sorted(os.listdir(db_dir))
    digest = _digest(db)
    os.chmod(db, 0o444)
    os.chmod(db_dir, 0o555)
    try:
        store = _open(db)
        try:
            _exercise(store)
            assert store.summary().build_total == 1
        finally:
            store.close()
        assert sorted(os.listdir(db_dir)) == before
        assert _digest(db) == digest
    finally:
        os.chmod(db_dir, 0o755)
        os.chmod(db, 0o644)


def test_writable_directory_gets_no_new_files_either(db_path: Path) -> None:
    before = sorted(os.listdir(db_path.parent))
    digest = _digest(db_path)
    store = _open(db_path)
    try:
        _exercise(store)
    finally:
        store.close()
    assert sorted(os.listdir(db_path.parent)) == before
    assert _digest(db_path) == digest
    assert stat.S_IMODE(os.stat(db_path).st_mode) & 0o200  # it was writable all along


# -- zbtui query ------------------------------------------------------------------------------


def _query(capsys: pytest.CaptureFixture[str], db: Path, *args: str, keys: bool = True) -> object:
    key_args = [a for k in ALL_KEYS for a in ("--trusted-key", k)] if keys else []
    code = main(["query", *args, "--db", str(db), *key_args, "--nix-conf", os.devnull])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    if args[0] == "log" and "--json" not in args:
        return captured.out
    return json.loads(captured.out)


def test_query_commands(capsys: pytest.CaptureFixture[str], chroot: Path) -> None:
    db = chroot / "nix/var/nix/db/db.sqlite"
    stats = _query(capsys, db, "stats")
    assert isinstance(stats, dict)
    assert (stats["kind"], stats["objects"], stats["drv_objects"], stats["absent_paths"]) == ("nix", 53, 22, 3)
    assert stats["total_nar_size"] == 566952 and stats["realizations"] == 24
    assert stats["builds"]["fail"] == 1 and stats["build_total"] == 1
    assert stats["schema"] == "nix schema 10, ca-schema 3"
    assert stats["real_store_dir"] == str(chroot / "nix/store")

    obj = _query(capsys, db, "object", "s007w998")
    assert isinstance(obj, dict)
    assert obj["path"] == HELLO and obj["nar_size"] == 152
    assert obj["nar_hash_sri"] == "sha256-eewccRK6gA/hF1u2XEKuS1dYvgdgrbGiwk38DLOs7yc="
    assert obj["referrers"] == sorted(_lines("expected-referrers-hello.txt"))
    assert obj["references"] == [] and obj["closure"] == {"count": 1, "nar_size": 152}
    assert obj["content_address"]["method"] == "nar" and obj["ultimate"] is False
    greeting = _query(capsys, db, "object", "ds6fqgyn")
    assert isinstance(greeting, dict)
    assert [s["status"] for s in greeting["signatures"]] == ["trusted", "trusted"]
    assert greeting["deriver"] == S + "6ngf61ibsnx225zzggrgcjsfkqqpsd8r-greeting.drv"
    assert greeting["ultimate"] is True and greeting["registration_time"] % 1000 == 0

    assert obj["derivers"] == [] and obj["derivation_outputs"] is None
    broken = _query(capsys, db, "object", BROKEN_DRV)
    assert isinstance(broken, dict)
    assert broken["derivation_outputs"] == {"out": {"path": BROKEN_OUT, "present": False}}
    absent = _query(capsys, db, "object", BROKEN_OUT)
    assert isinstance(absent, dict)
    assert absent["is_object"] is False and absent["derivers"] == [BROKEN_DRV]

    why = _query(capsys, db, "why", SYSTEM_ENV, LIBBAR)
    assert isinstance(why, dict) and why["chain"][0] == SYSTEM_ENV and why["chain"][-1] == LIBBAR

    reals = _query(capsys, db, "realizations", CA_TOOL)
    assert isinstance(reals, list) and len(reals) == 2
    assert {r["signatures"][0]["status"] for r in reals} == {"trusted"}
    by_hash = _query(capsys, db, "realizations", "--drv-hash", CA_TOOL_HASH)
    assert isinstance(by_hash, list)
    assert sorted(r["output_name"] for r in by_hash) == ["dev", "out"]
    out = next(r for r in by_hash if r["output_name"] == "out")
    assert [c["path"] for c in out["reference_classes"]] == [CA_BASE]

    builds = _query(capsys, db, "builds")
    assert isinstance(builds, list) and [(b["id"], b["status"]) for b in builds] == [(BROKEN_DRV, "fail")]
    build = _query(capsys, db, "build", BROKEN_DRV)
    assert isinstance(build, dict) and build["status"] == "fail"
    (result,) = build["results"]
    assert result["log_exists"] and result["log_path"] == str(chroot / BROKEN_LOG_TAIL)
    assert result["outputs"] == {"out": BROKEN_OUT}

    expected = (REALDATA / "expected-log-broken.txt").read_text()
    assert _query(capsys, db, "log", BROKEN_DRV, BROKEN_DRV) == expected
    log = _query(capsys, db, "log", BROKEN_DRV, BROKEN_DRV, "--json")
    assert isinstance(log, dict) and log["text"] == expected and log["size"] == len(expected)

    server = _query(capsys, db, "server")
    assert isinstance(server, dict) and server["state"] == "none"


def test_query_missing_build_exits_1(capsys: pytest.CaptureFixture[str], chroot: Path) -> None:
    db = chroot / "nix/var/nix/db/db.sqlite"
    assert main(["query", "build", NEEDS_BROKEN_DRV, "--db", str(db), "--nix-conf", os.devnull]) == 1
    assert "no such build" in capsys.readouterr().err
    assert main(["query", "log", LIBFOO_DRV, LIBFOO_DRV, "--db", str(db), "--nix-conf", os.devnull]) == 1
    assert NO_LOG_REASON in capsys.readouterr().err


def test_a_nix_build_with_a_log_counts_as_built(tmp_path):
    """Nix records no builder start; the kept log is the evidence that a builder ran."""
    import shutil

    root = tmp_path / "root"
    db_dir = root / "nix" / "var" / "nix" / "db"
    db_dir.mkdir(parents=True)
    (root / "nix" / "store").mkdir(parents=True)
    for name in ("db.sqlite", "schema", "ca-schema"):
        shutil.copy(REALDATA / name, db_dir / name)
    log_dir = root / "nix" / "var" / "log" / "nix" / "drvs" / "bh"
    log_dir.mkdir(parents=True)
    shutil.copy(REALDATA / "log-sample-bhbz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv.bz2", log_dir / "bz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv.bz2")
    from zbtui.store.open import StoreOptions, open_store

    store = open_store(StoreOptions(db=str(db_dir / "db.sqlite"), env={}))
    detail = store.build("/nix/store/bhbz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv")
    assert detail.results[0].built is True and detail.results[0].log.exists
    store.close()

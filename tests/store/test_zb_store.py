"""The zb store layer on demo stores built to the spec: every query, real values."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys

import apsw
import pytest
from helpers import NOW_MS, open_demo

from zbtui.demo.builder import build_demo_store
from zbtui.store.errors import StoreError
from zbtui.store.formats import nix32_encode
from zbtui.store.models import BuildStatus


def all_pages(fetch, **kwargs):
    items, after = [], None
    while True:
        page = fetch(after=after, **kwargs)
        items.extend(page.items)
        if page.next_key is None:
            return items
        after = page.next_key


def test_store_layer_never_imports_textual():
    code = "import sys, zbtui.store.open, zbtui.store.zb, zbtui.query; print('textual' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_summary_counts(zb_alive, demo_alive):
    facts = demo_alive.facts
    s = zb_alive.summary()
    assert s.kind == "zb"
    assert s.objects == facts["counts"]["objects"]
    assert s.absent_paths == facts["counts"]["paths"] - facts["counts"]["objects"] == len(facts["absent_paths"])
    assert s.realizations == facts["counts"]["realizations"]
    assert s.realizations_absent == len(facts["absent_realization_outputs"])
    assert s.signatures == facts["counts"]["signatures"]
    assert s.signature_keys == facts["counts"]["signature_public_keys"]
    assert s.build_total == facts["builds"]["total"]
    # Heartbeat alive: unfinished builds count as active, none as orphaned.
    assert s.builds["active"] == facts["builds"]["by_status"]["active"]
    assert s.builds["orphaned"] == 0
    assert s.builds["success"] == facts["builds"]["by_status"]["success"]
    assert s.server.state == "alive" and s.server.age_ms == NOW_MS - facts["heartbeat"]
    assert s.store_dir == demo_alive.store_dir
    assert s.db_size == os.path.getsize(demo_alive.db_path)


def test_stale_heartbeat_orphans_every_unfinished_build(zb_stale, demo_stale):
    s = zb_stale.summary()
    assert s.server.state == "stale"
    assert s.builds["orphaned"] == demo_stale.facts["builds"]["by_status"]["active"]
    assert s.builds["active"] == 0
    orphans = {b.id for b in all_pages(zb_stale.builds, status="orphaned")}
    assert set(demo_stale.facts["build_ids"]["orphaned"]) <= orphans
    assert demo_stale.facts["active_build_id"] in orphans
    assert all_pages(zb_stale.builds, status="active") == []


def test_missing_heartbeat_means_no_server(tmp_path):
    demo = build_demo_store(str(tmp_path / "d"), now_ms=NOW_MS, heartbeat="none")
    store = open_demo(demo)
    assert store.server().state == "none"
    detail = store.build(demo.facts["orphaned_build_id"])
    assert detail.build.status == BuildStatus.ORPHANED
    assert any("no zb server is running" in line for line in detail.orphan_evidence)
    store.close()


def test_heartbeat_ages_into_stale_with_time(demo_alive):
    # Same database, a clock 11 s later than the last heartbeat: stale.
    store = open_demo(demo_alive, clock=lambda: demo_alive.facts["heartbeat"] + 10_001)
    assert store.server().state == "stale"
    assert store.server().age_ms == 10_001
    store.close()
    store = open_demo(demo_alive, clock=lambda: demo_alive.facts["heartbeat"] + 9_999)
    assert store.server().state == "alive"
    store.close()


def test_objects_by_name_and_size_page_by_key(zb_alive, demo_alive):
    by_name = all_pages(zb_alive.objects, sort="name", limit=7)
    assert len(by_name) == demo_alive.facts["counts"]["objects"]
    names = [(r.name, r.id) for r in by_name]
    assert names == sorted(names)
    by_size = all_pages(zb_alive.objects, sort="size", limit=5)
    assert [r.id for r in by_size] == [r.id for r in sorted(by_name, key=lambda r: (-r.nar_size, r.id))]
    assert by_size[0].name == "gcc-13.2.0"


def test_objects_search_by_name_digest_and_drv(zb_alive, demo_alive):
    hits = all_pages(zb_alive.objects, search="OpenSSL")
    assert hits and all("openssl" in r.name for r in hits)
    glibc = demo_alive.facts["shared_base"]
    digest = glibc.rsplit("/", 1)[1][:6]
    assert glibc in [r.path for r in all_pages(zb_alive.objects, search=digest)]
    drvs = all_pages(zb_alive.objects, drv_only=True)
    assert drvs and all(r.is_drv for r in drvs)
    assert len(drvs) == zb_alive.summary().drv_objects


def test_object_info_formats(zb_alive, demo_alive):
    path = demo_alive.facts["shared_base"]
    info = zb_alive.object_info(path)
    assert info.is_object and info.on_disk
    # nar_hash is SRI as stored; the nix-base32 form is the same bytes.
    algo, b64 = info.nar_hash.split("-", 1)
    assert algo == "sha256" and info.nar_hash_value.nix32 == "sha256:" + nix32_encode(base64.b64decode(b64))
    assert info.content_address.method == "nar" and info.content_address.is_source
    assert info.referrer_count == demo_alive.facts["shared_base_referrers"]
    missing = demo_alive.facts["not_on_disk"][0]
    assert zb_alive.object_info(missing).on_disk is False
    absent = demo_alive.facts["absent_paths"][0]
    absent_info = zb_alive.object_info(absent)
    assert absent_info.is_object is False and absent_info.nar_size is None
    assert zb_alive.object_info("/nowhere/0000000000000000000000000000000a-x") is None


def test_references_flag_self_reference(zb_alive, demo_alive):
    path = demo_alive.facts["self_reference_path"]
    edges = all_pages(zb_alive.references, path=path)
    assert [e.path for e in edges if e.is_self] == [path]
    chain = demo_alive.facts["chain"]
    bash_refs = {e.path for e in all_pages(zb_alive.references, path=chain[0])}
    assert chain[1] in bash_refs


def test_referrers_page_by_key(zb_alive, demo_alive):
    base = demo_alive.facts["shared_base"]
    edges = all_pages(zb_alive.referrers, path=base, limit=5)
    others = [e for e in edges if not e.is_self]
    assert len(others) == demo_alive.facts["shared_base_referrers"]
    assert len({e.id for e in edges}) == len(edges)


def test_closure_matches_facts(zb_alive, demo_alive):
    for path, expected in demo_alive.facts["closures"].items():
        stats = zb_alive.closure(path)
        assert (stats.count, stats.nar_size) == (expected["count"], expected["nar_size"]), path


def _shortest(store, source, target):
    """Reference BFS over the whole graph, independent of the store's own search."""
    edges = {}
    for row in all_pages(store.objects):
        edges[row.path] = [e.path for e in all_pages(store.references, path=row.path) if not e.is_self]
    frontier, seen = [[source]], {source}
    while frontier:
        nxt = []
        for chain in frontier:
            if chain[-1] == target:
                return len(chain)
            for ref in edges.get(chain[-1], []):
                if ref not in seen:
                    seen.add(ref)
                    nxt.append(chain + [ref])
        frontier = nxt
    return None


def test_why_gives_a_shortest_chain(zb_alive, demo_alive):
    chain = demo_alive.facts["chain"]
    for target in chain[1:]:
        found = zb_alive.why(chain[0], target)
        assert found[0] == chain[0] and found[-1] == target
        for a, b in zip(found, found[1:]):
            assert b in {e.path for e in all_pages(zb_alive.references, path=a)}
        assert len(found) == _shortest(zb_alive, chain[0], target)
    assert zb_alive.why(chain[-1], chain[0]) is None
    assert zb_alive.why(chain[0], chain[0]) == [chain[0]]


def test_resolve_paths(zb_alive, demo_alive):
    path = demo_alive.facts["shared_base"]
    base = path.rsplit("/", 1)[1]
    assert zb_alive.resolve(path) == [path]
    assert zb_alive.resolve(base) == [path]
    assert zb_alive.resolve(base[:10]) == [path]
    assert zb_alive.resolve(path + "/lib/libc.so.6") == [path]
    assert zb_alive.resolve("glibc-2.39")[0] == path


def test_signature_statuses_match_facts(zb_alive, demo_alive):
    counts: dict[str, int] = {}
    for realization in all_pages(zb_alive.realizations, limit=7):
        for sig in realization.signatures:
            counts[sig.status] = counts.get(sig.status, 0) + sig.count
    assert counts == demo_alive.facts["signature_statuses"]
    cases = demo_alive.facts["signature_cases"]
    statuses = lambda p: sorted(s.status for r in zb_alive.realizations_for_path(p) for s in r.signatures)  # noqa: E731
    assert "invalid" in statuses(cases["tampered"])
    assert "unsupported" in statuses(cases["unsupported"])
    assert "malformed" in statuses(cases["malformed"])
    assert statuses(cases["both_keys"]) == ["trusted", "valid-untrusted"]
    dup = [s for r in zb_alive.realizations_for_path(cases["duplicate"]) for s in r.signatures]
    assert max(s.count for s in dup) >= 2


def test_untrusted_store_has_no_trusted_signatures(demo_alive):
    store = open_demo(demo_alive, trusted=False)
    statuses = {s.status for r in all_pages(store.realizations) for s in r.signatures}
    assert "trusted" not in statuses and "valid-untrusted" in statuses
    assert "no trusted keys" in store.trust_description()
    store.close()


def test_realizations_by_drv_hash_list_every_output_path(zb_alive, demo_alive):
    multi = demo_alive.facts["multi_path_realization"]
    found = zb_alive.realizations_for_drv_hash("sha256-" + multi["drv_hash_b64"])
    assert sorted(r.output_path for r in found if r.output_name == multi["output_name"]) == sorted(multi["paths"])
    present = {r.output_path: r.present_in_store for r in found}
    assert present[multi["present"]] is True
    digest = base64.b64decode(multi["drv_hash_b64"])
    assert zb_alive.realizations_for_drv_hash("sha256:" + nix32_encode(digest)) == found
    assert zb_alive.realizations_for_drv_hash("sha256:" + digest.hex()) == found
    with pytest.raises(StoreError):
        zb_alive.realizations_for_drv_hash("nonsense")


def test_reference_classes_are_distinct(zb_alive, demo_alive):
    dup = demo_alive.facts["duplicate_null_reference_class"]
    (realization,) = [r for r in zb_alive.realizations_for_path(dup["referrer"])][:1]
    sources = [c for c in realization.reference_classes if c.path == dup["reference"] and c.drv_hash is None]
    assert len(sources) == 1


def test_builds_newest_first_with_keyset_pages(zb_alive, demo_alive):
    builds = all_pages(zb_alive.builds, limit=4)
    assert len(builds) == demo_alive.facts["builds"]["total"]
    times = [b.ended_at if b.ended_at is not None else b.started_at for b in builds]
    assert times == sorted(times, reverse=True)
    fails = all_pages(zb_alive.builds, status="fail")
    assert sorted(b.id for b in fails) == sorted(demo_alive.facts["build_ids"]["fail"])
    errors = all_pages(zb_alive.builds, status="error")
    assert sorted(b.id for b in errors) == sorted(demo_alive.facts["build_ids"]["error"])
    with pytest.raises(StoreError):
        zb_alive.builds(status="bogus")


def test_build_detail_results_outputs_and_logs(zb_alive, demo_alive):
    facts = demo_alive.facts
    build_id = facts["build_ids"]["fail"][0]
    detail = zb_alive.build(build_id)
    assert detail.build.status == BuildStatus.FAIL
    failed = [r for r in detail.results if r.status == "fail"]
    assert failed and failed[0].built and failed[0].log.exists
    assert failed[0].log.path in facts["log_files"]
    reused = [r for r in detail.results if not r.built and r.status == "success"]
    for result in reused:
        assert not result.log.exists and "reused" in result.log.reason
    assert zb_alive.build("00000000-0000-7000-8000-000000000000") is None
    with pytest.raises(StoreError):
        zb_alive.build("not-a-uuid")


def test_orphaned_build_evidence(zb_stale, demo_stale):
    detail = zb_stale.build(demo_stale.facts["orphaned_build_id"])
    assert detail.build.status == BuildStatus.ORPHANED and detail.build.ended_at is None
    text = "\n".join(detail.orphan_evidence)
    assert "ended_at is NULL" in text
    assert "heartbeat is stale" in text
    assert "left 'active'" in text


def test_builds_for_path(zb_alive, demo_alive):
    hello = demo_alive.facts["packages"]["hello-2.12.1"]
    builds = zb_alive.builds_for_path(hello["outputs"]["out"])
    assert builds
    for build in builds:
        detail = zb_alive.build(build.id)
        assert any(o.path == hello["outputs"]["out"] for r in detail.results for o in r.outputs)


def test_expand_results_parsed(zb_alive, demo_alive):
    detail = zb_alive.build(demo_alive.facts["build_ids"]["expand"])
    assert detail.build.expand_builder and detail.build.expand_args is not None
    assert isinstance(dict(detail.build.expand_env), dict)


def test_pre04_result_has_no_drv_hash(zb_alive, demo_alive):
    detail = zb_alive.build(demo_alive.facts["build_ids"]["pre04"])
    assert any(r.drv_hash is None for r in detail.results)


# -- read-only, for real --------------------------------------------------------


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def test_a_session_leaves_every_file_untouched(demo_fresh):
    files = [demo_fresh.db_path + suffix for suffix in ("", "-wal", "-shm")]
    before = {f: _digest(f) for f in files}
    store = open_demo(demo_fresh)
    with store.snapshot():
        store.summary()
        all_pages(store.objects)
        all_pages(store.realizations)
        for build in all_pages(store.builds):
            store.build(build.id)
    store.data_version()
    store.close()
    assert {f: _digest(f) for f in files} == before
    # A WAL database with no writer attached is read immutable: no -wal or -shm appear.
    assert before[files[1]] is None and before[files[2]] is None


def test_writes_through_the_layer_are_refused(zb_alive):
    with zb_alive.snapshot() as conn:
        for sql in (
            "delete from objects",
            'insert into "references" values (1, 1)',
            "update builds set ended_at = 0",
            "create table t(x)",
            "drop table builds",
            "pragma journal_mode = delete",
            "pragma user_version = 9",
            "attach database ':memory:' as other",
            "vacuum",
        ):
            with pytest.raises((apsw.AuthError, apsw.ReadOnlyError, apsw.SQLError)):
                conn.execute(sql)


def test_live_writer_is_seen_and_checkpoints_are_not_starved(demo_fresh):
    """With a writer attached (WAL mode), the reader sees commits via data_version."""
    writer = apsw.Connection(demo_fresh.db_path)
    writer.execute("pragma journal_mode = wal")
    writer.execute("delete from running_server; insert into running_server values (1)")  # opens the WAL
    store = open_demo(demo_fresh)
    assert not store.db.immutable
    first = store.data_version()
    assert store.data_version() == first
    with writer:
        writer.execute("delete from running_server; insert into running_server values (?)", (NOW_MS,))
    assert store.data_version() != first
    assert store.server().running_as_of == NOW_MS
    # No read transaction is left open between calls: a full checkpoint completes.
    busy, log, checkpointed = writer.execute("pragma wal_checkpoint(TRUNCATE)").fetchall()[0]
    assert busy == 0 and log == checkpointed
    store.close()
    writer.close()


def test_immutable_reader_switches_to_shared_when_a_writer_appears(demo_fresh):
    store = open_demo(demo_fresh)
    assert store.db.immutable
    token = store.data_version()
    writer = apsw.Connection(demo_fresh.db_path)
    with writer:
        writer.execute("delete from running_server; insert into running_server values (?)", (NOW_MS + 5,))
    assert os.path.exists(demo_fresh.db_path + "-wal")
    assert store.data_version() != token
    assert not store.db.immutable
    assert store.server().running_as_of == NOW_MS + 5
    store.close()
    writer.close()


def test_store_dir_option_maps_logical_paths_to_real_files(tmp_path):
    """--store-dir: paths name /opt/zb/store, files live elsewhere (a copied or mounted store)."""
    demo = build_demo_store(str(tmp_path / "d"), now_ms=NOW_MS, logical_store_dir="/opt/zb/store")
    store = open_demo(demo)
    assert store.store_dir == "/opt/zb/store" and store.real_store_dir == demo.store_dir
    assert store.object_info(demo.facts["shared_base"]).on_disk is True
    assert store.object_info(demo.facts["not_on_disk"][0]).on_disk is False
    store.close()
    # Without the mapping nothing is found on disk (this machine has no /opt/zb/store).
    plain = open_demo(demo, store_dir=None)
    assert plain.object_info(demo.facts["shared_base"]).on_disk is os.path.exists(demo.facts["shared_base"])
    plain.close()


def test_immutable_reader_sees_a_writer_that_came_and_went(demo_fresh):
    """A short-lived writer checkpoints its WAL away: the reader must not keep old pages."""
    store = open_demo(demo_fresh)
    assert store.db.immutable
    store.data_version()
    before = store.server().running_as_of
    writer = apsw.Connection(demo_fresh.db_path)
    with writer:
        writer.execute("update running_server set running_as_of = ?", (before + 7,))
    writer.close()  # the last connection checkpoints and removes -wal
    assert not os.path.exists(demo_fresh.db_path + "-wal")
    store.data_version()
    assert store.server().running_as_of == before + 7
    store.close()

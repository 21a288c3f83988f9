"""With a live heartbeat, zb's own server tells running builds from orphans (zb.getBuild)."""

from __future__ import annotations

import os

import pytest
from helpers import open_demo

from zbtui.demo.rpc_server import RpcServer
from zbtui.store.models import BuildStatus
from zbtui.store.rpc import RpcError, ZbRpcClient


@pytest.fixture
def rpc(demo_fresh):
    active = {demo_fresh.facts["active_build_id"]}
    server = RpcServer(os.path.join(os.path.dirname(demo_fresh.db_path), "server.sock"), lambda: active)
    server.start()
    yield server
    server.stop()


def test_client_round_trip_and_read_only_guard(rpc, demo_fresh):
    client = ZbRpcClient(rpc.socket_path)
    assert client.call("zb.nop", {}) is None
    assert client.build_status(demo_fresh.facts["active_build_id"]) == "active"
    assert client.build_status(demo_fresh.facts["orphaned_build_id"]) == "unknown"
    with pytest.raises(ValueError):
        client.call("zb.realize", {})
    with pytest.raises(RpcError):
        ZbRpcClient(rpc.socket_path + ".missing").call("zb.nop", {})


def test_live_server_splits_active_from_orphaned(rpc, demo_fresh):
    store = open_demo(demo_fresh)
    facts = demo_fresh.facts
    summary = store.summary()
    assert summary.server.state == "alive"
    assert summary.builds["active"] == 1
    assert summary.builds["orphaned"] == facts["builds"]["by_status"]["active"] - 1
    assert [b.id for b in store.builds(status="active").items] == [facts["active_build_id"]]
    orphans = {b.id for b in store.builds(status="orphaned").items}
    assert set(facts["build_ids"]["orphaned"]) <= orphans and facts["active_build_id"] not in orphans
    detail = store.build(facts["orphaned_build_id"])
    assert detail.build.status == BuildStatus.ORPHANED
    assert any("does not know this build" in line for line in detail.orphan_evidence)
    store.close()


def test_without_a_socket_a_live_heartbeat_means_active(demo_fresh):
    store = open_demo(demo_fresh)
    assert not store.rpc.available()
    assert store.summary().builds["orphaned"] == 0
    store.close()


def test_simulated_server_answers_for_its_own_build(demo_fresh):
    from zbtui.demo.live import SimulatedServer

    with SimulatedServer(demo_fresh, heartbeat_s=0.05, new_build_s=0.05, line_interval_s=0.02, seed=3) as server:
        assert server.rpc is not None
        client = ZbRpcClient(server.rpc.socket_path)
        assert client.build_status(demo_fresh.facts["orphaned_build_id"]) == "unknown"
    assert not os.path.exists(server.rpc.socket_path)

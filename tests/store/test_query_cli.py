"""``zbtui query``: every subcommand's JSON, and one-line errors with exit codes."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from zbtui.__main__ import main


@pytest.fixture
def run(demo_stale, capsys, monkeypatch):
    """Run ``zbtui query`` against the stale demo store; return (code, stdout, stderr)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    monkeypatch.setenv("XDG_CONFIG_DIRS", "/nonexistent")
    monkeypatch.delenv("ZB_CONFIG_FILE", raising=False)
    monkeypatch.delenv("ZB_STORE_DIR", raising=False)

    def invoke(*args: str, trusted: bool = True, db: str | None = None):
        argv = ["query", *args, "--db", db or demo_stale.db_path, "--log-dir", demo_stale.log_dir]
        if trusted:
            argv += ["--trusted-key", f"ed25519:{demo_stale.trusted_key_b64}"]
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def as_json(text: str):
    return json.loads(text)


def test_stats(run, demo_stale):
    code, out, err = run("stats")
    assert code == 0 and err == ""
    stats = as_json(out)
    assert stats["objects"] == demo_stale.facts["counts"]["objects"]
    assert stats["builds"]["orphaned"] == demo_stale.facts["builds"]["by_status"]["active"]
    assert stats["server"]["state"] == "stale"
    assert stats["trust"].startswith("1 trusted key")


def test_objects_search_sort_limit(run):
    code, out, _ = run("objects", "--search", "ssl", "--sort", "size", "--limit", "3")
    rows = as_json(out)
    assert code == 0 and 0 < len(rows) <= 3
    assert all("ssl" in r["name"] for r in rows)
    assert [r["nar_size"] for r in rows] == sorted((r["nar_size"] for r in rows), reverse=True)


def test_object(run, demo_stale):
    path = demo_stale.facts["self_reference_path"]
    code, out, _ = run("object", path)
    obj = as_json(out)
    assert code == 0
    assert obj["path"] == path and obj["self_reference"] is True and path in obj["references"]
    assert obj["nar_hash"].startswith("sha256-") and obj["nar_hash_nix32"].startswith("sha256:")
    assert obj["on_disk"] is True
    assert len([r for r in obj["referrers"] if r != path]) == demo_stale.facts["shared_base_referrers"]
    assert set(obj["closure"]) == {"count", "nar_size"}
    hello = next(iter(demo_stale.facts["closures"]))
    obj = as_json(run("object", hello)[1])
    assert obj["closure"] == demo_stale.facts["closures"][hello]


def test_why(run, demo_stale):
    chain = demo_stale.facts["chain"]
    code, out, _ = run("why", chain[0], chain[1])
    assert code == 0 and as_json(out)["chain"] == chain[:2]
    code, out, _ = run("why", chain[-1], chain[0])
    assert code == 0 and as_json(out)["chain"] is None


def test_realizations_every_status(run, demo_stale):
    cases = demo_stale.facts["signature_cases"]
    expected = {"tampered": "invalid", "unsupported": "unsupported", "malformed": "malformed", "untrusted_only": "valid-untrusted"}
    for case, status in expected.items():
        code, out, _ = run("realizations", cases[case])
        assert code == 0
        statuses = {s["status"] for r in as_json(out) for s in r["signatures"]}
        assert status in statuses, case
    code, out, _ = run("realizations", cases["both_keys"])
    assert sorted(s["status"] for r in as_json(out) for s in r["signatures"]) == ["trusted", "valid-untrusted"]
    multi = demo_stale.facts["multi_path_realization"]
    code, out, _ = run("realizations", "--drv-hash", "sha256-" + multi["drv_hash_b64"])
    found = as_json(out)
    assert sorted(r["output_path"] for r in found) == sorted(multi["paths"])
    assert {r["output_path"]: r["present_in_store"] for r in found}[multi["present"]] is True
    assert all(isinstance(r["reference_classes"], list) for r in found)


def test_builds_and_build(run, demo_stale):
    code, out, _ = run("builds", "--status", "orphaned")
    orphans = as_json(out)
    assert code == 0 and {b["status"] for b in orphans} == {"orphaned"}
    assert set(demo_stale.facts["build_ids"]["orphaned"]) <= {b["id"] for b in orphans}
    code, out, _ = run("builds", "--limit", "5")
    assert len(as_json(out)) == 5
    code, out, _ = run("build", demo_stale.facts["orphaned_build_id"])
    build = as_json(out)
    assert build["status"] == "orphaned" and build["ended_at"] is None
    assert any(r["status"] == "active" for r in build["results"])
    assert build["orphan_evidence"]
    for result in build["results"]:
        assert set(result["outputs"]).issubset({"out", "dev", "lib", "bin", "man", "doc"}) or result["outputs"]


def test_log_plain_tail_and_json(run, demo_stale):
    code, out, _ = run("build", demo_stale.facts["build_ids"]["fail"][0])
    failed = next(r for r in as_json(out)["results"] if r["status"] == "fail")
    with open(failed["log_path"], "rb") as handle:
        raw = handle.read()
    code, out, _ = run("log", demo_stale.facts["build_ids"]["fail"][0], failed["drv_path"])
    assert code == 0 and out.rstrip("\n").endswith(raw.decode(errors="replace").rstrip("\n").splitlines()[-1])
    code, out, _ = run("log", demo_stale.facts["build_ids"]["fail"][0], failed["drv_path"], "--tail", "20", "--json")
    data = as_json(out)
    assert data["size"] == len(raw) and data["offset"] == len(raw) - 20


def test_hostile_log_is_inert(run, demo_stale):
    hostile = demo_stale.facts["hostile_log"]
    build_id = hostile.split("/")[-2]
    detail = as_json(run("build", build_id)[1])
    result = next(r for r in detail["results"] if r["log_path"] == hostile)
    code, out, _ = run("log", build_id, result["drv_path"])
    assert code == 0
    for bad in ("\x1b]", "\x07", "\x1bP", "\x1b[2J", "\x1b[H", "\x9b", "\x9d"):
        assert bad not in out
    for index, char in enumerate(out):
        if char == "\x1b":
            assert out[index + 1] == "["  # only SGR survives


def test_server(run):
    code, out, _ = run("server")
    assert code == 0 and as_json(out)["state"] == "stale"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("object", "/opt/zb/store/00000000000000000000000000000000-nothing"), "no such path"),
        (("build", "00000000-0000-7000-8000-000000000000"), "no such build"),
        (("build", "not-a-uuid"), "not a build id"),
        (("realizations", "--drv-hash", "garbage"), "not a derivation hash"),
        (("builds", "--status", "orphaned"), None),
    ],
)
def test_not_found_is_one_line_exit_1(run, args, needle):
    code, out, err = run(*args)
    if needle is None:
        assert code == 0
        return
    assert code == 1 and out == "" and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_databases_are_one_line_errors(run, tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    text = tmp_path / "text.sqlite"
    text.write_text("hello, not a database\n" * 10)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("create table t(x)")
    cases = {
        str(tmp_path / "missing.sqlite"): "no such file",
        str(tmp_path): "is a directory",
        str(empty): "empty file",
        str(text): "not a SQLite database",
        str(other): "not a zb or Nix store database",
    }
    for db, needle in cases.items():
        code, out, err = run("stats", db=db)
        assert code == 1 and needle in err and err.count("\n") == 1 and "Traceback" not in err, db
    assert not os.path.exists(tmp_path / "missing.sqlite")


def test_old_and_new_schema_versions(run, demo_fresh, tmp_path):
    import shutil

    import apsw

    for version, expect_code in ((4, 1), (6, 0)):
        copy = tmp_path / f"v{version}.sqlite"
        shutil.copy(demo_fresh.db_path, copy)
        conn = apsw.Connection(str(copy))
        conn.execute(f"pragma user_version = {version}")
        conn.close()
        code, out, err = run("stats", db=str(copy))
        assert code == expect_code, err
        if version == 4:
            assert "older than 5" in err
        else:
            assert "newer than 5" in err and as_json(out)["objects"] > 0


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["query", "objects", "--limit", "-3"])
    assert exc.value.code == 2


def test_an_exact_name_resolves_and_an_ambiguous_one_says_which(run, demo_stale):
    bash = demo_stale.facts["chain"][0]
    code, out, _ = run("object", bash.rsplit("-", 1)[0].split("-", 1)[1] + "-" + bash.rsplit("-", 1)[1])
    assert code == 0 and as_json(out)["path"] == bash  # "bash-5.2p26", not bash-5.2p26.drv
    code, out, err = run("object", "hello-2.12.1")  # two paths carry exactly this name
    assert code == 1 and "ambiguous" in err and err.count("/") >= 2

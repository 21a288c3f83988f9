"""How much does a browsing zbtui slow down a writing zb server?

Usage::

    python benchmarks/live_writer.py                 # 3 rounds of 10 s each way
    python benchmarks/live_writer.py --seconds 20 --rounds 5 --json out.json

Each round runs the same writer three times, each on a fresh demo store:
alone; while zbtui runs (headless, in this process, on its live Builds view,
probing for changes every ``--probe`` seconds); and while zbtui runs and a
second process pages through every object with the store layer, back to back
(a worst case: a user holding Page Down). The order rotates between rounds,
so that a drift in machine load does not favour one side. ``--pin`` runs the
writer on CPU 0 and every reader on the other CPUs, to separate interference
through SQLite (locks, WAL, checkpoints) from competition for CPU time.

The writer is ``tests/reliability/live_procs.py writer``: the demo's
simulated ``zb serve`` (heartbeat every second, builds step by step, each in
its own ``BEGIN IMMEDIATE``) plus an importer registering objects and
realizations, with automatic WAL checkpoints. Its commit latency is timed from
``BEGIN IMMEDIATE`` to the end of ``COMMIT`` (checkpoint included when one is
due, as SQLite's auto-checkpoint runs inside COMMIT).

Reported: p50 and p99 commit latency alone and with the browser, their
ratios (target: at most 1.2x), writer errors (SQLITE_BUSY counted apart),
browser errors, checkpoints and the largest WAL. Nothing is asserted:
timings on a shared machine are for reading, not for failing a build.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")
RELIABILITY = os.path.join(TESTS, "reliability")
sys.path[:0] = [RELIABILITY, TESTS]

from live_procs import demo_spec  # noqa: E402

from zbtui.demo.builder import build_demo_store  # noqa: E402

PROCS = os.path.join(RELIABILITY, "live_procs.py")
NOW_MS = 1_795_440_000_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


PIN: dict[str, set[int]] = {}
"""CPU sets by role when --pin is given."""


def spawn(role: str, spec: dict[str, Any], workdir: str) -> tuple[subprocess.Popen[str], str]:
    spec_path = os.path.join(workdir, f"{role}-spec.json")
    out_path = os.path.join(workdir, f"{role}.json")
    with open(spec_path, "w") as handle:
        json.dump(spec, handle)
    cpus = PIN.get(role)
    proc = subprocess.Popen(
        [sys.executable, PROCS, role, spec_path, out_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    return proc, out_path


def collect(proc: subprocess.Popen[str], out_path: str) -> dict[str, Any]:
    proc.wait(timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read() if proc.stderr else "failed")
    with open(out_path) as handle:
        return json.load(handle)


def fresh_demo(workdir: str, name: str):
    demo = build_demo_store(os.path.join(workdir, name), now_ms=NOW_MS, heartbeat="none")
    import apsw

    # zb's database is in WAL mode with its -wal open while it runs.
    conn = apsw.Connection(demo.db_path)
    conn.execute("pragma journal_mode = wal")
    conn.close()
    return demo


def run_alone(workdir: str, seconds: float) -> dict[str, Any]:
    demo = fresh_demo(workdir, "alone")
    writer, out = spawn("writer", demo_spec(demo, time.time() + 1.5 + seconds), workdir)
    return {"writer": collect(writer, out)}


def run_with_browser(workdir: str, seconds: float, probe: float, *, pager: bool) -> dict[str, Any]:
    from zbtui.app import ZbtuiApp
    from zbtui.store.open import StoreOptions, open_store

    demo = fresh_demo(workdir, "browsing")
    store = open_store(StoreOptions(db=demo.db_path, log_dir=demo.log_dir, store_dir=demo.store_dir, env={}))
    notes: list[tuple[str, str]] = []

    class App(ZbtuiApp):
        def notify(self, message, *, title="", severity="information", timeout=None, markup=True):  # type: ignore[override]
            notes.append((str(severity), str(message)))
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    app = App(store, theme="textual-dark", watch_interval=probe)
    result: dict[str, Any] = {}

    async def browse() -> None:
        async with app.run_test(size=(140, 40)) as pilot:
            app.show_section("builds")
            await pilot.pause()
            # The same writing time as alone, counted once the browser is up.
            deadline = time.time() + 1.5 + seconds
            spec = demo_spec(demo, deadline)
            writer, writer_out = spawn("writer", spec, workdir)
            paging = spawn("pager", spec, workdir) if pager else None
            while time.time() < deadline + 0.5:
                await asyncio.sleep(0.1)
            result["writer"] = await asyncio.to_thread(collect, writer, writer_out)
            if paging is not None:
                result["pager"] = await asyncio.to_thread(collect, *paging)
            result["builds_shown"] = len(getattr(app.screen, "builds", ()))

    asyncio.run(browse())
    store.close()
    result["browser_errors"] = [m for s, m in notes if s == "error"]
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    latencies: list[float] = []
    for run in runs:
        for values in run["writer"]["latencies_ms"].values():
            latencies.extend(values)
    writer = [run["writer"] for run in runs]
    return {
        "commits": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
        "writer_errors": sum(len(w["errors"]) for w in writer),
        "writer_busy": sum(w["busy"] for w in writer),
        "checkpoints": sum(w["checkpoints"] for w in writer),
        "checkpoints_complete": sum(w["checkpoints_complete"] for w in writer),
        "max_wal_kib": max(w["max_wal_bytes"] for w in writer) / 1024,
        "builds_finished": sum(w["builds_finished"] for w in writer),
        "browser_errors": sum(len(run.get("browser_errors", ())) for run in runs),
        "pager_pages": sum(run.get("pager", {}).get("pages", 0) for run in runs),
        "pager_errors": sum(len(run.get("pager", {}).get("errors", ())) for run in runs),
    }


CONDITIONS = ("alone", "browser", "browser+pager")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="writing time per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three conditions, order rotating")
    parser.add_argument("--probe", type=float, default=1.0, help="the app's change probe interval (default: the app's 1 s)")
    parser.add_argument("--pin", action="store_true", help="writer on CPU 0, readers on the others")
    parser.add_argument("--json", metavar="FILE", help="also write every figure here")
    args = parser.parse_args(argv)
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least 2 CPUs")
        PIN["writer"] = {cpus[0]}
        PIN["pager"] = set(cpus[1:])
        os.sched_setaffinity(0, set(cpus[1:]))  # the browser runs in this process
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONDITIONS}
    with tempfile.TemporaryDirectory(prefix="zbtui-live-bench-") as workdir:
        for round_number in range(args.rounds):
            order = CONDITIONS[round_number % 3 :] + CONDITIONS[: round_number % 3]
            for which in order:
                run_dir = os.path.join(workdir, f"r{round_number}-{which}")
                os.makedirs(run_dir)
                if which == "alone":
                    runs[which].append(run_alone(run_dir, args.seconds))
                else:
                    runs[which].append(run_with_browser(run_dir, args.seconds, args.probe, pager=which == "browser+pager"))
                print(f"round {round_number + 1}/{args.rounds}: {which} done", file=sys.stderr)
    summary = {c: summarize(runs[c]) for c in CONDITIONS}
    base = summary["alone"]
    report: dict[str, Any] = {
        "seconds": args.seconds,
        "rounds": args.rounds,
        "probe_s": args.probe,
        "pinned": args.pin,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        **summary,
    }
    for c in CONDITIONS[1:]:
        report[c]["p50_ratio"] = summary[c]["p50_ms"] / base["p50_ms"]
        report[c]["p99_ratio"] = summary[c]["p99_ms"] / base["p99_ms"]
    print(f"{'commit latency':<22}{'p50 ms':>9}{'p99 ms':>9}{'p50 x':>8}{'p99 x':>8}{'commits':>9}")
    for c in CONDITIONS:
        r = report[c]
        ratios = f"{r['p50_ratio']:>8.2f}{r['p99_ratio']:>8.2f}" if c != "alone" else f"{'':>8}{'':>8}"
        print(f"{c:<22}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{ratios}{r['commits']:>9}")
    print("target: at most 1.2x")
    errors = sum(summary[c]["writer_errors"] for c in CONDITIONS)
    busy = sum(summary[c]["writer_busy"] for c in CONDITIONS)
    browsing = [summary[c] for c in CONDITIONS[1:]]
    print(
        f"writer errors {errors} (SQLITE_BUSY {busy}), "
        f"browser errors {sum(b['browser_errors'] for b in browsing)}, "
        f"pager errors {summary['browser+pager']['pager_errors']} ({summary['browser+pager']['pager_pages']} pages), "
        f"checkpoints complete {sum(b['checkpoints_complete'] for b in browsing)}/{sum(b['checkpoints'] for b in browsing)} "
        f"while browsing, max WAL {max(summary[c]['max_wal_kib'] for c in CONDITIONS):.0f} KiB"
    )
    print(f"machine: {report['cpus']} CPUs{' (pinned)' if args.pin else ''}, load average {report['load_average'][0]:.2f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

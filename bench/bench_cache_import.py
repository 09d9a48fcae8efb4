#!/usr/bin/env python3
"""Importing an organisation over XML-RPC: our models against a plain copy (issue 11).

    flock /tmp/sqs-test.lock .venv/bin/python bench/bench_cache_import.py [--reps 5]

An integrator loads 1,000 units and 2,000 counters with batched `create` calls (100
records a call) and, smaller, one record a call. Ours: service.org.unit and
service.evaluation.counter (service.cache.mixin, constraints, chatter). Baseline: the
same import of sqs.bench.unit / sqs.bench.counter (bench/addons/sqs_bench_cache: same
shape, chatter and unique codes, no mixin), in the same run, alternating. Target: the
median of ours at most 2x the median of the baseline. Also measured: the first read of
a user after a keypad LOGIN against after a heartbeat (the LOGIN opens a shift).
Writes its section of bench/RESULTS.md. The database and server come from
bench_device_api.py (sqs_bench, 2 workers).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import xmlrpc.client
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_device_api as bda

TARGET_RATIO = 2.0
UNITS, COUNTERS, PER_CALL = 1000, 2000, 100
ONE_BY_ONE_UNITS, ONE_BY_ONE_COUNTERS = 100, 200
MODELS = {
    "ours": ("service.org.unit", "service.evaluation.counter"),
    "bare": ("sqs.bench.unit", "sqs.bench.counter"),
}


class Rpc:
    def __init__(self, port: int, key: str):
        self.object = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/object")
        self.uid = xmlrpc.client.ServerProxy(
            f"http://127.0.0.1:{port}/xmlrpc/2/common"
        ).authenticate(bda.DB, "admin", key, {})
        self.key = key

    def __call__(self, model: str, method: str, *args, **kwargs):
        return self.object.execute_kw(bda.DB, self.uid, self.key, model, method, list(args), kwargs)


def import_tree(rpc: Rpc, kind: str, tag: str, units: int, counters: int, per_call: int) -> float:
    """Seconds to create `units` units below a root and `counters` counters on them."""
    unit_model, counter_model = MODELS[kind]
    root = rpc(unit_model, "create", [{"name": f"Root {tag}", "code": f"R-{tag}"}])[0]
    started = time.perf_counter()
    unit_ids = []
    for first in range(0, units, per_call):
        vals = [
            {"name": f"Unit {tag} {i}", "code": f"U-{tag}-{i}", "parent_id": root}
            for i in range(first, min(first + per_call, units))
        ]
        unit_ids += rpc(unit_model, "create", vals)
    for first in range(0, counters, per_call):
        vals = [
            {"name": f"Counter {i}", "code": f"C-{tag}-{i}", "outlet_id": unit_ids[i % units]}
            for i in range(first, min(first + per_call, counters))
        ]
        rpc(counter_model, "create", vals)
    return time.perf_counter() - started


def first_reads(server: bda.Server, rpc: Rpc, setup: dict, rounds: int) -> dict:
    """ms of a user's first read after a keypad heartbeat, and after a LOGIN/LOGOUT."""
    device = bda.Client(server.port, setup["device_key"])
    serial = setup["serials"][0]
    seconds = {"heartbeat": [], "login": []}
    for k in range(rounds):
        for kind in ("heartbeat", "login"):
            event = {"id": f"fr-{time.time_ns()}", "device": serial, "type": kind,
                     "time": bda.device_iso(datetime.now(timezone.utc))}  # fmt: skip
            if kind == "login" and k % 2:  # every other round ends the shift instead
                event["type"] = "logout"
            elif kind == "login":
                event["employee"] = "SQSB-1001"
            device.call(bda.EVENT_ROUTE, {"events": [event]})
            time.sleep(0.3)  # the signal reaches the database after the commit
            started = time.perf_counter()
            # Two calls: with 2 workers, at least one of them reaches the other worker.
            for _ in range(2):
                rpc("service.evaluation.session", "search_read", [], ["state"], limit=20)
            seconds[kind].append((time.perf_counter() - started) / 2)
    device.close()
    return {kind: statistics.median(values) * 1000 for kind, values in seconds.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each import")
    parser.add_argument("--output", type=Path, default=bda.ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--addons-rev", help="measure addons/ as of this git revision (e.g. a 'before' run)"
    )
    args = parser.parse_args()

    snap, code = bda.snapshot_addons()
    if args.addons_rev:
        shutil.rmtree(snap / "addons")
        archive = subprocess.run(
            ["git", "archive", args.addons_rev, "addons"], cwd=bda.ROOT, capture_output=True,
            check=True,
        )  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(snap)], input=archive.stdout, check=True)
        code = {"commit": f"{args.addons_rev} (addons/ only)", "dirty": 0}
    load_start = bda.loadavg()
    bda.log("creating the database")
    bda.create_database()
    result = bda.run_cmd(
        [str(bda.ROOT / "scripts" / "odoo.sh"), "-d", bda.DB, "-i", "sqs_bench_cache",
         "--stop-after-init", "--no-http", "--log-level=warn", bda.ADDONS_PATH],
        timeout=600,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"installing sqs_bench_cache failed:\n{result.stdout[-3000:]}")
    setup = bda.setup_data()
    times = {(kind, mode): [] for kind in MODELS for mode in ("batch", "single")}
    with bda.Server(workers=2) as server:
        rpc = Rpc(server.port, setup["admin_key"])
        for kind in MODELS:  # warm-up, not measured
            import_tree(rpc, kind, f"w{kind}", 100, 100, PER_CALL)
        for rep in range(args.reps):
            order = list(MODELS) if rep % 2 == 0 else list(reversed(MODELS))
            for kind in order:
                seconds = import_tree(rpc, kind, f"b{rep}{kind}", UNITS, COUNTERS, PER_CALL)
                times[kind, "batch"].append(seconds)
                bda.log(f"rep {rep} {kind} batch: {seconds:.2f} s")
            for kind in order:
                seconds = import_tree(
                    rpc, kind, f"s{rep}{kind}", ONE_BY_ONE_UNITS, ONE_BY_ONE_COUNTERS, 1
                )
                times[kind, "single"].append(seconds)
                bda.log(f"rep {rep} {kind} one by one: {seconds:.2f} s")
        reads = first_reads(server, rpc, setup, rounds=10)
    machine = bda.machine_info()
    load_end = bda.loadavg()

    med = {key: statistics.median(values) for key, values in times.items()}
    ratios = {mode: med["ours", mode] / med["bare", mode] for mode in ("batch", "single")}
    verdict = "PASS" if max(ratios.values()) <= TARGET_RATIO else "FAIL"

    def runs(key):
        return ", ".join(f"{s:.2f}" for s in times[key])

    def row(label, mode, records=None):
        cells = [label]
        for kind in ("ours", "bare"):
            cell = f"{med[kind, mode]:.2f}"
            if records:
                cell += f" ({med[kind, mode] / records * 1000:.0f} ms/record)"
            cells.append(cell)
        cells += [f"{ratios[mode]:.2f}x", f"<= {TARGET_RATIO:.0f}x"]
        return "| " + " | ".join(cells) + " |"

    m = machine
    lines = [
        "## Importing an organisation over XML-RPC (cache invalidation, issue 11)",
        "",
        "- Command: `flock /tmp/sqs-test.lock .venv/bin/python bench/bench_cache_import.py"
        f" --reps {args.reps}`",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, PostgreSQL {m['pg']},"
        f" Odoo {m['odoo']}, Python {m['python']}; load average {load_start} at start,"
        f" {load_end} at end",
        f"- Code measured: HEAD `{code['commit']}`, {code['dirty']} uncommitted paths under"
        " addons/",
        "- Server: `sqs_bench` with 2 workers; the admin imports with an API key over"
        " `/xmlrpc/2/object`.",
        "- Ours: `service.org.unit` + `service.evaluation.counter`; baseline: `sqs.bench.unit`"
        " + `sqs.bench.counter` (same shape, chatter, parent store and unique codes, no"
        f" `service.cache.mixin`). Alternating ABBA, {args.reps} repetitions, after one"
        " warm-up import each.",
        "",
        "| Import | ours (median s) | baseline (median s) | ratio | target |",
        "|---|---|---|---|---|",
        row(f"{UNITS:,} units + {COUNTERS:,} counters, {PER_CALL} per `create`", "batch"),
        row(
            f"{ONE_BY_ONE_UNITS} units + {ONE_BY_ONE_COUNTERS} counters, one per `create`",
            "single",
            ONE_BY_ONE_UNITS + ONE_BY_ONE_COUNTERS,
        ),
        "",
        f"- Runs (s): ours batch {runs(('ours', 'batch'))}; baseline batch"
        f" {runs(('bare', 'batch'))}; ours one by one {runs(('ours', 'single'))}; baseline"
        f" one by one {runs(('bare', 'single'))}.",
        "- First `search_read` of 20 sessions by the admin (mean of two calls, so both"
        " workers answer; median of 10 rounds):"
        f" {reads['heartbeat']:.0f} ms after a keypad heartbeat,"
        f" {reads['login']:.0f} ms after a keypad LOGIN or LOGOUT.",
        f"- Result: **{verdict}**",
    ]
    body = "\n".join(lines) + "\n"
    bda.write_results_section(args.output, "cache-import", body)
    print(body)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())

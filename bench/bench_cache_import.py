#!/usr/bin/env python3
"""Importing an organisation over XML-RPC: our models against a plain copy (issue 11).

    flock /tmp/sqs-test.lock .venv/bin/python bench/bench_cache_import.py [--reps 5]

An integrator loads 1,000 units and 2,000 counters with batched `create` calls (100
records a call) and, smaller, one record a call. Ours: service.org.unit and
service.evaluation.counter (service.cache.mixin, constraints, chatter). Baseline: the same
import of sqs.bench.unit / sqs.bench.counter (bench/addons/sqs_bench_cache: same shape,
chatter and unique codes, no mixin), in the same run, alternating. Target: the median of
ours at most 2x the median of the baseline. Also measured: a user's first read after a
keypad LOGIN against after a heartbeat (the LOGIN opens a shift). Database
`sqs_bench_cache` (recreated), Odoo with 2 workers.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import time
import xmlrpc.client
from datetime import datetime, timezone

import harness as h

h.DB = "sqs_bench_cache"  # its own database: sqs_bench keeps the device bench's history
TARGET_RATIO = 2.0
UNITS, COUNTERS, PER_CALL = 1000, 2000, 100
ONE_BY_ONE_UNITS, ONE_BY_ONE_COUNTERS = 100, 200
SIZES = {  # mode: units, counters, records per call
    "batch": (UNITS, COUNTERS, PER_CALL),
    "single": (ONE_BY_ONE_UNITS, ONE_BY_ONE_COUNTERS, 1),
}
MODELS = {
    "ours": ("service.org.unit", "service.evaluation.counter"),
    "bare": ("sqs.bench.unit", "sqs.bench.counter"),
}


class Rpc:
    def __init__(self, port: int, key: str):
        url = f"http://127.0.0.1:{port}/xmlrpc/2"
        self.object = xmlrpc.client.ServerProxy(f"{url}/object")
        self.uid = xmlrpc.client.ServerProxy(f"{url}/common").authenticate(h.DB, "admin", key, {})
        self.key = key

    def __call__(self, model: str, method: str, *args, **kwargs):
        return self.object.execute_kw(h.DB, self.uid, self.key, model, method, list(args), kwargs)


def import_tree(rpc: Rpc, kind: str, tag: str, units: int, counters: int, per_call: int) -> float:
    """Seconds to create `units` units below a root and `counters` counters on them."""
    unit_model, counter_model = MODELS[kind]
    root = rpc(unit_model, "create", [{"name": f"Root {tag}", "code": f"R-{tag}"}])[0]
    started = time.perf_counter()
    unit_ids = []
    for first in range(0, units, per_call):
        unit_ids += rpc(unit_model, "create", [
            {"name": f"Unit {tag} {i}", "code": f"U-{tag}-{i}", "parent_id": root}
            for i in range(first, min(first + per_call, units))])  # fmt: skip
    for first in range(0, counters, per_call):
        rpc(counter_model, "create", [
            {"name": f"Counter {i}", "code": f"C-{tag}-{i}", "outlet_id": unit_ids[i % units]}
            for i in range(first, min(first + per_call, counters))])  # fmt: skip
    return time.perf_counter() - started


def first_reads(server: h.Server, rpc: Rpc, setup: dict, rounds: int) -> dict:
    """ms of a user's first read after a keypad heartbeat, and after a LOGIN/LOGOUT."""
    device = h.Client(server.port, setup["device_key"])
    seconds = {"heartbeat": [], "login": []}
    for k in range(rounds):
        for kind in ("heartbeat", "login"):
            event = {"id": f"fr-{time.time_ns()}", "device": setup["serials"][0], "type": kind,
                     "time": h.device_iso(datetime.now(timezone.utc))}  # fmt: skip
            if kind == "login" and k % 2:  # every other round ends the shift instead
                event["type"] = "logout"
            elif kind == "login":
                event["employee"] = "SQSB-1001"
            device.call(h.EVENT_ROUTE, {"events": [event]})
            time.sleep(0.3)  # the signal reaches the database after the commit
            started = time.perf_counter()
            # Two calls: with 2 workers, at least one of them reaches the other worker.
            for _ in range(2):
                rpc("service.evaluation.session", "search_read", [], ["state"], limit=20)
            seconds[kind].append((time.perf_counter() - started) / 2)
    device.close()
    return {kind: h.median(values) * 1000 for kind, values in seconds.items()}


def run(args) -> tuple[str, bool]:
    reps = 1 if args.quick else args.reps
    started_at, machine = datetime.now().astimezone(), h.machine_info()
    snap, code = h.snapshot()
    if args.addons_rev:  # measure addons/ as of a git revision (a "before" run)
        shutil.rmtree(snap / "addons")
        archive = ["git", "archive", args.addons_rev, "addons"]
        tar = subprocess.run(archive, cwd=h.ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(snap)], input=tar, check=True)
        code = {"commit": f"{args.addons_rev} (addons/ only)", "dirty": 0}
    times = {(kind, mode): [] for kind in MODELS for mode in SIZES}
    try:
        h.prepare_database((*h.BASE_MODULES, "sqs_bench_cache"))
        serials = [f"SQSB-KP-{i:03d}" for i in range(100)]  # as bench_device_api.py
        setup = h.setup_keypads("SQSB", serials, "SQSB-1001", "sqs.bench.device")
        with h.Server(workers=2) as server:
            rpc = Rpc(server.port, setup["admin_key"])
            for kind in MODELS:  # warm-up, not measured
                import_tree(rpc, kind, f"w{kind}", 100, 100, PER_CALL)
            for rep in range(reps):
                order = list(MODELS) if rep % 2 == 0 else list(reversed(MODELS))
                for (mode, size), kind in itertools.product(SIZES.items(), order):
                    seconds = import_tree(rpc, kind, f"{mode[0]}{rep}{kind}", *size)
                    times[kind, mode].append(seconds)
                    h.log(f"rep {rep} {kind} {mode}: {seconds:.2f} s")
            reads = first_reads(server, rpc, setup, rounds=10)
    finally:
        shutil.rmtree(snap, ignore_errors=True)

    med = {key: h.median(values) for key, values in times.items()}
    ratio = {mode: med["ours", mode] / med["bare", mode] for mode in SIZES}
    ok = max(ratio.values()) <= TARGET_RATIO
    rows = []
    for mode, (units, counters, per_call) in SIZES.items():
        per = f"{per_call} per `create`" if per_call > 1 else "one per `create`"
        cells = [f"{med[kind, mode]:.2f}" for kind in MODELS]
        if per_call == 1:
            ms = [med[kind, mode] / (units + counters) * 1000 for kind in MODELS]
            cells = [f"{c} ({m:.0f} ms/record)" for c, m in zip(cells, ms, strict=True)]
        target = [f"{ratio[mode]:.2f}x", f"<= {TARGET_RATIO:.0f}x"]
        rows.append([f"{units:,} units + {counters:,} counters, {per}", *cells, *target])
    runs = "; ".join(
        f"{'ours' if kind == 'ours' else 'baseline'} {'batch' if mode == 'batch' else 'one by one'}"
        f" {', '.join(f'{x:.2f}' for x in times[kind, mode])}"
        for mode, kind in itertools.product(SIZES, MODELS)
    )
    command = "flock /tmp/sqs-test.lock .venv/bin/python bench/bench_cache_import.py" + (
        " --quick" if args.quick else f" --reps {reps}"
    )
    title = "Importing an organisation over XML-RPC (cache invalidation, issue 11)"
    lines = h.header(title, command, machine, started_at)
    lines += [
        f"- Code measured: HEAD `{code['commit']}`, {code['dirty']} uncommitted paths under"
        " addons/",
        f"- Server: `{h.DB}` with 2 workers; the admin imports with an API key over"
        " `/xmlrpc/2/object`.",
        "- Ours: `service.org.unit` + `service.evaluation.counter`; baseline: `sqs.bench.unit`"
        " + `sqs.bench.counter` (same shape, chatter, parent store and unique codes, no"
        f" `service.cache.mixin`). Alternating ABBA, {reps} repetitions, after one"
        " warm-up import each.",
        "",
        *h.table(
            ["Import", "ours (median s)", "baseline (median s)", "ratio", "target"], rows, "lllll"
        ),
        "",
        f"- Runs (s): {runs}.",
        "- First `search_read` of 20 sessions by the admin (mean of two calls, so both workers"
        f" answer; median of 10 rounds): {reads['heartbeat']:.0f} ms after a keypad heartbeat,"
        f" {reads['login']:.0f} ms after a keypad LOGIN or LOGOUT.",
        f"- Result: **{h.verdict(ok)}**",
    ]
    return "\n".join(lines), ok


if __name__ == "__main__":
    reps = ("--reps", {"type": int, "default": 5, "help": "repetitions of each import"})
    rev = ("--addons-rev", {"help": "measure addons/ as of this git revision"})
    sys.exit(h.cli(__doc__, "cache-import", run, reps, rev))

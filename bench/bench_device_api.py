#!/usr/bin/env python3
"""Benchmark the device event route of service_evaluation against a bare baseline.

    .venv/bin/python bench/bench_device_api.py            # full run, writes bench/RESULTS.md
    .venv/bin/python bench/bench_device_api.py --quick    # smoke run, a few minutes

Everything is measured in one run, on this machine, and every figure of our route is
reported as a ratio to a bare baseline measured in the same run (the bare addon in
bench/addons/sqs_bench_bare: the same transport and bearer authentication, one ORM
create, no validation). See bench/README.md for what each scenario measures.

The database `sqs_bench` is dropped and recreated at the start and left in place at the
end (`dropdb sqs_bench` removes it). Only loopback traffic; every loop has a time limit.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from odoo_server import OdooServer, db_env, free_port  # noqa: E402
from odoo_server import odoo_shell as tests_odoo_shell  # noqa: E402

DB = "sqs_bench"
# Set by snapshot_addons(): a frozen copy of addons/ and bench/addons/, so that edits other
# people make to the working tree during the run do not change the code being measured.
ADDONS_PATH = f"--addons-path={ROOT / 'addons'},{ROOT / 'bench' / 'addons'}"
# Serialization-failure retries are logged at INFO by odoo.service.model: count them.
# werkzeug's INFO access log ends with Odoo's per-request figures: SQL queries, SQL time,
# other (Python) time: the server-side cost of each call.
SERVER_LOG_ARGS = ("--log-handler=odoo.service.model:INFO", "--log-handler=werkzeug:INFO")
ACCESS_LINE = re.compile(r'"POST (\S+) HTTP/1\.[01]" (\d+) \S+ (\d+) ([\d.]+) ([\d.]+)')
EVENT_ROUTE = "/service_evaluation/device/events"
BARE_ONE = "/sqs_bench/bare/one"
BARE_BATCH = "/sqs_bench/bare/batch"
TZ_CN = timezone(timedelta(hours=8))  # devices send their local time with its offset

# Reference figures of the issue (a quiet 2-core machine), and the targets.
REFERENCE = {
    "raw_pg": 3900.0,  # single-row inserts/s
    "bare_one_rate": 200.0,  # req/s
    "bare_one_p50": 4.5,  # ms
    "bare_one_p99": 10.0,  # ms
    "bare_batch_1": 5200.0,  # rows/s
    "bare_batch_8w": 13000.0,  # rows/s
}
TARGET_P50_MS, TARGET_P99_MS = 8.0, 20.0
TARGET_P50_RATIO = TARGET_P50_MS / REFERENCE["bare_one_p50"]  # 1.78 x bare p50
TARGET_P99_RATIO = TARGET_P99_MS / REFERENCE["bare_one_p99"]  # 2.0 x bare p99
TARGET_BATCH_RATIO = 0.80

PROFILES = {
    "full": {
        "reps": 5,
        "raw_pg_rows": 2000,
        "bare_one_calls": 1000,
        "paced_rate": 50.0,
        "paced_seconds": 18.0,  # 900 events: 3 rounds of start, end, rate on 100 keypads
        "bare_paced_seconds": 10.0,
        "batch_reps": 7,
        "batch_calls": 400,  # per rep: ~5 s bare, ~8 s ours
        "workers_batch_calls": 80,  # per client and rep (8 clients): ~5 s bare, ~7 s ours
        "sessions_target": 1_000_000,
        "profile_batches": 5,
    },
    "quick": {
        "reps": 2,
        "raw_pg_rows": 300,
        "bare_one_calls": 150,
        "paced_rate": 50.0,
        "paced_seconds": 6.0,
        "bare_paced_seconds": 3.0,
        "batch_reps": 2,
        "batch_calls": 100,
        "workers_batch_calls": 20,
        "sessions_target": 10_000,
        "profile_batches": 2,
    },
}
N_DEVICES = 100
N_CLIENTS = 8
CUSTOMERS_PER_BATCH = 32  # 32 x (start, end, rate) + 4 repeat presses = 100 events
REPEATS_PER_BATCH = 4
# Device-time gap between a customer's events (and before the next customer). Short, so
# that device clocks stay within the 300 s skew tolerance even at bare-baseline speed.
EVENT_STEP = timedelta(milliseconds=20)
GEN_CHUNK = 100_000  # sessions per generation transaction


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- statistics
def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


@dataclass
class Rep:
    """One repetition of one scenario."""

    rate: float  # calls/s, rows/s or inserts/s (see the scenario)
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    calls: int = 0
    rows: int = 0
    errors: int = 0
    retries: int = 0  # serialization-failure retries logged by the server
    extra: dict = field(default_factory=dict)


@dataclass
class Scenario:
    key: str
    title: str
    unit: str
    reps: list[Rep] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return median([r.rate for r in self.reps])

    @property
    def p50(self) -> float:
        return median([r.p50_ms for r in self.reps])

    @property
    def p99(self) -> float:
        return median([r.p99_ms for r in self.reps])

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.reps)

    @property
    def retries(self) -> int:
        return sum(r.retries for r in self.reps)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.reps)

    def extra(self, key: str) -> float:
        return median([r.extra.get(key, float("nan")) for r in self.reps])


# ---------------------------------------------------------------- HTTP client
class RpcError(Exception):
    pass


def request_body(params: dict, call_id: int) -> bytes:
    """A JSON-RPC call of a route, encoded."""
    call = {"jsonrpc": "2.0", "method": "call", "id": call_id, "params": params}
    return json.dumps(call).encode()


class Client:
    """One keep-alive HTTP connection (one per client thread) posting JSON-RPC calls."""

    def __init__(self, port: int, key: str):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {
            "Content-Type": "application/json",
            "X-Odoo-Database": DB,
            "Authorization": f"Bearer {key}",
        }
        self.reconnects = 0
        self.calls = 0

    def call(self, path: str, params: dict):
        self.calls += 1
        return self.result(self.post(path, request_body(params, self.calls)))

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """Send one encoded request; (HTTP status, raw reply body)."""
        try:
            return self._send(path, body)
        except (
            http.client.RemoteDisconnected,
            http.client.CannotSendRequest,
            BrokenPipeError,
            ConnectionResetError,
        ):
            # A keep-alive connection the server closed while idle: reconnect once.
            self.conn.close()
            self.reconnects += 1
            return self._send(path, body)

    def _send(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.conn.request("POST", path, body, self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    @staticmethod
    def result(reply):
        """The JSON-RPC result of a (status, body) reply; RpcError for anything else."""
        if isinstance(reply, Exception):
            raise RpcError(f"{type(reply).__name__}: {reply}")
        status, data = reply
        if status != 200:
            raise RpcError(f"HTTP {status}: {data[:300]!r}")
        decoded = json.loads(data)
        if "error" in decoded:
            error = decoded["error"]
            raise RpcError(f"{error.get('message')}: {error.get('data', {}).get('name')}")
        return decoded["result"]

    def close(self):
        self.conn.close()


# ---------------------------------------------------------------- event generation
def device_iso(moment: datetime) -> str:
    """The device's local time with its UTC offset, millisecond precision."""
    return moment.astimezone(TZ_CN).isoformat(timespec="milliseconds")


class Traffic:
    """Builds realistic device events and keeps the totals needed to verify the DB.

    Device clocks are monotonic per device and stay near the real time; event ids
    are unique per run.
    """

    def __init__(self, serials: list[str], run_tag: str):
        self.serials = serials
        self.run_tag = run_tag
        self.lock = threading.Lock()
        self.clock = {
            serial: datetime.now(timezone.utc) - timedelta(seconds=5) for serial in serials
        }
        self.seq = 0
        self.customers = 0  # customers whose start, end and rate were all stored
        self.repeats = 0  # repeat presses stored
        self.events_sent = 0
        self.events_stored = 0
        self.bad_results: list[dict] = []

    def _next_event_id(self, serial: str) -> str:
        self.seq += 1
        return f"{serial}:{self.run_tag}:{self.seq:07d}"

    def customer(self, serial: str, key: int, repeat: bool) -> list[dict]:
        """start, end, rate (+ a repeat press): device times a few ms apart."""
        with self.lock:
            now = datetime.now(timezone.utc)
            start = max(now - timedelta(seconds=2), self.clock[serial] + EVENT_STEP)
            n_events = 4 if repeat else 3
            self.clock[serial] = start + EVENT_STEP * (n_events - 1)
            uids = [self._next_event_id(serial) for _ in range(n_events)]
        events = [
            {"id": uids[0], "device": serial, "type": "start", "time": device_iso(start)},
            {
                "id": uids[1],
                "device": serial,
                "type": "end",
                "time": device_iso(start + EVENT_STEP),
            },
            {
                "id": uids[2],
                "device": serial,
                "type": "rate",
                "time": device_iso(start + 2 * EVENT_STEP),
                "key": key,
            },
        ]
        if repeat:
            events.append(
                {
                    "id": uids[3],
                    "device": serial,
                    "type": "rate",
                    "time": device_iso(start + 3 * EVENT_STEP),
                    "key": key,
                }
            )
        return events

    def batch(self, serials: list[str], cursor: list[int]) -> list[dict]:
        """~33 customers across `serials` (rotating from cursor[0]): 100 events."""
        events = []
        for index in range(CUSTOMERS_PER_BATCH):
            serial = serials[cursor[0] % len(serials)]
            cursor[0] += 1
            events += self.customer(serial, 1 + index % 3, repeat=index < REPEATS_PER_BATCH)
        return events

    def record(self, events: list[dict], results: list[dict] | None) -> int:
        """Check one reply (None: the call failed); returns the events not "stored"."""
        results = results or []
        bad = [r for r in results if r.get("status") != "stored"]
        with self.lock:
            self.events_sent += len(events)
            self.events_stored += len(results) - len(bad)
            if not bad and len(results) == len(events):
                self.customers += sum(1 for e in events if e["type"] == "start")
                # A rate right after a rate of the same customer is a repeat press.
                self.repeats += sum(
                    1
                    for i, e in enumerate(events)
                    if e["type"] == "rate" and i > 0 and events[i - 1]["type"] == "rate"
                )
            self.bad_results += bad[:5]
        return len(bad) + max(0, len(events) - len(results))

    def seen(self, serial: str, moment: datetime) -> None:
        """Keep the device clock monotonic across scenarios."""
        with self.lock:
            self.clock[serial] = max(self.clock[serial], moment)


# ---------------------------------------------------------------- code under test
def snapshot_addons() -> tuple[Path, dict]:
    """Copy addons/ and bench/addons/ to a temporary folder; describe what was copied."""
    global ADDONS_PATH
    snap = Path(tempfile.mkdtemp(prefix="sqs_bench_addons_"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "addons", snap / "addons", ignore=ignore)
    shutil.copytree(ROOT / "bench" / "addons", snap / "bench_addons", ignore=ignore)
    ADDONS_PATH = f"--addons-path={snap / 'addons'},{snap / 'bench_addons'}"
    digest = hashlib.sha256()
    for path in sorted((snap / "addons" / "service_evaluation").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(snap)).encode())
            digest.update(path.read_bytes())

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip()

    dirty = git("status", "--porcelain", "--", "addons").splitlines()
    return snap, {
        "commit": git("log", "-1", "--format=%h %s")[:100],
        "dirty": len(dirty),
        "service_evaluation_sha256": digest.hexdigest()[:12],
    }


# ---------------------------------------------------------------- database helpers
def pg_connect(dbname: str = DB):
    env = db_env()
    return psycopg2.connect(
        dbname=dbname,
        host=env.get("PGHOST") or os.environ.get("PGHOST"),
        port=env.get("PGPORT") or os.environ.get("PGPORT"),
        user=env.get("PGUSER") or os.environ.get("PGUSER"),
        password=env.get("PGPASSWORD") or os.environ.get("PGPASSWORD"),
    )


def run_cmd(args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        env={**os.environ, **db_env()},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def create_database() -> float:
    started = time.monotonic()
    result = run_cmd(["dropdb", "--if-exists", "--force", DB], timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"dropdb failed: {result.stderr}")
    result = run_cmd(
        [
            str(ROOT / "scripts" / "odoo.sh"),
            "-d",
            DB,
            "-i",
            "service_evaluation,sqs_bench_bare",
            "--stop-after-init",
            "--no-http",
            "--max-cron-threads=0",
            "--log-level=warn",
            ADDONS_PATH,
        ],
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"install failed ({result.returncode}):\n{result.stdout[-3000:]}")
    return time.monotonic() - started


SETUP_CODE = """
import json
from datetime import timedelta
env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True,
                       mail_notrack=True, no_reset_password=True))
company = env.company
company.write({"service_rating_window": 10, "service_anti_repeat": 5,
               "service_clock_skew": 300, "service_max_event_age_days": 30})
Unit = env["service.org.unit"]
hq = Unit.create({"name": "Bench HQ", "code": "SQSB-HQ", "unit_type": "hq"})
outlet = Unit.create({"name": "Bench Outlet", "code": "SQSB-O1", "unit_type": "outlet",
                      "parent_id": hq.id})
business = env["service.evaluation.business.type"].create(
    {"name": "Bench Deposit", "code": "SQSB-DEP"})
counters = env["service.evaluation.counter"].create([
    {"name": f"Bench {i:03d}", "code": f"SQSB-C{i:03d}", "outlet_id": outlet.id,
     "business_type_ids": [(4, business.id)]}
    for i in range(N_DEVICES)])
group = env.ref("service_evaluation.group_service_device")
device_user = env["res.users"].create({"name": "Bench Keypad Proxy", "login": "sqs.bench.device",
                                       "group_ids": [(6, 0, [group.id])]})
devices = env["service.evaluation.device"].create([
    {"serial_number": f"SQSB-KP-{i:03d}", "counter_id": counter.id,
     "device_user_id": device_user.id}
    for i, counter in enumerate(counters)])
employee = env["hr.employee"].create({"name": "Bench Teller",
                                      "service_employee_number": "SQSB-1001"})
Keys = env["res.users.apikeys"]
device_key = device_user._service_device_key_generate(
    "bench keypad proxy", env.cr.now() + timedelta(days=300))
admin = env.ref("base.user_admin")
admin_key = Keys.with_user(admin)._generate("rpc", "bench bare baseline", None)
env.cr.commit()
print("BENCH_SETUP " + json.dumps({
    "device_key": device_key, "admin_key": admin_key,
    "serials": devices.mapped("serial_number"), "device_ids": devices.ids,
    "counter_ids": counters.ids, "outlet_id": outlet.id, "business_id": business.id,
    "employee_id": employee.id, "device_user_id": device_user.id,
    "company_id": company.id,
}))
"""


def odoo_shell(db: str, code: str, timeout: float = 120) -> str:
    """tests/odoo_server.odoo_shell, with the addons path that holds sqs_bench_bare."""
    return tests_odoo_shell(db, code, timeout, extra_args=(ADDONS_PATH,))


def setup_data() -> dict:
    output = odoo_shell(DB, f"N_DEVICES = {N_DEVICES}\n" + SETUP_CODE, timeout=300)
    for line in output.splitlines():
        if line.startswith("BENCH_SETUP "):
            return json.loads(line[len("BENCH_SETUP ") :])
    raise RuntimeError(f"setup printed no BENCH_SETUP line:\n{output[-2000:]}")


# ---------------------------------------------------------------- server
class Server:
    def __init__(self, workers: int):
        args = [ADDONS_PATH, f"--workers={workers}", "--max-cron-threads=0", *SERVER_LOG_ARGS]
        if workers:
            # Keep the gevent (websocket) process off the shared default port 8072.
            args.append(f"--gevent-port={free_port()}")
        self.workers = workers
        self.odoo = OdooServer(DB, extra_args=tuple(args))

    def __enter__(self) -> Server:
        self.odoo.start(timeout=120)
        return self

    def __exit__(self, *exc):
        self.odoo.stop()

    @property
    def port(self) -> int:
        return self.odoo.port

    def log_offset(self) -> int:
        try:
            return self.odoo.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _log_since(self, offset: int) -> str:
        with open(self.odoo.log_path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def retries_since(self, offset: int) -> int:
        """Serialization-failure retries the server logged since `offset`."""
        text = self._log_since(offset)
        return len(re.findall(r"tries left, try again|maximum number of tries reached", text))

    def server_side_since(self, offset: int) -> dict:
        """Medians of Odoo's per-request figures (queries, SQL ms, Python ms) since offset."""
        rows = [
            (int(m.group(3)), float(m.group(4)) * 1000, float(m.group(5)) * 1000)
            for m in ACCESS_LINE.finditer(self._log_since(offset))
            if m.group(1) in (EVENT_ROUTE, BARE_ONE, BARE_BATCH)
        ]
        if not rows:
            return {}
        return {
            "server_queries": median([r[0] for r in rows]),
            "server_sql_ms": median([r[1] for r in rows]),
            "server_py_ms": median([r[2] for r in rows]),
        }


# ---------------------------------------------------------------- scenarios
def raw_pg_inserts(rows: int) -> Rep:
    conn = pg_connect()
    conn.autocommit = True
    latencies = []
    with conn.cursor() as cr:
        cr.execute(
            "CREATE TABLE IF NOT EXISTS sqs_bench_raw "
            "(id serial PRIMARY KEY, name varchar, value integer, moment timestamp)"
        )
        started = time.perf_counter()
        for i in range(rows):
            t0 = time.perf_counter()
            cr.execute(
                "INSERT INTO sqs_bench_raw (name, value, moment) VALUES (%s, %s, now())",
                (f"raw-{i}", i),
            )
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    conn.close()
    return Rep(
        rate=rows / elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        calls=rows,
        rows=rows,
    )


def sequential(server: Server, key: str, calls: int, make_call, time_limit: float = 180) -> Rep:
    """Closed loop, one client: each call is sent when the previous reply has arrived."""
    client = Client(server.port, key)
    latencies, errors = [], 0
    offset = server.log_offset()
    deadline = time.monotonic() + time_limit
    started = time.perf_counter()
    for i in range(calls):
        if time.monotonic() > deadline:
            break
        path, params, check = make_call(i, time.time())
        t0 = time.perf_counter()
        try:
            result = client.call(path, params)
        except RpcError:
            result = None
        latencies.append(time.perf_counter() - t0)
        errors += check(result)
    elapsed = time.perf_counter() - started
    client.close()
    return Rep(
        rate=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        calls=len(latencies),
        rows=len(latencies) - errors,
        errors=errors,
        retries=server.retries_since(offset),
        extra=server.server_side_since(offset),
    )


def _now_odoo() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def paced(
    server: Server, key: str, rate: float, seconds: float, make_call, threads: int = 8, group=1
):
    """Open loop: call i is due at t0 + i/rate, whatever happened to the others.

    `threads` senders each own every threads-th slot, so a slow reply does not delay
    the next send (unless a sender is still busy `threads` slots later, which then shows
    in the latency measured from the due time). make_call(i, due_wall_time) returns
    (path, params, check) where check(result) returns the number of bad events (result
    None: the call failed). The number of calls is a multiple of `group`.
    """
    n = int(rate * seconds) // group * group
    interval = 1.0 / rate
    offset = server.log_offset()
    start_mono = time.monotonic() + 0.3
    start_wall = time.time() + 0.3
    samples: list[tuple[float, float] | None] = [None] * n
    errors = [0] * threads

    def sender(k: int) -> None:
        client = Client(server.port, key)
        for i in range(k, n, threads):
            due = start_mono + i * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            path, params, check = make_call(i, start_wall + i * interval)
            sent = time.monotonic()
            try:
                result = client.call(path, params)
            except RpcError:
                result = None
            errors[k] += check(result)
            done = time.monotonic()
            samples[i] = (done - sent, done - due)
        client.close()

    workers = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 120)
    done = [s for s in samples if s]
    service = [s[0] for s in done]
    from_due = [s[1] for s in done]
    return Rep(
        rate=len(done) / seconds,
        p50_ms=percentile(service, 50) * 1000,
        p99_ms=percentile(service, 99) * 1000,
        calls=len(done),
        errors=sum(errors) + (n - len(done)),
        retries=server.retries_since(offset),
        extra={
            **server.server_side_since(offset),
            "due_p50_ms": percentile(from_due, 50) * 1000,
            "due_p99_ms": percentile(from_due, 99) * 1000,
            "late_sends": sum(1 for s, d in zip(service, from_due, strict=True) if d - s > 0.005),
        },
    )


def closed_loop_batches(server: Server, key: str, clients: int, calls: int, make_batch):
    """`clients` threads each posting `calls` batches back to back.

    make_batch(client_index) returns (path, params, rows, check). Every request body
    is built and encoded before the clock starts, and every reply is decoded and
    checked after it stops: the load generator shares the server's two cores, and our
    events cost it more to build than the bare rows, so neither may run inside the
    measured window. rows/s counts the rows of successful calls over the wall time
    from the common start to the last reply.
    """
    offset = server.log_offset()
    prepared = [
        [_encoded(make_batch(k), call_id) for call_id in range(1, calls + 1)]
        for k in range(clients)
    ]
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    replies: list[list] = [[] for _ in range(clients)]
    ends = [0.0] * clients

    def worker(k: int) -> None:
        client = Client(server.port, key)
        barrier.wait()
        for path, body, _rows, _check in prepared[k]:
            t0 = time.monotonic()
            try:
                replies[k].append(client.post(path, body))
            except (OSError, http.client.HTTPException) as error:
                replies[k].append(error)
            latencies[k].append(time.monotonic() - t0)
        ends[k] = time.monotonic()
        client.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=900)
    elapsed = max(ends) - start
    rows = errors = 0
    for k in range(clients):
        for (_path, _body, n_rows, check), reply in zip(prepared[k], replies[k], strict=True):
            try:
                result = Client.result(reply)
            except RpcError:
                result = None
            bad = check(result)
            errors += bad
            rows += n_rows - bad
    all_latencies = [lat for per_client in latencies for lat in per_client]
    return Rep(
        rate=rows / elapsed,
        p50_ms=percentile(all_latencies, 50) * 1000,
        p99_ms=percentile(all_latencies, 99) * 1000,
        calls=len(all_latencies),
        rows=rows,
        errors=errors,
        retries=server.retries_since(offset),
        extra=server.server_side_since(offset),
    )


def _encoded(batch, call_id: int):
    """(path, JSON-RPC request body, rows, check) of one batch from a maker."""
    path, params, n_rows, check = batch
    return path, request_body(params, call_id), n_rows, check


def bare_batch_maker():
    counter = [0]
    lock = threading.Lock()

    def make(_k: int):
        with lock:
            base = counter[0]
            counter[0] += 100
        moment = _now_odoo()
        rows = [
            {"name": f"batch-{base + i}", "value": base + i, "moment": moment} for i in range(100)
        ]

        def check(result):
            return 0 if result == 100 else 100  # None (failed call) counts as 100 errors

        return BARE_BATCH, {"rows": rows}, 100, check

    return make


def event_batch_maker(traffic: Traffic, partitions: list[list[str]]):
    cursors = [[0] for _ in partitions]

    def make(k: int):
        events = traffic.batch(partitions[k], cursors[k])

        def check(result):
            return traffic.record(events, result and result.get("results", []))

        return EVENT_ROUTE, {"events": events}, len(events), check

    return make


def partition(serials: list[str], parts: int) -> list[list[str]]:
    return [serials[k::parts] for k in range(parts)]


def abba_batches(reps: int, bare, ours, bare_reps: list, ours_reps: list) -> None:
    """Alternate bare and our batch runs (ABBA...), so both see the same drift."""
    for rep in range(reps):
        for which in ("bare", "ours") if rep % 2 == 0 else ("ours", "bare"):
            if which == "bare":
                bare_reps.append(bare())
            else:
                ours_reps.append(ours())


# ---------------------------------------------------------------- profile
PROFILE_CODE = r"""
import cProfile, json, pstats, time
from datetime import datetime, timedelta, timezone
TZ = timezone(timedelta(hours=8))
Event = env["service.evaluation.event"].with_user(DEVICE_USER_ID)
Row = env["sqs.bench.row"].with_user(env.ref("base.user_admin"))
state = {"seq": 0, "cursor": 0}
TAG = int(time.time())  # each profile run sends new event ids
clock = {s: datetime.now(timezone.utc) + timedelta(seconds=20) for s in SERIALS}
STEP = timedelta(milliseconds=STEP_MS)
def event(serial, kind, moment, key):
    state["seq"] += 1
    raw = {"id": f"{serial}:prof{TAG}:{state['seq']}", "device": serial, "type": kind,
           "time": moment.astimezone(TZ).isoformat(timespec="milliseconds")}
    if kind == "rate":
        raw["key"] = key
    return raw
def batch():
    events = []
    for index in range(32):
        serial = SERIALS[state["cursor"] % len(SERIALS)]
        state["cursor"] += 1
        t = clock[serial] + STEP
        kinds = ["start", "end", "rate", "rate"][: 4 if index < 4 else 3]
        clock[serial] = t + STEP * (len(kinds) - 1)
        events += [event(serial, kind, t + STEP * j, 1 + index % 3)
                   for j, kind in enumerate(kinds)]
    return events
def singles(n_devices):
    # As the open-loop scenario: one event per call, keypads in turn.
    calls = []
    for kind in ("start", "end", "rate"):
        for serial in SERIALS[:n_devices]:
            clock[serial] += timedelta(seconds=2)
            calls.append([event(serial, kind, clock[serial], 2)])
    return calls
def run_ingest(events):
    reply = Event._ingest(events)
    env.flush_all()
    env.cr.precommit.run()  # what commit would run: tracking, bus messages
    env.flush_all()
    assert all(r["status"] == "stored" for r in reply["results"]), reply["results"][:3]
    return reply
def run_bare(n):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    Row.create([{"name": f"p-{i}", "value": i, "moment": now} for i in range(n)])
    env.flush_all()
    env.cr.precommit.run()
    env.flush_all()
def timed(fn, *args):
    q0 = env.cr.sql_log_count; t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000, env.cr.sql_log_count - q0
def function_rows(profiler, per):
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, callers) in pstats.Stats(profiler).stats.items():
        rows.append({"where": f"{filename.split('/odoo/')[-1].split('/addons/')[-1]}:{line}",
                     "name": name, "calls": nc / per, "tottime_ms": tt * 1000 / per,
                     "cumtime_ms": ct * 1000 / per})
    return rows
def fresh(fn, *args):
    # As in a request: a cold record cache, and one transaction per call (rows written
    # by an earlier statement of the same transaction make PostgreSQL re-check their
    # foreign keys, which no request ever pays).
    env.invalidate_all()
    result = fn(*args)
    env.cr.commit()
    return result
fresh(run_ingest, batch()); fresh(run_bare, 100); fresh(run_bare, 1)  # warm caches
out = {"batch": [], "bare_batch": [], "single": [], "bare_single": []}
for _ in range(N):
    out["batch"].append(fresh(timed, run_ingest, batch()))
    out["bare_batch"].append(fresh(timed, run_bare, 100))
for call in singles(20):
    out["single"].append(fresh(timed, run_ingest, call))
    out["bare_single"].append(fresh(timed, run_bare, 1))
def profiled(profiler, events):
    profiler.enable()
    run_ingest(events)
    profiler.disable()
profiler = cProfile.Profile()
for events in [batch() for _ in range(N)]:
    fresh(profiled, profiler, events)
out["functions_batch"] = function_rows(profiler, N)
profiler = cProfile.Profile()
calls = singles(20)
for call in calls:
    fresh(profiled, profiler, call)
out["functions_single"] = function_rows(profiler, len(calls))
print("BENCH_PROFILE " + json.dumps(out))
"""

PHASES = [
    ("_ingest", "whole _ingest"),
    ("parse_event", "parse_event (pure parsing)"),
    ("_get_ingest_devices", "_get_ingest_devices (cached keypads, counters, business types)"),
    ("read_replay_state", "read_replay_state (last_seen, tellers, replay state: 1 statement)"),
    ("replay_devices", "replay_devices"),
    ("replay", "  session_replay.replay (pure)"),
    ("write_replay", "write_replay (events and sessions: 1 statement)"),
    ("write_shifts", "write_shifts"),
    ("_alert_negative", "_alert_negative"),
    ("_bus_send", "_bus_send (counter_update)"),
    ("device_replies", "device_replies"),
    ("flush_all", "flush_all (pending ORM writes)"),
    ("execute", "cursor.execute (all SQL)"),
]


def _phases(functions: list[dict]) -> list[tuple[str, float, float]]:
    phases = []
    for name, label in PHASES:
        matches = [f for f in functions if f["name"] == name]
        if name == "execute":
            matches = [f for f in matches if "sql_db.py" in f["where"]]
        elif name == "replay":
            matches = [f for f in matches if "session_replay" in f["where"]]
        elif name == "flush_all":
            matches = [f for f in matches if "environments" in f["where"]]
        elif name == "_bus_send":
            matches = matches[:1]
        if matches:
            phases.append(
                (
                    label,
                    sum(f["calls"] for f in matches),
                    sum(f["cumtime_ms"] for f in matches),
                )
            )
    return phases


def profile_ingest(setup: dict, batches: int) -> dict:
    """cProfile `_ingest` in `odoo shell` (as the device user), a transaction per call."""
    code = (
        f"DEVICE_USER_ID = {setup['device_user_id']}\nSERIALS = {setup['serials']!r}\n"
        f"N = {batches}\nSTEP_MS = {EVENT_STEP.total_seconds() * 1000:.0f}\n" + PROFILE_CODE
    )
    output = odoo_shell(DB, code, timeout=600)
    for line in output.splitlines():
        if line.startswith("BENCH_PROFILE "):
            data = json.loads(line[len("BENCH_PROFILE ") :])
            break
    else:
        raise RuntimeError(f"profile printed nothing:\n{output[-2000:]}")
    for kind in ("batch", "single"):
        functions = data.pop(f"functions_{kind}")
        ours = [f for f in functions if "service_evaluation" in f["where"]]
        data[f"phases_{kind}"] = _phases(functions)
        data[f"top_ours_{kind}"] = sorted(ours, key=lambda f: -f["cumtime_ms"])[:12]
        data[f"top_tottime_{kind}"] = sorted(functions, key=lambda f: -f["tottime_ms"])[:10]
    return data


# ---------------------------------------------------------------- database size
GEN_SESSIONS_SQL = """
INSERT INTO service_evaluation_session
    (id, counter_id, outlet_id, employee_id, business_type_id, device_id, duration,
     option_id, start_event_id, company_id, source, state,
     customer_phone, is_rated, is_satisfied, is_negative, reached_prompt,
     date_start, date_end, date_rated, score)
SELECT %(sbase)s + g,
       c.counter_id, %(outlet)s, %(employee)s, %(business)s, c.device_id, s.duration,
       CASE WHEN s.state = 'rated' THEN o.id END,
       %(ebase)s + 4 * g, %(company)s, 'keypad', s.state,
       CASE WHEN g %% 50 = 0 THEN '+86138' || lpad((g %% 100000000)::text, 8, '0') END,
       s.state = 'rated', s.state = 'rated' AND o.is_satisfied,
       s.state = 'rated' AND o.is_negative, s.state <> 'cancelled',
       s.date_start,
       CASE WHEN s.state <> 'cancelled' THEN s.date_start + make_interval(secs => s.duration) END,
       CASE WHEN s.state = 'rated'
            THEN s.date_start + make_interval(secs => s.duration + 3) END,
       CASE WHEN s.state = 'rated' THEN o.score ELSE 0 END
  FROM generate_series(%(lo)s::bigint, %(hi)s - 1) AS g
  CROSS JOIN LATERAL (
      SELECT %(t0)s::timestamp + make_interval(secs => g * %(step)s) AS date_start,
             CASE WHEN g %% 20 = 0 THEN 'cancelled'
                  WHEN g %% 5 = 1 THEN 'unrated'
                  ELSE 'rated' END AS state,
             CASE WHEN g %% 20 = 0 THEN 0 ELSE 60 + (g * 7919) %% 540 END AS duration,
             (g * 2654435761) %% 100 AS dice
  ) AS s
  JOIN bench_devices AS c ON c.n = g %% %(n_devices)s
  JOIN bench_options AS o ON s.dice >= o.lo AND s.dice < o.hi
 ORDER BY g
"""

GEN_EVENTS_SQL = """
INSERT INTO service_evaluation_event
    (id, device_id, key_code, employee_id, business_type_id,
     event_uid, event_type, employee_number, outcome, device_time, date_received)
SELECT e.id, s.device_id, e.key_code, NULL, e.business_type_id,
       d.serial || ':g:' || lpad(e.id::text, 9, '0'), e.event_type, NULL, e.outcome,
       e.device_time, e.device_time + interval '1 second'
  FROM service_evaluation_session AS s
  JOIN bench_devices AS d ON d.device_id = s.device_id
  LEFT JOIN bench_options AS o ON o.id = s.option_id
  CROSS JOIN LATERAL (
      VALUES (s.start_event_id, 'start', 'opened', s.date_start, NULL::int, s.business_type_id),
             (s.start_event_id + 1, 'end', 'closed', s.date_end, NULL, NULL),
             (s.start_event_id + 2, 'rate', 'counted', s.date_rated, o.key_code, NULL),
             (s.start_event_id + 3, 'rate', 'repeat', s.date_rated + interval '2 seconds',
              o.key_code, NULL)
  ) AS e(id, event_type, outcome, device_time, key_code, business_type_id)
 WHERE s.id >= %(sbase)s + %(lo)s AND s.id < %(sbase)s + %(hi)s
   AND e.device_time IS NOT NULL
   AND (e.outcome <> 'repeat' OR (s.id - %(sbase)s) %% 4 = 0)
 ORDER BY s.id, e.id
"""


# Sessions are generated first and name their START events, inserted right after.
CROSS_FKS = (("service_evaluation_session", "service_evaluation_session_start_event_id_fkey"),)


def generate_and_measure(setup: dict, target: int) -> dict:
    conn = pg_connect()
    conn.autocommit = False
    started = time.monotonic()
    with conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM service_evaluation_session")
        existing = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM service_evaluation_event")
        existing_events = cr.fetchone()[0]
        to_generate = max(0, target - existing)
        # Option thresholds (percent): 1 → 60 %, 2 → 30 %, 3 → 8 %, 4 → 2 %.
        cr.execute(
            """SELECT o.id, o.key_code, o.score, o.is_satisfied, o.is_negative
                 FROM service_evaluation_scale_option o
                 JOIN service_evaluation_scale s ON s.id = o.scale_id
                WHERE s.company_id = %s AND s.outlet_id IS NULL AND s.active
                ORDER BY o.key_code""",
            (setup["company_id"],),
        )
        options = cr.fetchall()
        shares = {1: 60, 2: 30, 3: 8, 4: 2}
        cr.execute(
            "CREATE TEMP TABLE bench_options (id int, key_code int, score float, "
            "is_satisfied bool, is_negative bool, lo int, hi int)"
        )
        lo = 0
        for option_id, key_code, score, satisfied, negative in options:
            hi = lo + shares.get(key_code, 0)
            cr.execute(
                "INSERT INTO bench_options VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (option_id, key_code, score, satisfied, negative, lo, hi),
            )
            lo = hi
        cr.execute(
            "UPDATE bench_options SET hi = 100 WHERE hi = (SELECT max(hi) FROM bench_options)"
        )
        cr.execute(
            "CREATE TEMP TABLE bench_devices (n int, device_id int, counter_id int, serial varchar)"
        )
        cr.execute(
            """INSERT INTO bench_devices
               SELECT row_number() OVER (ORDER BY d.id) - 1, d.id, d.counter_id, d.serial_number
                 FROM service_evaluation_device d WHERE d.id = ANY(%s)""",
            (setup["device_ids"],),
        )
        conn.commit()
        if to_generate:
            # Reserve id ranges, so sessions and events can reference each other.
            cr.execute("SELECT nextval('service_evaluation_session_id_seq')")
            sbase = cr.fetchone()[0]
            cr.execute(
                "SELECT setval('service_evaluation_session_id_seq', %s)", (sbase + to_generate + 1,)
            )
            cr.execute("SELECT nextval('service_evaluation_event_id_seq')")
            ebase = cr.fetchone()[0]
            cr.execute(
                "SELECT setval('service_evaluation_event_id_seq', %s)",
                (ebase + 4 * to_generate + 4,),
            )
            conn.commit()
            # One year of history, in time order, ending a day before the benchmark.
            span = 365 * 86400.0
            t0 = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=366)
            params = {
                "sbase": sbase,
                "ebase": ebase,
                "outlet": setup["outlet_id"],
                "employee": setup["employee_id"],
                "business": setup["business_id"],
                "company": setup["company_id"],
                "uid": setup["device_user_id"],
                "n_devices": len(setup["device_ids"]),
                "t0": t0,
                "step": span / to_generate,
            }
            cr.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            superuser = cr.fetchone()[0]
            deadline = time.monotonic() + 1500
            for lo in range(0, to_generate, GEN_CHUNK):
                if time.monotonic() > deadline:
                    log("size generation stopped at its time limit")
                    break
                hi = min(to_generate, lo + GEN_CHUNK)
                # Sessions and events reference each other (start_event_id, session_id)
                # and are generated consistently: skip the FK triggers as a superuser,
                # else defer the two cross FKs to the commit.
                if superuser:
                    cr.execute("SET LOCAL session_replication_role = replica")
                else:
                    for table, fk in CROSS_FKS:
                        cr.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {fk} DEFERRABLE")
                    cr.execute("SET CONSTRAINTS ALL DEFERRED")
                cr.execute(GEN_SESSIONS_SQL, {**params, "lo": lo, "hi": hi})
                cr.execute(GEN_EVENTS_SQL, {**params, "lo": lo, "hi": hi})
                if not superuser:
                    cr.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    for table, fk in CROSS_FKS:
                        cr.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {fk} NOT DEFERRABLE")
                conn.commit()
                log(f"  generated sessions {hi:,}/{to_generate:,}")
        generated_in = time.monotonic() - started
        conn.autocommit = True
        cr.execute("ANALYZE service_evaluation_session")
        cr.execute("ANALYZE service_evaluation_event")
        sizes = {}
        for table in ("service_evaluation_session", "service_evaluation_event"):
            cr.execute(
                f"""SELECT (SELECT count(*) FROM {table}),
                           pg_total_relation_size('{table}'), pg_relation_size('{table}'),
                           pg_table_size('{table}'), pg_indexes_size('{table}')"""
            )
            count, total, heap, table_size, indexes = cr.fetchone()
            cr.execute(
                """SELECT i.relname, pg_relation_size(i.oid)
                     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = %s::regclass ORDER BY 2 DESC""",
                (table,),
            )
            sizes[table] = {
                "count": count,
                "total": total,
                "heap": heap,
                "toast_fsm_vm": table_size - heap,
                "indexes": indexes,
                "index_list": cr.fetchall(),
            }
        cr.execute(
            "SELECT state, count(*) FROM service_evaluation_session GROUP BY 1 ORDER BY 2 DESC"
        )
        sizes["states"] = cr.fetchall()
    conn.close()
    sizes["existing_sessions"] = existing
    sizes["existing_events"] = existing_events
    sizes["generated"] = to_generate
    sizes["seconds"] = time.monotonic() - started
    sizes["generation_seconds"] = generated_in
    return sizes


# ---------------------------------------------------------------- verification
def verify_database(setup: dict, traffic: Traffic) -> dict:
    conn = pg_connect()
    with conn.cursor() as cr:
        cr.execute(
            """SELECT count(*), count(*) FILTER (WHERE state = 'rated')
                 FROM service_evaluation_session WHERE device_id = ANY(%s)""",
            (setup["device_ids"],),
        )
        sessions, rated = cr.fetchone()
        cr.execute(
            """SELECT outcome, count(*) FROM service_evaluation_event
                WHERE device_id = ANY(%s) GROUP BY 1""",
            (setup["device_ids"],),
        )
        outcomes = dict(cr.fetchall())
        # Diagnosis of wrong outcomes: is the device's next START, truncated to the whole
        # second, at or before the event? (Odoo drops microseconds from datetime domain
        # values, so a replay anchored at that START reloads this event without its own
        # START.)
        cr.execute(
            """WITH bad AS (
                   SELECT e.id, e.device_id, e.device_time
                     FROM service_evaluation_event e
                    WHERE e.device_id = ANY(%s)
                      AND e.outcome IN ('orphan', 'unsolicited', 'late'))
               SELECT count(*),
                      count(*) FILTER (WHERE date_trunc('second', (
                          SELECT min(s.device_time) FROM service_evaluation_event s
                           WHERE s.device_id = bad.device_id AND s.event_type = 'start'
                             AND s.device_time > bad.device_time)) <= bad.device_time)
                 FROM bad""",
            (setup["device_ids"],),
        )
        bad_outcomes, same_second = cr.fetchone()
    conn.close()
    return {
        "sessions": sessions,
        "rated": rated,
        "outcomes": outcomes,
        "customers": traffic.customers,
        "repeats": traffic.repeats,
        "events_sent": traffic.events_sent,
        "events_stored": traffic.events_stored,
        "bad_results": traffic.bad_results[:5],
        # What the issue asks: every event stored, one (rated) session per customer.
        "ok": (
            sessions == traffic.customers
            and rated == traffic.customers
            and traffic.events_sent == traffic.events_stored
        ),
        # Stricter: each event's recorded outcome. Every customer sent start, end and one
        # counted press, so anything else is a wrong outcome.
        "bad_outcomes": bad_outcomes,
        "bad_same_second": same_second,
        "wrong_outcomes": sum(
            n
            for k, n in outcomes.items()
            if k not in ("opened", "closed", "counted", "repeat", "shift")
        )
        + abs(outcomes.get("repeat", 0) - traffic.repeats)
        + abs(outcomes.get("counted", 0) - traffic.customers),
    }


# ---------------------------------------------------------------- machine
def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    conn = pg_connect("postgres")
    with conn.cursor() as cr:
        cr.execute("SHOW server_version")
        pg_version = cr.fetchone()[0]
        cr.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections') ORDER BY name"
        )
        pg_settings = dict(cr.fetchall())
    conn.close()
    odoo_version = subprocess.run(
        [
            sys.executable,
            "-c",
            "import odoo.release as r; print(r.version, r.version_info)",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "pg": pg_version,
        "pg_settings": pg_settings,
        "odoo": odoo_version,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------- main
def run(profile_name: str) -> tuple[str, bool]:
    cfg = PROFILES[profile_name]
    run_started = time.monotonic()
    started_at = datetime.now().astimezone()
    load_start = loadavg()
    machine = machine_info()
    log(f"profile {profile_name}: {cfg}")
    snapshot, code_info = snapshot_addons()
    log(f"measuring a snapshot of the addons in {snapshot}: {code_info}")
    try:
        return _run(profile_name, cfg, run_started, started_at, load_start, machine, code_info)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def _run(profile_name, cfg, run_started, started_at, load_start, machine, code_info):

    log("creating database sqs_bench (service_evaluation, sqs_bench_bare, no demo)")
    install_seconds = create_database()
    log(f"  installed in {install_seconds:.0f} s; setting up outlet, counters, devices, keys")
    setup = setup_data()
    serials = setup["serials"]
    traffic = Traffic(serials, run_tag=f"r{int(time.time()) % 100000}")
    scenarios: dict[str, Scenario] = {
        "raw_pg": Scenario("raw_pg", "Raw PostgreSQL single-row INSERT (autocommit)", "inserts/s"),
        "bare_one": Scenario("bare_one", "Bare single create, sequential, 1 client", "req/s"),
        "bare_paced": Scenario(
            "bare_paced", "Bare single create, open loop 50/s (extra baseline)", "req/s"
        ),
        "ours_one": Scenario(
            "ours_one", "Our route, single event, sequential, 1 client (diagnostic)", "req/s"
        ),
        "ours_paced": Scenario("ours_paced", "Our route, single event, open loop 50/s", "events/s"),
        "bare_batch_1": Scenario("bare_batch_1", "Bare batch of 100, 1 client, threaded", "rows/s"),
        "ours_batch_1": Scenario(
            "ours_batch_1", "Our route, batch of 100 events, 1 client, threaded", "events/s"
        ),
        "bare_batch_8w": Scenario(
            "bare_batch_8w", "Bare batch of 100, 8 clients, --workers=2", "rows/s"
        ),
        "ours_batch_8w": Scenario(
            "ours_batch_8w", "Our route, batch of 100 events, 8 clients, --workers=2", "events/s"
        ),
    }
    reps = cfg["reps"]

    # 1. Raw PostgreSQL.
    log("raw PostgreSQL single-row inserts")
    for _ in range(reps):
        scenarios["raw_pg"].reps.append(raw_pg_inserts(cfg["raw_pg_rows"]))

    def single_event_call(i: int, due_wall: float):
        # Slot i goes to keypad i % 100: each keypad gets an event every 2 s (start, end,
        # rate, start, ...), so a keypad's events never overlap in flight.
        device_index, round_ = divmod(i, len(serials))[::-1]
        serial = serials[device_index]
        kind = ("start", "end", "rate")[round_ % 3]
        customer = (round_ // 3) * len(serials) + device_index
        uid = f"{serial}:{traffic.run_tag}:p{traffic_seq[0]}:{i:06d}"
        moment = datetime.fromtimestamp(due_wall, timezone.utc)
        traffic.seen(serial, moment)
        event = {"id": uid, "device": serial, "type": kind, "time": device_iso(moment)}
        if kind == "rate":
            event["key"] = 1 + customer % 3

        def check(result):
            statuses = [r.get("status") for r in (result or {}).get("results", [])]
            ok = statuses == ["stored"]
            with traffic.lock:
                traffic.events_sent += 1
                traffic.events_stored += int(ok)
                if ok and kind == "rate":
                    paced_rates[0] += 1
                if not ok:
                    traffic.bad_results += (result or {}).get("results", [])[:1] or [result]
            return 0 if ok else 1

        return EVENT_ROUTE, {"events": [event]}, check

    traffic_seq = [0]
    paced_rates = [0]

    def bare_one_call(i: int, due_wall: float):
        params = {"name": f"paced-{i}", "value": i, "moment": _now_odoo()}
        return BARE_ONE, params, lambda result: 0 if isinstance(result, int) else 1

    # 2-5: threaded server.
    log("starting Odoo threaded (--workers=0)")
    with Server(workers=0) as server:
        admin = Client(server.port, setup["admin_key"])
        device = Client(server.port, setup["device_key"])
        # Warm up: the teller logs in on every keypad, a few calls of each kind.
        login_time = datetime.now(timezone.utc) - timedelta(seconds=30)
        logins = [
            {
                "id": f"{serial}:{traffic.run_tag}:login",
                "device": serial,
                "type": "login",
                "time": device_iso(login_time),
                "employee": "SQSB-1001",
            }
            for serial in serials
        ]
        reply = device.call(EVENT_ROUTE, {"events": logins})
        assert all(r["status"] == "stored" for r in reply["results"]), reply["results"][:3]
        for i in range(30):
            admin.call(BARE_ONE, {"name": f"warm-{i}", "value": i})
        warm_batch = event_batch_maker(traffic, [serials])
        make_bare = bare_batch_maker()
        for _ in range(5):
            path, params, _n, check = make_bare(0)
            check(admin.call(path, params))
            path, params, _n, check = warm_batch(0)
            check(device.call(path, params))
        admin.close()
        device.close()

        calls = 3 * len(serials)
        log(f"our route, single events, sequential x{calls} (diagnostic: no queueing)")
        for rep in range(reps):
            traffic_seq[0] = f"s{rep}"
            rates_before = paced_rates[0]
            scenarios["ours_one"].reps.append(
                sequential(server, setup["device_key"], calls, single_event_call)
            )
            with traffic.lock:
                traffic.customers += paced_rates[0] - rates_before
        log(
            f"single events, open loop {cfg['paced_rate']:.0f}/s for {cfg['paced_seconds']:.0f} s"
            f" (each rep between a bare sequential run of {cfg['bare_one_calls']} creates, the"
            f" baseline, and a bare open loop of {cfg['bare_paced_seconds']:.0f} s)"
        )
        for rep in range(reps):
            # The baseline is measured next to each rep of ours, so both see the same noise.
            scenarios["bare_one"].reps.append(
                sequential(server, setup["admin_key"], cfg["bare_one_calls"], bare_one_call)
            )
            traffic_seq[0] = rep
            rates_before = paced_rates[0]
            ours = paced(
                server,
                setup["device_key"],
                cfg["paced_rate"],
                cfg["paced_seconds"],
                single_event_call,
                group=3 * len(serials),
            )
            # Whole customers only: a customer's 3 events go to 3 consecutive slots.
            with traffic.lock:
                traffic.customers += paced_rates[0] - rates_before
            scenarios["ours_paced"].reps.append(ours)
            scenarios["bare_paced"].reps.append(
                paced(
                    server,
                    setup["admin_key"],
                    cfg["paced_rate"],
                    cfg["bare_paced_seconds"],
                    bare_one_call,
                )
            )
        log(
            f"batches of 100, 1 client, {cfg['batch_calls']} calls per rep, "
            f"{cfg['batch_reps']} reps (bare/ours ABBA)"
        )
        ours_make = event_batch_maker(traffic, [serials])
        abba_batches(
            cfg["batch_reps"],
            bare=lambda: closed_loop_batches(
                server, setup["admin_key"], 1, cfg["batch_calls"], make_bare
            ),
            ours=lambda: closed_loop_batches(
                server, setup["device_key"], 1, cfg["batch_calls"], ours_make
            ),
            bare_reps=scenarios["bare_batch_1"].reps,
            ours_reps=scenarios["ours_batch_1"].reps,
        )

    # 6. Two workers, eight clients.
    log(f"restarting Odoo with --workers=2; {N_CLIENTS} clients")
    with Server(workers=2) as server:
        parts = partition(serials, N_CLIENTS)
        ours_make = event_batch_maker(traffic, parts)
        make_bare = bare_batch_maker()
        # Warm every worker (each loads its own registry).
        closed_loop_batches(server, setup["admin_key"], N_CLIENTS, 20, make_bare)
        closed_loop_batches(server, setup["device_key"], N_CLIENTS, 20, ours_make)
        abba_batches(
            cfg["batch_reps"],
            bare=lambda: closed_loop_batches(
                server, setup["admin_key"], N_CLIENTS, cfg["workers_batch_calls"], make_bare
            ),
            ours=lambda: closed_loop_batches(
                server, setup["device_key"], N_CLIENTS, cfg["workers_batch_calls"], ours_make
            ),
            bare_reps=scenarios["bare_batch_8w"].reps,
            ours_reps=scenarios["ours_batch_8w"].reps,
        )
    http_done = time.monotonic()

    log("verifying the database against what was sent")
    verification = verify_database(setup, traffic)
    log(f"  {verification}")

    log("profiling _ingest in odoo shell (cProfile, a transaction per call)")
    try:
        profile = profile_ingest(setup, cfg["profile_batches"])
    except Exception as error:  # report it, do not lose the run
        profile = {"error": str(error)}

    log(f"database size: generating sessions up to {cfg['sessions_target']:,}")
    try:
        sizes = generate_and_measure(setup, cfg["sessions_target"])
    except Exception as error:  # report it, do not lose the HTTP results
        log(f"size measurement failed: {error}")
        sizes = {"error": str(error), "seconds": 0.0}
    # The same profile on the grown tables: the ingest must not slow down with history.
    log("profiling _ingest again on the grown tables")
    try:
        profile_grown = profile_ingest(setup, cfg["profile_batches"])
    except Exception as error:
        profile_grown = {"error": str(error)}
    total_seconds = time.monotonic() - run_started
    load_end = loadavg()

    command = ".venv/bin/python bench/bench_device_api.py" + (
        " --quick" if profile_name == "quick" else ""
    )
    report, all_pass = render(
        command=command,
        profile_name=profile_name,
        cfg=cfg,
        machine=machine,
        code_info=code_info,
        started_at=started_at,
        scenarios=scenarios,
        verification=verification,
        profile=profile,
        profile_grown=profile_grown,
        sizes=sizes,
        timings={
            "install": install_seconds,
            "http": http_done - run_started,
            "total": total_seconds,
            "load_start": load_start,
            "load_end": load_end,
        },
    )
    return report, all_pass


# ---------------------------------------------------------------- report
def fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def render_sizes(add, sizes: dict) -> str:
    """The database size section; returns the verdict line."""
    ses = sizes["service_evaluation_session"]
    evt = sizes["service_evaluation_event"]
    add(
        f"{sizes['existing_sessions']:,} sessions came from the HTTP scenarios; "
        f"{sizes['generated']:,} more were generated with SQL (`INSERT ... SELECT "
        "generate_series`, one year in time order over the 100 keypads, 75 % rated / 20 % "
        "unrated / 5 % cancelled, keys 60/30/8/2 %, 2 % with a customer phone), each with its "
        "events (start, end, counted press, a repeat press for every 4th session): the event "
        f"rows are **generated, not extrapolated**. Generation took "
        f"{sizes['generation_seconds']:.0f} s; then `ANALYZE`."
    )
    add("")
    add(
        "| Table | Rows | Heap | TOAST+FSM+VM | Indexes | Total | Bytes/row (total) "
        "| Heap/row | Indexes/row |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, data in (("service_evaluation_session", ses), ("service_evaluation_event", evt)):
        count = max(1, data["count"])
        add(
            f"| {name} | {data['count']:,} | {data['heap'] / 2**20:,.1f} MiB | "
            f"{data['toast_fsm_vm'] / 2**20:,.1f} MiB | {data['indexes'] / 2**20:,.1f} MiB | "
            f"{data['total'] / 2**20:,.1f} MiB | **{data['total'] / count:,.0f}** | "
            f"{data['heap'] / count:,.0f} | {data['indexes'] / count:,.0f} |"
        )
    add("")
    per_session_all = (ses["total"] + evt["total"]) / max(1, ses["count"])
    add(
        f"Per session including its events: {per_session_all:,.0f} bytes "
        f"({evt['count'] / max(1, ses['count']):.2f} events per session)."
    )
    add("")
    for name, data in (("service_evaluation_session", ses), ("service_evaluation_event", evt)):
        idx = ", ".join(
            f"`{i}` {size / max(1, data['count']):.0f} B" for i, size in data["index_list"]
        )
        add(f"- Indexes of {name} (bytes/row): {idx}")
    add("")
    return (
        f"- REPORTED (no threshold given): {ses['total'] / max(1, ses['count']):,.0f} bytes per "
        f"session at {ses['count']:,} sessions; {evt['total'] / max(1, evt['count']):,.0f} bytes "
        f"per event at {evt['count']:,} events."
    )


def render(**ctx) -> tuple[str, bool]:
    s = ctx["scenarios"]
    cfg = ctx["cfg"]
    m = ctx["machine"]
    v = ctx["verification"]
    sizes = ctx["sizes"]
    t = ctx["timings"]
    lines = []
    add = lines.append
    add(f"## Device event route benchmark ({ctx['started_at']:%Y-%m-%d %H:%M %Z})")
    add("")
    add(f"- Command: `{ctx['command']}` (profile `{ctx['profile_name']}`), from `{ROOT}`")
    add(
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, kernel {m['kernel']}; "
        f"load average {t['load_start']} at start, {t['load_end']} at end"
    )
    settings = ", ".join(f"{k}={val}" for k, val in m["pg_settings"].items())
    add(f"- PostgreSQL {m['pg']} ({settings}); Odoo {m['odoo']}; Python {m['python']}")
    code = ctx["code_info"]
    add(
        f"- Code measured: a snapshot of `addons/` taken at the start, HEAD `{code['commit']}`, "
        f"{code['dirty']} uncommitted paths under addons/, service_evaluation content "
        f"sha256 `{code['service_evaluation_sha256']}`"
    )
    add(
        f"- Runtime: {t['total'] / 60:.1f} min in all (install {t['install']:.0f} s, "
        f"HTTP scenarios done at {t['http'] / 60:.1f} min, size generation "
        f"{sizes['seconds']:.0f} s)"
    )
    add(
        f"- {cfg['reps']} repetitions per single-event scenario and {cfg['batch_reps']} per "
        "batch scenario; the figures are medians over them. Bare and our batches are "
        "interleaved (ABBA), and each bare single-create repetition runs next to one of our "
        "single-event repetitions, so both see the same noise."
    )
    add(
        f"- Batch repetitions are a fixed number of calls ({cfg['batch_calls']} from 1 client; "
        f"{cfg['workers_batch_calls']} from each of {N_CLIENTS} clients). Their request "
        "bodies are built and encoded before the clock starts and the replies are checked "
        "after it stops, for bare and ours alike: the load generator shares the two cores."
    )
    add("")
    add("### Medians")
    add("")
    add(
        "| Scenario | Rate | p50 ms | p99 ms | Server: queries / SQL ms / Python ms per call "
        "| Errors | Retries | Reference (quiet) | vs ref |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    refs = {
        "raw_pg": (REFERENCE["raw_pg"], "3,900/s"),
        "bare_one": (REFERENCE["bare_one_rate"], "200/s, 4.5 / 10 ms"),
        "bare_batch_1": (REFERENCE["bare_batch_1"], "5,200 rows/s"),
        "bare_batch_8w": (REFERENCE["bare_batch_8w"], "13,000 rows/s"),
    }

    def server_side(sc: Scenario) -> str:
        if math.isnan(sc.extra("server_queries")):
            return ""
        return (
            f"{sc.extra('server_queries'):.0f} / {sc.extra('server_sql_ms'):.1f} / "
            f"{sc.extra('server_py_ms'):.1f}"
        )

    for key, sc in s.items():
        ref, ref_text = refs.get(key, (None, ""))
        add(
            f"| {sc.title} | {fmt(sc.rate, 0)} {sc.unit} | {fmt(sc.p50, 2)} | {fmt(sc.p99, 2)} "
            f"| {server_side(sc)} | {sc.errors} | {sc.retries} | {ref_text} | "
            f"{fmt(sc.rate / ref, 2) + 'x' if ref else ''} |"
        )
    add("")
    add(
        "Rate: single scenarios count calls, batch scenarios rows (bare) or events (ours) per "
        "second of wall time. Latency is per HTTP call (a batch call for batches), measured "
        "by the client from the moment the request was sent. Server: medians of Odoo's own "
        "per-request figures from its access log (SQL queries, time in SQL, the rest: Python "
        "incl. authentication and commit). Retries: serialization-failure retries the server "
        "logged (each costs a random back-off of up to 2 s)."
    )
    ours_p = s["ours_paced"]
    due50 = median([r.extra.get("due_p50_ms") for r in ours_p.reps])
    due99 = median([r.extra.get("due_p99_ms") for r in ours_p.reps])
    late = sum(r.extra.get("late_sends", 0) for r in ours_p.reps)
    add(
        f"Open-loop latency of our route measured from the *due* time instead: p50 "
        f"{fmt(due50, 2)} ms, p99 {fmt(due99, 2)} ms ({late} sends more than 5 ms late)."
    )
    add("")

    # Ratios and targets.
    bare = s["bare_one"]
    r50 = ours_p.p50 / bare.p50
    r99 = ours_p.p99 / bare.p99
    paced_r50 = ours_p.p50 / s["bare_paced"].p50
    paced_r99 = ours_p.p99 / s["bare_paced"].p99
    b1 = s["ours_batch_1"].rate / s["bare_batch_1"].rate
    b8 = s["ours_batch_8w"].rate / s["bare_batch_8w"].rate
    pairs_b1 = [
        o.rate / b.rate
        for o, b in zip(s["ours_batch_1"].reps, s["bare_batch_1"].reps, strict=False)
    ]
    pairs_b8 = [
        o.rate / b.rate
        for o, b in zip(s["ours_batch_8w"].reps, s["bare_batch_8w"].reps, strict=False)
    ]
    paired_b1, paired_b8 = median(pairs_b1), median(pairs_b8)
    add("### Ratios to the bare baseline of this run")
    add("")
    add("| Our route | Ratio | Allowed | Result |")
    add("|---|---:|---:|---|")
    pass_single = r50 <= TARGET_P50_RATIO and r99 <= TARGET_P99_RATIO
    add(
        f"| single event p50 / bare single p50 | {r50:.2f}x | ≤ {TARGET_P50_RATIO:.2f}x "
        f"(8 / 4.5 ms) | {'PASS' if r50 <= TARGET_P50_RATIO else 'FAIL'} |"
    )
    add(
        f"| single event p99 / bare single p99 | {r99:.2f}x | ≤ {TARGET_P99_RATIO:.2f}x "
        f"(20 / 10 ms) | {'PASS' if r99 <= TARGET_P99_RATIO else 'FAIL'} |"
    )
    add(
        f"| batch 100, 1 client threaded: events/s / bare rows/s | {b1:.2f} "
        f"(paired reps {paired_b1:.2f}) | ≥ {TARGET_BATCH_RATIO:.2f} | "
        f"{'PASS' if b1 >= TARGET_BATCH_RATIO else 'FAIL'} |"
    )
    add(
        f"| batch 100, 8 clients --workers=2: events/s / bare rows/s | {b8:.2f} "
        f"(paired reps {paired_b8:.2f}) | ≥ {TARGET_BATCH_RATIO:.2f} | "
        f"{'PASS' if b8 >= TARGET_BATCH_RATIO else 'FAIL'} |"
    )
    add("")
    add(
        "Each batch repetition's own ratio (ours / the bare repetition next to it), in "
        f"run order: 1 client {', '.join(f'{r:.2f}' for r in pairs_b1)}; "
        f"8 clients {', '.join(f'{r:.2f}' for r in pairs_b8)}."
    )
    add("")
    add(
        f"Against the open-loop bare baseline (same pacing): p50 {paced_r50:.2f}x, "
        f"p99 {paced_r99:.2f}x. Absolute: p50 {fmt(ours_p.p50, 2)} ms "
        f"({'≤' if ours_p.p50 <= TARGET_P50_MS else '>'} 8 ms), p99 {fmt(ours_p.p99, 2)} ms "
        f"({'≤' if ours_p.p99 <= TARGET_P99_MS else '>'} 20 ms) on this machine, in this run."
    )
    ours_one = s["ours_one"]
    add("")
    add(
        f"Diagnostic, sequential single events (one client, no queueing): p50 "
        f"{fmt(ours_one.p50, 2)} ms = {ours_one.p50 / bare.p50:.2f}x the bare p50, p99 "
        f"{fmt(ours_one.p99, 2)} ms = {ours_one.p99 / bare.p99:.2f}x; at most "
        f"{fmt(ours_one.rate, 0)} events/s from one client against {fmt(bare.rate, 0)} bare "
        "req/s. When the service time approaches 20 ms, a steady 50/s queues up in the single "
        "threaded process, which is what the open-loop percentiles show."
    )
    add("")

    # Correctness.
    add("### Correctness")
    add("")
    add(
        f"- Events sent to our route: {v['events_sent']:,}; stored: {v['events_stored']:,} "
        f"(every reply must be `stored`)."
    )
    add(
        f"- Customers sent (start, end, rate all stored): {v['customers']:,}; sessions of the "
        f"bench devices in the database: {v['sessions']:,}, of which rated: {v['rated']:,}."
    )
    add(
        f"- Repeat presses sent: {v['repeats']:,}; events with outcome `repeat`: "
        f"{v['outcomes'].get('repeat', 0):,}. Outcomes: "
        + ", ".join(f"{k or 'none'} {n:,}" for k, n in sorted(v["outcomes"].items(), key=str))
    )
    if v["bad_results"]:
        add(f"- First bad replies: `{json.dumps(v['bad_results'])[:400]}`")
    if v["bad_outcomes"]:
        add(
            f"- {v['bad_outcomes']:,} events ended `orphan`/`unsolicited`/`late` although every "
            f"customer sent start, end, rate in order; for {v['bad_same_second']:,} of them the "
            "keypad's next `start` falls in the same whole second. `_replay_device` searches "
            "`device_time >= start_from` through the ORM, which drops the microseconds of the "
            "datetime; the next replay, anchored at that later session, then reloads the end "
            "of the session before it without its start and rewrites those events as "
            "orphan/unsolicited (the sessions themselves stay right). Real keypads hit this "
            "whenever a teller presses start within the same second as the previous "
            "customer's press."
        )
    add("")

    # Database size.
    add("### Database size")
    add("")
    if "error" in sizes:
        add(f"Size measurement failed: `{sizes['error'][:500]}`")
        size_verdict = "- FAIL: database size not measured (see above)."
    else:
        size_verdict = render_sizes(add, sizes)

    # Profile.
    add("### Where the time goes (cProfile of `_ingest` in `odoo shell`)")
    add("")
    prof = ctx["profile"]
    if "error" in prof:
        add(f"Profile failed: `{prof['error'][:500]}`")
    else:

        def med(key: str, index: int) -> float:
            return median([sample[index] for sample in prof[key]])

        add(
            "In process, without HTTP, unprofiled (medians; each call in its own transaction"
            " with a cold record cache, as a request; the commit is not timed):"
        )
        add("")
        add("| Call | ms | SQL queries |")
        add("|---|---:|---:|")
        add(
            f"| `_ingest` of a batch of 100 events + flush + pre-commit ({len(prof['batch'])} "
            "batches) "
            f"| {med('batch', 0):.1f} | {med('batch', 1):.0f} |"
        )
        add(
            f"| bare `create` of 100 rows + flush | {med('bare_batch', 0):.1f} "
            f"| {med('bare_batch', 1):.0f} |"
        )
        add(
            f"| `_ingest` of a single event + flush + pre-commit ({len(prof['single'])} calls) "
            f"| {med('single', 0):.1f} | {med('single', 1):.0f} |"
        )
        add(
            f"| bare `create` of 1 row + flush | {med('bare_single', 0):.1f} "
            f"| {med('bare_single', 1):.0f} |"
        )
        grown = ctx.get("profile_grown") or {}
        sizes = ctx.get("sizes") or {}
        if "batch" in grown and "service_evaluation_session" in sizes:
            at = (
                f"{sizes['service_evaluation_session']['count']:,} sessions and "
                f"{sizes['service_evaluation_event']['count']:,} events"
            )
            for kind, label in (("batch", "a batch of 100 events"), ("single", "a single event")):
                add(
                    f"| `_ingest` of {label}, again at {at} "
                    f"| {median([x[0] for x in grown[kind]]):.1f} "
                    f"| {median([x[1] for x in grown[kind]]):.0f} |"
                )
        add("")
        for kind, title in (("batch", "per batch of 100"), ("single", "per single-event call")):
            add(f"Phases under cProfile, {title} (cumulative ms; calls per {kind}):")
            add("")
            add("| Phase | Calls | ms |")
            add("|---|---:|---:|")
            for label, calls, ms in prof[f"phases_{kind}"]:
                add(f"| {label} | {calls:,.1f} | {ms:,.2f} |")
            add("")
            add(f"Top functions of service_evaluation by cumulative time ({title}):")
            add("")
            for f in prof[f"top_ours_{kind}"]:
                add(
                    f"- `{f['name']}` ({f['where']}): {f['calls']:,.1f} calls, "
                    f"{f['cumtime_ms']:.2f} ms"
                )
            add("")
            add(f"Top functions overall by own time ({title}):")
            add("")
            for f in prof[f"top_tottime_{kind}"]:
                add(f"- `{f['name']}` ({f['where']}): {f['tottime_ms']:.2f} ms")
            add("")
    add("")

    # Verdict.
    pass_b1 = b1 >= TARGET_BATCH_RATIO
    pass_b8 = b8 >= TARGET_BATCH_RATIO
    add("### Verdict")
    add("")
    add(
        f"- {'PASS' if pass_single else 'FAIL'}: single events at 50/s: p50 {r50:.2f}x and "
        f"p99 {r99:.2f}x the bare single create (allowed {TARGET_P50_RATIO:.2f}x and "
        f"{TARGET_P99_RATIO:.2f}x, i.e. 8 and 20 ms on the reference machine); absolute here "
        f"{fmt(ours_p.p50, 2)} / {fmt(ours_p.p99, 2)} ms."
    )
    add(
        f"- {'PASS' if pass_b1 else 'FAIL'}: batches of 100, 1 client threaded: "
        f"{b1 * 100:.0f} % of the bare batch rows/s ({fmt(s['ours_batch_1'].rate, 0)} vs "
        f"{fmt(s['bare_batch_1'].rate, 0)}; target ≥ 80 %)."
    )
    add(
        f"- {'PASS' if pass_b8 else 'FAIL'}: batches of 100, 8 clients, --workers=2: "
        f"{b8 * 100:.0f} % of the bare batch rows/s ({fmt(s['ours_batch_8w'].rate, 0)} vs "
        f"{fmt(s['bare_batch_8w'].rate, 0)}; target ≥ 80 %)."
    )
    add(size_verdict)
    add(
        f"- {'PASS' if v['ok'] else 'FAIL'}: correctness (every event stored, one rated session "
        "per customer)."
    )
    if v["wrong_outcomes"]:
        add(
            f"- FINDING: {v['wrong_outcomes']:,} event outcomes differ from what was sent "
            "(see Correctness): the sessions are right, the audit trail is not."
        )
    add("")
    all_pass = pass_single and pass_b1 and pass_b8 and v["ok"]
    return "\n".join(lines), all_pass


RESULTS_HEADER = """# Benchmark results

Produced by `bench/bench_device_api.py` (the device event route) and `bench/bench_proxy.py`
(hardware_proxy); see bench/README.md. Each full run replaces only its own section (between
its `<!-- name:start -->` and `<!-- name:end -->` lines) and keeps the others. Every ratio
compares two figures measured in the same run.

"""


def write_results_section(path: Path, name: str, body: str) -> None:
    """Replace the section `name` of the results file, keep the rest of it.

    The section is what lies between the lines `<!-- name:start -->` and
    `<!-- name:end -->`; a section not there yet is appended. A file without any such
    line was written whole by bench_device_api.py before sections existed: its body
    becomes the `device-api` section. The header above the first section is rewritten.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    any_start = re.compile(r"^<!-- [\w-]+:start -->$", re.MULTILINE)
    first = any_start.search(text)
    if first is None:
        heading = text.find("\n## ")
        legacy = text[heading + 1 :].strip() if heading >= 0 else ""
        text = f"<!-- device-api:start -->\n{legacy}\n<!-- device-api:end -->\n" if legacy else ""
    else:
        text = text[first.start() :]
    block = f"<!-- {name}:start -->\n{body.strip()}\n<!-- {name}:end -->"
    section = re.compile(
        rf"^<!-- {re.escape(name)}:start -->$.*?^<!-- {re.escape(name)}:end -->$",
        re.MULTILINE | re.DOTALL,
    )
    if section.search(text):
        text = section.sub(lambda _match: block, text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(RESULTS_HEADER + text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (10 k sessions)")
    parser.add_argument(
        "--output",
        type=Path,
        help="Markdown file to write (default: bench/RESULTS.md, or .local/bench-quick.md "
        "with --quick)",
    )
    args = parser.parse_args()
    profile_name = "quick" if args.quick else "full"
    output = args.output or (
        ROOT / ".local" / "bench-quick.md" if args.quick else ROOT / "bench" / "RESULTS.md"
    )
    report, all_pass = run(profile_name)
    print()
    print(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_results_section(
        output,
        "device-api",
        report
        + "\n"
        + textwrap.dedent(
            """
        The database `sqs_bench` is left in place for inspection; remove it with
        `dropdb sqs_bench` (after `source .local/db.env` when the private cluster is used).
        """
        ),
    )
    log(f"wrote {output}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())

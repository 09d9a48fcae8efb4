"""Start and stop a real Odoo 19 server for tests that run outside Odoo.

The server runs the project's own launcher (scripts/odoo.sh) against an existing
database, on a free loopback port. Tests may stop and restart it (outage tests).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".local" / "log"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def db_env() -> dict[str, str]:
    """The PG* variables written by scripts/pg.sh, for psql and psycopg2."""
    env = {}
    path = ROOT / ".local" / "db.env"
    if not path.exists():
        return env
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            for assignment in line[len("export ") :].split():
                key, _, value = assignment.partition("=")
                env[key] = value.strip('"')
    return env


def database_exists(name: str) -> bool:
    env = {**os.environ, **db_env()}
    result = subprocess.run(
        ["psql", "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "1"


def odoo_shell(db: str, code: str, timeout: float = 120, extra_args: tuple[str, ...] = ()) -> str:
    """Run Python code in `odoo shell` on db (env is defined) and return its stdout.

    The code must commit (env.cr.commit()) to keep its changes.
    """
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "odoo.sh"),
            "shell",
            "-d",
            db,
            "--no-http",
            "--log-level=warn",
            *extra_args,
        ],
        input=code,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"odoo shell failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


class OdooServer:
    """One Odoo process serving one database on 127.0.0.1:<port>."""

    def __init__(self, db: str, port: int | None = None, extra_args: tuple[str, ...] = ()):
        self.db = db
        self.port = port or free_port()
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"pytest-odoo-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> OdooServer:
        args = [
            str(ROOT / "scripts" / "odoo.sh"),
            "-d",
            self.db,
            f"--http-port={self.port}",
            f"--db-filter=^{self.db}$",
            "--max-cron-threads=0",
            "--log-level=warn",
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited early; see {self.log_path}")
            if self.is_up():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Odoo did not answer within {timeout}s; see {self.log_path}")

    def is_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/web/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)

    def jsonrpc(self, path: str, params: dict, headers: dict | None = None) -> dict:
        """POST a JSON-RPC 2.0 call and return the decoded reply (result or error)."""
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params})
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=body.encode(),
            headers={"Content-Type": "application/json", "X-Odoo-Database": self.db}
            | (headers or {}),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def create_keypads(db: str, label: str, keypads: int) -> dict:
    """A Service Device user with an API key, an outlet, `keypads` counters with a keypad
    each, and a teller per keypad (a teller is on duty at one counter at a time), made
    in `odoo shell`; the names carry a fresh tag.

    Returns {"key", "serials", "numbers" (the tellers' employee numbers, one per serial),
    "number" (the first of them), "tag"}.
    """
    tag = uuid.uuid4().hex[:6].upper()
    prefix = f"{label.upper()}{tag}"
    output = odoo_shell(
        db,
        f"""
from datetime import timedelta
from odoo import fields
user = env['res.users'].create({{
    'name': '{label} {tag}', 'login': '{label.lower()}.{tag}',
    'group_ids': [(6, 0, [env.ref('service_evaluation.group_service_device').id])]}})
outlet = env['service.org.unit'].create({{'name': '{label} outlet {tag}', 'code': '{prefix}'}})
for i in range(1, {keypads} + 1):
    counter = env['service.evaluation.counter'].create({{
        'name': f'{label} {{i}}', 'code': f'{prefix}-{{i}}', 'outlet_id': outlet.id}})
    env['service.evaluation.device'].create({{
        'serial_number': f'{prefix}{{i:02d}}', 'counter_id': counter.id,
        'device_user_id': user.id}})
base = 700000 + int('{tag}', 16) % 90000 * 10
numbers = [str(base + i) for i in range(1, {keypads} + 1)]
env['hr.employee'].create([
    {{'name': f'{label} 柜员 {tag}-{{i}}', 'service_employee_number': number}}
    for i, number in enumerate(numbers, 1)])
key = user._service_device_key_generate('{label}', fields.Datetime.now() + timedelta(days=30))
env.cr.commit()
print('KEY=' + key)
print('NUMBERS=' + ','.join(numbers))
""",
    )
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    serials = [f"{prefix}{i:02d}" for i in range(1, keypads + 1)]
    numbers = values["NUMBERS"].split(",")
    return {"key": values["KEY"], "numbers": numbers, "number": numbers[0], "serials": serials,
            "tag": tag}  # fmt: skip

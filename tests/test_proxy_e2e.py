"""End to end: virtual keypads on pseudo-terminals → hardware_proxy (a real process) → Odoo.

Every test counts what Odoo stored: each press exactly once, whatever happened on the
way (Odoo stopped, the proxy SIGKILLed mid-batch, noise on the line, a wrong key).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from hardware_proxy.protocol import Beep, Colour, Led, Pattern
from keypad_simulator import VirtualKeypad
from odoo_server import ROOT, OdooServer, create_keypads, free_port

sys.path.insert(0, str(ROOT / "docs" / "examples"))
from service_units_client import json2_call

KEYPADS = 3


@pytest.fixture(scope="module")
def odoo(odoo_db):
    """An Odoo of our own: these tests stop and restart it."""
    server = OdooServer(odoo_db).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def setup(odoo_db):
    """A device user with its API key, an outlet, KEYPADS counters and keypads, a teller."""
    return create_keypads(odoo_db, "E2E", KEYPADS)


class Proxy:
    """hardware_proxy as a child process, with its own config, outbox and status port."""

    def __init__(self, workdir: Path, odoo_url: str, db: str, api_key: str, ports: list[str]):
        self.workdir = workdir
        self.status_port = free_port()
        (workdir / "api_key").write_text(api_key)
        (workdir / "proxy.toml").write_text(
            f"""
[odoo]
url = "{odoo_url}"
database = "{db}"
api_key_file = "api_key"
timeout = 5
[outbox]
path = "outbox.sqlite3"
[sender]
batch_size = 50
backoff_initial = 0.2
backoff_max = 1.0
[ports]
urls = {json.dumps(ports)}
heartbeat_forward_interval = 3600
[status]
port = {self.status_port}
[log]
level = "INFO"
format = "json"
"""
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> Proxy:
        log = open(self.workdir / "proxy.log", "ab")  # noqa: SIM115 (kept by the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hardware_proxy", "--config", str(self.workdir / "proxy.toml")],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.health(allow_down=True):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"proxy did not start; see {self.workdir / 'proxy.log'}")

    def health(self, allow_down: bool = False) -> dict | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.status_port}/health", timeout=2
            ) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as error:  # 503: degraded, still a status
            return json.loads(error.read())
        except OSError:
            if allow_down:
                return None
            raise

    def wait(self, predicate, timeout: float = 60, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        health = None
        while time.monotonic() < deadline:
            health = self.health(allow_down=True)
            if health and predicate(health):
                return health
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}: {json.dumps(health)[:2000]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            return self.process.wait(30)
        return self.process.returncode if self.process else 0


@pytest.fixture
def keypads(setup, tmp_path):
    pads = []
    for serial in setup["serials"]:
        pad = VirtualKeypad(serial, key_count=4)
        pad.open_pty(str(tmp_path / f"tty-{serial}"))
        pads.append(pad)
    for pad in pads:
        pad.start()
    yield pads
    for pad in pads:
        pad.stop()


def counts(odoo, setup, api_key) -> tuple[int, int]:
    """(sessions, stored events) in Odoo for this module's keypads."""
    domain = [["device_id.serial_number", "in", setup["serials"]]]
    sessions = json2_call(
        odoo.url, odoo.db, api_key, "service.evaluation.session", "search_count", domain=domain
    )
    events = json2_call(
        odoo.url, odoo.db, api_key, "service.evaluation.event", "search_count", domain=domain
    )
    return sessions, events


def serve(pads, numbers, customers_per_pad, key=1):
    for pad, number in zip(pads, numbers, strict=True):
        pad.login(number)
    for _ in range(customers_per_pad):
        for pad in pads:
            pad.customer(key)


def all_acked(pads, timeout=60):
    for pad in pads:
        assert pad.wait_idle(timeout), f"{pad.serial}: {pad.unacked} presses never ACKed"


def delivered(health) -> bool:
    return health["queue"]["depth"] == 0 and health["sender"]["state"] in ("idle", "sending")


def test_presses_reach_odoo_exactly_once(odoo, setup, keypads, tmp_path, admin_api_key):
    before = counts(odoo, setup, admin_api_key)
    ports = [str(tmp_path / f"tty-{serial}") for serial in setup["serials"]]
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], ports).start()
    try:
        serve(keypads, setup["numbers"], customers_per_pad=5)
        all_acked(keypads)
        health = proxy.wait(delivered, what="delivery")
        assert health["dead_letters"]["count"] == 0
        sessions, events = counts(odoo, setup, admin_api_key)
        assert sessions - before[0] == KEYPADS * 5
        assert events - before[1] == KEYPADS * (1 + 5 * 3)  # login + start/end/rate
        # Odoo's reply reached the keypads' displays: the teller's name.
        proxy.wait(lambda h: all(d["teller"].startswith("E2E") for d in h["devices"]),
                   what="teller display")  # fmt: skip
        assert all(pad.display and pad.display.teller_name.startswith("E2E") for pad in keypads)
    finally:
        assert proxy.stop() == 0, "SIGTERM drains and exits cleanly"


def test_odoo_down_mid_stream_then_back(odoo, setup, keypads, tmp_path, admin_api_key):
    before = counts(odoo, setup, admin_api_key)
    ports = [str(tmp_path / f"tty-{serial}") for serial in setup["serials"]]
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], ports).start()
    try:
        serve(keypads, setup["numbers"], customers_per_pad=2)
        all_acked(keypads)
        odoo.stop()
        serve(keypads, setup["numbers"], customers_per_pad=4, key=2)
        all_acked(keypads)  # the proxy keeps answering the keypads
        health = proxy.wait(lambda h: h["sender"]["state"] == "backing_off", what="backoff")
        assert health["queue"]["depth"] > 0
        assert all(
            any(getattr(m, "prompt", None) is not None for m in pad.received) for pad in keypads
        ), "local voice prompts while Odoo is away"
        odoo.start()
        proxy.wait(delivered, timeout=90, what="delivery after restart")
        sessions, events = counts(odoo, setup, admin_api_key)
        assert sessions - before[0] == KEYPADS * 6
        assert events - before[1] == KEYPADS * (2 + 6 * 3)
    finally:
        if not odoo.is_up():
            odoo.start()
        proxy.stop()


def test_proxy_killed_mid_batch_then_restarted(odoo, setup, keypads, tmp_path, admin_api_key):
    before = counts(odoo, setup, admin_api_key)
    ports = [str(tmp_path / f"tty-{serial}") for serial in setup["serials"]]
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], ports).start()
    serve(keypads, setup["numbers"], customers_per_pad=10)
    time.sleep(0.3)  # some presses ACKed and queued, some in flight, some not yet read
    assert proxy.stop(signal.SIGKILL) == -signal.SIGKILL
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], ports).start()
    try:
        all_acked(keypads)  # the keypads retransmitted whatever was never ACKed
        proxy.wait(delivered, what="delivery after the crash")
        sessions, events = counts(odoo, setup, admin_api_key)
        assert sessions - before[0] == KEYPADS * 10
        assert events - before[1] == KEYPADS * (1 + 10 * 3)
    finally:
        proxy.stop()


def test_garbage_between_frames(odoo, setup, keypads, tmp_path, admin_api_key):
    before = counts(odoo, setup, admin_api_key)
    ports = [str(tmp_path / f"tty-{serial}") for serial in setup["serials"]]
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], ports).start()
    try:
        noise = bytes([0xAA, 0x55, 0x01, 0xFF, 0x13]) + os.urandom(64) + b"\xaa" * 5
        for pad, number in zip(keypads, setup["numbers"], strict=True):
            pad.login(number)
        for _ in range(3):
            for pad in keypads:
                pad.inject_garbage(noise)
                pad.customer(1)
        all_acked(keypads)
        health = proxy.wait(delivered, what="delivery")
        assert sum(link["stats"]["discarded_bytes"] for link in health["links"]) > 0
        sessions, _events = counts(odoo, setup, admin_api_key)
        assert sessions - before[0] == KEYPADS * 3
    finally:
        proxy.stop()


def test_wrong_api_key_keeps_events(odoo, setup, keypads, tmp_path, admin_api_key):
    before = counts(odoo, setup, admin_api_key)
    ports = [str(tmp_path / f"tty-{serial}") for serial in setup["serials"]]
    proxy = Proxy(tmp_path, odoo.url, odoo.db, "not-the-key", ports).start()
    try:
        serve(keypads, setup["numbers"], customers_per_pad=2)
        all_acked(keypads)
        health = proxy.wait(lambda h: h["sender"]["state"] == "auth_failed", what="auth failure")
        assert health["status"] == "degraded"
        # Every press is kept (plus the keypads' HELLO heartbeats).
        assert health["queue"]["depth"] >= KEYPADS * (1 + 2 * 3)
        assert health["dead_letters"]["count"] == 0
        assert "nauthorized" in str(health["sender"]["last_error"])
    finally:
        proxy.stop()
    assert counts(odoo, setup, admin_api_key) == before
    # With the right key the same outbox delivers everything.
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], ports).start()
    try:
        proxy.wait(delivered, what="delivery with the right key")
        sessions, _events = counts(odoo, setup, admin_api_key)
        assert sessions - before[0] == KEYPADS * 2
    finally:
        proxy.stop()


# --------------------------------------------------------------------------- issue 12


def single_keypad(setup, tmp_path, **kwargs) -> VirtualKeypad:
    pad = VirtualKeypad(setup["serials"][0], key_count=4, **kwargs)
    pad.open_pty(str(tmp_path / f"tty-{pad.serial}"))
    pad.start()
    return pad


def test_power_cut_in_the_ack_window_is_stored_once(odoo, setup, tmp_path, admin_api_key):
    """Case 2 of issue 12 through a real Odoo: the RATE is stored, its ACK never read, the
    keypad reboots and re-sends it under a new boot and SEQ: Odoo has it once."""
    cut = threading.Event()
    pad = single_keypad(setup, tmp_path, lose_host_frame=lambda frame: cut.is_set())
    before = counts(odoo, setup, admin_api_key)
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], [pad.url]).start()
    try:
        pad.login(setup["numbers"][0])
        pad.press_start()
        pad.press_end()
        all_acked([pad])
        proxy.wait(delivered, what="delivery")
        cut.set()  # the keypad hears nothing more: power is about to go
        pad.press_rate(1)
        proxy.wait(lambda h: h["counters"]["events_stored"] == 4, what="the RATE stored")
        proxy.wait(delivered, what="the RATE delivered")
        pad.reboot()
        cut.clear()
        all_acked([pad])
        health = proxy.wait(delivered, what="delivery after the reboot")
        sessions, events = counts(odoo, setup, admin_api_key)
        assert (sessions - before[0], events - before[1]) == (1, 4)
        assert health["sender"]["duplicates_total"] >= 1, "Odoo recognised the re-sent press"
    finally:
        proxy.stop()
        pad.stop()


def test_unknown_employee_is_told_to_the_keypad(odoo, setup, tmp_path, admin_api_key):
    """Case 5 of issue 12 through a real Odoo: LOGIN 99999999 is refused by Odoo; the
    keypad beeps twice, shows the number with a message and a red LED."""
    pad = single_keypad(setup, tmp_path)
    proxy = Proxy(tmp_path, odoo.url, odoo.db, setup["key"], [pad.url]).start()
    try:
        pad.login("99999999")
        all_acked([pad])
        red = Led(Colour.RED, Pattern.SOLID)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and red not in pad.received:
            time.sleep(0.1)
        assert red in pad.received, pad.received
        assert Beep(2, 150) in pad.received
        assert pad.display.employee_no == "99999999"
        assert "Unknown number" in pad.display.teller_name
        health = proxy.wait(delivered, what="delivery")
        reasons = [d["reason"] for d in health["dead_letters"]["latest"]]
        assert any(r.startswith("unknown_employee") for r in reasons), reasons
    finally:
        proxy.stop()
        pad.stop()

"""Conformance suite: a keypad that follows hardware_proxy/PROTOCOL.md, against the real proxy.

Each test drives a real ``hardware_proxy`` process through a real pseudo-terminal from the
byte level (tests/conformance_keypad.py: its own codec and CRC, written from the
document, importing neither ``hardware_proxy`` nor ``keypad_simulator``), against a real
Odoo, and asserts the rows Odoo stored. One test per rule and per case of issue 12.

The keypad is pluggable. By default it is ``ReferenceKeypad``; a vendor sets
``SQS_CONFORMANCE_KEYPAD=package.module:factory`` to run the same tests against their
device (see the "Conformance suite" section of hardware_proxy/README.md and
``conformance_keypad.KeypadAdapter``). Tests that need something the device cannot be
made to do (cut its power, lose its clock) are skipped naming the capability.

Run: ``flock /tmp/sqs-test.lock .venv/bin/python -m pytest tests/test_conformance.py -q``
(the database SQS_TEST_DB, default sqs_test, must exist: ``make test`` builds it).
``SQS_CONFORMANCE_PROXY_CODE=<dir>`` runs the proxy from another copy of the code (a
directory holding a ``hardware_proxy`` package, e.g. ``git archive`` of an older commit).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import conformance_keypad as ck
import pytest
from conformance_keypad import (
    ACK,
    BEEP,
    DISPLAY,
    HEARTBEAT,
    HELLO,
    IDENTIFY,
    LED,
    LOGIN,
    NACK,
    RATE,
    SET_TIME,
    START,
    ReferenceKeypad,
    Wire,
)

from odoo_server import ROOT, free_port, odoo_shell

sys.path.insert(0, str(ROOT / "docs" / "examples"))
from service_units_client import json2_call

POOL = 24  # reference keypads registered in Odoo for the module


# --------------------------------------------------------------------------- keypads


class ReferenceFactory:
    """Reference keypads with fresh serials; a vendor's factory has the same two methods."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6].upper()
        self._serials = [f"CF{tag}{i:02d}" for i in range(1, POOL + 1)]

    def serials(self) -> list[str]:
        return self._serials

    def make(self, serial: str, **options) -> ck.KeypadAdapter:
        return ReferenceKeypad(serial, **options)


def load_factory():
    spec = os.environ.get("SQS_CONFORMANCE_KEYPAD")
    if not spec:
        return ReferenceFactory()
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "factory")()


def register(db: str, serials: list[str]) -> dict:
    """A device user with a device key, a counter and a keypad record per serial (an existing
    record of a vendor's serial is re-bound to this user), and one teller per serial."""
    tag = uuid.uuid4().hex[:6].upper()
    output = odoo_shell(
        db,
        f"""
from datetime import timedelta
from odoo import fields
serials = {serials!r}
user = env['res.users'].create({{
    'name': 'Conformance {tag}', 'login': 'conformance.{tag.lower()}',
    'group_ids': [(6, 0, [env.ref('service_evaluation.group_service_device').id])]}})
outlet = env['service.org.unit'].create({{'name': 'Conformance {tag}', 'code': 'CF{tag}'}})
Device = env['service.evaluation.device'].with_context(active_test=False)
for i, serial in enumerate(serials, 1):
    counter = env['service.evaluation.counter'].create({{
        'name': f'Conformance {{i}}', 'code': f'CF{tag}-{{i}}', 'outlet_id': outlet.id}})
    device = Device.search([('serial_number', '=', serial)], limit=1)
    values = {{'counter_id': counter.id, 'device_user_id': user.id, 'active': True}}
    if device:
        device.write(values)
    else:
        Device.create(dict(values, serial_number=serial))
base = 600000 + int('{tag}', 16) % 90000 * 100
numbers = [str(base + i) for i in range(1, len(serials) + 1)]
env['hr.employee'].create([
    {{'name': f'Conformance 柜员 {tag}-{{i}}', 'service_employee_number': number}}
    for i, number in enumerate(numbers, 1)])
key = user._service_device_key_generate('conformance', fields.Datetime.now() + timedelta(days=7))
env.cr.commit()
print('KEY=' + key)
print('NUMBERS=' + ','.join(numbers))
""",
    )
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {"key": values["KEY"], "numbers": values["NUMBERS"].split(","), "serials": serials}


class Pool:
    """The module's registered keypads; each test takes fresh ones (a vendor's are reused)."""

    def __init__(self, factory, registered: dict) -> None:
        self.factory = factory
        self.key = registered["key"]
        self.serials = registered["serials"]
        self.numbers = dict(zip(self.serials, registered["numbers"], strict=True))
        self.reference = isinstance(factory, ReferenceFactory)
        self._next = 0

    def take(self, count: int = 1, **options) -> list[ck.KeypadAdapter]:
        if count > len(self.serials):
            pytest.skip(f"needs {count} keypads, the factory has {len(self.serials)}")
        serials = []
        for _ in range(count):
            serials.append(self.serials[self._next % len(self.serials)])
            self._next += 1
        return [self.factory.make(serial, **options) for serial in serials]


@pytest.fixture(scope="module")
def pool(odoo_db) -> Pool:
    factory = load_factory()
    return Pool(factory, register(odoo_db, list(factory.serials())))


# --------------------------------------------------------------------------- the proxy


class ProxyProcess:
    """hardware_proxy as a child process with its own config, outbox and status port."""

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
[status]
port = {self.status_port}
[log]
level = "INFO"
format = "json"
"""
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> ProxyProcess:
        log = open(self.workdir / "proxy.log", "ab")  # noqa: SIM115 (kept by the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hardware_proxy", "--config", str(self.workdir / "proxy.toml")],
            cwd=os.environ.get("SQS_CONFORMANCE_PROXY_CODE") or ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.health() is not None:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"proxy did not start; see {self.workdir / 'proxy.log'}")

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.status_port}/health", timeout=2
            ) as reply:
                return json.loads(reply.read()) | {"http_status": reply.status}
        except urllib.error.HTTPError as error:  # 503: degraded, still a status
            return json.loads(error.read()) | {"http_status": error.code}
        except OSError:
            return None

    def wait(self, predicate, timeout: float = 30, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        health = None
        while time.monotonic() < deadline:
            health = self.health()
            if health and predicate(health):
                return health
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {json.dumps(health)[:3000]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


def error_text(health: dict) -> str:
    """The /health `errors` entries as one lower-case text, to look for a reason in."""
    return json.dumps(health.get("errors") or [], ensure_ascii=False).lower()


# --------------------------------------------------------------------------- the rig


class Rig:
    """One test's world: wires (ptys), keypads, proxy processes, and Odoo's rows."""

    def __init__(self, pool: Pool, odoo, admin_key: str, tmp_path: Path) -> None:
        self.pool, self.odoo, self.admin_key, self.tmp = pool, odoo, admin_key, tmp_path
        self.wires: list[Wire] = []
        self.keypads: list[ck.KeypadAdapter] = []
        self.proxies: list[ProxyProcess] = []
        self.event_mark = self._max_id("service.evaluation.event")
        self.session_mark = self._max_id("service.evaluation.session")

    # ---------------------------------------------------------------- setup
    def wire(self, name: str = "ttyKP0") -> Wire:
        wire = Wire(str(self.tmp / name))
        self.wires.append(wire)
        return wire

    def keypad(self, wire: Wire | None = None, **options) -> ck.KeypadAdapter:
        (keypad,) = self.pool.take(1, **options)
        self.keypads.append(keypad)
        if wire is not None:
            wire.attach(keypad.port())
        return keypad

    def proxy(self, *, url: str | None = None, key: str | None = None) -> ProxyProcess:
        proxy = ProxyProcess(
            self.tmp,
            url or self.odoo.url,
            self.odoo.db,
            key or self.pool.key,
            [wire.path for wire in self.wires],
        )
        self.proxies.append(proxy)
        return proxy.start()

    def number(self, keypad) -> str:
        return self.pool.numbers[keypad.serial]

    def needs(self, keypad, capability: str) -> None:
        if capability not in keypad.capabilities:
            pytest.skip(f"the keypad adapter lacks the {capability!r} capability")

    def boot(self, keypad, wire: Wire, set_time: bool = True) -> ck.Frame:
        """Power the keypad on and wait for its HELLO's ACK and, if its clock is unset,
        the SET_TIME (unless ``set_time`` is False); returns the HELLO."""
        mark = wire.mark()
        keypad.power_on()
        (hello,) = wire.wait_keypad(HELLO, mark, timeout=15)
        wire.wait_answer(hello)
        if hello.time_ms == 0 and set_time:
            wire.wait_host(SET_TIME, mark)
            time.sleep(0.1)  # the keypad sets its clock
        return hello

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.stop()
        for keypad in self.keypads:
            keypad.close()
        for wire in self.wires:
            wire.close()

    # ---------------------------------------------------------------- Odoo
    def _max_id(self, model: str) -> int:
        rows = json2_call(
            self.odoo.url, self.odoo.db, self.admin_key, model, "search_read",
            domain=[], fields=["id"], order="id desc", limit=1,
        )  # fmt: skip
        return rows[0]["id"] if rows else 0

    def events(self, serial: str, event_type: str | None = None) -> list[dict]:
        """The events Odoo stored for this keypad since the test began."""
        domain = [["device_id.serial_number", "=", serial], ["id", ">", self.event_mark]]
        if event_type:
            domain.append(["event_type", "=", event_type])
        return json2_call(
            self.odoo.url, self.odoo.db, self.admin_key, "service.evaluation.event",
            "search_read", domain=domain, order="id",
            fields=["event_uid", "event_type", "device_time", "key_code", "employee_number"],
        )  # fmt: skip

    def sessions(self, serial: str) -> list[dict]:
        domain = [["device_id.serial_number", "=", serial], ["id", ">", self.session_mark]]
        return json2_call(
            self.odoo.url, self.odoo.db, self.admin_key, "service.evaluation.session",
            "search_read", domain=domain, fields=["state", "employee_id"], order="id",
        )  # fmt: skip

    def device(self, serial: str) -> dict:
        (row,) = json2_call(
            self.odoo.url, self.odoo.db, self.admin_key, "service.evaluation.device",
            "search_read", domain=[["serial_number", "=", serial]],
            fields=["last_seen", "firmware_version", "key_count"],
        )  # fmt: skip
        return row

    def wait_events(self, serial: str, expected: dict[str, int], timeout: float = 45) -> list:
        """Wait until Odoo holds at least `expected` events per type, then check that no
        more arrive while the proxy finishes; returns the events."""

        def kinds(rows):
            found = {}
            for row in rows:
                found[row["event_type"]] = found.get(row["event_type"], 0) + 1
            return found

        deadline = time.monotonic() + timeout
        rows = self.events(serial)
        while time.monotonic() < deadline:
            found = kinds(rows)
            if all(found.get(kind, 0) >= count for kind, count in expected.items()):
                break
            time.sleep(0.3)
            rows = self.events(serial)
        for proxy in self.proxies:
            if proxy.process and proxy.process.poll() is None:
                proxy.wait(lambda h: h["queue"]["depth"] == 0, 30, "an empty outbox")
        time.sleep(1.0)  # a second copy would be on its way by now
        rows = self.events(serial)
        found = {kind: count for kind, count in kinds(rows).items() if kind in expected}
        assert found == {k: v for k, v in expected.items() if v}, (
            f"{serial}: Odoo stored {found}, expected {expected}: "
            + json.dumps([r["event_uid"] for r in rows])
        )
        return rows


@pytest.fixture
def rig(pool, odoo_server, admin_api_key, tmp_path):
    rig = Rig(pool, odoo_server, admin_api_key, tmp_path)
    yield rig
    rig.close()


def acks_of(wire: Wire, msg_type: int):
    """A drop predicate: an ACK answering a keypad frame of this type, each frame once."""
    done = set()

    def predicate(frame: ck.Frame) -> bool:
        if frame.type != ACK:
            return False
        for sent in reversed(wire.keypad_frames):
            if sent.seq == frame.acked_seq and sent.type == msg_type and sent.raw not in done:
                done.add(sent.raw)
                return True
        return False

    return predicate


# --------------------------------------------------------------------------- the document


def _document_frames() -> list[tuple[str, bytes]]:
    text = (ROOT / "hardware_proxy" / "PROTOCOL.md").read_text()
    frames, name = [], None
    for line in text.splitlines():
        title = re.match(r"\*\*(\w+)\*\* \(seq", line)
        if title:
            name = title.group(1)
        found = re.match(r"frame\s+((?:[0-9A-F]{2} ?)+)$", line.strip())
        if found and name:
            frames.append((name, bytes.fromhex(found.group(1))))
    return frames


def test_crc_check_value_and_the_documents_frames():
    """Section 2's check value, and every worked example of the document is one frame
    with a valid CRC for this independent decoder; the keypad frames rebuild byte for byte."""
    assert ck.crc16(b"123456789") == 0x29B1
    frames = _document_frames()
    assert len(frames) >= 10, "the worked examples were not found in PROTOCOL.md"
    for name, raw in frames:
        decoder = ck.StreamDecoder()
        decoded = decoder.feed(b"\x00\xaa" + raw + b"\x55")
        assert [f.raw for f in decoded] == [raw], name
    examples = dict(frames)
    if "hello" in examples:
        payload = ck.hello_payload(1773480615250, 7, 5, "EV5-000123", "1.4.2")
        assert ck.encode_frame(HELLO, 0, payload) == examples["hello"]
    if "rate" in examples:
        payload = ck.event_payload(RATE, 1773480919375, rating=5)
        assert ck.encode_frame(RATE, 4, payload) == examples["rate"]


# --------------------------------------------------------------------------- basics


def test_malformed_and_unsupported_frames_are_nacked_and_not_stored(rig):
    """Host rule 1: a CRC-valid frame with a bad payload gets NACK MALFORMED, an unknown
    TYPE NACK UNSUPPORTED; nothing reaches Odoo."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    bad_rate = ck.encode_frame(RATE, 0x4001, ck.time_field(int(time.time() * 1000)) + b"\x00")
    unknown = ck.encode_frame(0x7E, 0x4002, ck.time_field(int(time.time() * 1000)))
    wire.inject(bad_rate)
    wire.inject(unknown)
    nack = wire.wait_host(NACK, mark, where=lambda f: f.acked_seq == 0x4001)
    assert nack.reason == ck.NACK_MALFORMED
    nack = wire.wait_host(NACK, mark, where=lambda f: f.acked_seq == 0x4002)
    assert nack.reason == ck.NACK_UNSUPPORTED
    assert not wire.host_since(mark, ACK), "a rejected frame is never ACKed"
    rig.wait_events(keypad.serial, {"rate": 0})


def test_duplicate_in_the_seq_window_is_acked_and_stored_once(rig):
    """Host rules 1 and 3: a retransmission (same SEQ, same bytes) is ACKed again, and not
    stored again."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    keypad.rate(1)
    (rate,) = wire.wait_keypad(RATE, mark)
    wire.wait_answer(rate)
    again = wire.mark()
    for _ in range(2):
        wire.inject(rate.raw)
    wire.wait(lambda: len(wire.host_since(again, ACK)) >= 2, what="two more ACKs")
    assert {f.acked_seq for f in wire.host_since(again, ACK)} == {rate.seq}
    rows = rig.wait_events(keypad.serial, {"rate": 1})
    assert rows[0]["key_code"] == 1


# --------------------------------------------------------------------------- C1 heartbeat


def test_heartbeat_is_acknowledged(rig):
    """C1 / host rule 1: HELLO, then HEARTBEAT: the host ACKs it. Heartbeats are no events."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    if isinstance(keypad, ReferenceKeypad):
        assert keypad.heartbeat_now()
    (heartbeat,) = wire.wait_keypad(HEARTBEAT, mark, timeout=15)
    ack = wire.wait_answer(heartbeat, timeout=5)
    assert ack.type == ACK
    rig.wait_events(keypad.serial, {"heartbeat": 0, "rate": 0})
    assert rig.device(keypad.serial)["last_seen"], "the HELLO reached Odoo as a sign of life"


# --------------------------------------------------------------------------- C2 / C5 identity


def test_power_cut_in_the_ack_window_stores_the_press_once(rig):
    """C2/C5: RATE sent, its ACK lost, power cut; after the reboot (new boot_id) the keypad
    sends the RATE again under a new SEQ with the same time: Odoo stores it once."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.needs(keypad, "power")
    rig.proxy()
    first_hello = rig.boot(keypad, wire)
    mark = wire.mark()
    keypad.login(rig.number(keypad))
    (login,) = wire.wait_keypad(LOGIN, mark)
    wire.wait_answer(login)
    wire.drop(acks_of(wire, RATE))
    mark = wire.mark()
    keypad.rate(3)
    (rate,) = wire.wait_keypad(RATE, mark)
    wire.wait(lambda: wire.dropped, what="the RATE's ACK, lost")
    keypad.power_cut()
    wire.stop_dropping()
    mark = wire.mark()
    second_hello = rig.boot(keypad, wire)
    assert second_hello.hello()[0] != first_hello.hello()[0], "a new boot_id"
    (resent,) = wire.wait_keypad(RATE, mark, timeout=20)
    wire.wait_answer(resent)
    assert resent.seq != rate.seq and resent.time_ms == rate.time_ms != 0
    rows = rig.wait_events(keypad.serial, {"login": 1, "rate": 1})
    assert [r["key_code"] for r in rows if r["event_type"] == "rate"] == [3]


def test_two_presses_of_one_key_in_one_second_are_two(rig):
    """C2: two genuine presses of the same key in the same second (different ms) are two
    events."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    if "explicit_time" in keypad.capabilities:
        second = int(time.time()) * 1000
        keypad.rate(2, time_ms=second + 100)
        keypad.rate(2, time_ms=second + 450)
    else:
        keypad.rate(2)
        keypad.rate(2)
    rates = wire.wait_keypad(RATE, mark, count=2)
    for frame in rates:
        wire.wait_answer(frame)
    assert rates[0].time_ms // 1000 == rates[1].time_ms // 1000, "within one second"
    assert rates[0].time_ms != rates[1].time_ms
    rig.wait_events(keypad.serial, {"rate": 2})


def test_time_zero_events_with_lost_acks_are_stored_once(rig):
    """C2: a keypad whose clock is unset stamps 0; three presses whose first ACK is lost
    are each retransmitted (same SEQ, same bytes) and stored once: three events."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.needs(keypad, "clock_lost")
    rig.proxy()
    wire.drop(lambda f: f.type == SET_TIME, None)  # the clock stays unset
    if not isinstance(keypad, ReferenceKeypad):
        keypad.power_cut()
    rig.boot(keypad, wire, set_time=False)
    wire.drop(acks_of(wire, RATE), 3)
    mark = wire.mark()
    for key in (1, 2, 3):
        keypad.rate(key)

    def answered_rates():
        rates = wire.keypad_since(mark, RATE)
        return len({f.raw for f in rates if wire.answered(f, mark)}) == 3

    wire.wait(answered_rates, timeout=30, what="three RATEs answered")
    assert len([f for f in wire.dropped if f.type == ACK]) == 3, "three ACKs lost"
    rates = wire.keypad_since(mark, RATE)
    assert all(f.time_ms == 0 for f in rates), "the clock was unset"
    assert len(rates) >= 6 and len({f.raw for f in rates}) == 3, "each sent twice, same bytes"
    rows = rig.wait_events(keypad.serial, {"rate": 3})
    assert sorted(r["key_code"] for r in rows) == [1, 2, 3]


# --------------------------------------------------------------------------- C3 attribution


def test_different_keypad_behind_the_same_path(rig):
    """C3: keypad Y, with a START in flight, is plugged in behind keypad X's path, and the
    START reaches the proxy before any HELLO (the first IDENTIFY is lost on the line). The
    START is ACKed and held, never stored under X; Y's HELLO attributes it to Y, once."""
    path_x, path_y = rig.wire("ttyX"), rig.wire("ttyY")
    x = rig.keypad(path_x)
    y = rig.keypad(path_y)
    rig.proxy()
    rig.boot(x, path_x)
    rig.boot(y, path_y)
    mark_y = path_y.mark()
    y.login(rig.number(y))
    (login,) = path_y.wait_keypad(LOGIN, mark_y)
    path_y.wait_answer(login)
    path_y.disconnect()  # Y's cable is pulled...
    y.start()  # ...and a customer arrives: the START is in flight, unanswered
    time.sleep(0.5)
    path_x.attach(None)  # X is unplugged; Y takes its place behind X's path
    lost = path_x.drop(lambda f: f.type == IDENTIFY, None)
    mark_x = path_x.mark()
    path_x.replug(y.port())
    (start,) = path_x.wait_keypad(START, mark_x, timeout=20)
    path_x.wait_answer(start, timeout=20)
    assert start.time_ms != 0
    time.sleep(1.5)
    assert rig.events(x.serial, "start") == [], "never stored under the old serial"
    path_x.stop_dropping(lost)
    y.end()  # the next frame brings an IDENTIFY Y hears: its HELLO names it
    path_x.wait_keypad(HELLO, mark_x, timeout=20)
    path_x.wait(lambda: path_x.all_answered(mark_x), timeout=30, what="Y's frames answered")
    rig.wait_events(y.serial, {"login": 1, "start": 1, "end": 1})
    rig.wait_events(x.serial, {"start": 0, "end": 0, "login": 0})


def test_keypad_moved_to_a_new_path(rig):
    """C3 / README: keypad X moves from one configured port to another with a START in
    flight: the proxy learns who is there (IDENTIFY, HELLO) and stores under X, once."""
    old, new = rig.wire("ttyOld"), rig.wire("ttyNew")
    keypad = rig.keypad(old)
    proxy = rig.proxy()
    rig.boot(keypad, old)
    mark = old.mark()
    keypad.login(rig.number(keypad))
    old.wait_answer(old.wait_keypad(LOGIN, mark)[0])
    old.disconnect()
    keypad.start()
    mark = new.mark()
    new.attach(keypad.port())
    new.wait_keypad(START, mark, timeout=20)
    new.wait(lambda: new.all_answered(mark), timeout=30, what="the START answered")
    keypad.end()
    keypad.rate(2)
    new.wait_keypad(RATE, mark, timeout=20)
    new.wait(lambda: new.all_answered(mark), timeout=30, what="END and RATE answered")
    rig.wait_events(keypad.serial, {"login": 1, "start": 1, "end": 1, "rate": 1})
    health = proxy.wait(
        lambda h: any(d["serial"] == keypad.serial and d["url"] == new.path for d in h["devices"]),
        what="the keypad shown on its new port",
    )
    assert health["devices"]


# --------------------------------------------------------------------------- C4 FIFO keypad


@pytest.mark.parametrize("fifo", [False, True], ids=["hello-at-once", "fifo-keypad"])
def test_keypad_across_a_proxy_restart(rig, fifo):
    """C4: the proxy restarts while the keypad has a frame in flight. A keypad that
    answers IDENTIFY at once, and a FIFO keypad that queues its HELLO behind the frame in
    flight, both go on: no lock-up, every press stored once."""
    if fifo and not rig.pool.reference:
        pytest.skip("the FIFO flavour is the reference keypad's; a device runs it once")
    wire = rig.wire()
    keypad = rig.keypad(wire, fifo_identify=fifo)
    proxy = rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    keypad.login(rig.number(keypad))
    wire.wait_answer(wire.wait_keypad(LOGIN, mark)[0])
    proxy.stop()
    mark = wire.mark()
    keypad.start()
    keypad.end()
    keypad.rate(4)
    wire.wait_keypad(START, mark, count=2, timeout=10)  # retransmitting: no host
    rig.proxy()
    wire.wait_keypad(RATE, mark, timeout=40)
    wire.wait(lambda: wire.all_answered(mark), timeout=40, what="every frame answered")
    assert wire.host_since(mark, IDENTIFY), "the restarted proxy asked who is there"
    rig.wait_events(keypad.serial, {"login": 1, "start": 1, "end": 1, "rate": 1})
    assert len(rig.sessions(keypad.serial)) == 1


# --------------------------------------------------------------------------- C3 / C8 held


def test_frames_before_hello_are_held_and_named_on_health(rig):
    """C3/C8: after a proxy restart, a keypad that does not hear IDENTIFY sends a START:
    the proxy ACKs it, holds it (not in Odoo, under no serial), ACKs a HEARTBEAT without
    forwarding it, and names the held frames in /health's errors. The HELLO then
    attributes the START to the keypad, and it is stored once."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    proxy = rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    keypad.login(rig.number(keypad))
    wire.wait_answer(wire.wait_keypad(LOGIN, mark)[0])
    proxy.stop()
    deaf = wire.drop(lambda f: f.type == IDENTIFY, None)
    proxy = rig.proxy()
    mark = wire.mark()
    keypad.start()
    (start,) = wire.wait_keypad(START, mark, timeout=20)
    wire.wait_answer(start, timeout=20)
    health = proxy.wait(
        lambda h: re.search(r"held|hello|identif", error_text(h)),
        what="held frames named in /health errors",
    )
    assert health["http_status"] == 503 and health["status"] == "degraded"
    if isinstance(keypad, ReferenceKeypad):
        hb_mark = wire.mark()
        assert keypad.heartbeat_now()
        (heartbeat,) = wire.wait_keypad(HEARTBEAT, hb_mark)
        wire.wait_answer(heartbeat, timeout=5)
    time.sleep(1.5)
    assert rig.events(keypad.serial, "start") == [], "held frames never go to Odoo unattributed"
    wire.stop_dropping(deaf)
    time.sleep(1.1)  # IDENTIFY at most once a second
    keypad.end()  # the next frame on the line brings an IDENTIFY the keypad hears
    wire.wait_keypad(HELLO, mark, timeout=25)
    wire.wait(lambda: wire.all_answered(mark), timeout=30, what="every frame answered")
    rig.wait_events(keypad.serial, {"login": 1, "start": 1, "end": 1})
    proxy.wait(
        lambda h: not re.search(r"held", error_text(h)), what="no held frames named any more"
    )


def test_health_names_a_refused_key_and_an_unreachable_odoo(rig):
    """C8: /health's errors name why the proxy is degraded (the key refused, Odoo
    unreachable), not only sender.last_error; the presses wait in the outbox and reach
    Odoo once the cause is gone."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    proxy = rig.proxy(key="not-a-device-key")
    rig.boot(keypad, wire)
    mark = wire.mark()
    keypad.login(rig.number(keypad))
    wire.wait_answer(wire.wait_keypad(LOGIN, mark)[0])
    health = proxy.wait(
        lambda h: re.search(r"auth|key|unauthori|refus", error_text(h)),
        what="the refused key named in /health errors",
    )
    assert health["http_status"] == 503
    proxy.stop()
    proxy = rig.proxy(url=f"http://127.0.0.1:{free_port()}")
    health = proxy.wait(
        lambda h: re.search(r"unreachable|reach|connect|refused|unavailable", error_text(h)),
        what="an unreachable Odoo named in /health errors",
    )
    assert health["http_status"] == 503
    assert rig.events(keypad.serial) == []
    proxy.stop()
    rig.proxy()
    rig.wait_events(keypad.serial, {"login": 1})


# --------------------------------------------------------------------------- C6 / C7 screen


def test_led_and_display_follow_every_hello(rig):
    """C7 / host rule 5: after HELLO the host sends SET_TIME (clock unset), DISPLAY and
    LED (off: no teller); after a LOGIN Odoo accepts, DISPLAY with the teller and LED green
    solid; after a reboot, DISPLAY and LED again."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    mark = wire.mark()
    hello = rig.boot(keypad, wire)
    wire.wait_host(DISPLAY, mark, timeout=5)
    led = wire.wait_host(LED, mark, timeout=5)
    if hello.time_ms == 0:
        assert wire.host_since(mark, SET_TIME), "SET_TIME for an unset clock"
    assert led.led()[0] == ck.LED_OFF, "no teller: LED off"
    mark = wire.mark()
    number = rig.number(keypad)
    keypad.login(number)
    shown = wire.wait_host(DISPLAY, mark, where=lambda f: f.display()[2] != "", timeout=20)
    assert shown.display()[1] == number
    led = wire.wait_host(LED, mark, where=lambda f: f.led()[0] == ck.LED_GREEN, timeout=10)
    assert led.led()[1] == ck.PATTERN_SOLID
    if "power" in keypad.capabilities:
        keypad.power_cut()
        mark = wire.mark()
        rig.boot(keypad, wire)
        shown = wire.wait_host(DISPLAY, mark, timeout=5)
        assert shown.display()[1] == number, "the teller's screen again after the HELLO"
        led = wire.wait_host(LED, mark, timeout=5)
        assert led.led()[0] == ck.LED_GREEN
    rows = rig.wait_events(keypad.serial, {"login": 1})
    assert rows[0]["employee_number"] == number


def test_unknown_employee_is_told_to_the_keypad(rig):
    """C6: LOGIN with a number Odoo does not know is ACKed (it is in the outbox); when
    Odoo answers unknown_employee the host sends BEEP (2), a DISPLAY with the refused
    number and a message, and LED red. Odoo stores no login."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    rig.boot(keypad, wire)
    mark = wire.mark()
    number = "99" + "".join(random.choices("0123456789", k=12))
    keypad.login(number)
    (login,) = wire.wait_keypad(LOGIN, mark)
    assert wire.wait_answer(login).type == ACK
    beep = wire.wait_host(BEEP, mark, timeout=20)
    assert beep.beep()[0] == 2
    shown = wire.wait_host(
        DISPLAY, mark, where=lambda f: f.display()[1] == number and f.display()[2], timeout=5
    )
    assert shown.display()[0] == 0, "a short message instead of a teller's name, no stars"
    wire.wait_host(LED, mark, where=lambda f: f.led()[0] == ck.LED_RED, timeout=5)
    assert not [f for f in wire.host_since(mark, NACK) if f.acked_seq == login.seq]
    rig.wait_events(keypad.serial, {"login": 0})


def test_start_without_a_teller_is_told_to_the_keypad(rig):
    """C6: a START while Odoo's last reply shows no teller (and no LOGIN since) is stored
    (a session without a teller) and the keypad gets BEEP (2) and a "please log in"
    DISPLAY."""
    wire = rig.wire()
    keypad = rig.keypad(wire)
    rig.proxy()
    rig.boot(keypad, wire)
    deadline = time.monotonic() + 20
    while not rig.device(keypad.serial)["last_seen"] and time.monotonic() < deadline:
        time.sleep(0.3)  # Odoo answered the HELLO: the proxy knows there is no teller
    time.sleep(1.0)
    mark = wire.mark()
    keypad.start()
    wire.wait_answer(wire.wait_keypad(START, mark)[0])
    beep = wire.wait_host(BEEP, mark, timeout=20)
    assert beep.beep()[0] == 2
    shown = wire.wait_host(DISPLAY, mark, where=lambda f: f.display()[2] != "", timeout=5)
    assert shown.display()[2], "a 'please log in' message"
    rig.wait_events(keypad.serial, {"start": 1})
    (session,) = rig.sessions(keypad.serial)
    assert not session["employee_id"]

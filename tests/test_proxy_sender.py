"""hardware_proxy.sender and odoo_client against the REAL Odoo (the `odoo_server` fixture).

One `odoo shell` call per module sets up a Service Device user with its API key, an
outlet and one counter with its keypad per test (serial numbers unique per run). Odoo is
checked through JSON-2 with an admin key. A few client tests use a small local HTTP
server instead, for what a live Odoo will not do on demand (stale keep-alive sockets,
a reverse proxy's 502).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hardware_proxy.odoo_client import (
    OdooAuthError,
    OdooClient,
    OdooRejected,
    OdooUnavailable,
)
from hardware_proxy.outbox import Outbox
from hardware_proxy.sender import Sender, health_probe
from odoo_server import free_port, odoo_shell

KEYPADS = ["flow", "dup", "bad", "poison", "big", "auth", "outage", "reply", "drain", "probe"]

SETUP = """
import json
from datetime import timedelta
from odoo import Command, fields
tag = {tag!r}
group = env.ref("service_evaluation.group_service_device")
user = env["res.users"].create({{
    "name": f"pytest keypad proxy {{tag}}",
    "login": f"pytest.keypad.{{tag}}",
    "group_ids": [Command.set([group.id])],
}})
outlet = env["service.org.unit"].create(
    {{"name": f"Pytest outlet {{tag}}", "code": f"PT-{{tag}}", "unit_type": "outlet"}}
)
serials = {{}}
for name in {names!r}:
    code = f"PT-{{tag}}-{{name}}"
    counter = env["service.evaluation.counter"].create(
        {{"name": code, "code": code, "outlet_id": outlet.id}}
    )
    env["service.evaluation.device"].create(
        {{"serial_number": code, "counter_id": counter.id, "device_user_id": user.id}}
    )
    serials[name] = code
key = user._service_device_key_generate("pytest", fields.Datetime.now() + timedelta(days=30))
admin_key = env["res.users.apikeys"].with_user(env.ref("base.user_admin"))._generate(
    None, "pytest sender", None
)
env.cr.commit()
print("SETUP=" + json.dumps({{"key": key, "admin_key": admin_key, "serials": serials}}))
"""


@dataclass
class Keypads:
    url: str
    db: str
    key: str
    admin_key: str
    serials: dict[str, str]

    def client(self, key: str | None = None, **kwargs) -> OdooClient:
        return OdooClient(self.url, self.db, self.key if key is None else key, **kwargs)

    def json2(self, model: str, method: str, **kwargs):
        request = urllib.request.Request(
            f"{self.url}/json/2/{model}/{method}",
            data=json.dumps(kwargs).encode(),
            headers={
                "Authorization": f"bearer {self.admin_key}",
                "Content-Type": "application/json",
                "X-Odoo-Database": self.db,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stored_uids(self, serial: str) -> list[str]:
        """The event ids Odoo holds for this keypad (one row per stored event)."""
        rows = self.json2(
            "service.evaluation.event",
            "search_read",
            domain=[["device_id.serial_number", "=", serial]],
            fields=["event_uid"],
        )
        return sorted(row["event_uid"] for row in rows)

    def sessions(self, serial: str) -> list[dict]:
        return self.json2(
            "service.evaluation.session",
            "search_read",
            domain=[["device_id.serial_number", "=", serial]],
            fields=["state", "is_rated", "score", "employee_id"],
        )


@pytest.fixture(scope="module")
def keypads(odoo_server, odoo_db) -> Keypads:
    tag = uuid.uuid4().hex[:8]
    output = odoo_shell(odoo_db, SETUP.format(tag=tag, names=KEYPADS))
    line = next(line for line in output.splitlines() if line.startswith("SETUP="))
    values = json.loads(line[len("SETUP=") :])
    return Keypads(odoo_server.url, odoo_db, **values)


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


# ---------------------------------------------------------------------- helpers
def at(seconds: float) -> str:
    """A device time `seconds` from now (negative: in the past), ISO 8601 with offset."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


def ev(serial: str, event_type: str, seconds: float, **extra) -> dict:
    uid = f"{serial}:{uuid.uuid4().hex[:12]}"
    return {"id": uid, "device": serial, "type": event_type, "time": at(seconds), **extra}


def rated_flow(serial: str, key: int = 1, employee: str = "1001") -> list[dict]:
    """A teller logs in, serves a customer, who presses `key`: one rated session."""
    return [
        ev(serial, "login", -40, employee=employee),
        ev(serial, "start", -39),
        ev(serial, "end", -30),
        ev(serial, "rate", -28, key=key),
    ]


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


@contextmanager
def running(sender: Sender, drain_timeout: float = 0.0):
    sender.start()
    try:
        yield sender
    finally:
        sender.stop(drain_timeout=drain_timeout)
        assert not sender.is_alive()


def deliver_all(outbox: Outbox, client: OdooClient, **kwargs) -> Sender:
    """Run a sender until the outbox is empty and it is idle; returns it, stopped."""
    sender = Sender(outbox, client, backoff_initial=0.05, backoff_max=0.5, **kwargs)
    with running(sender):
        wait_for(
            lambda: sender.status()["state"] == "idle" and outbox.depth() == 0,
            what=f"an empty outbox (status {sender.status()})",
        )
    return sender


# ---------------------------------------------------------------------- delivery
def test_events_reach_odoo_once_and_leave_the_outbox(keypads, outbox):
    serial = keypads.serials["flow"]
    events = [*rated_flow(serial, key=1), ev(serial, "heartbeat", -1, firmware="2.3.1")]
    assert outbox.add(events) == 5

    sender = deliver_all(outbox, keypads.client(), batch_size=2)

    status = sender.status()
    assert status["state"] == "stopped"
    assert status["sent_total"] == 4
    assert status["duplicates_total"] == 0
    assert status["parked_total"] == 0
    assert status["batches_total"] == 3
    assert status["consecutive_failures"] == 0
    assert status["queue_depth"] == 0
    assert status["dead_letters"] == 0
    assert time.time() - status["last_success_at"] < 30
    assert keypads.stored_uids(serial) == sorted(e["id"] for e in events[:4])
    [session] = keypads.sessions(serial)
    assert session["state"] == "rated"
    assert session["score"] == 100
    assert session["employee_id"][1] == "刘洋"


def test_resent_events_come_back_duplicate_and_are_deleted(keypads, outbox):
    """The proxy died after Odoo stored a batch and before deleting it: send it again."""
    serial = keypads.serials["dup"]
    events = rated_flow(serial, key=2)
    client = keypads.client()
    first = client.post_events(events)
    assert [r["status"] for r in first["results"]] == ["stored"] * 4
    later = ev(serial, "start", -10)
    outbox.add([*events, later])

    sender = deliver_all(outbox, client)

    status = sender.status()
    assert status["duplicates_total"] == 4
    assert status["sent_total"] == 1
    assert keypads.stored_uids(serial) == sorted(e["id"] for e in [*events, later])
    assert [s["state"] for s in keypads.sessions(serial) if s["is_rated"]] == ["rated"]

    outbox.add(events)  # once more, from the keypad's retransmissions
    assert deliver_all(outbox, client).status()["duplicates_total"] == 4
    assert len(keypads.stored_uids(serial)) == 5


def test_refused_events_are_parked_and_the_rest_delivered(keypads, outbox):
    serial = keypads.serials["bad"]
    ghost = f"PT-ghost-{uuid.uuid4().hex[:8]}"
    login, start, end, _rate = rated_flow(serial)
    wrong_key = ev(serial, "rate", -29, key=5)  # a key the 4-key scale does not have
    unknown_device = ev(ghost, "start", -35)
    right_key = ev(serial, "rate", -27, key=2)
    outbox.add([login, start, end, wrong_key, unknown_device, right_key])

    sender = deliver_all(outbox, keypads.client())

    assert sender.status()["parked_total"] == 2
    assert sender.status()["sent_total"] == 4
    letters = {letter["uid"]: letter for letter in outbox.dead_letters()}
    assert letters.keys() == {wrong_key["id"], unknown_device["id"]}
    assert letters[wrong_key["id"]]["reason"] == "unknown_key: key 5 is not on the rating scale"
    assert letters[wrong_key["id"]]["payload"] == wrong_key
    assert letters[unknown_device["id"]]["reason"] == (
        f"unknown_device: device {ghost} is not registered"
    )
    assert keypads.stored_uids(serial) == sorted(e["id"] for e in (login, start, end, right_key))
    [session] = keypads.sessions(serial)
    assert (session["state"], session["score"]) == ("rated", 80)


def test_a_batch_odoo_chokes_on_is_split_and_the_culprit_parked(keypads, outbox):
    """An event that makes Odoo refuse the whole call must not block the queue."""
    serial = keypads.serials["poison"]
    flow = rated_flow(serial)
    poison = ev(serial, "heartbeat", -35, key_count=10**30)  # overflows an int column
    outbox.add([*flow[:2], poison, *flow[2:]])

    sender = deliver_all(outbox, keypads.client())

    assert [letter["uid"] for letter in outbox.dead_letters()] == [poison["id"]]
    assert outbox.dead_letters()[0]["reason"]
    assert sender.status()["parked_total"] == 1
    assert keypads.stored_uids(serial) == sorted(e["id"] for e in flow)


def test_a_batch_too_large_is_split(keypads, outbox):
    serial = keypads.serials["big"]
    outbox.add([ev(serial, "heartbeat", -n / 1000, key_count=4) for n in range(1001)])

    sender = deliver_all(outbox, keypads.client(timeout=60), batch_size=1001)

    status = sender.status()
    assert status["acknowledged_total"] == 1001, "heartbeats are answered ok"
    assert status["batches_total"] == 2, "1001 refused as batch_too_large, then 500 + 501"
    assert status["parked_total"] == 0


@pytest.mark.parametrize("which", ["wrong_key", "not_a_device"])
def test_a_refused_api_key_keeps_every_event(keypads, outbox, caplog, which):
    serial = keypads.serials["auth"]
    events = [ev(serial, "start", -5), ev(serial, "end", -4)]
    outbox.add(events)
    key = "pytest-not-a-key-0123456789" if which == "wrong_key" else keypads.admin_key
    sender = Sender(outbox, keypads.client(key), backoff_initial=0.01, backoff_max=0.05)
    caplog.set_level(logging.DEBUG, logger="hardware_proxy")
    with running(sender):
        wait_for(lambda: sender.status()["consecutive_failures"] >= 3, what="3 failures")
        status = sender.status()
    assert status["state"] == "auth_failed"
    assert ("Unauthorized" if which == "wrong_key" else "not_a_device") in status["last_error"]
    assert status["queue_depth"] == 2
    assert status["dead_letters"] == 0
    assert [item.payload for item in outbox.peek(10)] == events
    assert outbox.peek(1)[0].attempts >= 3
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, "loud once, not at every retry"
    assert key not in caplog.text
    assert not {e["id"] for e in events} & set(keypads.stored_uids(serial))

    # The operator fixes the key: everything arrives.
    deliver_all(outbox, keypads.client())
    assert {e["id"] for e in events} <= set(keypads.stored_uids(serial))


def test_odoo_unreachable_then_back(keypads, outbox):
    serial = keypads.serials["outage"]
    events = rated_flow(serial, key=3)
    outbox.add(events)
    down = OdooClient(f"http://127.0.0.1:{free_port()}", keypads.db, keypads.key, timeout=2)
    sender = Sender(outbox, down, backoff_initial=0.01, backoff_max=0.1)
    with running(sender, drain_timeout=1.0):
        wait_for(lambda: sender.status()["consecutive_failures"] >= 3, what="3 failures")
        status = sender.status()
    assert status["state"] == "backing_off"
    assert "cannot reach" in status["last_error"]
    assert status["next_attempt_at"] >= status["last_error_at"]
    assert outbox.depth() == 4
    assert outbox.dead_letter_count() == 0
    assert sender.status()["state"] == "stopped"

    later = ev(serial, "start", -2)
    outbox.add([later])  # pressed while Odoo was away
    deliver_all(outbox, keypads.client())
    assert keypads.stored_uids(serial) == sorted(e["id"] for e in [*events, later])
    assert [s["score"] for s in keypads.sessions(serial) if s["is_rated"]] == [60]


def test_device_replies_reach_the_callback(keypads, outbox):
    serial = keypads.serials["reply"]
    replies = []

    def on_device_replies(devices):
        replies.append(devices)
        if len(replies) == 1:
            raise RuntimeError("a broken display must not stop the sender")

    outbox.add([ev(serial, "login", -20, employee="1001"), ev(serial, "start", -19)])
    # idle_wait is long: the second event only goes out at once because of wake().
    sender = Sender(outbox, keypads.client(), idle_wait=60, on_device_replies=on_device_replies)
    with running(sender):
        wait_for(lambda: len(replies) == 1, what="the first reply")
        wait_for(lambda: sender.status()["state"] == "idle", what="idle")
        outbox.add([ev(serial, "end", -5)])
        sender.wake()
        wait_for(lambda: len(replies) == 2, timeout=10, what="the reply after wake()")
    first = replies[0][serial]
    assert first["display"]["teller_name"] == "刘洋"
    assert first["display"]["employee_number"] == "1001"
    assert isinstance(first["display"]["star_level"], int)
    assert first["prompt"] == "greeting"
    assert replies[1][serial]["prompt"] == "please_rate"
    assert outbox.depth() == 0


def test_stop_drains_the_queue(keypads, outbox):
    serial = keypads.serials["drain"]
    sender = Sender(outbox, keypads.client(), idle_wait=60)
    sender.start()
    wait_for(lambda: sender.status()["state"] == "idle", what="idle")
    events = rated_flow(serial)
    outbox.add(events)  # no wake(): only the drain of stop() sends them
    sender.stop(drain_timeout=10)
    assert not sender.is_alive()
    assert sender.status()["state"] == "stopped"
    assert outbox.depth() == 0
    assert keypads.stored_uids(serial) == sorted(e["id"] for e in events)


def test_stop_when_odoo_is_away_loses_nothing(outbox):
    outbox.add([{"id": "keep-1", "device": "KP-1", "type": "start", "time": at(0)}])
    down = OdooClient(f"http://127.0.0.1:{free_port()}", "db", "key", timeout=1)
    sender = Sender(outbox, down, backoff_initial=5, backoff_max=5)
    sender.start()
    wait_for(lambda: sender.status()["consecutive_failures"] >= 1, what="a failure")
    started = time.monotonic()
    sender.stop(drain_timeout=1)
    assert time.monotonic() - started < 3
    assert not sender.is_alive()
    assert outbox.depth() == 1
    Sender(outbox, down).stop()  # never started: nothing to do
    assert outbox.depth() == 1


def test_stop_cuts_off_a_call_that_hangs(outbox):
    """Odoo accepted the connection but never answers: stop() still returns in time."""
    outbox.add([{"id": "hang-1", "device": "KP-1", "type": "start", "time": at(0)}])
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        hanging = OdooClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "db", "k", timeout=60)
        sender = Sender(outbox, hanging)
        sender.start()
        wait_for(lambda: sender.status()["state"] == "sending", what="the call to start")
        time.sleep(0.1)
        started = time.monotonic()
        sender.stop(drain_timeout=0.5)
        assert time.monotonic() - started < 3
        assert not sender.is_alive()
    finally:
        silent.close()
    assert outbox.depth() == 1
    assert "connection lost" in sender.status()["last_error"]


# ---------------------------------------------------------------------- backoff
class FakeClient:
    """Answers post_events() from a list of replies or exceptions."""

    url = "fake://odoo"

    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls: list[list[dict]] = []

    def post_events(self, events):
        self.calls.append(events)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if callable(reply):
            reply = reply(events)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def close(self):
        pass


class RecordingRandom:
    """Records the jitter ranges; waits not at all, or the longest (pick_high)."""

    def __init__(self, pick_high: bool = False):
        self.ranges = []
        self.pick_high = pick_high

    def uniform(self, low, high):
        self.ranges.append((low, high))
        return high if self.pick_high else low


def test_backoff_is_exponential_with_full_jitter(outbox):
    outbox.add([{"id": "b1", "device": "KP-1"}])
    rng = RecordingRandom()
    client = FakeClient(OdooUnavailable("down"))
    sender = Sender(outbox, client, backoff_initial=0.5, backoff_max=3.0, rng=rng)
    with running(sender):
        wait_for(lambda: len(rng.ranges) >= 6, what="6 backoffs")
    assert rng.ranges[:6] == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 3.0), (0, 3.0), (0, 3.0)]
    assert outbox.depth() == 1


def test_a_success_resets_the_backoff(outbox):
    outbox.add([{"id": "r1", "device": "KP-1"}, {"id": "r2", "device": "KP-1"}])
    rng = RecordingRandom()
    ok = {"results": [{"id": "r1", "status": "stored"}], "devices": {}}
    down = OdooUnavailable("down")
    client = FakeClient(down, down, ok, down, down)
    sender = Sender(outbox, client, batch_size=1, backoff_initial=1, backoff_max=60, rng=rng)
    with running(sender):
        wait_for(lambda: len(rng.ranges) >= 4, what="4 backoffs")
    assert rng.ranges[:4] == [(0, 1), (0, 2), (0, 1), (0, 2)]
    assert [item.uid for item in outbox.peek(5)] == ["r2"]


def test_answers_that_do_not_match_delete_nothing(outbox):
    outbox.add([{"id": f"u{n}", "device": "KP-1"} for n in range(4)])

    def shuffled(events):
        return {
            "results": [
                {"id": "u1", "status": "stored"},  # out of place, but it names its event
                {"id": "u0", "status": "duplicate"},
                {"id": "someone-else", "status": "stored"},
            ],
            "devices": {},
        }

    rng = RecordingRandom(pick_high=True)
    sender = Sender(outbox, FakeClient(shuffled), backoff_initial=5, rng=rng)
    with running(sender):
        wait_for(lambda: sender.status()["consecutive_failures"] == 1, what="a failure")
    assert [item.uid for item in outbox.peek(5)] == ["u2", "u3"]
    assert sender.status()["state"] == "stopped"
    assert "did not answer 2 of 4" in sender.status()["last_error"]


def test_whole_batch_refusals_are_isolated_by_halving(outbox):
    outbox.add([{"id": f"h{n}", "device": "KP-1"} for n in range(8)])

    def choke_on_h5(events):
        if any(event["id"] == "h5" for event in events):
            return OdooRejected("integer out of range", code="psycopg2.errors.DataError")
        return {"results": [{"id": e["id"], "status": "stored"} for e in events], "devices": {}}

    client = FakeClient(choke_on_h5)
    sender = deliver_all(outbox, client, batch_size=8)
    assert [len(call) for call in client.calls] == [8, 4, 4, 2, 1, 1, 2]
    assert outbox.dead_letters()[0]["uid"] == "h5"
    assert outbox.dead_letters()[0]["reason"] == ("psycopg2.errors.DataError: integer out of range")
    assert sender.status()["sent_total"] == 7


def test_odoo_back_is_noticed_by_a_probe_not_after_the_backoff(outbox):
    """Unreachable (no HTTP answer): the probe runs every probe_interval during a long
    backoff and the batch goes out as soon as Odoo answers it."""
    outbox.add([{"id": "p1", "device": "KP-1"}])
    ok = {"results": [{"id": "p1", "status": "stored"}], "devices": {}}
    down = OdooUnavailable("cannot reach http://odoo: ConnectionRefusedError()")
    client = FakeClient(down, down, down, ok)
    probes = []

    def probe():
        probes.append(time.monotonic())
        return len(probes) >= 3  # Odoo answers /web/health at the third probe

    sender = Sender(
        outbox, client, backoff_initial=60, backoff_max=60, rng=RecordingRandom(pick_high=True),
        probe_interval=0.05, probe=probe,
    )  # fmt: skip
    started = time.monotonic()
    with running(sender):
        wait_for(lambda: outbox.depth() == 0, timeout=5, what="delivery after the probe")
    assert time.monotonic() - started < 3, "not after the 60 s backoff"
    assert len(client.calls) == 4  # three failures, each cut short by a probe, then ok
    assert len(probes) >= 3


@pytest.mark.parametrize(
    "error",
    [
        OdooUnavailable("HTTP 503: maintenance", status=503),
        OdooUnavailable("could not serialize", code="psycopg2.errors.SerializationFailure"),
        OdooAuthError("Unauthorized", code="werkzeug.exceptions.Unauthorized"),
    ],
    ids=["http-503", "database-error", "auth"],
)
def test_odoo_that_answers_but_fails_waits_out_the_backoff(outbox, error):
    """Odoo answered (a 5xx, a database error, a refused key): no probing, the backoff is
    waited out, so a struggling server is not hammered."""
    outbox.add([{"id": "w1", "device": "KP-1"}])
    client = FakeClient(error)
    probes = []
    sender = Sender(
        outbox, client, backoff_initial=5, backoff_max=5, rng=RecordingRandom(pick_high=True),
        probe_interval=0.05, probe=lambda: probes.append(1) or True,
    )  # fmt: skip
    with running(sender):
        time.sleep(0.5)
    assert len(client.calls) == 1
    assert probes == []
    assert outbox.depth() == 1


def test_the_default_probe_asks_odoos_health(keypads):
    assert health_probe(keypads.url)() is True
    assert health_probe(f"http://127.0.0.1:{free_port()}", timeout=1)() is False
    assert health_probe("fake://odoo") is None


def test_a_sender_notices_a_real_odoo_within_a_second(keypads, outbox):
    """End to end with real sockets: a long backoff against a closed port, then the URL
    answers; the sender's default probe finds it and delivers well before the backoff."""
    serial = keypads.serials["probe"]
    event = ev(serial, "start", -1)
    outbox.add([event])
    port = free_port()
    client = keypads.client()
    real_post = client.post_events
    odoo_back = threading.Event()

    def post_events(events):  # Odoo "down" until odoo_back: refused like a closed port
        if not odoo_back.is_set():
            raise OdooUnavailable(f"cannot reach http://127.0.0.1:{port}: ConnectionRefusedError")
        return real_post(events)

    client.post_events = post_events
    health = {"up": False}
    real_probe = health_probe(keypads.url)
    sender = Sender(
        outbox, client, backoff_initial=30, backoff_max=30, rng=RecordingRandom(pick_high=True),
        probe=lambda: health["up"] and real_probe(),
    )  # fmt: skip
    with running(sender):
        wait_for(lambda: sender.status()["consecutive_failures"] >= 1, what="a failure")
        back_at = time.monotonic()
        odoo_back.set()
        health["up"] = True
        wait_for(lambda: outbox.depth() == 0, timeout=10, what="delivery")
        assert time.monotonic() - back_at < 2.5, "noticed within about a probe interval"
    assert event["id"] in keypads.stored_uids(serial)


# ---------------------------------------------------------------------- client
class FakeOdoo(ThreadingHTTPServer):
    """HTTP/1.1 keep-alive server answering each POST with the next canned reply."""

    daemon_threads = True

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        self.connections = 0
        super().__init__(("127.0.0.1", 0), FakeOdooHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeOdooHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.connections += 1

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, dict(self.headers), json.loads(body)))
        status, content_type, data, then_close = self.server.replies.pop(0)
        data = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        # Close without saying so, as a proxy dropping an idle keep-alive socket does.
        self.close_connection = then_close

    def log_message(self, *args):
        pass


@contextmanager
def fake_odoo(*replies):
    server = FakeOdoo(replies)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def rpc(result):
    return (200, "application/json", {"jsonrpc": "2.0", "id": 1, "result": result}, False)


def test_client_keeps_the_connection_and_reconnects_once_when_it_went_stale():
    ok = {"results": [{"id": "k1", "status": "stored"}], "devices": {}}
    stale = (*rpc(ok)[:3], True)
    with fake_odoo(stale, rpc(ok), rpc(ok)) as server:
        client = OdooClient(server.url + "/odoo/", "prod", "secret-key")
        assert client.post_events([{"id": "k1"}]) == ok
        assert client.post_events([{"id": "k1"}]) == ok  # the first socket is dead
        assert client.post_events([{"id": "k1"}]) == ok  # kept alive this time
        client.close()
    assert server.connections == 2
    path, headers, body = server.requests[0]
    assert path == "/odoo/service_evaluation/device/events"
    assert headers["Authorization"] == "Bearer secret-key"
    assert headers["X-Odoo-Database"] == "prod"
    assert headers["Content-Type"] == "application/json"
    assert body["jsonrpc"] == "2.0"
    assert body["params"] == {"events": [{"id": "k1"}]}
    assert "secret-key" not in repr(client)


def rpc_error(name, message="boom"):
    error = {
        "code": 200,
        "message": "Odoo Server Error",
        "data": {"name": name, "message": message},
    }
    return (200, "application/json", {"jsonrpc": "2.0", "id": 1, "error": error}, False)


@pytest.mark.parametrize(
    ("reply", "expected", "code"),
    [
        ((502, "text/html", b"<h1>502 Bad Gateway</h1>", False), OdooUnavailable, None),
        ((503, "text/html", b"maintenance", False), OdooUnavailable, None),
        ((500, "text/html", b"Internal Server Error", False), OdooUnavailable, None),
        ((404, "text/html", b"Not Found", False), OdooUnavailable, None),
        ((200, "text/html", b"<html>captive portal</html>", False), OdooUnavailable, None),
        ((401, "text/html", b"no", False), OdooAuthError, None),
        ((413, "text/html", b"too large", False), OdooRejected, "http_413"),
        (rpc_error("werkzeug.exceptions.Unauthorized"), OdooAuthError, None),
        (rpc_error("psycopg2.OperationalError"), OdooUnavailable, None),
        (rpc_error("psycopg2.errors.SerializationFailure"), OdooUnavailable, None),
        (rpc_error("builtins.KeyError"), OdooRejected, "builtins.KeyError"),
        (rpc({"error": {"code": "not_a_device", "message": "x"}}), OdooAuthError, "not_a_device"),
        (rpc({"error": {"code": "malformed_batch", "message": "x"}}), OdooRejected, None),
        (rpc({"error": {"code": "batch_too_large", "message": "x"}}), OdooRejected, None),
        (rpc("not an object"), OdooUnavailable, None),
    ],
    ids=[
        "502",
        "503",
        "500",
        "404",
        "html-200",
        "401",
        "413",
        "rpc-unauthorized",
        "rpc-operational-error",
        "rpc-serialization-failure",
        "rpc-other-error",
        "not_a_device",
        "malformed_batch",
        "batch_too_large",
        "result-not-an-object",
    ],
)
def test_client_sorts_failures(reply, expected, code):
    with fake_odoo(reply) as server:
        client = OdooClient(server.url, "prod", "secret-key")
        with pytest.raises(expected) as error:
            client.post_events([{"id": "x"}])
    assert type(error.value) is expected
    if code:
        assert error.value.code == code
    assert "secret-key" not in str(error.value)


def test_client_unreachable_and_timeout():
    client = OdooClient(f"http://127.0.0.1:{free_port()}", "db", "key", timeout=1)
    with pytest.raises(OdooUnavailable):
        client.post_events([{"id": "x"}])
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        client = OdooClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "db", "key", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(OdooUnavailable):
            client.post_events([{"id": "x"}])
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    with pytest.raises(ValueError):
        OdooClient("ftp://odoo", "db", "key")

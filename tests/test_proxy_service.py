"""ProxyService in-process, with a virtual keypad on a real pseudo-terminal and Odoo away.

The client points at a closed loopback port: the proxy must keep answering the keypad,
keep every press, alarm before the outbox is full, and refuse (BUSY) only when it is.
Where Odoo's verdict matters (an unknown employee, a refused key), a stand-in client
answers as docs/device-api.md says Odoo does.

The tests named after issue 12's cases (case 1 to case 7) failed on the proxy before it.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest
from polling import wait_for

from hardware_proxy import protocol as p
from hardware_proxy.config import Config
from hardware_proxy.odoo_client import OdooAuthError
from hardware_proxy.service import ProxyService, event_uid
from keypad_simulator import VirtualKeypad, endpoints
from odoo_server import free_port


@pytest.fixture
def keypad(tmp_path):
    pad = VirtualKeypad("SVC-01", key_count=4, time_scale=0.05, heartbeats=False)
    pad.open_pty(str(tmp_path / "tty-SVC-01"))
    pad.start()
    yield pad
    pad.stop()


def make_service(tmp_path, max_events=1000, warn_ratio=0.8, client=None, port=None) -> ProxyService:
    config = Config(
        odoo_url=f"http://127.0.0.1:{free_port()}",  # nobody listens there
        odoo_database="none",
        api_key="unused",
        odoo_timeout=1.0,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        outbox_max_events=max_events,
        outbox_warn_ratio=warn_ratio,
        backoff_initial=0.05,
        backoff_max=0.2,
        ports=tuple(port) if isinstance(port, list) else (port or str(tmp_path / "tty-SVC-01"),),
        heartbeat_forward_interval=3600,
    )
    return ProxyService(config, client=client).start()


class FakeOdoo:
    """Stands in for OdooClient: answers each event as the device route does.

    Every event is stored, except a LOGIN of a number not in `employees` (error
    `unknown_employee`); `devices` shows the teller of each keypad's last accepted LOGIN
    (none after a refused one). `refuse_key` makes every call fail as a revoked key does.
    """

    url = "http://odoo.invalid"

    def __init__(self, employees=("1001",), refuse_key=False):
        self.employees = set(employees)
        self.refuse_key = refuse_key
        self.tellers: dict[str, str] = {}
        self.received: list[dict] = []
        self.lock = threading.Lock()

    def post_events(self, events):
        if self.refuse_key:
            raise OdooAuthError("401 Unauthorized: the API key is wrong or revoked")
        results, devices = [], {}
        with self.lock:
            for event in events:
                self.received.append(event)
                answer = {"id": event["id"], "status": "stored"}
                if event["type"] == "heartbeat":
                    answer["status"] = "ok"
                elif event["type"] == "login":
                    if event["employee"] in self.employees:
                        self.tellers[event["device"]] = event["employee"]
                    else:
                        self.tellers.pop(event["device"], None)
                        answer = {"id": event["id"], "status": "error",
                                  "code": "unknown_employee",
                                  "message": f"no employee {event['employee']}"}  # fmt: skip
                elif event["type"] == "logout":
                    self.tellers.pop(event["device"], None)
                results.append(answer)
                number = self.tellers.get(event["device"], "")
                devices[event["device"]] = {"display": {
                    "teller_name": f"Teller {number}" if number else "",
                    "employee_number": number, "star_level": 4 if number else 0}}  # fmt: skip
        return {"results": results, "devices": devices}

    def close(self):
        pass


class RawKeypad:
    """A keypad driven byte by byte from the test, on a pty behind a stable link path.

    It sends exactly the frames the test asks for (no retransmission, no queue), so the
    test decides what is in flight when, as a keypad written from PROTOCOL.md would.
    """

    def __init__(self, link_path):
        self.link_path = str(link_path)
        self.line, self.slave_path = endpoints.open_pty(self.link_path)
        self.decoder = p.FrameDecoder(p.Direction.HOST_TO_DEVICE)
        self.frames: list[p.Frame] = []

    def send(self, message, seq):
        os.write(self.line.fd, p.encode(message, seq))

    def poll(self):
        data = self.line.recv()
        if data:
            self.frames += self.decoder.feed(data)
        return self.frames

    def messages(self, kind):
        return [f.message for f in self.poll() if isinstance(f.message, kind)]

    def wait(self, predicate, timeout=10.0):
        return wait_for(lambda: predicate(self.poll()), timeout)

    def acked(self, seq):
        return self.wait(lambda frames: any(f.message == p.Ack(seq) for f in frames))

    def unplug(self):
        self.line.close()
        endpoints.remove_link(self.link_path, self.slave_path)


def stored(service, kind=None):
    """(device, type, id) of the events in the outbox, oldest first."""
    return [
        (item.device, item.payload["type"], item.uid)
        for item in service.outbox.peek(10_000)
        if kind is None or item.payload["type"] == kind
    ]


def presses(service, kind=None):
    """(device, type, time) of the events in the outbox, whatever their ids."""
    return [
        (item.device, item.payload["type"], item.payload["time"])
        for item in service.outbox.peek(10_000)
        if item.payload["type"] != "heartbeat" and (kind is None or item.payload["type"] == kind)
    ]


def test_offline_keypad_keeps_working(tmp_path, keypad):
    service = make_service(tmp_path)
    try:
        keypad.login("1001")
        keypad.customer(1)
        assert keypad.wait_idle(10), "every press ACKed although Odoo is away"
        expected = [p.Prompt.GREETING, p.Prompt.PLEASE_RATE, p.Prompt.THANK_YOU]

        def prompts():  # each prompt follows its ACK by a moment
            return [m.prompt for m in keypad.received if isinstance(m, p.Play)][-3:]

        assert wait_for(lambda: prompts() == expected), prompts()
        assert keypad.display.employee_no == "1001"  # shown at once, before Odoo knows
        # HELLO's heartbeat + login + start + end + rate, all kept for later.
        assert wait_for(lambda: service.outbox.depth() == 5)
        assert wait_for(lambda: service.status()["sender"]["state"] == "backing_off")
        assert service.status()["status"] == "degraded"
    finally:
        service.stop(drain_timeout=0.5)


def test_outbox_alarm_then_busy(tmp_path, keypad, caplog):
    service = make_service(tmp_path, max_events=8, warn_ratio=0.5)
    try:
        with caplog.at_level(logging.ERROR, logger="hardware_proxy.service"):
            for _ in range(3):
                keypad.customer(2)
            assert wait_for(lambda: service.outbox.level == "full")
            assert wait_for(lambda: service.counters["refused_full"] > 0)
        messages = [record.getMessage() for record in caplog.records]
        assert any("OUTBOX WARNING" in message for message in messages), messages
        assert any("OUTBOX FULL" in message for message in messages), messages
        assert keypad.unacked > 0, "refused presses stay on the keypad, not lost"
        kinds = {error["kind"] for error in service.status()["errors"]}
        assert {"outbox_warning", "outbox_full"} <= kinds
    finally:
        service.stop(drain_timeout=0.2)


def test_event_uid_is_the_identity_of_a_press():
    """C2: serial, keypad time and type; boot and SEQ only when the clock is unset."""
    assert event_uid("K", 1, 7, 1000, "rate") == "K:1000:rate"
    assert event_uid("K", 2, 3, 1000, "rate") == "K:1000:rate"  # re-sent after a reboot
    assert event_uid("K", 1, 7, 1000, "start") != event_uid("K", 1, 7, 1000, "rate")
    assert event_uid("K", 1, 7, 1001, "rate") != event_uid("K", 1, 7, 1000, "rate")
    assert event_uid("K", 0xAB, 7, 0, "end") == "K:b000000ab:s7:end"  # clock unset
    assert event_uid("K", 0xAB, 8, 0, "end") != event_uid("K", 0xAB, 7, 0, "end")
    serial = "X" * 32  # the longest serial the protocol allows fits
    assert len(event_uid(serial, 0xFFFFFFFF, 65535, 0, "heartbeat")) <= 64
    assert len(event_uid(serial, 0, 0, p.MAX_TIME_MS, "heartbeat")) <= 64
    long = event_uid("Y" * 80, 1, 2, 1764489600123, "rate")  # another proxy's serials
    assert len(long) == 64 and long.startswith("Y" * 47 + "~")
    assert long != event_uid("Y" * 80, 1, 2, 1764489600124, "rate")


def test_autodetect_keeps_keypads_and_drops_other_ports(tmp_path, keypad, monkeypatch):
    """A new USB-serial port is asked to identify; only a keypad's HELLO keeps it open."""
    import os
    import pty
    import tty

    from hardware_proxy import service as service_module

    monkeypatch.setattr(service_module, "IDENTIFY_TIMEOUT", 1.0)
    service = make_service(tmp_path)
    silent_master, silent_slave = pty.openpty()  # some other serial device: never answers
    tty.setraw(silent_master)
    tty.setraw(silent_slave)
    silent_path = os.ttyname(silent_slave)
    other_pad = VirtualKeypad("SVC-02", key_count=4, time_scale=0.05, heartbeats=False)
    other_path = other_pad.open_pty(str(tmp_path / "tty-SVC-02"))
    other_pad.start()
    try:
        service._on_port_added(other_path)
        service._on_port_added(silent_path)
        assert wait_for(lambda: "SVC-02" in service.devices), "the keypad said HELLO"
        assert wait_for(lambda: silent_path not in service.links, timeout=5), "silent port closed"
        assert other_path in service.links
        other_pad.customer(1)
        assert other_pad.wait_idle(10)
        assert service.devices["SVC-02"].events_stored == 3
    finally:
        other_pad.stop()
        os.close(silent_master)
        os.close(silent_slave)
        service.stop(drain_timeout=0.2)


# --------------------------------------------------------------------------- issue 12


def test_case1_heartbeat_is_acked(tmp_path, keypad):
    """Host rule 1: HEARTBEAT is ACKed (before the HELLO too); it stays unreliable."""
    raw = RawKeypad(tmp_path / "tty-RAW")
    service = make_service(tmp_path, port=raw.link_path)
    try:
        assert raw.wait(lambda frames: frames), "IDENTIFY on connect"
        raw.send(p.Heartbeat(0), 40)  # before its HELLO: ACKed, not forwarded
        assert raw.acked(40)
        raw.send(p.Hello(0, 5, 4, "RAW-01", "1.0"), 41)
        assert raw.acked(41)
        raw.send(p.Heartbeat(1_773_480_615_250), 42)
        assert raw.acked(42)
        assert [t for _d, t, _u in stored(service)] == ["heartbeat"]  # the HELLO's only
    finally:
        service.stop(drain_timeout=0.2)
        raw.unplug()
    # The simulator counts the ACKs of its heartbeats against the real proxy too.
    service = make_service(tmp_path)
    try:
        assert keypad.wait_idle(10)
        keypad.heartbeat()
        assert wait_for(lambda: keypad.stats["heartbeat_acks"] == 1), keypad.stats
    finally:
        service.stop(drain_timeout=0.2)


def test_case2_power_cut_in_the_ack_window_stores_the_press_once(tmp_path):
    """The RATE is stored, its ACK never read, the keypad reboots and re-sends it under
    a new boot and SEQ: the same press, the same id, one event."""
    cut = threading.Event()
    pad = VirtualKeypad("SVC-01", time_scale=0.05, heartbeats=False,
                        lose_host_frame=lambda frame: cut.is_set())  # fmt: skip
    pad.open_pty(str(tmp_path / "tty-SVC-01"))
    pad.start()
    service = make_service(tmp_path)
    try:
        assert pad.wait_idle(10)
        pad.login("1001")
        assert pad.wait_idle(10)
        cut.set()  # from now on the keypad hears nothing: power is about to go
        rate = pad.press_rate(3)
        assert wait_for(lambda: stored(service, "rate")), "stored and ACKed (ACK lost)"
        boot, seq = pad.boot_id, pad.seq
        pad.reboot()
        cut.clear()
        assert pad.wait_idle(10)
        assert pad.boot_id != boot and pad.acked[-1].seq < seq, "re-sent under a new SEQ"
        assert pad.acked[-1].message == rate
        assert len(presses(service, "rate")) == 1, presses(service)
        assert stored(service, "rate") == [("SVC-01", "rate", f"SVC-01:{rate.time_ms}:rate")]
        assert service.devices["SVC-01"].boot_id == pad.boot_id
    finally:
        service.stop(drain_timeout=0.2)
        pad.stop()


def test_case3_time_zero_retransmissions_are_one_event(tmp_path):
    """Clock unset (SET_TIME lost), the first ACK of every frame lost: three presses,
    three events, each id from boot and SEQ, never from the proxy's receive time."""
    first_acks = set()

    def lose(frame):
        if isinstance(frame.message, p.SetTime):
            return True
        if isinstance(frame.message, p.Ack) and frame.message.acked_seq not in first_acks:
            first_acks.add(frame.message.acked_seq)
            return True
        return False

    pad = VirtualKeypad("SVC-01", time_scale=0.05, heartbeats=False, clock=lambda: 0,
                        lose_host_frame=lose)  # fmt: skip
    pad.open_pty(str(tmp_path / "tty-SVC-01"))
    pad.start()
    service = make_service(tmp_path)
    try:
        assert pad.wait_idle(10)
        pressed = [pad.press_start(), pad.press_end(), pad.press_rate(2)]
        assert pad.wait_idle(10)
        assert all(m.time_ms == 0 for m in pressed)
        assert pad.stats["retransmissions"] >= 3
        assert [t for _d, t, _time in presses(service)] == ["start", "end", "rate"]
        events = [(t, u) for _d, t, u in stored(service) if t != "heartbeat"]
        boot = f"{pad.boot_id:08x}"
        seqs = [f.seq for f in pad.acked if not isinstance(f.message, p.Hello)]
        assert events == [
            ("start", f"SVC-01:b{boot}:s{seqs[0]}:start"),
            ("end", f"SVC-01:b{boot}:s{seqs[1]}:end"),
            ("rate", f"SVC-01:b{boot}:s{seqs[2]}:rate"),
        ]
    finally:
        service.stop(drain_timeout=0.2)
        pad.stop()


def test_case4_another_keypad_behind_the_same_path(tmp_path):
    """Keypad X leaves; keypad Y is plugged in behind X's path with a START in flight.
    The START is held (ACKed) until Y's HELLO, then Y's: never X's."""
    link = tmp_path / "tty-SHARED"
    x = RawKeypad(link)
    service = make_service(tmp_path, port=str(link))
    try:
        assert x.wait(lambda frames: any(isinstance(f.message, p.Identify) for f in frames))
        x.send(p.Hello(1_773_480_600_000, 1, 4, "KEY-X", "1.0"), 0)
        assert x.acked(0)
        x.send(p.ServiceStart(1_773_480_601_000), 1)
        assert x.acked(1)
        x.unplug()
        y = RawKeypad(link)  # the same path, another keypad: the proxy reconnects
        assert y.wait(lambda frames: any(isinstance(f.message, p.Identify) for f in frames))
        y.send(p.ServiceStart(1_773_480_602_000), 7)  # its frame in flight, before HELLO
        assert y.acked(7), "held durably, then ACKed"
        assert presses(service) == [("KEY-X", "start", "2026-03-14T09:30:01.000Z")]
        health = service.status()
        assert health["queue"]["held"] == 1
        assert [link_["held"] for link_ in health["links"]] == [1]
        assert any(e["kind"] == "held_frames" for e in health["errors"])
        assert health["status"] == "degraded"
        time.sleep(1.1)  # IDENTIFY at most once a second while the port is unidentified
        y.send(p.ServiceStart(1_773_480_602_000), 7)  # ACK lost: the same bytes again
        assert y.wait(lambda frames: sum(f.message == p.Ack(7) for f in frames) == 2)
        identifies = len(y.messages(p.Identify))
        assert 2 <= identifies <= 3
        y.send(p.Hello(1_773_480_603_000, 9, 4, "KEY-Y", "1.0"), 8)
        assert y.acked(8)
        assert wait_for(lambda: service.outbox.held_count() == 0)
        assert presses(service) == [
            ("KEY-X", "start", "2026-03-14T09:30:01.000Z"),
            ("KEY-Y", "start", "2026-03-14T09:30:02.000Z"),
        ]
        starts = stored(service, "start")
        assert starts == [
            ("KEY-X", "start", "KEY-X:1773480601000:start"),
            ("KEY-Y", "start", "KEY-Y:1773480602000:start"),
        ]
        y.unplug()
    finally:
        service.stop(drain_timeout=0.2)


def test_keypad_moved_to_a_new_path(tmp_path):
    """EV-1 leaves /dev/ttyUSB0 for /dev/ttyUSB1 (both configured): a frame before its
    HELLO there is held, the HELLO moves the keypad, its display and LED follow."""
    old_path, new_path = tmp_path / "ttyUSB0", tmp_path / "ttyUSB1"
    old = RawKeypad(old_path)
    service = make_service(tmp_path, port=[str(old_path), str(new_path)])
    try:
        assert old.wait(lambda frames: frames)
        old.send(p.Hello(1_773_480_600_000, 7, 4, "EV-1", "1.0"), 10)
        assert old.acked(10)
        old.send(p.ServiceStart(1_773_480_601_000), 11)
        assert old.acked(11)
        old.unplug()
        assert wait_for(lambda: not service.status()["links"][0]["identified"])
        new = RawKeypad(new_path)  # the proxy tries the configured path every second
        assert new.wait(lambda frames: any(isinstance(f.message, p.Identify) for f in frames))
        new.send(p.Login(1_773_480_602_000, "1024"), 12)
        assert new.acked(12)
        new.send(p.Hello(1_773_480_603_000, 7, 4, "EV-1", "1.0"), 13)
        assert new.acked(13)
        green = p.Led(p.Colour.GREEN, p.Pattern.SOLID)
        assert new.wait(lambda frames: frames[-1].message == green)
        assert new.messages(p.Display)[-1] == p.Display("", "1024", 0)
        device = service.devices["EV-1"]
        assert device.link.url == str(new_path)
        assert device.tracker.highest == 13 and device.tracker.reboots == 0  # not rebooted
        assert presses(service) == [
            ("EV-1", "start", "2026-03-14T09:30:01.000Z"),
            ("EV-1", "login", "2026-03-14T09:30:02.000Z"),
        ]
        links = {link["url"]: link["device"] for link in service.status()["links"]}
        assert links == {str(old_path): None, str(new_path): "EV-1"}
        new.unplug()
    finally:
        service.stop(drain_timeout=0.2)


def test_held_frames_survive_a_proxy_restart(tmp_path):
    """A frame held (and ACKed) before HELLO is in the outbox's journal: a proxy killed
    before the HELLO attributes it after its restart, to the keypad that then says HELLO."""
    link = tmp_path / "tty-SVC-01"
    raw = RawKeypad(link)
    service = make_service(tmp_path)
    try:
        assert raw.wait(lambda frames: frames)
        raw.send(p.Login(1_773_480_601_000, "1001"), 3)
        assert raw.acked(3)
    finally:
        service.stop(drain_timeout=0)
    raw.frames.clear()
    service = make_service(tmp_path)
    try:
        assert service.status()["queue"]["held"] == 1
        assert raw.wait(lambda frames: any(isinstance(f.message, p.Identify) for f in frames))
        raw.send(p.Hello(1_773_480_602_000, 4, 4, "SVC-01", "1.0"), 4)
        assert raw.acked(4)
        assert presses(service) == [("SVC-01", "login", "2026-03-14T09:30:01.000Z")]
        assert stored(service, "login") == [("SVC-01", "login", "SVC-01:1773480601000:login")]
        # The display the keypad showed at its LOGIN comes back after the HELLO.
        assert raw.wait(lambda f: p.Display("", "1001", 0) in [x.message for x in f])
    finally:
        service.stop(drain_timeout=0.2)
        raw.unplug()


def test_case5_unknown_employee_is_told_to_the_keypad(tmp_path, keypad):
    """Odoo refuses LOGIN 99999999 (unknown_employee): two beeps, the number with a
    message, LED red. A START then, with no teller, gets "please log in"."""
    odoo = FakeOdoo(employees={"1001"})
    service = make_service(tmp_path, client=odoo)
    try:
        assert keypad.wait_idle(10)
        keypad.login("99999999")
        assert keypad.wait_idle(10), "ACKed once in the outbox, as every event"
        beeps = lambda: [m for m in keypad.received if isinstance(m, p.Beep)]  # noqa: E731
        red = p.Led(p.Colour.RED, p.Pattern.SOLID)
        assert wait_for(lambda: keypad.received[-1] == red), keypad.received
        assert beeps() == [p.Beep(2, 150)]
        assert keypad.display.employee_no == "99999999"
        assert "Unknown number" in keypad.display.teller_name
        keypad.press_start()
        off = p.Led(p.Colour.OFF, p.Pattern.SOLID)
        assert wait_for(lambda: keypad.received[-1] == off), keypad.received
        assert len(beeps()) == 2
        assert "Please log in" in keypad.display.teller_name
        keypad.login("1001")
        assert wait_for(lambda: keypad.display.teller_name == "Teller 1001")
        assert [m for m in keypad.received if isinstance(m, p.Led)][-1] == p.Led(
            p.Colour.GREEN, p.Pattern.SOLID
        )
        keypad.press_start()
        assert keypad.wait_idle(10)
        assert wait_for(lambda: len(odoo.received) >= 5)
        assert len(beeps()) == 2, "a START with a teller logged in is not refused"
    finally:
        service.stop(drain_timeout=0.2)


def test_case6_fifo_keypad_across_a_proxy_restart(tmp_path):
    """A keypad that queues its IDENTIFY answer behind its frame in flight: the restarted
    proxy holds and ACKs the LOGIN, the HELLO follows, nothing locks up."""
    pad = VirtualKeypad("SVC-01", time_scale=0.05, heartbeats=False, fifo_identify=True)
    pad.open_pty(str(tmp_path / "tty-SVC-01"))
    pad.start()
    service = make_service(tmp_path)
    try:
        assert pad.wait_idle(10)
    finally:
        service.stop(drain_timeout=0)
    try:
        login = pad.login("1001")  # in flight while no proxy reads the port
        time.sleep(0.3)
        service = make_service(tmp_path)
        assert pad.wait_idle(10), f"{pad.unacked} frames never ACKed"
        assert stored(service, "login") == [("SVC-01", "login", f"SVC-01:{login.time_ms}:login")]
        assert service.status()["queue"]["held"] == 0
        assert [type(f.message) for f in pad.acked][-2:] == [p.Login, p.Hello]
    finally:
        service.stop(drain_timeout=0.2)
        pad.stop()


def test_case7_led_follows_hello_and_every_display(tmp_path, keypad):
    """Host rule 5: SET_TIME, DISPLAY and LED after HELLO; the LED follows the display."""
    service = make_service(tmp_path)
    try:
        assert keypad.wait_idle(10)
        assert wait_for(lambda: any(isinstance(m, p.Led) for m in keypad.received))
        kinds = [type(m) for m in keypad.received]
        assert kinds[:2] == [p.Display, p.Led], kinds
        assert keypad.received[1] == p.Led(p.Colour.OFF, p.Pattern.SOLID)  # nobody logged in
        keypad.login("1001")
        assert wait_for(lambda: keypad.received[-1] == p.Led(p.Colour.GREEN, p.Pattern.SOLID))
        assert keypad.received[-2] == p.Display("", "1001", 0)
    finally:
        service.stop(drain_timeout=0.2)


def test_case7_health_names_every_failing_state(tmp_path, keypad):
    """A refused API key: 503 and its reason in `errors`, not only in sender.last_error."""
    service = make_service(tmp_path, client=FakeOdoo(refuse_key=True))
    try:
        assert keypad.wait_idle(10)
        assert wait_for(lambda: service.status()["sender"]["state"] == "auth_failed")
        health = service.status()
        assert health["status"] == "degraded"
        failing = [e for e in health["errors"] if e.get("current")]
        assert [e["kind"] for e in failing] == ["auth_failed"]
        assert "Unauthorized" in failing[0]["message"]
    finally:
        service.stop(drain_timeout=0.2)
    service = make_service(tmp_path)  # Odoo unreachable, and a port that is not there
    service.add_port(str(tmp_path / "tty-nothing"))
    try:
        assert wait_for(lambda: service.status()["sender"]["state"] == "backing_off")
        assert wait_for(
            lambda: {e["kind"] for e in service.problems()} == {"odoo_unreachable", "port_down"}
        ), service.problems()
        problems = {e["kind"]: e for e in service.problems()}
        assert "Connection refused" in problems["odoo_unreachable"]["message"]
        assert problems["port_down"]["where"].endswith("tty-nothing")
    finally:
        service.stop(drain_timeout=0.2)

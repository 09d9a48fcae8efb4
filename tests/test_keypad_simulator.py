"""The virtual keypad (keypad_simulator/) keeps the keypad's side of PROTOCOL.md:
stop-and-wait retransmission until ACK, IDENTIFY answered by HELLO, reboots, NACKs. The
host here is a socketpair end driven by the test; the command line runs as a subprocess."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from polling import wait_for

from hardware_proxy.protocol import (
    Ack,
    Delivery,
    DeviceMessage,
    Direction,
    Frame,
    FrameDecoder,
    Heartbeat,
    Hello,
    HostMessage,
    Identify,
    Login,
    Nack,
    NackReason,
    Rate,
    SequenceTracker,
    SetTime,
    encode,
    next_seq,
)
from hardware_proxy.transport import LinkState, SerialLink
from keypad_simulator import ScriptError, VirtualKeypad, parse_script, run_script

ROOT = Path(__file__).resolve().parents[1]
SCALE = 0.02  # retransmissions after 20, 40, 80, 160, 160... ms


class SocketHost(threading.Thread):
    """A host on the other end of a socketpair.

    drop_first: the first N frames are lost on the line (never seen).
    lose_acks: the first N frames are stored but their ACK is lost.
    answer(frame) -> Ack | Nack | None decides the answer (default: ACK everything).
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        drop_first: int = 0,
        lose_acks: int = 0,
        answer: Callable[[Frame], HostMessage | None] | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.drop_first = drop_first
        self.lose_acks = lose_acks
        self.answer = answer or (lambda frame: Ack(frame.seq))
        self.decoder = FrameDecoder(Direction.DEVICE_TO_HOST)
        self.tracker = SequenceTracker()
        self.lock = threading.Lock()
        self.frames: list[Frame] = []  # every frame seen
        self.delivered: list[DeviceMessage] = []  # NEW according to the tracker
        self.seq = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            ready = select.select([self.sock], [], [], 0.05)[0]
            if not ready:
                frames = self.decoder.idle()
            else:
                data = self.sock.recv(4096)
                if not data:
                    return
                frames = self.decoder.feed(data)
            for frame in frames:
                self._handle(frame)

    def _handle(self, frame: Frame) -> None:
        with self.lock:
            self.frames.append(frame)
            if self.drop_first:
                self.drop_first -= 1
                return
            if self.tracker.observe(frame.seq, frame.message) is Delivery.NEW:
                self.delivered.append(frame.message)
            if self.lose_acks:
                self.lose_acks -= 1
                return
        reply = self.answer(frame)
        if reply is not None:
            self.send(reply)

    def send(self, message: HostMessage) -> None:
        with self.lock:
            data = encode(message, self.seq)
            self.seq = next_seq(self.seq)
        self.sock.sendall(data)

    def events(self) -> list[DeviceMessage]:
        with self.lock:
            return [m for m in self.delivered if m.RELIABLE and not isinstance(m, Hello)]

    def hellos(self) -> list[tuple[int, Hello]]:
        with self.lock:
            return [(f.seq, f.message) for f in self.frames if isinstance(f.message, Hello)]

    def stop(self) -> None:
        self.stopping.set()
        self.join(2)
        self.sock.close()


@pytest.fixture
def pair() -> Iterator[Callable[..., tuple[VirtualKeypad, SocketHost]]]:
    made: list[tuple[VirtualKeypad, SocketHost]] = []

    def make(serial: str = "SIM-01", host_kwargs=None, **kwargs):
        kwargs.setdefault("time_scale", SCALE)
        kwargs.setdefault("heartbeats", False)
        pad = VirtualKeypad(serial, **kwargs)
        keypad_end, host_end = socket.socketpair()
        pad.attach(keypad_end)
        host = SocketHost(host_end, **(host_kwargs or {}))
        host.start()
        made.append((pad, host))
        return pad, host

    yield make
    for pad, host in made:
        pad.stop()
        host.stop()


@pytest.mark.parametrize(
    "host_kwargs", [{"drop_first": 4}, {"lose_acks": 4}], ids=["frames-lost", "acks-lost"]
)
def test_retransmission_until_ack_delivers_each_press_once(pair, host_kwargs):
    pad, host = pair(host_kwargs=host_kwargs)
    pressed = [pad.login("1001")]
    pad.start()
    for key in (1, 2):
        pressed += [pad.press_start(), pad.press_end(), pad.press_rate(key)]
    assert pad.wait_idle(5), f"{pad.unacked} frames never ACKed"

    events = host.events()
    assert events == pressed  # every press, exactly once, in order
    assert pad.stats["retransmissions"] >= 4
    assert [f.message for f in pad.acked] == [host.hellos()[0][1], *events]
    # A retransmission repeats the frame byte for byte: same SEQ, same timestamp.
    by_seq: dict[int, set[DeviceMessage]] = {}
    for frame in host.frames:
        by_seq.setdefault(frame.seq, set()).add(frame.message)
    assert all(len(messages) == 1 for messages in by_seq.values())
    if "lose_acks" in host_kwargs:
        assert host.tracker.duplicates == 4  # stored once, ACKed when it came again


def test_stop_and_wait_one_frame_in_flight(pair):
    """Without ACKs only the head is sent, again and again with the same SEQ."""
    pad, host = pair(host_kwargs={"answer": lambda frame: None})
    pad.start()
    pad.press_start()
    pad.press_end()
    assert wait_for(lambda: len(host.frames) >= 4)
    assert {type(f.message) for f in host.frames} == {Hello}
    assert {f.seq for f in host.frames} == {0}
    assert pad.unacked == 3


def test_identify_is_answered_with_hello_same_boot_id(pair):
    pad, host = pair(boot_id=0xB007)
    pad.start()
    assert pad.wait_idle(5)
    host.send(Identify())
    assert wait_for(lambda: len(host.hellos()) == 2)
    assert pad.wait_idle(5)
    (seq1, first), (seq2, second) = host.hellos()
    assert first.boot_id == second.boot_id == 0xB007
    assert second.serial == "SIM-01" and second.key_count == 4 and second.firmware == "sim-1.0"
    assert seq2 == next_seq(seq1)  # a new frame, not a retransmission
    assert host.tracker.reboots == 0


def test_identify_gets_past_a_frame_in_flight(pair):
    """A restarted host ACKs no event before a HELLO and asks for one with IDENTIFY: the
    HELLO goes out ahead of the frame in flight, which then arrives once."""
    knows_keypad = threading.Event()
    knows_keypad.set()
    host_ref: list[SocketHost] = []

    def answer(frame: Frame) -> HostMessage | None:
        if isinstance(frame.message, Hello):
            knows_keypad.set()
            return Ack(frame.seq)
        if knows_keypad.is_set():
            return Ack(frame.seq)
        host_ref[0].send(Identify())  # as hardware_proxy.service does
        return None

    pad, host = pair(host_kwargs={"answer": answer})
    host_ref.append(host)
    pad.start()
    assert pad.wait_idle(5)
    knows_keypad.clear()  # the host restarts and forgets the keypad
    host.tracker = SequenceTracker()
    rate = pad.press_rate(2)
    assert pad.wait_idle(5), "the HELLO never got past the unanswered RATE"
    assert host.events() == [rate]
    (_, first), (_, second) = host.hellos()
    assert first.boot_id == second.boot_id
    rates = [f for f in host.frames if f.message == rate]
    assert len({f.seq for f in rates}) == 1  # the same frame, retransmitted


def test_reboot_new_boot_id_and_sequence_from_zero(pair):
    acking = threading.Event()
    acking.set()
    pad, host = pair(host_kwargs={"answer": lambda f: Ack(f.seq) if acking.is_set() else None})
    pad.start()
    pad.login("1001")
    pad.press_start()
    assert pad.wait_idle(5)
    old_boot = pad.boot_id
    assert pad.seq == 3

    acking.clear()  # the ACK of the next press never comes: the keypad resets
    rate = pad.press_rate(3)
    assert wait_for(lambda: any(f.message == rate for f in host.frames))
    pad.reboot()
    acking.set()
    assert pad.wait_idle(5)

    assert pad.boot_id != old_boot
    seq, hello = host.hellos()[-1]
    assert (seq, hello.boot_id) == (0, pad.boot_id)
    # The press queued before the reset comes again, same content, under a new number.
    assert host.frames[-1] == Frame(1, rate)
    assert host.tracker.reboots == 1
    assert [f.message for f in pad.acked].count(rate) == 1


def test_nack_busy_retransmits_other_nack_drops(pair):
    answers = {"busy": 1}

    def answer(frame: Frame) -> HostMessage:
        if isinstance(frame.message, Login):
            if answers["busy"]:
                answers["busy"] -= 1
                return Nack(frame.seq, NackReason.BUSY)
            return Nack(frame.seq, NackReason.UNKNOWN_EMPLOYEE)
        return Ack(frame.seq)

    pad, host = pair(host_kwargs={"answer": answer})
    pad.start()
    login = pad.login("9999")
    start = pad.press_start()
    assert pad.wait_idle(5)
    logins = [f for f in host.frames if isinstance(f.message, Login)]
    assert len(logins) == 2 and logins[0] == logins[1]  # BUSY: same frame again
    assert [(f.message, reason) for f, reason in pad.nacked] == [
        (login, NackReason.UNKNOWN_EMPLOYEE)
    ]
    assert [f.message for f in pad.acked][-1] == start


def test_set_time_and_heartbeats(pair):
    pad, host = pair(clock=lambda: 0, heartbeats=True)  # a keypad whose clock is not set
    pad.start()
    assert pad.wait_idle(5)
    assert host.hellos()[0][1].time_ms == 0
    host.send(SetTime(1_773_480_615_250))
    assert wait_for(lambda: pad.clock_offset_ms == 1_773_480_615_250)
    assert pad.press_start().time_ms == 1_773_480_615_250
    assert pad.wait_idle(5)
    # Idle: heartbeats every 10 s x SCALE = 200 ms, unreliable (new SEQ each, no retry).
    assert wait_for(lambda: sum(isinstance(f.message, Heartbeat) for f in host.frames) >= 2)
    beats = [f for f in host.frames if isinstance(f.message, Heartbeat)]
    assert beats[1].seq == next_seq(beats[0].seq)


def test_keypad_refuses_keys_and_serials_it_cannot_have():
    pad = VirtualKeypad("SIM-01", key_count=3)
    try:
        with pytest.raises(ValueError):
            pad.press_rate(4)  # no fourth key
        with pytest.raises(ValueError):
            pad.customer(0)
        assert pad.unacked == 0
    finally:
        pad.stop()
    with pytest.raises(ValueError):
        VirtualKeypad("bad serial\n")  # serials are printable ASCII


# ---------------------------------------------------------------------- scripts


SCRIPT = """
# two counters
SIM-01 login 1001
SIM-02 login 1002
SIM-01 customer 1
SIM-02 start
sleep 0.05
SIM-02 end      # the customer leaves the counter
SIM-02 rate 2
SIM-01 garbage 00ffaa55
wait-idle 5
"""


def test_parse_script_and_run_it(pair):
    commands = parse_script(SCRIPT, ["SIM-01", "SIM-02"])
    assert [(c.device, c.verb, c.args) for c in commands][:3] == [
        ("SIM-01", "login", ("1001",)),
        ("SIM-02", "login", ("1002",)),
        ("SIM-01", "customer", ("1",)),
    ]
    assert commands[-1].device is None and commands[-1].verb == "wait-idle"

    pads = {}
    hosts = {}
    for serial in ("SIM-01", "SIM-02"):
        pads[serial], hosts[serial] = pair(serial)
        pads[serial].start()
    run_script(commands, pads, threading.Event())
    assert all(pad.unacked == 0 for pad in pads.values())
    assert [type(m).__name__ for m in hosts["SIM-01"].events()] == [
        "Login",
        "ServiceStart",
        "ServiceEnd",
        "Rate",
    ]
    assert [type(m).__name__ for m in hosts["SIM-02"].events()] == [
        "Login",
        "ServiceStart",
        "ServiceEnd",
        "Rate",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "SIM-09 login 1001",  # no such device
        "SIM-01 rate 9",  # no such key
        "SIM-01 rate",  # missing argument
        "SIM-01 login 10a1",  # not digits
        "SIM-01 fly",  # no such command
        "SIM-01",  # no command
        "sleep -1",
        "SIM-01 garbage xyz",
    ],
)
def test_parse_script_errors_name_the_line(line):
    with pytest.raises(ScriptError, match="line 2"):
        parse_script(f"sleep 0\n{line}\n", ["SIM-01"])


# ---------------------------------------------------------------------- command line


def simulate(*args: str) -> list[str]:
    return [sys.executable, "-m", "keypad_simulator", *args]


def test_cli_ptys_for_a_duration():
    started = time.monotonic()
    result = subprocess.run(
        simulate("--devices", "2", "--pty", "--duration", "2", "-q"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["SIM-01", "SIM-02"]
    assert all(line.split()[1].startswith("/dev/pts/") for line in lines)
    assert 2 <= time.monotonic() - started < 15


def test_cli_random_customers_reach_a_link_and_sigterm_stops(tmp_path):
    link_dir = tmp_path / "links"
    process = subprocess.Popen(
        simulate(
            "--devices", "2", "--link-dir", str(link_dir), "--random", "300", "--seed", "7", "-q"
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    link = None
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().split() for _ in range(2)]
        assert lines == [
            ["SIM-01", str(link_dir / "SIM-01")],
            ["SIM-02", str(link_dir / "SIM-02")],
        ]
        assert os.readlink(link_dir / "SIM-01").startswith("/dev/pts/")

        received: list[DeviceMessage] = []

        def on_frames(link: SerialLink, frames: list[Frame]) -> None:
            for frame in frames:
                received.append(frame.message)
                link.send(Ack(frame.seq))

        link = SerialLink(str(link_dir / "SIM-01"), on_frames=on_frames)
        link.start()
        # Login first, then customers rating mostly with the best keys.
        assert wait_for(lambda: any(isinstance(m, Rate) for m in received), timeout=10)
        assert link.state is LinkState.CONNECTED
        kinds = [type(m).__name__ for m in received if not isinstance(m, (Hello, Heartbeat))]
        assert kinds[:3] == ["Login", "ServiceStart", "ServiceEnd"]
        assert next(m for m in received if isinstance(m, Login)).employee_no == "1001"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not (link_dir / "SIM-01").exists() and not (link_dir / "SIM-02").exists()
    finally:
        if link is not None:
            link.stop()
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()


def test_cli_rejects_a_bad_script(tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text("SIM-01 login 1001\nSIM-01 rate 12\n")
    result = subprocess.run(
        simulate("--devices", "1", "--script", str(script)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "line 2" in result.stderr
    assert result.stdout == ""


# --------------------------------------------------------------------------- issue 12


def test_event_times_are_unique_per_keypad(pair):
    """Keypad rule (PROTOCOL.md section 5): a press in the same millisecond as the
    previous one is stamped a millisecond later, so two presses are two events."""
    pad, host = pair(clock=lambda: 1_773_480_615_250)  # a clock that never moves
    pad.start()
    presses = [pad.press_rate(1), pad.press_rate(1), pad.press_start(), pad.press_rate(1)]
    assert [m.time_ms for m in presses] == [1_773_480_615_250 + n for n in range(4)]
    assert pad.wait_idle(5)
    assert host.events() == presses


def test_set_time_restamps_queued_time_zero_events(pair):
    """Presses stamped 0 (clock unset) and not sent yet get their time from the uptime
    when SET_TIME arrives; the frame in flight is retransmitted unchanged."""
    acking = threading.Event()

    def answer(frame: Frame) -> HostMessage | None:
        return Ack(frame.seq) if acking.is_set() or isinstance(frame.message, Hello) else None

    pad, host = pair(clock=lambda: 0, host_kwargs={"answer": answer})
    pad.start()
    assert pad.wait_idle(5)
    first = pad.press_start()
    assert wait_for(lambda: any(f.message == first for f in host.frames))  # in flight
    queued = [pad.press_end(), pad.press_rate(2)]
    time.sleep(0.05)
    host.send(SetTime(1_773_480_615_250))
    assert wait_for(lambda: pad.clock_offset_ms == 1_773_480_615_250)
    acking.set()
    assert pad.wait_idle(5)
    sent = host.events()
    assert sent[0] == first and first.time_ms == 0
    assert [type(m) for m in sent[1:]] == [type(m) for m in queued]
    times = [m.time_ms for m in sent[1:]]
    assert 1_773_480_615_250 - 5_000 < times[0] < times[1] <= 1_773_480_615_250


def test_heartbeat_ack_is_a_link_check(pair):
    """HEARTBEAT is unreliable: never retransmitted, its ACK counted when it comes."""
    pad, _host = pair()
    pad.start()
    assert pad.wait_idle(5)
    pad.heartbeat()
    assert wait_for(lambda: pad.stats["heartbeat_acks"] == 1)
    assert pad.unacked == 0 and pad.stats["retransmissions"] == 0


def test_fifo_keypad_queues_its_identify_answer_behind_the_frame_in_flight(pair):
    """fifo_identify=True: the other reading of IDENTIFY that PROTOCOL.md section 9 shows
    the host must cope with (the default answers ahead of the queue)."""
    acking = threading.Event()
    acking.set()
    answer = lambda frame: Ack(frame.seq) if acking.is_set() else None  # noqa: E731
    pad, host = pair(fifo_identify=True, host_kwargs={"answer": answer})
    pad.start()
    assert pad.wait_idle(5)
    acking.clear()
    login = pad.login("1001")
    assert wait_for(lambda: any(f.message == login for f in host.frames))
    host.send(Identify())
    time.sleep(0.2)
    assert len(host.hellos()) == 1, "no HELLO while the LOGIN waits for its answer"
    acking.set()
    assert pad.wait_idle(5)
    assert [type(f.message) for f in pad.acked][-2:] == [Login, Hello]


def test_lose_host_frame_loses_chosen_frames(pair):
    pad, host = pair(lose_host_frame=lambda f: isinstance(f.message, SetTime))
    pad.start()
    assert pad.wait_idle(5)
    host.send(SetTime(1_773_480_615_250))
    host.send(Identify())
    assert wait_for(lambda: len(host.hellos()) == 2)
    assert pad.clock_offset_ms == 0 and [type(f.message) for f in pad.lost] == [SetTime]

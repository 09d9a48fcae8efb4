"""hardware_proxy transport and discovery on real pseudo-terminals, TCP and loop://.

A VirtualKeypad (keypad_simulator/) plays the keypad on the other end of a real
pty pair or TCP connection; SerialLink is the proxy side. No Odoo, no hardware.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from polling import wait_for

from hardware_proxy.discovery import PortWatcher, prefer_stable_names
from hardware_proxy.protocol import (
    SOF,
    Ack,
    Beep,
    Colour,
    Delivery,
    DeviceMessage,
    Display,
    Frame,
    Hello,
    Led,
    Nack,
    NackReason,
    Pattern,
    Play,
    Prompt,
    Rate,
    SequenceTracker,
    ServiceStart,
    crc16,
    encode,
)
from hardware_proxy.transport import LinkState, SerialLink
from keypad_simulator import VirtualKeypad

SCALE = 0.05  # keypad timers x0.05: first retransmission after 50 ms instead of 1 s


class Host:
    """The service, reduced to its duty on the line: ACK every frame, drop duplicates."""

    def __init__(self, *, fail_first_calls: int = 0) -> None:
        self.lock = threading.Lock()
        self.frames: list[Frame] = []
        self.new: list[DeviceMessage] = []
        self.states: list[tuple[LinkState, str | None]] = []
        self.tracker = SequenceTracker()
        self.fail_first_calls = fail_first_calls

    def on_frames(self, link: SerialLink, frames: list[Frame]) -> None:
        if self.fail_first_calls:
            self.fail_first_calls -= 1
            raise RuntimeError("bug in the service")
        for frame in frames:
            with self.lock:
                self.frames.append(frame)
                if self.tracker.observe(frame.seq, frame.message) is Delivery.NEW:
                    self.new.append(frame.message)
            link.send(Ack(frame.seq))

    def on_state(self, link: SerialLink, state: LinkState, error: str | None) -> None:
        self.states.append((state, error))

    def events(self) -> list[DeviceMessage]:
        """Key presses received, each once (HELLOs and heartbeats left out)."""
        with self.lock:
            return [m for m in self.new if m.RELIABLE and not isinstance(m, Hello)]

    def hellos(self) -> list[Hello]:
        with self.lock:
            return [m for m in self.new if isinstance(m, Hello)]


@pytest.fixture
def make_keypad() -> Iterator[Callable[..., VirtualKeypad]]:
    pads: list[VirtualKeypad] = []

    def make(serial: str = "SIM-01", **kwargs) -> VirtualKeypad:
        kwargs.setdefault("time_scale", SCALE)
        kwargs.setdefault("heartbeats", False)
        pad = VirtualKeypad(serial, **kwargs)
        pads.append(pad)
        return pad

    yield make
    for pad in pads:
        pad.stop()


@pytest.fixture
def make_link() -> Iterator[Callable[..., SerialLink]]:
    links: list[SerialLink] = []

    def make(url: str, host: Host, **kwargs) -> SerialLink:
        kwargs.setdefault("reopen_interval", 0.05)
        link = SerialLink(url, on_frames=host.on_frames, on_state=host.on_state, **kwargs)
        links.append(link)
        link.start()
        return link

    yield make
    for link in links:
        link.stop()
        assert not link.is_alive()
        assert link.state is LinkState.STOPPED


def serve_customers(pad: VirtualKeypad, keys: list[int]) -> list[DeviceMessage]:
    pressed: list[DeviceMessage] = [pad.login("1001")]
    for key in keys:
        pressed += [pad.press_start(), pad.press_end(), pad.press_rate(key)]
    return pressed


def test_frames_from_pty_keypad_reach_on_frames(make_keypad, make_link):
    pad = make_keypad()
    pad.open_pty()
    pad.start()
    host = Host()
    link = make_link(pad.slave_path, host)
    pressed = serve_customers(pad, [1, 2, 3])

    assert pad.wait_idle(5), f"{pad.unacked} frames never ACKed"
    assert host.events() == pressed
    assert [h.boot_id for h in host.hellos()] == [pad.boot_id]
    assert link.state is LinkState.CONNECTED
    assert host.states[0] == (LinkState.CONNECTED, None)
    assert link.stats["frames_in"] >= len(pressed) + 1
    assert link.stats["last_frame_at"] is not None
    assert link.stats["discarded_bytes"] == 0


def test_send_reaches_keypad(make_keypad, make_link):
    pad = make_keypad()
    pad.open_pty()
    pad.start()
    host = Host()
    link = make_link(pad.slave_path, host)
    assert wait_for(host.hellos)
    commands = [
        Display("张伟", "1024", 5),
        Play(Prompt.GREETING),
        Led(Colour.GREEN, Pattern.BLINK_SLOW, 3000),
        Beep(2, 100),
    ]
    for command in commands:
        assert link.send(command) is True

    assert wait_for(lambda: len(pad.received) == len(commands))
    assert pad.received == commands
    assert pad.display == Display("张伟", "1024", 5)
    # The host's own sequence numbers go up by one per frame; an explicit seq is used as is.
    seqs = [frame.seq for frame in pad.host_frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert link.send(Play(Prompt.THANK_YOU), seq=4000)
    assert link.send(Play(Prompt.GOODBYE))
    assert wait_for(lambda: len(pad.received) == len(commands) + 2)
    assert [frame.seq for frame in pad.host_frames[-2:]] == [4000, seqs[-1] + 1]
    assert link.stats["frames_out"] == len(pad.host_frames)


def test_unplug_and_replug_behind_symlink(make_keypad, make_link, tmp_path):
    link_path = tmp_path / "by-id" / "usb-SIM-01"
    link_path.parent.mkdir()
    pad = make_keypad()
    first_slave = pad.open_pty(link_path)
    assert os.readlink(link_path) == first_slave
    pad.start()
    host = Host()
    link = make_link(str(link_path), host)
    before = serve_customers(pad, [1])
    assert pad.wait_idle(5)

    pad.unplug()
    # The link sets its state, then tells the host: wait for the host to hear it.
    assert wait_for(lambda: host.states[-1][0] is LinkState.DISCONNECTED)
    assert link.state is LinkState.DISCONNECTED
    state, error = host.states[-1]
    assert state is LinkState.DISCONNECTED and error
    assert link.last_error
    assert link.send(Play(Prompt.GREETING)) is False  # the port is down: no exception

    # Presses while the cable is out stay in the keypad.
    during = [pad.press_start(), pad.press_end(), pad.press_rate(2)]
    time.sleep(0.2)  # the link retries (and fails) a few times meanwhile
    assert pad.unacked == 3
    assert link.state is LinkState.DISCONNECTED
    assert link.is_alive()

    pad.replug()  # a new pty behind the same symlink
    assert os.readlink(link_path) == pad.slave_path
    assert pad.wait_idle(5), f"{pad.unacked} frames never ACKed after replug"
    assert wait_for(lambda: link.state is LinkState.CONNECTED)
    assert host.events() == before + during  # each once, nothing lost
    assert [h.boot_id for h in host.hellos()] == [pad.boot_id, pad.boot_id]  # not a reboot
    assert host.tracker.reboots == 0
    assert link.stats["reconnects"] == 1
    assert [s for s, _ in host.states] == [
        LinkState.CONNECTED,
        LinkState.DISCONNECTED,
        LinkState.CONNECTED,
    ]


def unknown_type_frame(seq: int) -> bytes:
    """CRC-valid frame with TYPE 0x7E, which no keypad message has: the host NACKs it."""
    body = bytes((1, 0x7E, seq >> 8, seq & 0xFF, 0))
    return SOF + body + crc16(body).to_bytes(2, "big")


def test_garbage_on_the_line_between_frames(make_keypad, make_link):
    pad = make_keypad()
    pad.open_pty()
    pad.start()
    host = Host()
    link = make_link(pad.slave_path, host)
    assert wait_for(host.hellos)
    corrupted = bytearray(encode(Rate(1_773_480_615_250, 1), 999))
    corrupted[-3] ^= 0x40  # CRC error
    noises = [
        b"\x00\xff\x13\x37\xaa",
        bytes(corrupted),
        b"\xaa\x55\x01\x12\x00\x09\xf0",  # false start announcing 240 bytes: cut off
        b"\xaa\x55\x02\xaa\xaa\x55",  # bad version
    ]
    pressed: list[DeviceMessage] = [pad.login("1001")]
    for noise in noises:
        pad.inject_garbage(noise)
        pressed += [pad.press_start(), pad.press_end(), pad.press_rate(1)]
    assert pad.wait_idle(10), f"{pad.unacked} frames never ACKed"

    assert host.events() == pressed
    assert link.stats["discarded_bytes"] > 0
    assert link.stats["crc_errors"] >= 1
    assert link.decoder_stats["truncated"] >= 1
    assert link.is_alive()

    # A CRC-valid frame the host cannot understand is NACKed, not delivered.
    pad.inject_garbage(unknown_type_frame(0x1234))
    assert wait_for(
        lambda: Nack(0x1234, NackReason.UNSUPPORTED) in [f.message for f in pad.host_frames]
    )
    assert link.stats["rejected"] == 1
    assert host.events() == pressed


def test_socket_url_against_tcp_keypad(make_keypad, make_link):
    pad = make_keypad()
    port = pad.listen_tcp("127.0.0.1", 0)
    assert pad.url == f"socket://127.0.0.1:{port}"
    pad.start()
    host = Host()
    link = make_link(pad.url, host)
    pressed = serve_customers(pad, [1, 4])
    assert pad.wait_idle(5)
    assert host.events() == pressed
    assert link.send(Display("李娜", "1002", 4))
    assert wait_for(lambda: pad.display == Display("李娜", "1002", 4))

    # The network serial server goes away and comes back on the same port.
    pad.unplug()
    assert wait_for(lambda: link.state is LinkState.DISCONNECTED)
    later = [pad.press_start(), pad.press_end(), pad.press_rate(2)]
    pad.replug()
    assert pad.wait_idle(5)
    assert host.events() == pressed + later
    assert link.stats["reconnects"] == 1


def test_loop_url_sanity(make_link):
    host = Host()
    link = make_link("loop://", host)
    assert wait_for(lambda: link.state is LinkState.CONNECTED)
    frame_len = len(encode(Play(Prompt.GREETING), 0))
    assert link.send(Play(Prompt.GREETING))
    # loop:// hears itself, as a two-wire RS-485 bus: the echo is dropped, not delivered.
    assert wait_for(lambda: link.decoder_stats["wrong_direction"] == 1)
    assert link.stats["bytes_in"] == frame_len
    assert link.stats["frames_out"] == 1
    assert host.frames == []


def test_callback_exception_does_not_kill_the_reader(make_keypad, make_link):
    pad = make_keypad()
    pad.open_pty()
    pad.start()
    host = Host(fail_first_calls=2)  # the first two deliveries raise (and ACK nothing)
    link = make_link(pad.slave_path, host)
    pressed = [pad.press_start()]
    assert pad.wait_idle(5)  # retransmissions reached a callback that works again
    assert link.is_alive()
    assert link.stats["callback_errors"] == 2
    assert host.events() == pressed


def test_send_on_a_down_port_returns_false(tmp_path):
    host = Host()
    link = SerialLink(
        str(tmp_path / "no-such-tty"),
        on_frames=host.on_frames,
        on_state=host.on_state,
        reopen_interval=0.05,
    )
    assert link.state is LinkState.CONNECTING
    assert link.send(Play(Prompt.GREETING)) is False  # not started yet
    link.start()
    try:
        assert wait_for(lambda: link.state is LinkState.DISCONNECTED)
        assert "no-such-tty" in (link.last_error or "")
        assert link.send(Play(Prompt.GREETING)) is False
        time.sleep(0.2)  # several failed reopens: reported once
        assert host.states == [(LinkState.DISCONNECTED, link.last_error)]
    finally:
        link.stop()
    assert not link.is_alive()
    assert link.state is LinkState.STOPPED
    assert host.states[-1] == (LinkState.STOPPED, None)
    with pytest.raises(TypeError):
        link.send(ServiceStart(0))  # a keypad message is not for the host to send


def test_stop_before_start_and_bad_url():
    host = Host()
    link = SerialLink("nosuchscheme://x", on_frames=host.on_frames, on_state=host.on_state)
    link.stop()
    assert link.state is LinkState.STOPPED
    bad = SerialLink(
        "nosuchscheme://x", on_frames=host.on_frames, on_state=host.on_state, reopen_interval=0.05
    )
    bad.start()
    try:
        assert wait_for(lambda: bad.state is LinkState.DISCONNECTED)
        assert bad.is_alive()  # a bad URL is logged and retried, never fatal
    finally:
        bad.stop()


# ---------------------------------------------------------------------- discovery


def test_port_watcher_reports_added_and_removed():
    ports = ["/dev/ttyUSB0"]
    added: list[str] = []
    removed: list[str] = []
    failing = threading.Event()

    def list_ports() -> list[str]:
        if failing.is_set():
            raise OSError("udev is having a bad day")
        return list(ports)

    def on_added(path: str) -> None:
        added.append(path)
        if path == "/dev/ttyACM9":
            raise RuntimeError("a callback bug must not stop the watcher")

    watcher = PortWatcher(
        on_added=on_added, on_removed=removed.append, interval=0.02, list_ports=list_ports
    )
    watcher.start()
    try:
        assert wait_for(lambda: added == ["/dev/ttyUSB0"])
        ports[:] = ["/dev/ttyUSB0", "/dev/ttyACM9", "/dev/serial/by-id/usb-SIM-02"]
        assert wait_for(lambda: len(added) == 3)
        assert added[1:] == ["/dev/serial/by-id/usb-SIM-02", "/dev/ttyACM9"]
        ports.remove("/dev/ttyUSB0")
        assert wait_for(lambda: removed == ["/dev/ttyUSB0"])
        assert watcher.known() == {"/dev/ttyACM9", "/dev/serial/by-id/usb-SIM-02"}
        failing.set()  # a failing listing is not "every port removed"
        time.sleep(0.1)
        assert removed == ["/dev/ttyUSB0"]
        assert watcher.is_alive()
    finally:
        watcher.stop()
    assert not watcher.is_alive()


def test_port_watcher_scan_and_stable_names(tmp_path):
    kernel = tmp_path / "ttyUSB0"
    kernel.write_text("")
    by_id = tmp_path / "usb-Evaluator_EV5-000123-if00"
    by_id.symlink_to(kernel)
    dangling = tmp_path / "usb-gone"
    dangling.symlink_to(tmp_path / "ttyUSB7")
    # One name per device, the stable symlink preferred; a dangling link is no port.
    names = prefer_stable_names([str(kernel), str(by_id), str(dangling)])
    assert names == [str(by_id)]

    seen: list[str] = []
    watcher = PortWatcher(
        patterns=[str(tmp_path / "*")], on_added=seen.append, on_removed=seen.append
    )
    added, removed = watcher.scan()  # the default lister: comports() and the patterns
    assert str(by_id) in added and str(kernel) not in added and not removed
    assert str(by_id) in seen
    by_id.unlink()
    added, removed = watcher.scan()
    assert str(kernel) in added and str(by_id) in removed

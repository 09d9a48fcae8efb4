"""The keypad side of the conformance suite (tests/test_conformance.py), from PROTOCOL.md alone.

Nothing here imports ``hardware_proxy`` or ``keypad_simulator``: the frame codec, the
CRC, the stream decoder and the reference keypad are written from the document, so the
suite checks the document and the host against each other, not our code against itself.

Three pieces:

- the codec: ``crc16`` (CRC-16/CCITT-FALSE), ``encode_frame``, the payload builders and
  ``StreamDecoder`` (section 6 of PROTOCOL.md);
- ``Wire``: the line between a keypad and the proxy. It owns a pseudo-terminal whose
  slave the proxy opens (through a symlink, as udev's ``/dev/serial/by-id`` links), and
  copies bytes between it and the keypad's end (a socket for the reference keypad, a
  serial port for a vendor's device). It decodes and records every frame in both
  directions, and can drop chosen host frames (a lost ACK, a SET_TIME that never
  arrives, an IDENTIFY the keypad never hears), unplug and replug the line, or carry
  another keypad. Fault injection lives here, so it works the same for any keypad;
- ``ReferenceKeypad``: a keypad firmware model that keeps the keypad rules of section 5
  (non-volatile FIFO queue, stop-and-wait, retransmission 1-2-4-8 s, SEQ assigned at first
  transmission, HELLO at power-up with a new boot_id, unique event times, re-stamping
  time-0 events at SET_TIME, HELLO in answer to IDENTIFY at once, or queued behind the
  frame in flight when ``fifo_identify``).

A vendor replaces ``ReferenceKeypad`` by an adapter for their device: see ``KeypadAdapter``
and the "Conformance suite" section of hardware_proxy/README.md.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import socket
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- constants

SOF = b"\xaa\x55"
VERSION = 0x01
MAX_PAYLOAD = 240
HEADER_LEN = 7  # SOF, VER, TYPE, SEQ (2), LEN
ACK_TIMEOUT = 1.0
MAX_RETRANSMIT_TIMEOUT = 8.0
HEARTBEAT_INTERVAL = 10.0
IDLE_GAP = 0.050
POWER_UP_SILENCE = 0.200

HELLO, HEARTBEAT, START, END, RATE, LOGIN, LOGOUT = 0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14
ACK, NACK, DISPLAY, PLAY, LED, BEEP, SET_TIME, IDENTIFY = (
    0x80, 0x81, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
)  # fmt: skip
RELIABLE = {HELLO, START, END, RATE, LOGIN, LOGOUT}
NAMES = {
    HELLO: "HELLO", HEARTBEAT: "HEARTBEAT", START: "START", END: "END", RATE: "RATE",
    LOGIN: "LOGIN", LOGOUT: "LOGOUT", ACK: "ACK", NACK: "NACK", DISPLAY: "DISPLAY",
    PLAY: "PLAY", LED: "LED", BEEP: "BEEP", SET_TIME: "SET_TIME", IDENTIFY: "IDENTIFY",
}  # fmt: skip
NACK_MALFORMED, NACK_UNSUPPORTED, NACK_BUSY = 0x01, 0x02, 0x03
NACK_UNKNOWN_EMPLOYEE, NACK_NOT_LOGGED_IN = 0x10, 0x11
LED_OFF, LED_RED, LED_GREEN = 0, 1, 2
PATTERN_SOLID = 0


# --------------------------------------------------------------------------- codec


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def encode_frame(msg_type: int, seq: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    body = bytes([VERSION, msg_type]) + (seq & 0xFFFF).to_bytes(2, "big") + bytes([len(payload)])
    body += payload
    return SOF + body + crc16(body).to_bytes(2, "big")


def time_field(time_ms: int) -> bytes:
    return (time_ms // 1000).to_bytes(4, "big") + (time_ms % 1000).to_bytes(2, "big")


def str8(text: str) -> bytes:
    data = text.encode()
    return bytes([len(data)]) + data


def hello_payload(time_ms: int, boot_id: int, key_count: int, serial: str, firmware: str):
    return (
        time_field(time_ms) + boot_id.to_bytes(4, "big") + bytes([key_count])
        + str8(serial) + str8(firmware)
    )  # fmt: skip


def event_payload(msg_type: int, time_ms: int, *, rating: int = 0, employee_no: str = ""):
    payload = time_field(time_ms)
    if msg_type == RATE:
        payload += bytes([rating])
    elif msg_type == LOGIN:
        payload += str8(employee_no)
    return payload


@dataclass
class Frame:
    """One decoded frame: the raw bytes, and the fields this suite reads from it."""

    type: int
    seq: int
    payload: bytes
    raw: bytes
    at: float = field(default_factory=time.monotonic)
    dropped: bool = False  # a host frame the wire did not pass on to the keypad

    @property
    def name(self) -> str:
        return NAMES.get(self.type, f"0x{self.type:02x}")

    @property
    def time_ms(self) -> int:
        seconds = int.from_bytes(self.payload[0:4], "big")
        return seconds * 1000 + int.from_bytes(self.payload[4:6], "big")

    # host -> keypad fields
    @property
    def acked_seq(self) -> int:
        return int.from_bytes(self.payload[0:2], "big")

    @property
    def reason(self) -> int:
        return self.payload[2]

    def display(self) -> tuple[int, str, str]:
        """(stars, employee_no, teller_name) of a DISPLAY."""
        stars, n = self.payload[0], self.payload[1]
        employee_no = self.payload[2 : 2 + n].decode()
        m = self.payload[2 + n]
        return stars, employee_no, self.payload[3 + n : 3 + n + m].decode()

    def led(self) -> tuple[int, int, int]:
        """(colour, pattern, duration_ms) of a LED."""
        return self.payload[0], self.payload[1], int.from_bytes(self.payload[2:4], "big")

    def beep(self) -> tuple[int, int]:
        return self.payload[0], int.from_bytes(self.payload[1:3], "big")

    # keypad -> host fields
    def hello(self) -> tuple[int, str]:
        """(boot_id, serial) of a HELLO."""
        boot_id = int.from_bytes(self.payload[6:10], "big")
        n = self.payload[11]
        return boot_id, self.payload[12 : 12 + n].decode()

    def __repr__(self) -> str:
        return f"<{self.name} seq={self.seq} {self.payload.hex(' ')}>"


class StreamDecoder:
    """Section 6 of PROTOCOL.md: find SOF, check VER and LEN early, wait, check the CRC."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while True:
            start = self.buffer.find(SOF)
            if start < 0:
                keep = 1 if self.buffer.endswith(b"\xaa") else 0
                self.discarded += len(self.buffer) - keep
                del self.buffer[: len(self.buffer) - keep]
                return frames
            self.discarded += start
            del self.buffer[:start]
            if len(self.buffer) >= 3 and self.buffer[2] != VERSION:
                self._skip()
                continue
            if len(self.buffer) >= HEADER_LEN and self.buffer[6] > MAX_PAYLOAD:
                self._skip()
                continue
            if len(self.buffer) < HEADER_LEN:
                return frames
            total = HEADER_LEN + self.buffer[6] + 2
            if len(self.buffer) < total:
                return frames
            raw = bytes(self.buffer[:total])
            if crc16(raw[2:-2]) != int.from_bytes(raw[-2:], "big"):
                self._skip()
                continue
            del self.buffer[:total]
            frames.append(Frame(raw[3], int.from_bytes(raw[4:6], "big"), raw[7:-2], raw))

    def idle(self) -> list[Frame]:
        """The line was silent for 50 ms: a partial frame will never complete."""
        if len(self.buffer) > 1 or (self.buffer and self.buffer[0] != 0xAA):
            self._skip()
            return self.feed(b"")
        return []

    def _skip(self) -> None:
        del self.buffer[:1]
        self.discarded += 1


# --------------------------------------------------------------------------- the keypad's end


class SocketPort:
    """The keypad's end of a socketpair, with the read(timeout)/write(bytes) of a port."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            return (self.sock.recv(4096) or b"") if ready else b""
        except (OSError, ValueError):  # closed by the keypad's power-off
            time.sleep(timeout)
            return b""

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class SerialPort:
    """A vendor's device (or a socat pty bridged to it) through pyserial."""

    def __init__(self, url: str, baudrate: int = 9600) -> None:
        import serial  # only a vendor's run needs it

        self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05)

    def read(self, timeout: float) -> bytes:
        self.port.timeout = timeout
        data = self.port.read(1)
        if data and self.port.in_waiting:
            data += self.port.read(self.port.in_waiting)
        return data

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def close(self) -> None:
        self.port.close()


# --------------------------------------------------------------------------- the wire


class Wire:
    """A pty the proxy opens at ``path``, bridged to a keypad's port; records and filters."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.host_frames: list[Frame] = []  # everything the proxy sent, dropped ones included
        self.keypad_frames: list[Frame] = []  # everything the keypad sent
        self.dropped: list[Frame] = []
        self._drops: list[list] = []  # [predicate, remaining count (None: forever)]
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._port = None
        self._master = self._slave = -1
        self._host_decoder = StreamDecoder()
        self._keypad_decoder = StreamDecoder()
        self._stopping = threading.Event()
        self._open_pty()
        self._threads = [
            threading.Thread(target=self._from_host, name=f"wire-host {path}", daemon=True),
            threading.Thread(target=self._from_keypad, name=f"wire-keypad {path}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # ---------------------------------------------------------------- control
    def attach(self, port) -> None:
        """Carry this keypad port's bytes from now on (None: nothing is plugged in)."""
        with self._lock:
            self._port = port
            self._keypad_decoder = StreamDecoder()

    def drop(self, predicate, count: int | None = 1) -> list:
        """Drop the next ``count`` host frames (None: all) matching ``predicate(frame)``."""
        rule = [predicate, count]
        with self._lock:
            self._drops.append(rule)
        return rule

    def stop_dropping(self, rule=None) -> None:
        with self._lock:
            self._drops = [r for r in self._drops if rule is not None and r is not rule]

    def disconnect(self) -> None:
        """The keypad's cable is pulled: no keypad on this line, and the port is gone."""
        self.attach(None)
        self.unplug()

    def unplug(self) -> None:
        """Close the pty: the proxy's reads fail, as when a USB keypad is pulled out."""
        with self._lock:
            master, slave = self._master, self._slave
            self._master = self._slave = -1
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def replug(self, port=None) -> None:
        """A new pty behind the same path; ``port``: another keypad is plugged in now."""
        if self._master >= 0:
            self.unplug()
        time.sleep(0.3)
        with self._lock:
            if port is not None:
                self.attach(port)
            self._host_decoder = StreamDecoder()
            self._open_pty()

    def inject(self, data: bytes) -> None:
        """Bytes to the proxy as if the keypad sent them (recorded as keypad frames)."""
        self._to_host(data)

    def close(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(2)
        self.unplug()

    # ---------------------------------------------------------------- queries
    def mark(self) -> tuple[int, int]:
        with self._lock:
            return len(self.host_frames), len(self.keypad_frames)

    def host_since(self, mark=(0, 0), msg_type: int | None = None) -> list[Frame]:
        with self._lock:
            frames = self.host_frames[mark[0] :]
        return [f for f in frames if msg_type is None or f.type == msg_type]

    def keypad_since(self, mark=(0, 0), msg_type: int | None = None) -> list[Frame]:
        with self._lock:
            frames = self.keypad_frames[mark[1] :]
        return [f for f in frames if msg_type is None or f.type == msg_type]

    def wait(self, predicate, timeout: float = 15.0, what: str = "") -> object:
        """Wait until predicate() is truthy (re-checked at every frame); its value."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.path}: timed out waiting for {what or predicate}; "
                        f"host sent {self.host_frames[-8:]}, keypad sent {self.keypad_frames[-8:]}"
                    )
                self._changed.wait(min(left, 0.2))

    def answered(self, frame: Frame, mark=(0, 0)) -> Frame | None:
        """The ACK or NACK the keypad got for this keypad frame (after it), if any."""
        for answer in self.host_since(mark):
            if (
                not answer.dropped
                and answer.type in (ACK, NACK)
                and answer.acked_seq == frame.seq
                and answer.at >= frame.at
            ):
                return answer
        return None

    def wait_answer(self, frame: Frame, timeout: float = 15.0) -> Frame:
        return self.wait(lambda: self.answered(frame), timeout, f"the answer to {frame}")

    def wait_keypad(self, msg_type: int, mark=(0, 0), count: int = 1, timeout: float = 15.0):
        """The first ``count`` frames of this type the keypad sent after ``mark``."""

        def found():
            frames = self.keypad_since(mark, msg_type)
            return frames[:count] if len(frames) >= count else None

        return self.wait(found, timeout, f"{count} {NAMES.get(msg_type)} from the keypad")

    def wait_host(self, msg_type: int, mark=(0, 0), timeout: float = 15.0, where=None) -> Frame:
        """The first frame of this type the proxy sent after ``mark`` (matching ``where``)."""

        def found():
            for frame in self.host_since(mark, msg_type):
                if where is None or where(frame):
                    return frame
            return None

        return self.wait(found, timeout, f"{NAMES.get(msg_type)} from the proxy")

    def all_answered(self, mark=(0, 0)) -> bool:
        """Every reliable frame the keypad sent since ``mark`` has had its ACK or NACK."""
        return all(
            self.answered(frame, mark)
            for frame in self.keypad_since(mark)
            if frame.type in RELIABLE
        )

    # ---------------------------------------------------------------- pumps
    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        # Our own slave descriptor keeps the master from reading EIO while the proxy
        # has the port closed (between two proxy processes); we never read from it.
        self._master, self._slave = master, slave
        tmp = f"{self.path}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)

    def _to_host(self, data: bytes) -> None:
        with self._lock:
            frames = self._keypad_decoder.feed(data)
            self.keypad_frames.extend(frames)
            master = self._master
            if frames:
                self._changed.notify_all()
        if master >= 0:
            with contextlib.suppress(OSError):
                os.write(master, data)

    def _from_keypad(self) -> None:
        while not self._stopping.is_set():
            port = self._port
            if port is None:
                time.sleep(0.02)
                continue
            data = port.read(0.05)
            if data and port is self._port:
                self._to_host(data)

    def _from_host(self) -> None:
        while not self._stopping.is_set():
            master = self._master
            if master < 0:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                data = os.read(master, 4096) if ready else b""
            except OSError:
                time.sleep(0.02)
                continue
            if not data:
                continue
            forward = []
            with self._lock:
                for frame in self._host_decoder.feed(data):
                    self.host_frames.append(frame)
                    if self._should_drop(frame):
                        frame.dropped = True
                        self.dropped.append(frame)
                    else:
                        forward.append(frame.raw)
                self._changed.notify_all()
                port = self._port
            if port is not None and forward:
                port.write(b"".join(forward))

    def _should_drop(self, frame: Frame) -> bool:
        for rule in self._drops:
            predicate, remaining = rule
            if (remaining is None or remaining > 0) and predicate(frame):
                if remaining is not None:
                    rule[1] -= 1
                return True
        return False


# --------------------------------------------------------------------------- keypads


class KeypadAdapter:
    """What the suite needs from a keypad. A vendor subclasses this for their device.

    The suite calls ``port()`` once and bridges that port to the proxy through a Wire;
    all other methods act on the device (a jig that presses keys, a relay on its power).
    ``capabilities`` names what the device can be made to do; a test needing a missing
    one is skipped with the capability's name:

    - ``"power"``: ``power_cut()`` / ``power_on()`` (a relay, a USB hub port switch);
    - ``"clock_lost"``: after a power cut the clock is unset until SET_TIME arrives
      (no battery-backed clock), so its events carry time 0;
    - ``"explicit_time"``: the press methods honour ``time_ms`` (a test hook in the
      firmware); without it the suite presses twice within a second instead.
    """

    serial: str = ""
    capabilities: frozenset[str] = frozenset()

    def port(self):
        """The keypad's end of the line: an object with read(timeout) -> bytes and write(bytes)."""
        raise NotImplementedError

    def power_on(self) -> None:
        """Start (or restart after power_cut) the keypad: it says HELLO with a new boot_id."""
        raise NotImplementedError

    def power_cut(self) -> None:
        """Cut the power now, whatever is in flight."""
        raise NotImplementedError

    def login(self, employee_no: str) -> None:
        raise NotImplementedError

    def logout(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def rate(self, key: int, time_ms: int | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Leave the device powered off or idle; the suite is done with it."""


@dataclass
class _Queued:
    msg_type: int
    time_ms: int  # 0: the clock was not set when the key was pressed
    uptime: float  # when it was pressed, for re-stamping at SET_TIME
    rating: int = 0
    employee_no: str = ""
    boot_id: int = 0  # HELLO only
    seq: int | None = None  # assigned at first transmission (rule C5)
    raw: bytes = b""
    attempts: int = 0
    next_try: float = 0.0


class ReferenceKeypad(KeypadAdapter):
    """A keypad that keeps every keypad rule of PROTOCOL.md, over a socketpair."""

    capabilities = frozenset({"power", "clock_lost", "explicit_time"})

    def __init__(
        self,
        serial: str,
        *,
        key_count: int = 5,
        firmware: str = "ref-1.0",
        fifo_identify: bool = False,
        rtc: bool = False,
    ) -> None:
        self.serial = serial
        self.key_count = key_count
        self.firmware = firmware
        self.fifo_identify = fifo_identify
        self.rtc = rtc  # a battery-backed clock: still set after a power cut
        self.queue: deque[_Queued] = deque()  # "non-volatile": survives power_cut()
        self.boot_id = random.getrandbits(32)
        self.boot_count = 0
        self.clock_offset: float | None = None  # None: the clock is not set
        self.received: list[Frame] = []
        self._seq = 0
        self._last_time_ms = 0
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._powered = threading.Event()
        self._thread: threading.Thread | None = None
        self._ours, self._theirs = socket.socketpair()
        self._decoder = StreamDecoder()
        self._last_sent = 0.0

    # ---------------------------------------------------------------- adapter API
    def port(self) -> SocketPort:
        return SocketPort(self._theirs)

    def power_on(self) -> None:
        """Power-up: 200 ms silence, new boot_id, SEQ 0, HELLO at the head of the queue.

        The clock is unset (time 0) until the host's SET_TIME, unless ``rtc`` kept it.
        """
        with self._lock:
            self.boot_count += 1
            self.boot_id = (self.boot_id + 1 + random.getrandbits(16)) & 0xFFFFFFFF
            self._seq = 0
            self._decoder = StreamDecoder()
            for item in self.queue:  # unanswered frames are sent again under new SEQs
                item.seq, item.raw, item.attempts, item.next_try = None, b"", 0, 0.0
            self.queue.appendleft(self._make(HELLO, boot_id=self.boot_id))
        with contextlib.suppress(OSError):  # whatever the line held is not for this boot
            self._ours.setblocking(False)
            while self._ours.recv(4096):
                pass
        self._ours.setblocking(True)
        time.sleep(POWER_UP_SILENCE)
        self._powered.set()
        self._thread = threading.Thread(target=self._run, name=f"keypad {self.serial}", daemon=True)
        self._thread.start()

    def power_cut(self) -> None:
        self._powered.clear()
        self._wake.set()
        if self._thread:
            self._thread.join(2)
        with self._lock:
            if not self.rtc:
                self.clock_offset = None

    def login(self, employee_no: str, time_ms: int | None = None) -> None:
        self._press(LOGIN, time_ms, employee_no=employee_no)

    def logout(self, time_ms: int | None = None) -> None:
        self._press(LOGOUT, time_ms)

    def start(self, time_ms: int | None = None) -> None:
        self._press(START, time_ms)

    def end(self, time_ms: int | None = None) -> None:
        self._press(END, time_ms)

    def rate(self, key: int, time_ms: int | None = None) -> None:
        self._press(RATE, time_ms, rating=key)

    def heartbeat_now(self) -> bool:
        """Send a HEARTBEAT now if nothing is in flight (rule 4); False otherwise."""
        with self._lock:
            if self.queue:
                return False
            self._send(HEARTBEAT, self._next_seq(), time_field(self.now_ms()))
            return True

    def close(self) -> None:
        self.power_cut()
        with contextlib.suppress(OSError):
            self._ours.close()
            self._theirs.close()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self.queue)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pending:
                return True
            time.sleep(0.02)
        return not self.pending

    # ---------------------------------------------------------------- firmware
    def now_ms(self) -> int:
        """The keypad clock; 0 while it is not set."""
        if self.clock_offset is None:
            return 0
        return int((time.time() + self.clock_offset) * 1000)

    def _stamp(self, time_ms: int | None) -> int:
        """Event times are unique per keypad: each later than the previous one (C2)."""
        if time_ms is None:
            time_ms = self.now_ms()
        if time_ms == 0:
            return 0
        time_ms = max(time_ms, self._last_time_ms + 1)
        self._last_time_ms = time_ms
        return time_ms

    def _make(self, msg_type: int, time_ms: int | None = None, **fields) -> _Queued:
        stamped = 0 if msg_type == HELLO else self._stamp(time_ms)  # HELLO: stamped when sent
        return _Queued(msg_type, stamped, time.monotonic(), **fields)

    def _press(self, msg_type: int, time_ms: int | None, **fields) -> None:
        with self._lock:
            self.queue.append(self._make(msg_type, time_ms, **fields))
        self._wake.set()

    def _next_seq(self) -> int:
        seq, self._seq = self._seq, (self._seq + 1) & 0xFFFF
        return seq

    def _payload(self, item: _Queued) -> bytes:
        if item.msg_type == HELLO:
            return hello_payload(
                self.now_ms(), item.boot_id, self.key_count, self.serial, self.firmware
            )
        return event_payload(
            item.msg_type, item.time_ms, rating=item.rating, employee_no=item.employee_no
        )

    def _send(self, msg_type: int, seq: int, payload: bytes) -> bytes:
        raw = encode_frame(msg_type, seq, payload)
        with contextlib.suppress(OSError):
            self._ours.sendall(raw)
        self._last_sent = time.monotonic()
        return raw

    def _transmit_head(self, now: float) -> None:
        item = self.queue[0]
        if item.seq is None:  # first transmission: the SEQ is assigned now (C5)
            item.seq = self._next_seq()
            item.raw = encode_frame(item.msg_type, item.seq, self._payload(item))
        with contextlib.suppress(OSError):
            self._ours.sendall(item.raw)  # a retransmission repeats the bytes exactly
        self._last_sent = now
        timeout = min(ACK_TIMEOUT * 2**item.attempts, MAX_RETRANSMIT_TIMEOUT)
        item.attempts += 1
        item.next_try = now + timeout

    def _run(self) -> None:
        while self._powered.is_set():
            now = time.monotonic()
            with self._lock:
                if self.queue and (self.queue[0].seq is None or now >= self.queue[0].next_try):
                    self._transmit_head(now)
                elif not self.queue and now - self._last_sent >= HEARTBEAT_INTERVAL:
                    self._send(HEARTBEAT, self._next_seq(), time_field(self.now_ms()))
                wait = self.queue[0].next_try - now if self.queue else 0.05
            ready, _, _ = select.select([self._ours], [], [], max(0.0, min(wait, 0.05)))
            if not self._powered.is_set():
                return
            if ready:
                try:
                    data = self._ours.recv(4096)
                except OSError:
                    return
                for frame in self._decoder.feed(data):
                    self._on_host_frame(frame)
            self._wake.clear()

    def _on_host_frame(self, frame: Frame) -> None:
        with self._lock:
            self.received.append(frame)
            if frame.type in (ACK, NACK):
                if frame.type == NACK and frame.reason == NACK_BUSY:
                    return  # keep it; retransmit on the normal schedule
                for item in list(self.queue):
                    # The head, or a frame that was in flight when an IDENTIFY put the
                    # HELLO ahead of it: answered either way.
                    if item.seq is not None and item.seq == frame.acked_seq:
                        self.queue.remove(item)
                        break
            elif frame.type == SET_TIME:
                self._set_time(frame.time_ms)
            elif frame.type == IDENTIFY:
                self._identify()

    def _set_time(self, host_ms: int) -> None:
        was_unset = self.clock_offset is None
        self.clock_offset = host_ms / 1000 - time.time()
        if was_unset:
            # Re-stamp queued, never-sent time-0 events from the uptime counter (C2);
            # the frame in flight is retransmitted unchanged.
            now = time.monotonic()
            for item in self.queue:
                if item.time_ms == 0 and item.seq is None and item.msg_type != HELLO:
                    item.time_ms = self._stamp(host_ms - int((now - item.uptime) * 1000))

    def _identify(self) -> None:
        if any(item.msg_type == HELLO for item in self.queue):
            return  # a HELLO is already on its way
        hello = self._make(HELLO, boot_id=self.boot_id)
        if self.fifo_identify and self.queue:
            self.queue.insert(1, hello)  # behind the frame in flight
        else:
            # At once, ahead of the queue (C4); the frame in flight keeps its SEQ and
            # bytes and is retransmitted after the HELLO's ACK.
            self.queue.appendleft(hello)
            self._transmit_head(time.monotonic())


# --------------------------------------------------------------------------- a real device


class JigKeypad(KeypadAdapter):
    """A vendor's keypad on a serial port, its keys and power driven by a jig command.

    The command (``SQS_CONFORMANCE_JIG``) is run with the action as arguments:
    ``power on`` (power the keypad up, or reboot it if it is on: it must send a HELLO
    with a new boot_id), ``power off``, ``login <number>``, ``logout``, ``start``, ``end``,
    ``rate <key>``, each time with ``SQS_CONFORMANCE_SERIAL`` naming the keypad. It
    returns once the key is pressed (a relay, a solenoid, a debug console command).
    """

    def __init__(self, serial: str, url: str, command: str, capabilities, baudrate: int):
        self.serial = serial
        self.url = url
        self.command = command
        self.capabilities = frozenset(capabilities)
        self.baudrate = baudrate
        self._port: SerialPort | None = None

    def _run(self, *args: str) -> None:
        import shlex
        import subprocess

        env = {**os.environ, "SQS_CONFORMANCE_SERIAL": self.serial}
        subprocess.run([*shlex.split(self.command), *args], env=env, check=True, timeout=60)

    def port(self) -> SerialPort:
        if self._port is None:
            self._port = SerialPort(self.url, self.baudrate)
        return self._port

    def power_on(self) -> None:
        self._run("power", "on")

    def power_cut(self) -> None:
        self._run("power", "off")

    def login(self, employee_no: str) -> None:
        self._run("login", employee_no)

    def logout(self) -> None:
        self._run("logout")

    def start(self) -> None:
        self._run("start")

    def end(self) -> None:
        self._run("end")

    def rate(self, key: int, time_ms: int | None = None) -> None:
        self._run("rate", str(key))

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None


class JigFactory:
    """``SQS_CONFORMANCE_KEYPAD=conformance_keypad:JigFactory``: real keypads from the
    environment. ``SQS_CONFORMANCE_SERIALS`` (comma-separated serial numbers),
    ``SQS_CONFORMANCE_PORTS`` (their serial ports or pyserial URLs, same order),
    ``SQS_CONFORMANCE_JIG`` (the command, see JigKeypad), ``SQS_CONFORMANCE_CAPABILITIES``
    (e.g. ``power,clock_lost``), ``SQS_CONFORMANCE_BAUDRATE`` (default 9600)."""

    def __init__(self) -> None:
        self._serials = [s for s in os.environ["SQS_CONFORMANCE_SERIALS"].split(",") if s]
        self._ports = dict(
            zip(self._serials, os.environ["SQS_CONFORMANCE_PORTS"].split(","), strict=True)
        )
        self._command = os.environ["SQS_CONFORMANCE_JIG"]
        self._capabilities = [
            c.strip() for c in os.environ.get("SQS_CONFORMANCE_CAPABILITIES", "").split(",")
        ]
        self._baudrate = int(os.environ.get("SQS_CONFORMANCE_BAUDRATE", "9600"))

    def serials(self) -> list[str]:
        return self._serials

    def make(self, serial: str, **options) -> JigKeypad:
        # options (fifo_identify) select flavours of the reference keypad; a device is
        # what it is.
        return JigKeypad(
            serial, self._ports[serial], self._command, self._capabilities, self._baudrate
        )

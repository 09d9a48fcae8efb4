"""The keypad model: a virtual rating keypad that keeps the keypad's side of PROTOCOL.md.

The proxy is tested and demonstrated against this model instead of hardware, so it does
what PROTOCOL.md asks of a real keypad's firmware: a HELLO after power-up, reliable frames
(HELLO, START, END, RATE, LOGIN, LOGOUT) sent one at a time and retransmitted with
``retransmit_timeout_ms`` until the host ACKs (or finally NACKs) them, a SEQ given to a
frame when it is first sent, heartbeats only while nothing is in flight (their ACK is a
link check, never waited for), a HELLO with the same ``boot_id`` in answer to IDENTIFY,
sent ahead of the queue (the frame in flight stays in flight), a new ``boot_id`` and
sequence 0 after a reboot with the unanswered frames re-sent under new numbers, and
event times unique per keypad (a press in the same millisecond as the previous one is
stamped a millisecond later). A ``VirtualKeypad`` records what the host sends (DISPLAY,
PLAY, LED, BEEP) and can be unplugged and plugged back in.

Two switches exist for tests: ``fifo_identify=True`` makes it a "FIFO keypad" that
queues its IDENTIFY answer behind the frame in flight (PROTOCOL.md section 9 shows why
the host copes), and ``lose_host_frame`` (a predicate on each host frame) loses chosen
frames on the line, such as the ACK of a press or every SET_TIME.

Its end of the line is one of:

- a pseudo-terminal: ``open_pty(link_path)`` keeps the master and returns the slave path
  for the proxy to open; ``link_path`` is a stable symlink to it, as udev's
  ``/dev/serial/by-id`` links. ``unplug()`` closes the pty (the proxy's reads fail) and
  removes the link, ``replug()`` makes a new pty and points the link at it.
- a TCP server, as a network serial server: ``listen_tcp(host, port)`` accepts one
  connection at a time (a new connection replaces the previous one); the proxy opens
  ``socket://host:port``. ``unplug()`` closes the server and the connection, ``replug()``
  listens again on the same port.
- any connected socket or file descriptor: ``attach(endpoint)`` (tests use socketpairs).

The endpoints themselves are in endpoints.py; scripts (script.py) and random customers
(load.py) press the keys from other threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hardware_proxy.protocol import (
    HEARTBEAT_INTERVAL_MS,
    IDLE_GAP_MS,
    MAX_TIME_MS,
    NACK_RETRY_REASONS,
    Ack,
    DeviceMessage,
    Direction,
    Display,
    Frame,
    FrameDecoder,
    Heartbeat,
    Hello,
    HostMessage,
    Identify,
    Login,
    Logout,
    Nack,
    NackReason,
    Rate,
    ServiceEnd,
    ServiceStart,
    SetTime,
    encode,
    next_seq,
    retransmit_timeout_ms,
)
from keypad_simulator import endpoints

_logger = logging.getLogger(__name__)

POWER_UP_SILENCE = 4 * IDLE_GAP_MS / 1000
"""Seconds of silence after power-up (PROTOCOL.md section 5, keypad rule 5)."""
IDLE_GAP = IDLE_GAP_MS / 1000
MAX_POLL = 0.05


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


def _random_boot_id() -> int:
    return random.getrandbits(32)


@dataclass
class _Pending:
    """A reliable frame in the keypad's queue; numbered when it first becomes the head."""

    message: DeviceMessage
    seq: int | None = None
    frame: bytes | None = None
    attempt: int = 0
    deadline: float | None = None  # monotonic time of the next transmission
    pressed_at: float = 0.0  # monotonic time of the press (re-stamps a time-0 event)

    def renumber(self) -> None:
        self.seq = self.frame = self.deadline = None
        self.attempt = 0


class _Call:
    """A function run on the keypad's thread (all I/O happens there)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class VirtualKeypad:
    """One simulated keypad. Key presses may be made from any thread.

    ``time_scale`` multiplies the protocol's retransmission and heartbeat timers (tests
    use 0.05 so a frame is retransmitted after 50 ms instead of 1 s); ``heartbeats=False``
    leaves heartbeats to explicit ``heartbeat()`` calls.

    What the keypad learned is public: ``received`` (DISPLAY, PLAY, LED and BEEP, in
    order), ``display`` (the last DISPLAY), ``host_frames`` (every frame the host sent),
    ``acked`` and ``nacked`` (reliable frames answered, in order), ``stats``.
    """

    def __init__(
        self,
        serial: str,
        *,
        key_count: int = 4,
        firmware: str = "sim-1.0",
        boot_id: int | None = None,
        clock: Callable[[], int] | None = None,
        time_scale: float = 1.0,
        heartbeats: bool = True,
        fifo_identify: bool = False,
        lose_host_frame: Callable[[Frame], bool] | None = None,
    ) -> None:
        # A Hello validates serial, firmware, key_count and boot_id now, not in the thread.
        Hello(0, 0 if boot_id is None else boot_id, key_count, serial, firmware)
        self.serial = serial
        self.key_count = key_count
        self.firmware = firmware
        self.boot_id = _random_boot_id() if boot_id is None else boot_id
        self.time_scale = time_scale
        self.heartbeats = heartbeats
        self.fifo_identify = fifo_identify
        """Queue the HELLO that answers IDENTIFY behind the frame in flight (not the rule)."""
        self.lose_host_frame = lose_host_frame
        """Tests: a host frame for which this returns True is lost on the line."""
        self._clock = clock or _epoch_ms
        self.clock_offset_ms = 0
        """Set by SET_TIME: the keypad's clock is ``clock() + clock_offset_ms``."""

        self.received: list[HostMessage] = []
        self.display: Display | None = None
        self.host_frames: list[Frame] = []
        self.acked: list[Frame] = []
        self.nacked: list[tuple[Frame, NackReason]] = []
        self.lost: list[Frame] = []
        """Host frames lost on purpose (``lose_host_frame``)."""
        self.stats: dict[str, int] = {
            "frames_sent": 0,
            "retransmissions": 0,
            "heartbeats": 0,
            "heartbeat_acks": 0,
            "bytes_sent": 0,
            "bytes_dropped": 0,  # written while no line was there (unplugged, no client)
        }

        self.slave_path: str | None = None
        self.link_path: str | None = None
        self.tcp_host: str | None = None
        self.tcp_port: int | None = None
        self._transport: str | None = None  # "pty", "tcp" or "attached"
        self._plugged = False
        self._line: endpoints.FdLine | endpoints.SocketLine | None = None
        self._listener: socket.socket | None = None

        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._queue: deque[_Pending] = deque()
        self._seq = 0
        self._last_time_ms = 0  # the latest event time given (times are unique per keypad)
        self._heartbeat_seq: int | None = None  # SEQ of the latest HEARTBEAT sent
        self._decoder = FrameDecoder(Direction.HOST_TO_DEVICE)
        self._last_rx = 0.0
        self._quiet_until = 0.0
        self._heartbeat_at = 0.0
        self._heartbeat_requested = False
        self._calls: deque[_Call] = deque()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def __repr__(self) -> str:
        return f"<VirtualKeypad {self.serial} boot_id={self.boot_id:08x} {self.url}>"

    # ------------------------------------------------------------------ line

    def open_pty(self, link_path: str | os.PathLike[str] | None = None) -> str:
        """Create a pseudo-terminal pair; return the slave path (the proxy's port).

        ``link_path``: also make this symlink point to the slave (replaced atomically).
        """
        link = os.fspath(link_path) if link_path is not None else None
        return self._call(lambda: self._open_pty(link))

    def listen_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve the line on TCP (the proxy opens socket://host:port); return the port."""
        return self._call(lambda: self._listen(host, port))

    def attach(self, endpoint: int | socket.socket) -> None:
        """Use an open file descriptor or a connected socket as the line."""

        def attach() -> None:
            self._drop_line()
            self._line = endpoints.line_for(endpoint)
            self._transport = "attached"
            self._plugged = True

        self._call(attach)

    @property
    def url(self) -> str | None:
        """What the proxy should open: the link or slave path, or socket://host:port."""
        if self._transport == "pty":
            return self.link_path or self.slave_path
        if self._transport == "tcp":
            return f"socket://{self.tcp_host}:{self.tcp_port}"
        return None

    @property
    def plugged(self) -> bool:
        return self._plugged

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Power up: after 200 ms of silence, a HELLO, then the queued presses."""
        if self._thread is not None:
            raise RuntimeError(f"{self.serial} is already started")
        with self._lock:
            self._power_up()
        self._thread = threading.Thread(target=self._run, name=f"keypad {self.serial}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and close the line (removes the pty link)."""
        self._stopping.set()
        self._wakeup()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._drop_line()
            self._plugged = False
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = -1
            self._idle.notify_all()

    def unplug(self) -> None:
        """Pull the cable: close the pty or TCP server. Unacked presses are kept."""
        self._call(self._unplug)

    def replug(self) -> None:
        """Plug back in: a new pty behind the same link, or the same TCP port again.

        Not a reboot: the HELLO that follows has the same boot_id, and the frame that was
        in flight keeps its sequence number (the host may have stored it already).
        """
        self._call(self._replug)

    def reboot(self) -> None:
        """Power cycle: new boot_id, sequence from 0, HELLO, then the queued presses."""

        def reboot() -> None:
            old = self.boot_id
            while self.boot_id == old:
                self.boot_id = _random_boot_id()
            self._seq = 0
            for pending in self._queue:
                pending.renumber()
            self._decoder.reset()
            self._power_up()

        self._call(reboot)

    def inject_garbage(self, data: bytes) -> None:
        """Raw bytes on the line (noise, a cut-off frame, a hand-made frame)."""
        payload = bytes(data)
        self._call(lambda: self._write(payload))

    # ------------------------------------------------------------------ keys

    def press_start(self) -> ServiceStart:
        return self._press(ServiceStart)

    def press_end(self) -> ServiceEnd:
        return self._press(ServiceEnd)

    def press_rate(self, key: int) -> Rate:
        if not 1 <= key <= self.key_count:
            raise ValueError(f"{self.serial} has keys 1-{self.key_count}, not {key}")
        return self._press(lambda time_ms: Rate(time_ms, key))

    def login(self, employee_no: str) -> Login:
        Login(0, employee_no)  # refuse a bad number here, not in the keypad's thread
        return self._press(lambda time_ms: Login(time_ms, employee_no))

    def logout(self) -> Logout:
        return self._press(Logout)

    def heartbeat(self) -> None:
        """Send a HEARTBEAT as soon as nothing is in flight."""
        with self._lock:
            self._heartbeat_requested = True
        self._wakeup()

    def customer(self, key: int, *, serve_seconds: float = 0.0) -> None:
        """A whole customer: START, ``serve_seconds`` of service (blocking), END, RATE."""
        if not 1 <= key <= self.key_count:
            raise ValueError(f"{self.serial} has keys 1-{self.key_count}, not {key}")
        self.press_start()
        if serve_seconds > 0:
            time.sleep(serve_seconds)
        self.press_end()
        self.press_rate(key)

    def wait_idle(self, timeout: float) -> bool:
        """True once every queued reliable frame (HELLO included) has been answered."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.is_set():
                    return False
                self._idle.wait(min(left, 0.1))
            return True

    @property
    def unacked(self) -> int:
        """Reliable frames (presses and HELLO) not answered yet."""
        with self._lock:
            return len(self._queue)

    @property
    def seq(self) -> int:
        """The sequence number the next new frame will carry."""
        return self._seq

    # ------------------------------------------------------------------ internals (locked)

    def _now_ms(self) -> int:
        now = self._clock()
        if now == 0 and self.clock_offset_ms == 0:
            return 0  # clock not set
        return min(max(now + self.clock_offset_ms, 0), MAX_TIME_MS)

    def _event_time_ms(self) -> int:
        """The keypad's time for a new event: unique per keypad (0 while the clock is unset)."""
        time_ms = self._now_ms()
        if time_ms == 0:
            return 0
        time_ms = max(time_ms, self._last_time_ms + 1)
        self._last_time_ms = time_ms
        return time_ms

    def _press(self, make: Callable[[int], DeviceMessage]) -> Any:
        with self._lock:
            message = make(self._event_time_ms())
            self._queue.append(_Pending(message, pressed_at=time.monotonic()))
        self._wakeup()
        return message

    def _restamp(self) -> None:
        """The clock was just set: queued events stamped 0 and never sent get their time
        back from the keypad's uptime (the frame in flight is left as it is)."""
        now_ms, now = self._now_ms(), time.monotonic()
        previous = 0
        for pending in self._queue:
            message = pending.message
            if pending.frame is not None or isinstance(message, Hello) or message.time_ms:
                continue
            time_ms = max(now_ms - int((now - pending.pressed_at) * 1000), previous + 1)
            pending.message = dataclasses.replace(message, time_ms=time_ms)
            previous = time_ms
        self._last_time_ms = max(self._last_time_ms, previous)

    def _wakeup(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the keypad thread (holding the lock), or here if it is not running."""
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            with self._lock:
                return fn()
        call = _Call(fn)
        with self._lock:
            self._calls.append(call)
        self._wakeup()
        if not call.done.wait(5.0):
            with self._lock:
                if call not in self._calls:
                    raise TimeoutError(f"{self.serial}: the keypad thread did not answer")
                self._calls.remove(call)  # the thread ended meanwhile
                return fn()
        if call.error is not None:
            raise call.error
        return call.result

    def _run_calls(self) -> None:
        while True:
            with self._lock:
                if not self._calls:
                    return
                call = self._calls.popleft()
                try:
                    call.result = call.fn()
                except BaseException as exc:
                    call.error = exc
            call.done.set()

    def _power_up(self) -> None:
        now = time.monotonic()
        self._queue_hello(new_boot=True)
        self._quiet_until = now + POWER_UP_SILENCE
        self._heartbeat_at = now + self._heartbeat_interval()

    def _heartbeat_interval(self) -> float:
        return HEARTBEAT_INTERVAL_MS / 1000 * self.time_scale

    def _queue_hello(self, *, new_boot: bool) -> None:
        """Put a HELLO at the head of the queue, before a frame in flight if there is one.

        new_boot (power-up, reboot, replug): older HELLOs are dropped, the boot_id may have
        changed. Otherwise (IDENTIFY) nothing happens if a HELLO is already at the head.
        A host that does not ACK events before it knows the keypad (the proxy after a
        restart) needs this HELLO to get past the frame in flight; that frame keeps its
        sequence number, and the host's SequenceTracker takes it as late or duplicate.
        """
        if not new_boot and any(isinstance(p.message, Hello) for p in self._queue):
            return  # a HELLO is on its way already
        hello = _Pending(
            Hello(self._now_ms(), self.boot_id, self.key_count, self.serial, self.firmware)
        )
        self._queue = deque(p for p in self._queue if not isinstance(p.message, Hello))
        if not new_boot and self.fifo_identify and self._queue and self._queue[0].frame:
            self._queue.insert(1, hello)  # a FIFO keypad: behind the frame in flight
        else:
            self._queue.appendleft(hello)

    def _open_pty(self, link: str | None) -> str:
        self._drop_line()
        self._line, slave_path = endpoints.open_pty(link)
        self.slave_path, self.link_path = slave_path, link
        self._transport = "pty"
        self._plugged = True
        _logger.info("%s on %s", self.serial, link or slave_path)
        return slave_path

    def _listen(self, host: str, port: int) -> int:
        self._drop_line()
        server = endpoints.listen_tcp(host, port)
        self._listener = server
        self.tcp_host, self.tcp_port = host, server.getsockname()[1]
        self._transport = "tcp"
        self._plugged = True
        _logger.info("%s on socket://%s:%d", self.serial, host, self.tcp_port)
        return self.tcp_port

    def _drop_line(self) -> None:
        if self._line is not None:
            self._line.close()
            self._line = None
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        if self._transport == "pty" and self.link_path and self.slave_path:
            endpoints.remove_link(self.link_path, self.slave_path)

    def _unplug(self) -> None:
        self._drop_line()
        self._plugged = False
        self._decoder.reset()
        _logger.info("%s unplugged (%d frames kept)", self.serial, len(self._queue))

    def _replug(self) -> None:
        if self._transport == "pty":
            self._open_pty(self.link_path)
        elif self._transport == "tcp":
            assert self.tcp_host is not None and self.tcp_port is not None
            self._listen(self.tcp_host, self.tcp_port)
        else:
            raise RuntimeError("replug() needs a line made by open_pty() or listen_tcp()")
        self._decoder.reset()
        for pending in self._queue:
            pending.attempt, pending.deadline = 0, None
        self._power_up()

    def _write(self, data: bytes) -> None:
        line = self._line
        if line is None:
            self.stats["bytes_dropped"] += len(data)
            return
        try:
            sent = line.send(data)
        except OSError as exc:
            _logger.debug("%s: write failed: %s", self.serial, exc)
            sent = 0
        # A UART sends whether or not anyone listens: what does not fit is lost.
        self.stats["bytes_sent"] += sent
        self.stats["bytes_dropped"] += len(data) - sent

    def _send_new(self, message: DeviceMessage) -> bytes:
        frame = encode(message, self._seq)
        self._seq = next_seq(self._seq)
        return frame

    def _transmit(self, now: float) -> None:
        if now < self._quiet_until:
            return
        if self._queue:
            head = self._queue[0]
            if head.frame is None:
                head.seq = self._seq
                head.frame = self._send_new(head.message)
            if head.deadline is None or now >= head.deadline:
                if head.attempt:
                    self.stats["retransmissions"] += 1
                self.stats["frames_sent"] += 1
                self._write(head.frame)
                timeout = retransmit_timeout_ms(head.attempt) / 1000 * self.time_scale
                head.deadline = now + timeout
                head.attempt += 1
            return
        if self._heartbeat_requested or (self.heartbeats and now >= self._heartbeat_at):
            self._heartbeat_requested = False
            self._heartbeat_at = now + self._heartbeat_interval()
            self.stats["frames_sent"] += 1
            self.stats["heartbeats"] += 1
            self._heartbeat_seq = self._seq
            self._write(self._send_new(Heartbeat(self._now_ms())))

    def _poll_timeout(self, now: float) -> float:
        timeout = MAX_POLL
        if now < self._quiet_until:
            timeout = min(timeout, self._quiet_until - now)
        elif self._queue:
            deadline = self._queue[0].deadline
            timeout = 0.0 if deadline is None else min(timeout, deadline - now)
        elif self._heartbeat_requested:
            timeout = 0.0
        elif self.heartbeats:
            timeout = min(timeout, self._heartbeat_at - now)
        return max(timeout, 0.0)

    def _accept(self) -> None:
        assert self._listener is not None
        accepted = endpoints.accept(self._listener)
        if accepted is None:
            return
        if self._line is not None:
            self._line.close()  # one client at a time: the newest wins
        self._line, peer = accepted
        self._decoder.reset()
        _logger.info("%s: connection from %s", self.serial, peer)
        # The cable is in: send what is waiting soon (after pyserial flushes its input).
        for pending in self._queue:
            pending.attempt, pending.deadline = 0, None
        self._quiet_until = time.monotonic() + POWER_UP_SILENCE

    def _receive(self, now: float) -> None:
        assert self._line is not None
        try:
            data = self._line.recv()
        except EOFError as exc:
            _logger.info("%s: line closed by the other end (%s)", self.serial, exc)
            self._line.close()
            self._line = None
            if self._transport != "tcp":
                self._plugged = False
            return
        if data:
            self._last_rx = now
            for frame in self._decoder.feed(data):
                self._handle(frame)

    def _handle(self, frame: Frame) -> None:
        if self.lose_host_frame is not None and self.lose_host_frame(frame):
            self.lost.append(frame)
            return
        self.host_frames.append(frame)
        message = frame.message
        if isinstance(message, (Ack, Nack)):
            self._answered(message)
        elif isinstance(message, Identify):
            self._queue_hello(new_boot=False)
        elif isinstance(message, SetTime):
            self.clock_offset_ms = message.time_ms - self._clock()
            self._restamp()
        else:
            self.received.append(message)
            if isinstance(message, Display):
                self.display = message
            _logger.info("%s received %s", self.serial, message)

    def _answered(self, answer: Ack | Nack) -> None:
        head = self._queue[0] if self._queue else None
        if head is None or head.seq is None or head.seq != answer.acked_seq:
            if isinstance(answer, Ack) and answer.acked_seq == self._heartbeat_seq:
                self._heartbeat_seq = None
                self.stats["heartbeat_acks"] += 1  # the line works; nothing waits for it
            return  # else a late answer to an earlier transmission
        if isinstance(answer, Nack) and answer.reason in NACK_RETRY_REASONS:
            return  # BUSY: retransmit on the normal schedule
        self._queue.popleft()
        done = Frame(head.seq, head.message)
        if isinstance(answer, Ack):
            self.acked.append(done)
        else:
            self.nacked.append((done, answer.reason))
            _logger.warning("%s: frame %d refused: %s", self.serial, head.seq, answer.reason.name)
        if not self._queue:
            self._heartbeat_at = time.monotonic() + self._heartbeat_interval()
            self._idle.notify_all()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._step()
                except Exception:  # a bug must not silence the keypad
                    _logger.exception("%s: keypad loop error", self.serial)
                    time.sleep(MAX_POLL)
        finally:
            self._run_calls()

    def _step(self) -> None:
        self._run_calls()
        with self._lock:
            now = time.monotonic()
            if self._decoder.buffered and now - self._last_rx >= IDLE_GAP:
                for frame in self._decoder.idle():
                    self._handle(frame)
            self._transmit(now)
            timeout = self._poll_timeout(now)
            line, listener = self._line, self._listener
        watch: list[Any] = [self._wake_r]
        watch += [x for x in (line, listener) if x is not None]
        ready = select.select(watch, [], [], timeout)[0]
        if self._wake_r in ready:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 4096)
        with self._lock:
            if listener is not None and listener in ready and listener is self._listener:
                self._accept()
            if line is not None and line in ready and line is self._line:
                self._receive(time.monotonic())

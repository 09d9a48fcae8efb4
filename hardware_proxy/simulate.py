"""Virtual rating keypads on pseudo-terminals or TCP, for demos and tests.

A ``VirtualKeypad`` behaves as PROTOCOL.md asks of a real keypad: a HELLO after power-up,
reliable frames (HELLO, START, END, RATE, LOGIN, LOGOUT) sent one at a time and
retransmitted with ``retransmit_timeout_ms`` until the host ACKs (or finally NACKs) them,
heartbeats only while nothing is in flight, a HELLO with the same ``boot_id`` in answer to
IDENTIFY, a new ``boot_id`` and sequence 0 after a reboot. It records what the host sends
(DISPLAY, PLAY, LED, BEEP) and can be unplugged and plugged back in.

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

Command line (``python -m hardware_proxy.simulate``)::

    --devices N          number of keypads, serials PREFIX-01 .. PREFIX-NN
    --serial-prefix SIM  serial number prefix
    --pty                pseudo-terminals (the default) ...
    --link-dir DIR       ... with symlinks DIR/PREFIX-01 .. (stable paths)
    --tcp-base-port P    TCP servers instead, on ports P, P+1, ... (--host, default 127.0.0.1)
    --script FILE        play a script (below), or
    --random PER_MINUTE  random customers, PER_MINUTE per keypad and minute
    --duration S         stop after S seconds (default: on SIGTERM or SIGINT)
    --key-count K        rating keys per keypad (4)

It prints one line per keypad, ``SERIAL PATH_OR_URL``, the port the proxy should open,
then logs to stderr what the keypads send and receive. SIGTERM and SIGINT stop it
cleanly (links removed, exit status 0).

Script format: one command per line; blank lines and ``#`` comments are ignored. A
device command starts with the keypad's serial::

    SIM-01 login 1001        LOGIN with employee number 1001
    SIM-01 start             START key (customer called)
    SIM-01 end               END key (service over)
    SIM-01 rate 1            rating key 1 (1 = leftmost)
    SIM-01 customer 2 [S]    start, S seconds of service (default 0), end, rate 2
    SIM-01 logout            LOGOUT key
    SIM-01 heartbeat         a HEARTBEAT now (they are also sent every 10 s when idle)
    SIM-01 unplug            pull the cable (presses made meanwhile are kept)
    SIM-01 replug            plug it back in (HELLO again, same boot_id)
    SIM-01 reboot            power cycle (new boot_id, sequence from 0)
    SIM-01 garbage 00ffaa55  raw bytes on the line (hex)
    SIM-01 wait-idle [S]     wait until this keypad's presses are all ACKed (max S, 30)

and these apply to the whole simulation::

    sleep 2.5                wait 2.5 seconds
    wait-idle [S]            wait until every keypad is idle (max S seconds, 30)
    exit                     stop the simulation

Commands run one after the other (``customer 1 5`` holds the script for 5 s). When the
script ends the keypads stay connected (retransmitting, sending heartbeats) until
``--duration``, ``exit`` or a signal.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import tty
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware_proxy.protocol import (
    HEARTBEAT_INTERVAL_MS,
    IDLE_GAP_MS,
    MAX_KEYS,
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


class _FdLine:
    """The keypad's end of the line as a file descriptor (a pty master), non-blocking."""

    def __init__(self, fd: int, *, also_close: Sequence[int] = ()) -> None:
        self.fd = fd
        self._also_close = list(also_close)
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        return self.fd

    def recv(self) -> bytes:
        """Bytes available (maybe none); EOFError when the other end is gone."""
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:  # EIO: no process has the pty slave open
            raise EOFError(str(exc)) from exc
        if not data:
            raise EOFError("end of file")
        return data

    def send(self, data: bytes) -> int:
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        for fd in (self.fd, *self._also_close):
            with contextlib.suppress(OSError):
                os.close(fd)


class _SocketLine:
    """The keypad's end of the line as a connected socket, non-blocking."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self) -> bytes:
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise EOFError(str(exc)) from exc
        if not data:
            raise EOFError("connection closed")
        return data

    def send(self, data: bytes) -> int:
        try:
            return self.sock.send(data)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


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
    ) -> None:
        # A Hello validates serial, firmware, key_count and boot_id now, not in the thread.
        Hello(0, 0 if boot_id is None else boot_id, key_count, serial, firmware)
        self.serial = serial
        self.key_count = key_count
        self.firmware = firmware
        self.boot_id = _random_boot_id() if boot_id is None else boot_id
        self.time_scale = time_scale
        self.heartbeats = heartbeats
        self._clock = clock or _epoch_ms
        self.clock_offset_ms = 0
        """Set by SET_TIME: the keypad's clock is ``clock() + clock_offset_ms``."""

        self.received: list[HostMessage] = []
        self.display: Display | None = None
        self.host_frames: list[Frame] = []
        self.acked: list[Frame] = []
        self.nacked: list[tuple[Frame, NackReason]] = []
        self.stats: dict[str, int] = {
            "frames_sent": 0,
            "retransmissions": 0,
            "heartbeats": 0,
            "bytes_sent": 0,
            "bytes_dropped": 0,  # written while no line was there (unplugged, no client)
        }

        self.slave_path: str | None = None
        self.link_path: str | None = None
        self.tcp_host: str | None = None
        self.tcp_port: int | None = None
        self._transport: str | None = None  # "pty", "tcp" or "attached"
        self._plugged = False
        self._line: _FdLine | _SocketLine | None = None
        self._listener: socket.socket | None = None

        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._queue: deque[_Pending] = deque()
        self._seq = 0
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
            if isinstance(endpoint, socket.socket):
                self._line = _SocketLine(endpoint)
            else:
                self._line = _FdLine(endpoint)
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
        return self._press(ServiceStart(self._now_ms()))

    def press_end(self) -> ServiceEnd:
        return self._press(ServiceEnd(self._now_ms()))

    def press_rate(self, key: int) -> Rate:
        if not 1 <= key <= self.key_count:
            raise ValueError(f"{self.serial} has keys 1-{self.key_count}, not {key}")
        return self._press(Rate(self._now_ms(), key))

    def login(self, employee_no: str) -> Login:
        return self._press(Login(self._now_ms(), employee_no))

    def logout(self) -> Logout:
        return self._press(Logout(self._now_ms()))

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

    def _press(self, message: DeviceMessage) -> Any:
        with self._lock:
            self._queue.append(_Pending(message))
        self._wakeup()
        return message

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
        if not new_boot and self._queue and isinstance(self._queue[0].message, Hello):
            return
        hello = Hello(self._now_ms(), self.boot_id, self.key_count, self.serial, self.firmware)
        self._queue = deque(p for p in self._queue if not isinstance(p.message, Hello))
        self._queue.appendleft(_Pending(hello))

    def _open_pty(self, link: str | None) -> str:
        self._drop_line()
        master, slave = os.openpty()
        try:
            tty.setraw(master)  # no echo, no line discipline: bytes pass as they are
            tty.setraw(slave)
            slave_path = os.ttyname(slave)
            if link is not None:
                tmp = f"{link}.{os.getpid()}.tmp"
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                os.symlink(slave_path, tmp)
                os.replace(tmp, link)  # atomic, like udev replacing a by-id link
        except BaseException:  # termios.error is not an OSError
            os.close(master)
            os.close(slave)
            raise
        # Keeping our own slave descriptor open means the master never reads EIO while
        # the proxy has the port closed; we never read from it, so we steal nothing.
        self._line = _FdLine(master, also_close=[slave])
        self.slave_path, self.link_path = slave_path, link
        self._transport = "pty"
        self._plugged = True
        _logger.info("%s on %s", self.serial, link or slave_path)
        return slave_path

    def _listen(self, host: str, port: int) -> int:
        self._drop_line()
        server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((host, port))
            server.listen(1)
            server.setblocking(False)
        except OSError:
            server.close()
            raise
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
        link = self.link_path
        if self._transport == "pty" and link and self.slave_path:
            # Like udev removing /dev/serial/by-id/...: only our own link.
            with contextlib.suppress(OSError):
                if os.readlink(link) == self.slave_path:
                    os.unlink(link)

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
        try:
            conn, peer = self._listener.accept()
        except OSError:
            return
        if self._line is not None:
            self._line.close()  # one client at a time: the newest wins
        self._line = _SocketLine(conn)
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
        self.host_frames.append(frame)
        message = frame.message
        if isinstance(message, (Ack, Nack)):
            self._answered(message)
        elif isinstance(message, Identify):
            self._queue_hello(new_boot=False)
        elif isinstance(message, SetTime):
            self.clock_offset_ms = message.time_ms - self._clock()
        else:
            self.received.append(message)
            if isinstance(message, Display):
                self.display = message
            _logger.info("%s received %s", self.serial, message)

    def _answered(self, answer: Ack | Nack) -> None:
        head = self._queue[0] if self._queue else None
        if head is None or head.seq is None or head.seq != answer.acked_seq:
            return  # a late answer to an earlier transmission, or to a heartbeat
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


# ---------------------------------------------------------------------- script


class ScriptError(ValueError):
    """A script line that cannot be run; the message names the line."""


@dataclass(frozen=True)
class ScriptCommand:
    line_no: int
    device: str | None  # None: a command for the whole simulation
    verb: str
    args: tuple[str, ...]


_DEVICE_VERBS = {  # verb: (min args, max args)
    "login": (1, 1),
    "logout": (0, 0),
    "start": (0, 0),
    "end": (0, 0),
    "rate": (1, 1),
    "customer": (1, 2),
    "heartbeat": (0, 0),
    "unplug": (0, 0),
    "replug": (0, 0),
    "reboot": (0, 0),
    "garbage": (1, 1),
    "wait-idle": (0, 1),
}
_GLOBAL_VERBS = {"sleep": (1, 1), "wait-idle": (0, 1), "exit": (0, 0)}
DEFAULT_WAIT_IDLE = 30.0


def parse_script(text: str, serials: Sequence[str]) -> list[ScriptCommand]:
    """Parse and check a whole script before anything runs (see the module docstring)."""
    commands = []
    for line_no, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        device: str | None = None
        verbs = _GLOBAL_VERBS
        if words[0] in serials:
            device, verbs = words.pop(0), _DEVICE_VERBS
            if not words:
                raise ScriptError(f"line {line_no}: a command must follow {device}")
        verb, args = words[0], words[1:]
        if verb not in verbs:
            what = f"command for {device}" if device else "device or command"
            raise ScriptError(f"line {line_no}: unknown {what} {verb!r}")
        low, high = verbs[verb]
        if not low <= len(args) <= high:
            raise ScriptError(f"line {line_no}: {verb} takes {low} to {high} arguments")
        try:
            _check_args(verb, args)
        except ValueError as exc:
            raise ScriptError(f"line {line_no}: {exc}") from exc
        commands.append(ScriptCommand(line_no, device, verb, tuple(args)))
    return commands


def _check_args(verb: str, args: Sequence[str]) -> None:
    """Raise ValueError (InvalidField is one) for arguments the command cannot use."""
    if verb in ("rate", "customer"):
        key = int(args[0])
        if not 1 <= key <= MAX_KEYS:
            raise ValueError(f"key {key} is not in 1-{MAX_KEYS}")
    elif verb == "login":
        Login(0, args[0])  # 1-16 ASCII digits
    elif verb == "garbage":
        bytes.fromhex(args[0])
    seconds = args[1:] if verb == "customer" else args if verb in ("sleep", "wait-idle") else ()
    for value in seconds:
        if not float(value) >= 0:  # also refuses nan
            raise ValueError(f"{value} is not a number of seconds")


def run_script(
    commands: Sequence[ScriptCommand],
    keypads: dict[str, VirtualKeypad],
    stop: threading.Event,
) -> None:
    """Play ``commands``; returns at the end, on ``exit`` or when ``stop`` is set."""
    for command in commands:
        if stop.is_set():
            return
        try:
            _run_command(command, keypads, stop)
        except Exception as exc:  # one bad step (a key the keypad lacks) does not end the demo
            _logger.error("script line %d (%s): %s", command.line_no, command.verb, exc)


def _run_command(
    command: ScriptCommand, keypads: dict[str, VirtualKeypad], stop: threading.Event
) -> None:
    verb, args = command.verb, command.args
    if command.device is None:
        if verb == "sleep":
            stop.wait(float(args[0]))
        elif verb == "wait-idle":
            timeout = float(args[0]) if args else DEFAULT_WAIT_IDLE
            deadline = time.monotonic() + timeout
            for keypad in keypads.values():
                keypad.wait_idle(max(deadline - time.monotonic(), 0.0))
        elif verb == "exit":
            stop.set()
        return
    keypad = keypads[command.device]
    if verb == "login":
        keypad.login(args[0])
    elif verb == "rate":
        keypad.press_rate(int(args[0]))
    elif verb == "customer":
        keypad.customer(int(args[0]), serve_seconds=float(args[1]) if len(args) > 1 else 0.0)
    elif verb == "garbage":
        keypad.inject_garbage(bytes.fromhex(args[0]))
    elif verb == "wait-idle":
        keypad.wait_idle(float(args[0]) if args else DEFAULT_WAIT_IDLE)
    else:
        actions: dict[str, Callable[[], Any]] = {
            "logout": keypad.logout,
            "start": keypad.press_start,
            "end": keypad.press_end,
            "heartbeat": keypad.heartbeat,
            "unplug": keypad.unplug,
            "replug": keypad.replug,
            "reboot": keypad.reboot,
        }
        actions[verb]()


# ---------------------------------------------------------------------- random customers


def rating_weights(key_count: int) -> list[float]:
    """Key 1 (the leftmost, "very satisfied" on the default scale) most of the time."""
    return [0.45**index for index in range(key_count)]


def run_random(
    keypad: VirtualKeypad,
    per_minute: float,
    stop: threading.Event,
    *,
    employee_no: str,
    rng: random.Random | None = None,
) -> None:
    """A teller logs in, then serves customers, ``per_minute`` on average, until ``stop``.

    Each customer: a pause, START, the service (60% of the cycle), END, a few seconds,
    RATE. Cycles are exponentially distributed, so customers arrive at random.
    """
    rng = rng or random.Random()
    keys = list(range(1, keypad.key_count + 1))
    weights = rating_weights(keypad.key_count)
    mean_cycle = 60.0 / per_minute
    if stop.wait(rng.uniform(0.0, min(mean_cycle, 2.0))):  # do not all start in step
        return
    keypad.login(employee_no)
    while True:
        cycle = rng.expovariate(1.0 / mean_cycle)
        rating_delay = min(cycle * 0.1, 5.0)
        if stop.wait(cycle * 0.3):
            return
        keypad.press_start()
        if stop.wait(cycle * 0.6):
            return
        keypad.press_end()
        if stop.wait(rating_delay):
            return
        keypad.press_rate(rng.choices(keys, weights)[0])


# ---------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hardware_proxy.simulate",
        description="Virtual rating keypads on pseudo-terminals or TCP ports.",
        epilog="Script format: see the docstring of hardware_proxy/simulate.py.",
    )
    parser.add_argument("--devices", type=int, default=1, metavar="N")
    parser.add_argument("--serial-prefix", default="SIM", metavar="PREFIX")
    parser.add_argument(
        "--serials", metavar="S1,S2,...", help="exact serial numbers (instead of --devices)"
    )
    parser.add_argument("--key-count", type=int, default=4, metavar="K")
    line = parser.add_mutually_exclusive_group()
    line.add_argument("--pty", action="store_true", help="pseudo-terminals (the default)")
    line.add_argument("--tcp-base-port", type=int, metavar="P", help="TCP servers on P, P+1, ...")
    parser.add_argument("--link-dir", type=Path, metavar="DIR", help="symlinks DIR/SERIAL")
    parser.add_argument("--host", default="127.0.0.1", help="TCP address (127.0.0.1)")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--script", type=Path, metavar="FILE")
    load.add_argument("--random", type=float, metavar="PER_MINUTE")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--seed", type=int, help="random seed (--random)")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 1 <= args.devices <= 99:
        parser.error("--devices must be 1-99")
    if args.link_dir is not None and args.tcp_base_port is not None:
        parser.error("--link-dir goes with --pty, not --tcp-base-port")
    if args.random is not None and args.random <= 0:
        parser.error("--random needs a positive number of customers per minute")
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    serials = [f"{args.serial_prefix}-{index:02d}" for index in range(1, args.devices + 1)]
    if args.serials:
        serials = [serial.strip() for serial in args.serials.split(",") if serial.strip()]
    commands: list[ScriptCommand] = []
    if args.script is not None:
        try:
            commands = parse_script(args.script.read_text(encoding="utf-8"), serials)
        except (OSError, ScriptError) as exc:
            print(f"simulate: {args.script}: {exc}", file=sys.stderr)
            return 2

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        _logger.info("signal %d: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    keypads: dict[str, VirtualKeypad] = {}
    workers: list[threading.Thread] = []
    try:
        if args.link_dir is not None:
            args.link_dir.mkdir(parents=True, exist_ok=True)
        for index, serial in enumerate(serials):
            keypad = VirtualKeypad(serial, key_count=args.key_count)
            keypads[serial] = keypad
            if args.tcp_base_port is not None:
                keypad.listen_tcp(args.host, args.tcp_base_port + index)
            else:
                link = args.link_dir / serial if args.link_dir is not None else None
                keypad.open_pty(link)
            keypad.start()
            print(serial, keypad.url, flush=True)
        if commands:
            workers.append(
                threading.Thread(target=run_script, args=(commands, keypads, stop), daemon=True)
            )
        elif args.random is not None:
            rng = random.Random(args.seed)
            for index, keypad in enumerate(keypads.values()):
                worker = threading.Thread(
                    target=run_random,
                    args=(keypad, args.random, stop),
                    kwargs={
                        "employee_no": str(1001 + index),
                        "rng": random.Random(rng.random()),
                    },
                    daemon=True,
                )
                workers.append(worker)
        for worker in workers:
            worker.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.is_set():
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                break
            stop.wait(left)
    except OSError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        for keypad in keypads.values():
            keypad.stop()
        for worker in workers:
            worker.join(2.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())

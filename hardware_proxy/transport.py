"""One serial line to one keypad: bytes in, frames out, thread-safe writes, reconnection.

``SerialLink`` is a thread that owns one port (as pyserial's ``serial.threaded.ReaderThread``
does): it opens the port, feeds what it reads to a ``protocol.FrameDecoder``, hands the
decoded frames to a callback, NACKs the frames the decoder rejected, and when the port
fails (a USB keypad unplugged, a network serial server gone) closes it and tries to open
the same path or URL again every ``reopen_interval`` seconds until stopped. A keypad
plugged back in behind the same path (a ``/dev/serial/by-id`` symlink, say) resumes
without anyone restarting anything.

With ``discovery.py``, this is the only module that imports ``serial``. It knows nothing
about devices, events or Odoo: what a frame means is the service's business.

The port is given as a device path (``/dev/ttyUSB0``, a pseudo-terminal, a symlink) or
as a pyserial URL (``socket://host:port``, ``rfc2217://host:port``, ``loop://``).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from hardware_proxy.protocol import (
    IDLE_GAP_MS,
    Direction,
    Frame,
    FrameDecoder,
    HostMessage,
    Nack,
    encode,
    next_seq,
)

_logger = logging.getLogger(__name__)

#: Errors that mean "the port is gone or unusable": close it and try again later.
#: ValueError covers a malformed URL or setting (logged and retried like the rest).
_PORT_ERRORS = (serial.SerialException, OSError, ValueError)


class LinkState(str, enum.Enum):
    """Where a SerialLink is; ``on_state`` is called when it changes."""

    CONNECTING = "connecting"
    """Created or started, the port not opened yet."""
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    """The port failed or could not be opened (``last_error`` says why); retrying."""
    STOPPED = "stopped"


FramesCallback = Callable[["SerialLink", list[Frame]], None]
StateCallback = Callable[["SerialLink", LinkState, "str | None"], None]


class SerialLink(threading.Thread):
    """Reader thread of one serial line, with a thread-safe ``send()``.

    ``on_frames(link, frames)`` is called from this thread with the frames decoded from
    one read, in order; it must be quick (the service queues the work). An exception it
    raises is logged and counted, never fatal. ``on_state(link, state, error)`` is called
    from this thread when the state changes (not at each failed reopen: ``last_error``
    always holds the latest error).
    """

    IDLE_GAP = IDLE_GAP_MS / 1000
    """Silence after which a partial frame in the decoder will never complete."""
    MAX_READ = 4096

    def __init__(
        self,
        url: str,
        *,
        on_frames: FramesCallback,
        on_state: StateCallback | None = None,
        baudrate: int = 9600,
        reopen_interval: float = 1.0,
        read_timeout: float = 0.05,
        write_timeout: float = 1.0,
    ) -> None:
        super().__init__(name=f"serial-link {url}", daemon=True)
        self.url = url
        self.baudrate = baudrate
        self.reopen_interval = reopen_interval
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        """A keypad that stops reading (its buffer full) must not block send() forever."""
        self.state = LinkState.CONNECTING
        self.last_error: str | None = None
        self.stats: dict[str, Any] = {
            "bytes_in": 0,
            "frames_in": 0,
            "frames_out": 0,
            "discarded_bytes": 0,
            "crc_errors": 0,
            "reconnects": 0,
            "last_frame_at": None,  # time.time() of the last frame delivered
            "rejected": 0,  # CRC-valid frames the decoder refused (NACKed)
            "write_errors": 0,
            "callback_errors": 0,
        }
        self._on_frames = on_frames
        self._on_state = on_state
        self._decoder = FrameDecoder(Direction.DEVICE_TO_HOST)
        self._port: serial.SerialBase | None = None
        self._write_lock = threading.Lock()  # guards _port and _host_seq against the reader
        self._host_seq = 0
        self._stopping = threading.Event()
        self._opened_before = False
        self._reported_error: str | None = None

    # ------------------------------------------------------------------ public API

    def send(self, message: HostMessage, seq: int | None = None) -> bool:
        """Write one frame; False (never an exception) when the port is down or the write fails.

        The frame carries the link's own host sequence number (advanced by each frame
        sent), or ``seq`` when given. ACK and NACK name the keypad frame they answer in
        their payload (``Ack(frame.seq)``), not in the frame's SEQ.
        """
        if not isinstance(message, HostMessage):
            raise TypeError(f"send() takes a host-to-keypad message, got {message!r}")
        with self._write_lock:
            port = self._port
            if port is None:
                return False
            frame_seq = self._host_seq if seq is None else seq
            data = encode(message, frame_seq)
            try:
                port.write(data)
            except _PORT_ERRORS as exc:
                # The reader notices a dead port on its next read and reconnects.
                self.stats["write_errors"] += 1
                _logger.warning("%s: write of %s failed: %s", self.url, type(message).__name__, exc)
                return False
            if seq is None:
                self._host_seq = next_seq(self._host_seq)
            self.stats["frames_out"] += 1
            return True

    def stop(self, timeout: float = 2.0) -> None:
        """Close the port and end the thread (waits up to ``timeout`` seconds)."""
        self._stopping.set()
        if self.is_alive():
            if threading.current_thread() is not self:
                self.join(timeout)
        elif self.state is not LinkState.STOPPED:
            self._close()  # never started (or already ended): just record the state
            self._set_state(LinkState.STOPPED, None)

    @property
    def connected(self) -> bool:
        return self.state is LinkState.CONNECTED

    @property
    def decoder_stats(self) -> dict[str, int]:
        """The decoder's detailed counters (false starts, truncated frames, echoes, ...)."""
        return self._decoder.stats.as_dict()

    # ------------------------------------------------------------------ thread

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                if not self._open():
                    self._stopping.wait(self.reopen_interval)
                    continue
                try:
                    self._read_loop()
                except _PORT_ERRORS as exc:
                    self._disconnected(exc)
                except Exception as exc:  # a bug must not end the thread: log, reopen
                    _logger.exception("%s: unexpected error in the reader", self.url)
                    self._disconnected(exc)
                if not self._stopping.is_set() and self.state is LinkState.DISCONNECTED:
                    self._stopping.wait(self.reopen_interval)
        finally:
            self._close()
            self._set_state(LinkState.STOPPED, None)

    def _open(self) -> bool:
        try:
            port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                timeout=self.read_timeout,
                write_timeout=self.write_timeout,
            )
        except _PORT_ERRORS as exc:
            self._set_state(LinkState.DISCONNECTED, _describe(exc))
            return False
        self._decoder.reset()  # bytes of the previous connection belong to no frame
        with self._write_lock:
            self._port = port
        if self._opened_before:
            self.stats["reconnects"] += 1
        self._opened_before = True
        self._set_state(LinkState.CONNECTED, None)
        return True

    def _read_loop(self) -> None:
        port, decoder = self._port, self._decoder
        assert port is not None
        last_rx = time.monotonic()
        while not self._stopping.is_set():
            data = port.read(1)  # blocks up to read_timeout
            if data:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(min(waiting, self.MAX_READ))
                last_rx = time.monotonic()
                self.stats["bytes_in"] += len(data)
                frames = decoder.feed(data)
            elif decoder.buffered and time.monotonic() - last_rx >= self.IDLE_GAP:
                frames = decoder.idle()  # the partial frame was cut off: drop it, rescan
            else:
                continue
            self.stats["discarded_bytes"] = decoder.stats.bytes_discarded
            self.stats["crc_errors"] = decoder.stats.crc_errors
            if frames:
                self._deliver(frames)
            for rejected in decoder.drain_rejected():
                self.stats["rejected"] += 1
                _logger.info(
                    "%s: NACK %s of frame seq %d: %s",
                    self.url,
                    rejected.nack_reason.name,
                    rejected.seq,
                    rejected.error,
                )
                self.send(Nack(rejected.seq, rejected.nack_reason))

    def _deliver(self, frames: list[Frame]) -> None:
        self.stats["frames_in"] += len(frames)
        self.stats["last_frame_at"] = time.time()
        try:
            self._on_frames(self, frames)
        except Exception:
            self.stats["callback_errors"] += 1
            _logger.exception("%s: on_frames callback failed", self.url)

    def _disconnected(self, exc: BaseException) -> None:
        self._close()
        if not self._stopping.is_set():
            self._set_state(LinkState.DISCONNECTED, _describe(exc))

    def _close(self) -> None:
        with self._write_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a vanished device may fail too; it is closed anyway
                _logger.debug("%s: error closing the port", self.url, exc_info=True)

    def _set_state(self, state: LinkState, error: str | None) -> None:
        previous, self.state, self.last_error = self.state, state, error
        if state is previous:
            if error != self._reported_error:  # still down, for another reason now
                _logger.info("%s: still disconnected: %s", self.url, error)
                self._reported_error = error
            return  # the same failure again while retrying: say it once
        self._reported_error = error
        if state is LinkState.DISCONNECTED:
            _logger.warning("%s: disconnected: %s", self.url, error)
        else:
            _logger.info("%s: %s", self.url, state.value)
        if self._on_state is not None:
            try:
                self._on_state(self, state, error)
            except Exception:
                _logger.exception("%s: on_state callback failed", self.url)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__

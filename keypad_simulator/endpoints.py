"""The keypad's end of the line: a pseudo-terminal, a TCP server or any connected socket.

A real keypad has a UART and a cable; a simulated one needs something the real proxy
can open with pyserial: a pty slave (as a USB-serial port, with a stable symlink as
udev's ``/dev/serial/by-id`` links) or ``socket://host:port`` (as a network serial
server). This module makes those endpoints and moves bytes over them, nothing more;
what the bytes mean is the keypad model's business (keypad.py). Everything here is
non-blocking: the keypad's thread select()s on the line and the listener.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tty
from collections.abc import Sequence


class FdLine:
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


class SocketLine:
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


def line_for(endpoint: int | socket.socket) -> FdLine | SocketLine:
    """The line over an open file descriptor or a connected socket (tests: socketpairs)."""
    if isinstance(endpoint, socket.socket):
        return SocketLine(endpoint)
    return FdLine(endpoint)


def open_pty(link: str | None = None) -> tuple[FdLine, str]:
    """A raw pseudo-terminal pair: the master as our line, and the slave path to open.

    ``link``: also point this symlink at the slave (replaced atomically).
    """
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
    return FdLine(master, also_close=[slave]), slave_path


def remove_link(link: str, slave_path: str) -> None:
    """Remove ``link`` if it still points at ``slave_path``.

    Like udev removing /dev/serial/by-id/...: only our own link, not one a newer pty took.
    """
    with contextlib.suppress(OSError):
        if os.readlink(link) == slave_path:
            os.unlink(link)


def listen_tcp(host: str, port: int) -> socket.socket:
    """A non-blocking TCP server on ``host:port`` (0: a free port) for one client."""
    server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(1)
        server.setblocking(False)
    except OSError:
        server.close()
        raise
    return server


def accept(listener: socket.socket) -> tuple[SocketLine, object] | None:
    """The line of a client waiting on ``listener`` and its address; None if it left."""
    try:
        conn, peer = listener.accept()
    except OSError:
        return None
    return SocketLine(conn), peer

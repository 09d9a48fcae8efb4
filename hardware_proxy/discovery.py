"""Serial ports appearing and disappearing (USB keypads plugged in and out).

``PortWatcher`` polls the list of ports every few seconds and reports the difference
with the previous list, as Odoo's ``iot_drivers/interface.py`` does for its devices.
Polling needs no udev rules or privileges and costs a directory listing every
``interval`` seconds.

By default a port is a device listed by pyserial's ``serial.tools.list_ports.comports()``
or a path matching one of the glob ``patterns``. A device reachable under several names
(``/dev/ttyUSB0`` and its ``/dev/serial/by-id/usb-...`` link) is reported once, under the
most stable name: a symlink (by-id names survive replugging, ``ttyUSBn`` numbers do not).
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence

from serial.tools import list_ports as pyserial_list_ports

_logger = logging.getLogger(__name__)

DEFAULT_PATTERNS: tuple[str, ...] = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/serial/by-id/*")


def list_serial_ports(patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[str]:
    """Present serial ports: comports() devices plus glob matches, one name per device."""
    candidates = [port.device for port in pyserial_list_ports.comports()]
    for pattern in patterns:
        candidates.extend(sorted(glob.glob(pattern)))
    return prefer_stable_names(candidates)


def prefer_stable_names(paths: Iterable[str]) -> list[str]:
    """One path per device (same real path): a symlink over a kernel name, then the first.

    Paths that do not exist (a dangling link left by a removed device) are dropped.
    """
    chosen: dict[str, str] = {}
    for path in paths:
        if not os.path.exists(path):
            continue
        real = os.path.realpath(path)
        current = chosen.get(real)
        if current is None or (os.path.islink(path) and not os.path.islink(current)):
            chosen[real] = path
    return sorted(chosen.values())


class PortWatcher(threading.Thread):
    """Calls ``on_added(path)`` / ``on_removed(path)`` as ports come and go.

    The first scan runs as soon as the thread starts, so the ports present at start-up
    are reported as added. Callbacks run on this thread; an exception they raise is
    logged. A failing ``list_ports`` is logged and changes nothing (it does not make
    every port look removed).
    """

    def __init__(
        self,
        *,
        patterns: Sequence[str] = DEFAULT_PATTERNS,
        on_added: Callable[[str], None],
        on_removed: Callable[[str], None],
        interval: float = 2.0,
        list_ports: Callable[[], list[str]] | None = None,
    ) -> None:
        super().__init__(name="port-watcher", daemon=True)
        self.patterns = tuple(patterns)
        self.interval = interval
        self._on_added = on_added
        self._on_removed = on_removed
        self._list_ports = list_ports or (lambda: list_serial_ports(self.patterns))
        self._known: set[str] = set()
        self._lock = threading.Lock()  # guards _known (known() is called from other threads)
        self._scan_lock = threading.RLock()  # one scan at a time
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.scan()
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(self.interval + 5.0)

    def known(self) -> set[str]:
        """The ports seen by the last scan."""
        with self._lock:
            return set(self._known)

    def scan(self) -> tuple[set[str], set[str]]:
        """List the ports once, report and return the (added, removed) ones."""
        with self._scan_lock:
            try:
                current = set(self._list_ports())
            except Exception:
                _logger.exception("listing serial ports failed")
                return set(), set()
            with self._lock:
                added, removed = current - self._known, self._known - current
                self._known = current
            for path in sorted(removed):
                _logger.info("serial port removed: %s", path)
                self._call(self._on_removed, path)
            for path in sorted(added):
                _logger.info("serial port added: %s", path)
                self._call(self._on_added, path)
        return added, removed

    @staticmethod
    def _call(callback: Callable[[str], None], path: str) -> None:
        try:
            callback(path)
        except Exception:
            _logger.exception("port callback %r failed for %s", callback, path)

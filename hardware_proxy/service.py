"""The supervisor: wires ports, the outbox, the sender and the status page together.

It turns device frames into Odoo events and holds the rules of DESIGN.md: a frame is
ACKed only once its event is durably in the outbox; the keypad gets its voice prompt
from here at once (Odoo may be away); Odoo's replies update the teller display.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import protocol as p
from .config import Config
from .discovery import PortWatcher
from .odoo_client import OdooClient
from .outbox import Outbox, OutboxFull
from .sender import Sender
from .transport import LinkState, SerialLink

_logger = logging.getLogger("hardware_proxy.service")

# What the keypad says right after each kind of press, without waiting for Odoo.
EVENT_MESSAGES = (p.ServiceStart, p.ServiceEnd, p.Rate, p.Login, p.Logout)
LOCAL_PROMPTS = {
    p.ServiceStart: p.Prompt.GREETING,
    p.ServiceEnd: p.Prompt.PLEASE_RATE,
    p.Rate: p.Prompt.THANK_YOU,
    p.Logout: p.Prompt.GOODBYE,
}
# A keypad found by autodetection must say HELLO within this time, else it is not ours.
IDENTIFY_TIMEOUT = 3.0


@dataclass
class DeviceState:
    serial: str
    link: SerialLink
    boot_id: int
    firmware: str = ""
    key_count: int = 0
    tracker: p.SequenceTracker = field(default_factory=p.SequenceTracker)
    last_frame_at: float = 0.0
    last_heartbeat_forwarded: float = 0.0
    display: p.Display | None = None
    events_stored: int = 0
    retransmissions: int = 0


def event_uid(serial: str, boot_id: int, seq: int, time_ms: int) -> str:
    """Stable across retransmissions, new after a reboot or a sequence wrap."""
    return f"{serial}:{boot_id:08x}:{seq}:{time_ms}"


def iso_time(time_ms: int) -> str:
    moment = datetime.fromtimestamp(time_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_event(device: DeviceState, frame: p.Frame, now_ms: int) -> dict:
    """The Odoo event (docs/device-api.md) for a device frame."""
    message = frame.message
    time_ms = getattr(message, "time_ms", 0) or now_ms  # 0: the keypad's clock is not set
    event = {
        "id": event_uid(device.serial, device.boot_id, frame.seq, time_ms),
        "device": device.serial,
        "time": iso_time(time_ms),
    }
    if isinstance(message, p.ServiceStart):
        event["type"] = "start"
    elif isinstance(message, p.ServiceEnd):
        event["type"] = "end"
    elif isinstance(message, p.Rate):
        event |= {"type": "rate", "key": message.rating}
    elif isinstance(message, p.Login):
        event |= {"type": "login", "employee": message.employee_no}
    elif isinstance(message, p.Logout):
        event["type"] = "logout"
    else:  # Hello and Heartbeat
        event |= {"type": "heartbeat", "firmware": device.firmware, "key_count": device.key_count}
    return event


class ProxyService:
    def __init__(
        self,
        config: Config,
        *,
        outbox: Outbox | None = None,
        client: OdooClient | None = None,
        clock=time.time,
    ):
        self.config = config
        self.clock = clock
        self.outbox = outbox or Outbox(
            config.outbox_path,
            max_events=config.outbox_max_events,
            warn_ratio=config.outbox_warn_ratio,
        )
        self.client = client or OdooClient(
            config.odoo_url, config.odoo_database, config.api_key, timeout=config.odoo_timeout
        )
        self.sender = Sender(
            self.outbox,
            self.client,
            batch_size=config.batch_size,
            backoff_initial=config.backoff_initial,
            backoff_max=config.backoff_max,
            on_device_replies=self._on_device_replies,
        )
        self.links: dict[str, SerialLink] = {}
        self.devices: dict[str, DeviceState] = {}
        self._link_devices: dict[SerialLink, DeviceState] = {}
        self._probing: dict[str, float] = {}  # autodetected url -> deadline for its HELLO
        self._lock = threading.RLock()
        self.watcher: PortWatcher | None = None
        self.errors: deque[dict] = deque(maxlen=50)
        self.started_at = self.clock()
        self.counters = {"frames": 0, "events_stored": 0, "duplicates": 0, "refused_full": 0}
        self._stopping = threading.Event()
        self._outbox_level = "ok"

    # ------------------------------------------------------------ lifecycle
    def start(self) -> ProxyService:
        self.sender.start()
        for url in self.config.ports:
            self.add_port(url)
        if self.config.autodetect:
            self.watcher = PortWatcher(
                patterns=self.config.autodetect_patterns,
                on_added=self._on_port_added,
                on_removed=self._on_port_removed,
            )
            self.watcher.start()
        _logger.info(
            "proxy started ports=%d autodetect=%s", len(self.links), self.config.autodetect
        )
        return self

    def stop(self, drain_timeout: float = 5.0) -> None:
        """SIGTERM: stop reading, give the sender `drain_timeout` to deliver, close."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.watcher:
            self.watcher.stop()
        for link in list(self.links.values()):
            link.stop()
        self.sender.stop(drain_timeout=drain_timeout)
        self.client.close()
        self.outbox.close()
        _logger.info("proxy stopped")

    def add_port(self, url: str) -> SerialLink:
        with self._lock:
            if url in self.links:
                return self.links[url]
            link = SerialLink(
                url,
                on_frames=self._on_frames,
                on_state=self._on_link_state,
                baudrate=self.config.baudrate,
            )
            self.links[url] = link
        link.start()
        return link

    def remove_port(self, url: str) -> None:
        with self._lock:
            link = self.links.pop(url, None)
            device = self._link_devices.pop(link, None) if link else None
            if device and self.devices.get(device.serial) is device:
                del self.devices[device.serial]
        if link:
            link.stop()

    # ------------------------------------------------------------ autodetection
    def _on_port_added(self, url: str) -> None:
        link = self.add_port(url)
        self._probing[url] = self.clock() + IDENTIFY_TIMEOUT
        link.send(p.Identify())
        threading.Timer(IDENTIFY_TIMEOUT, self._check_probe, args=(url,)).start()

    def _check_probe(self, url: str) -> None:
        deadline = self._probing.pop(url, None)
        link = self.links.get(url)
        if deadline is not None and link and link not in self._link_devices:
            _logger.info("port without keypad url=%s: closed", url)
            self.remove_port(url)

    def _on_port_removed(self, url: str) -> None:
        # Stop the link; when the port reappears, the watcher reports it and it is probed again.
        self._note_error("unplugged", url, "port disappeared")
        self.remove_port(url)

    # ------------------------------------------------------------ frames
    def _on_link_state(self, link: SerialLink, state: LinkState, error: str | None) -> None:
        device = self._link_devices.get(link)
        name = device.serial if device else link.url
        if state == LinkState.DISCONNECTED:
            _logger.warning("keypad unplugged device=%s url=%s error=%s", name, link.url, error)
            self._note_error("unplugged", name, error or "disconnected")
        elif state == LinkState.CONNECTED:
            _logger.info("port connected device=%s url=%s", name, link.url)
            link.send(p.Identify())  # learn who is there (and its boot) before ACKing

    def _on_frames(self, link: SerialLink, frames: list[p.Frame]) -> None:
        for frame in frames:
            self.counters["frames"] += 1
            try:
                self._handle(link, frame)
            except Exception:  # a bug must not stop the port's reader
                _logger.exception("frame handling failed url=%s seq=%s", link.url, frame.seq)
                self._note_error("bug", link.url, f"frame handling failed (seq {frame.seq})")

    def _handle(self, link: SerialLink, frame: p.Frame) -> None:
        message = frame.message
        now = self.clock()
        if isinstance(message, p.Hello):
            device = self._register(link, message, frame.seq)
            device.last_frame_at = now
            self._forward_heartbeat(device, frame, force=True)
            link.send(p.Ack(frame.seq))
            link.send(p.SetTime(int(now * 1000)))
            if device.display:
                link.send(device.display)
            return
        device = self._link_devices.get(link)
        if device is None:
            # Events before HELLO (e.g. the proxy restarted): no ACK, the keypad
            # retransmits; IDENTIFY makes it introduce itself first.
            link.send(p.Identify())
            return
        device.last_frame_at = now
        if isinstance(message, p.Heartbeat):
            self._forward_heartbeat(device, frame)
            return
        if not isinstance(message, EVENT_MESSAGES):
            return
        if device.tracker.observe(frame.seq, message) is p.Delivery.DUPLICATE:
            # The ACK was lost; the event is already in the outbox (or delivered).
            device.retransmissions += 1
            self.counters["duplicates"] += 1
        event = to_event(device, frame, int(now * 1000))
        try:
            added = self.outbox.add([event])
        except OutboxFull:
            self._check_outbox_level()
            self.counters["refused_full"] += 1
            self._note_error("outbox_full", device.serial, "outbox full: press refused (BUSY)")
            link.send(p.Nack(frame.seq, p.NackReason.BUSY))
            return
        if added:
            device.events_stored += 1
            self.counters["events_stored"] += 1
        link.send(p.Ack(frame.seq))
        self._check_outbox_level()
        if added:
            self._answer_locally(device, message)
            self.sender.wake()

    def _register(self, link: SerialLink, hello: p.Hello, seq: int) -> DeviceState:
        with self._lock:
            self._probing.pop(link.url, None)
            device = self.devices.get(hello.serial)
            if device is None or device.boot_id != hello.boot_id or device.link is not link:
                previous = device
                device = DeviceState(hello.serial, link, hello.boot_id)
                if previous:
                    device.display = previous.display
                    if previous.boot_id == hello.boot_id:
                        device.tracker = previous.tracker  # replugged, not rebooted
                self.devices[hello.serial] = device
            device.firmware, device.key_count = hello.firmware, hello.key_count
            device.tracker.observe(seq, hello)
            self._link_devices[link] = device
        _logger.info(
            "keypad hello device=%s boot=%08x firmware=%s url=%s",
            hello.serial, hello.boot_id, hello.firmware, link.url,
        )  # fmt: skip
        return device

    def _forward_heartbeat(self, device: DeviceState, frame: p.Frame, force: bool = False) -> None:
        """Odoo needs a sign of life now and then, not every heartbeat."""
        now = self.clock()
        interval = self.config.heartbeat_forward_interval
        if not force and now - device.last_heartbeat_forwarded < interval:
            return
        device.last_heartbeat_forwarded = now
        try:
            self.outbox.add([to_event(device, frame, int(now * 1000))])
            self.sender.wake()
        except OutboxFull:
            pass  # presses matter, heartbeats do not

    def _answer_locally(self, device: DeviceState, message: p.Message) -> None:
        prompt = LOCAL_PROMPTS.get(type(message))
        if prompt is not None:
            device.link.send(p.Play(prompt))
        if isinstance(message, p.Login):
            device.display = p.Display(teller_name="", employee_no=message.employee_no, stars=0)
            device.link.send(device.display)

    def _check_outbox_level(self) -> None:
        """Say it loudly, once per change, well before presses have to be refused."""
        level = self.outbox.level
        if level == self._outbox_level:
            return
        self._outbox_level = level
        depth, limit = self.outbox.depth(), self.config.outbox_max_events
        if level == "ok":
            _logger.info("outbox back to normal depth=%d max=%d", depth, limit)
            return
        log = _logger.critical if level == "full" else _logger.error
        log("OUTBOX %s depth=%d max=%d: is Odoo reachable?", level.upper(), depth, limit)
        self._note_error(f"outbox_{level}", "outbox", f"{depth} of {limit} events queued")

    # ------------------------------------------------------------ Odoo replies
    def _on_device_replies(self, devices: dict) -> None:
        for serial, reply in devices.items():
            device = self.devices.get(serial)
            shown = reply.get("display") or {}
            if device is None:
                continue
            display = p.Display(
                teller_name=p.fit_utf8(shown.get("teller_name") or "", p.MAX_TELLER_NAME),
                employee_no=p.fit_utf8(shown.get("employee_number") or "", p.MAX_EMPLOYEE_NO),
                stars=max(0, min(p.MAX_STARS, int(shown.get("star_level") or 0))),
            )
            if display != device.display:
                device.display = display
                device.link.send(display)

    # ------------------------------------------------------------ status
    def _note_error(self, kind: str, where: str, message: str) -> None:
        self.errors.appendleft(
            {"at": self.clock(), "kind": kind, "where": where, "message": message}
        )

    def status(self) -> dict:
        sender = self.sender.status()
        level = self.outbox.level
        links = []
        for url, link in list(self.links.items()):
            device = self._link_devices.get(link)
            links.append(
                {
                    "url": url,
                    "state": link.state.value,
                    "last_error": link.last_error,
                    "device": device.serial if device else None,
                    "stats": dict(link.stats),
                }
            )
        devices = [
            {
                "serial": device.serial,
                "url": device.link.url,
                "state": device.link.state.value,
                "boot_id": f"{device.boot_id:08x}",
                "firmware": device.firmware,
                "last_frame_age": round(self.clock() - device.last_frame_at, 1)
                if device.last_frame_at
                else None,
                "events_stored": device.events_stored,
                "retransmissions": device.retransmissions,
                "teller": device.display.teller_name if device.display else "",
            }
            for device in sorted(self.devices.values(), key=lambda d: d.serial)
        ]
        healthy = (
            sender["state"] in ("idle", "sending")
            and level == "ok"
            and all(link["state"] == "connected" for link in links)
        )
        return {
            "status": "ok" if healthy else "degraded",
            "uptime": round(self.clock() - self.started_at, 1),
            "devices": devices,
            "links": links,
            "queue": {
                "depth": self.outbox.depth(),
                "level": level,
                "max_events": self.config.outbox_max_events,
                "oldest_age": self.outbox.oldest_age(),
            },
            "sender": sender,
            "dead_letters": {
                "count": self.outbox.dead_letter_count(),
                "latest": self.outbox.dead_letters(20),
            },
            "counters": dict(self.counters),
            "errors": list(self.errors),
        }

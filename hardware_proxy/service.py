"""The supervisor: wires ports, the outbox, the sender and the status page together.

It turns device frames into Odoo events and holds the rules of DESIGN.md: a frame is
ACKed only once its event is durably in the outbox; a port's frames belong to no keypad
until its HELLO (they are held, durably, and ACKed); the keypad gets its voice prompt
from here at once (Odoo may be away); Odoo's replies update the teller display and its
verdicts (an unknown employee number) are told to the keypad.
"""

from __future__ import annotations

import hashlib
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
from .outbox import HeldFrame, Outbox, OutboxFull
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
# The Odoo event type of each keypad message (HELLO and HEARTBEAT are signs of life).
EVENT_TYPES = {
    p.ServiceStart: "start",
    p.ServiceEnd: "end",
    p.Rate: "rate",
    p.Login: "login",
    p.Logout: "logout",
    p.Hello: "heartbeat",
    p.Heartbeat: "heartbeat",
}
# A keypad found by autodetection must say HELLO within this time, else it is not ours.
IDENTIFY_TIMEOUT = 3.0
# An unidentified port is asked to IDENTIFY at most this often (PROTOCOL.md section 5).
IDENTIFY_INTERVAL = 1.0
# Odoo keeps event ids of at most 64 characters (docs/device-api.md).
MAX_UID_LENGTH = 64
# Host rule 5: SET_TIME when the keypad's clock is unset or further off than this...
CLOCK_TOLERANCE_MS = 2000
# ... (not more often than this while it stays off), and again daily.
CLOCK_RETRY = 60.0
CLOCK_REFRESH = 86400.0
# Host rule 4: a keypad is offline after this long without a valid frame.
OFFLINE_AFTER = p.OFFLINE_AFTER_MS / 1000
# What the keypad shows when Odoo refused its LOGIN, or a START came without a teller.
NOTICE_UNKNOWN_EMPLOYEE = "工号无效 Unknown number"
NOTICE_NOT_LOGGED_IN = "请先登录 Please log in"
NOTICE_BEEP = p.Beep(count=2, duration_ms=150)
LED_TELLER = p.Led(p.Colour.GREEN, p.Pattern.SOLID)
LED_NO_TELLER = p.Led(p.Colour.OFF, p.Pattern.SOLID)
LED_REFUSED = p.Led(p.Colour.RED, p.Pattern.SOLID)
EMPTY_DISPLAY = p.Display(teller_name="", employee_no="", stars=0)
# Odoo's per-event codes that refuse every event of a keypad until someone acts in Odoo.
DEVICE_REFUSALS = {"unknown_device", "forbidden_device", "no_counter", "wrong_counter"}


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
    led: p.Led | None = None
    notice: bool = False  # the display shows "unknown number" or "please log in"
    events_stored: int = 0
    retransmissions: int = 0
    no_teller: bool = False
    """Known: no teller is logged in (Odoo's last reply showed none and no LOGIN since)."""
    pending_logins: set[str] = field(default_factory=set)
    """Ids of LOGINs stored here that Odoo has not answered yet."""
    clock_set_at: float = 0.0


def event_uid(serial: str, boot_id: int, seq: int, time_ms: int, kind: str) -> str:
    """The identity of a press (PROTOCOL.md section 5, docs/device-api.md).

    With the keypad's clock set: ``{serial}:{time_ms}:{kind}``, the same after a lost
    ACK, a keypad reboot (new boot_id and SEQ) or a proxy restart; a keypad gives each
    event its own time_ms. With the clock unset (time_ms 0):
    ``{serial}:b{boot_id:08x}:s{seq}:{kind}``, the same for every retransmission. An id
    longer than Odoo's 64 characters keeps its start and ends with a hash of the whole.
    """
    if time_ms:
        return fit_uid(f"{serial}:{time_ms}:{kind}")
    return fit_uid(f"{serial}:b{boot_id:08x}:s{seq}:{kind}")


def fit_uid(uid: str) -> str:
    """``uid`` if it fits in 64 characters, else its first 47, ``~`` and 16 hex of a hash."""
    if len(uid) <= MAX_UID_LENGTH:
        return uid
    digest = hashlib.sha256(uid.encode()).hexdigest()[:16]
    return f"{uid[: MAX_UID_LENGTH - 17]}~{digest}"


def iso_time(time_ms: int) -> str:
    moment = datetime.fromtimestamp(time_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_event(device: DeviceState, frame: p.Frame, now_ms: int) -> dict:
    """The Odoo event (docs/device-api.md) for a frame of this device received at now_ms."""
    return build_event(
        device.serial,
        device.boot_id,
        frame,
        now_ms,
        firmware=device.firmware,
        key_count=device.key_count,
    )


def build_event(
    serial: str,
    boot_id: int,
    frame: p.Frame,
    received_ms: int,
    *,
    firmware: str = "",
    key_count: int = 0,
) -> dict:
    """The Odoo event of a keypad frame; a time of 0 (clock unset) becomes received_ms.

    The receive time is only the event's approximate time, never part of its id.
    """
    message = frame.message
    kind = EVENT_TYPES[type(message)]
    time_ms = getattr(message, "time_ms", 0)
    event = {
        "id": event_uid(serial, boot_id, frame.seq, time_ms, kind),
        "device": serial,
        "time": iso_time(time_ms or received_ms),
        "type": kind,
    }
    if isinstance(message, p.Rate):
        event["key"] = message.rating
    elif isinstance(message, p.Login):
        event["employee"] = message.employee_no
    elif kind == "heartbeat":
        event |= {"firmware": firmware, "key_count": key_count}
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
            on_results=self._on_results,
        )
        self.links: dict[str, SerialLink] = {}
        self.devices: dict[str, DeviceState] = {}
        # The identified ports: a port is in here from its HELLO until it disconnects or
        # reconnects (whoever is behind it then must say HELLO again).
        self._link_devices: dict[SerialLink, DeviceState] = {}
        self._identify_sent: dict[str, float] = {}  # url -> clock() of the last IDENTIFY
        self._probing: dict[str, float] = {}  # autodetected url -> deadline for its HELLO
        self._refused_devices: dict[str, str] = {}  # serial -> Odoo's refusal of its events
        self._lock = threading.RLock()
        self.watcher: PortWatcher | None = None
        self.errors: deque[dict] = deque(maxlen=50)
        self.started_at = self.clock()
        self.counters = {
            "frames": 0,
            "events_stored": 0,
            "duplicates": 0,
            "refused_full": 0,
            "held": 0,
            "released": 0,
        }
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
        held = self.outbox.held_counts()
        _logger.info(
            "proxy started ports=%d autodetect=%s held=%s",
            len(self.links),
            self.config.autodetect,
            held or "none",
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
            self._identify_sent.pop(url, None)
        if link:
            link.stop()

    # ------------------------------------------------------------ autodetection
    def _on_port_added(self, url: str) -> None:
        link = self.add_port(url)
        self._probing[url] = self.clock() + IDENTIFY_TIMEOUT
        self._identify(link, force=True)
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
        # Whatever the port was, it is unidentified now: a replug, another keypad behind
        # the same path, a network serial server reconnecting (PROTOCOL.md section 5).
        with self._lock:
            device = self._link_devices.pop(link, None)
        name = device.serial if device else link.url
        if state == LinkState.DISCONNECTED:
            _logger.warning("keypad unplugged device=%s url=%s error=%s", name, link.url, error)
            self._note_error("unplugged", name, error or "disconnected")
        elif state == LinkState.CONNECTED:
            _logger.info("port connected url=%s (was %s): asking who is there", link.url, name)
            self._identify(link, force=True)

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
            self._on_hello(link, frame, now)
            return
        device = self._link_devices.get(link)
        if device is None:
            self._on_unidentified(link, frame, now)
            return
        device.last_frame_at = now
        if isinstance(message, p.Heartbeat):
            link.send(p.Ack(frame.seq))  # host rule 1: unreliable, still answered
            self._check_clock(device, message.time_ms, now)
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
            self._refuse_full(link, frame, device.serial)
            return
        if added:
            device.events_stored += 1
            self.counters["events_stored"] += 1
        link.send(p.Ack(frame.seq))
        self._check_outbox_level()
        if added:
            self._note_stored(device, message, event["id"])
            self._answer_locally(device, message)
            self.sender.wake()

    def _on_unidentified(self, link: SerialLink, frame: p.Frame, now: float) -> None:
        """A frame on a port whose keypad has not said HELLO yet (host rule 6).

        It belongs to no keypad yet: a reliable frame is held durably for the port and
        ACKed (a keypad that answers IDENTIFY only after its frame in flight gets past
        it); a HEARTBEAT is ACKed and dropped. IDENTIFY asks for the HELLO that will
        attribute the held frames.
        """
        message = frame.message
        if isinstance(message, p.Heartbeat):
            link.send(p.Ack(frame.seq))
        elif isinstance(message, EVENT_MESSAGES):
            try:
                new = self.outbox.hold(link.url, p.encode(message, frame.seq), int(now * 1000))
            except OutboxFull:
                self._refuse_full(link, frame, link.url)
                self._identify(link)
                return
            if new:
                self.counters["held"] += 1
                _logger.info(
                    "frame held until HELLO url=%s seq=%d type=%s",
                    link.url,
                    frame.seq,
                    type(message).__name__,
                )
            link.send(p.Ack(frame.seq))
            self._check_outbox_level()
        self._identify(link)

    def _identify(self, link: SerialLink, force: bool = False) -> None:
        """IDENTIFY, at most once a second per port unless forced (a new connection)."""
        now = self.clock()
        with self._lock:
            last = self._identify_sent.get(link.url)
            if not force and last is not None and now - last < IDENTIFY_INTERVAL:
                return
            self._identify_sent[link.url] = now
        link.send(p.Identify())

    def _refuse_full(self, link: SerialLink, frame: p.Frame, where: str) -> None:
        self._check_outbox_level()
        self.counters["refused_full"] += 1
        self._note_error("outbox_full", where, "outbox full: press refused (BUSY)")
        link.send(p.Nack(frame.seq, p.NackReason.BUSY))

    def _on_hello(self, link: SerialLink, frame: p.Frame, now: float) -> None:
        hello = frame.message
        device = self._register(link, hello, frame.seq)
        device.last_frame_at = now
        # The port's held frames are this keypad's (one keypad per line), in order.
        held, added = self.outbox.release(link.url, lambda h: self._held_event(device, h))
        if held:
            self.counters["released"] += held
            device.events_stored += len(added)
            self.counters["events_stored"] += len(added)
            _logger.info(
                "held frames attributed device=%s url=%s frames=%d new_events=%d",
                device.serial,
                link.url,
                held,
                len(added),
            )
            for event in added:  # what the keypad showed at its LOGIN, shown again below
                if event["type"] == "login":
                    self._note_stored(device, p.Login(0, event["employee"]), event["id"])
                    device.display = p.Display("", event["employee"], 0)
                elif event["type"] == "logout":
                    self._note_stored(device, p.Logout(0), event["id"])
        self._forward_heartbeat(device, frame, force=True)
        link.send(p.Ack(frame.seq))
        self._check_clock(device, hello.time_ms, now, after_hello=True)
        led = device.led if device.notice else None  # a notice keeps its LED (red)
        self._show(device, device.display or EMPTY_DISPLAY, led, True, device.notice)
        if added:
            self.sender.wake()

    def _held_event(self, device: DeviceState, held: HeldFrame) -> dict | None:
        try:
            frame = p.decode_frame(held.frame, p.Direction.DEVICE_TO_HOST)
        except p.ProtocolError:  # cannot happen: the proxy encoded it
            _logger.error("held frame unreadable url=%s: dropped", held.port)
            return None
        if not isinstance(frame.message, EVENT_MESSAGES):
            return None
        if device.tracker.observe(frame.seq, frame.message) is p.Delivery.DUPLICATE:
            device.retransmissions += 1
        return build_event(device.serial, device.boot_id, frame, held.received_ms)

    def _register(self, link: SerialLink, hello: p.Hello, seq: int) -> DeviceState:
        with self._lock:
            self._probing.pop(link.url, None)
            device = self.devices.get(hello.serial)
            if device is None or device.boot_id != hello.boot_id or device.link is not link:
                previous = device
                device = DeviceState(hello.serial, link, hello.boot_id)
                if previous:
                    device.display, device.led = previous.display, previous.led
                    device.notice = previous.notice
                    device.no_teller = previous.no_teller
                    device.pending_logins = previous.pending_logins
                    device.events_stored = previous.events_stored
                    device.retransmissions = previous.retransmissions
                    if previous.boot_id == hello.boot_id:
                        device.tracker = previous.tracker  # replugged or moved, not rebooted
                    if self._link_devices.get(previous.link) is previous:
                        del self._link_devices[previous.link]  # it left its old port
                self.devices[hello.serial] = device
            device.firmware, device.key_count = hello.firmware, hello.key_count
            device.tracker.observe(seq, hello)
            self._link_devices[link] = device
        _logger.info(
            "keypad hello device=%s boot=%08x firmware=%s url=%s",
            hello.serial, hello.boot_id, hello.firmware, link.url,
        )  # fmt: skip
        return device

    def _check_clock(
        self, device: DeviceState, time_ms: int, now: float, after_hello: bool = False
    ) -> None:
        """Host rule 5: SET_TIME when the keypad's clock is unset or off, and daily."""
        now_ms = int(now * 1000)
        off = time_ms == 0 or abs(time_ms - now_ms) > CLOCK_TOLERANCE_MS
        since = now - device.clock_set_at
        if (off and (after_hello or since >= CLOCK_RETRY)) or since >= CLOCK_REFRESH:
            device.link.send(p.SetTime(now_ms))
            device.clock_set_at = now

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

    def _note_stored(self, device: DeviceState, message: p.Message, uid: str) -> None:
        """What a stored event tells about the teller at this keypad."""
        with self._lock:
            if isinstance(message, p.Login):
                device.pending_logins.add(uid)
                device.no_teller = False
            elif isinstance(message, p.Logout):
                device.no_teller = True

    def _answer_locally(self, device: DeviceState, message: p.Message) -> None:
        prompt = LOCAL_PROMPTS.get(type(message))
        if prompt is not None:
            device.link.send(p.Play(prompt))
        if isinstance(message, p.Login):
            self._show(device, p.Display(teller_name="", employee_no=message.employee_no, stars=0))
        elif isinstance(message, p.ServiceStart) and device.no_teller:
            # Stored all the same (Odoo records a session without a teller): tell the teller.
            _logger.info("start without a teller device=%s: please log in", device.serial)
            device.link.send(NOTICE_BEEP)
            notice = p.Display(NOTICE_NOT_LOGGED_IN, "", 0)
            self._show(device, notice, LED_NO_TELLER, force=True, notice=True)

    def _show(
        self,
        device: DeviceState,
        display: p.Display,
        led: p.Led | None = None,
        force: bool = False,
        notice: bool = False,
    ) -> None:
        """DISPLAY, and the LED that goes with it: green while a teller is logged in.

        A notice (unknown number, please log in) stays until a teller is shown.
        """
        if led is None:
            led = LED_TELLER if (display.employee_no or display.teller_name) else LED_NO_TELLER
        with self._lock:
            device.notice = notice
            if not force and display == device.display and led == device.led:
                return
            device.display, device.led = display, led
        device.link.send(display)
        device.link.send(led)

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
            with self._lock:
                if display.teller_name or display.employee_no:
                    device.no_teller = False
                elif not device.pending_logins:
                    device.no_teller = True  # Odoo knows no teller, and no LOGIN is on its way
                if device.notice and not (display.teller_name or display.employee_no):
                    continue  # "unknown number" or "please log in" stays until a teller comes
            self._show(device, display)

    def _on_results(self, results: list[tuple[dict, dict | None]]) -> None:
        """Odoo's verdict on each event of a batch (after its device replies).

        The keypad was ACKed long ago (the event was in the outbox), so a refused LOGIN
        is told now: two beeps, the refused number with a message, the LED red.
        """
        last_login: dict[str, tuple[dict, dict | None]] = {}
        for event, answer in results:
            serial = event.get("device")
            status = answer.get("status") if isinstance(answer, dict) else None
            code = answer.get("code") if isinstance(answer, dict) else None
            if event.get("type") == "login":
                last_login[serial] = (event, answer)
                device = self.devices.get(serial)
                if device is not None:
                    with self._lock:
                        device.pending_logins.discard(event.get("id"))
            with self._lock:
                if status == "error" and code in DEVICE_REFUSALS:
                    message = f"{code}: {answer.get('message', '')}"
                    if self._refused_devices.get(serial) != message:
                        self._note_error("device_refused", serial, message)
                    self._refused_devices[serial] = message
                elif status in ("stored", "duplicate", "ok"):
                    self._refused_devices.pop(serial, None)
        for serial, (event, answer) in last_login.items():
            refused = isinstance(answer, dict) and answer.get("status") == "error"
            if not refused or answer.get("code") != "unknown_employee":
                continue
            device = self.devices.get(serial)
            if device is None:
                continue
            number = p.fit_utf8(str(event.get("employee") or ""), p.MAX_EMPLOYEE_NO)
            _logger.info("unknown employee device=%s number=%s: told", serial, number)
            with self._lock:
                device.no_teller = True
            device.link.send(NOTICE_BEEP)
            notice = p.Display(NOTICE_UNKNOWN_EMPLOYEE, number, 0)
            self._show(device, notice, LED_REFUSED, notice=True)

    # ------------------------------------------------------------ status
    def _note_error(self, kind: str, where: str, message: str) -> None:
        self.errors.appendleft(
            {"at": self.clock(), "kind": kind, "where": where, "message": message}
        )

    def problems(self, sender: dict | None = None, held: dict | None = None) -> list[dict]:
        """Every failing state now, with its reason (the health is degraded while any)."""
        sender = sender if sender is not None else self.sender.status()
        held = held if held is not None else self.outbox.held_counts()
        now = self.clock()
        found = []

        def problem(kind: str, where: str, message: str) -> None:
            found.append(
                {"at": now, "kind": kind, "where": where, "message": message, "current": True}
            )

        state, error = sender.get("state"), sender.get("last_error")
        if state == "auth_failed":
            problem("auth_failed", self.config.odoo_url, f"Odoo refused the API key: {error}")
        elif state == "backing_off":
            problem("odoo_unreachable", self.config.odoo_url, f"cannot deliver: {error}")
        elif state not in ("idle", "sending"):
            problem("sender_" + str(state), "sender", f"the sender is {state}")
        level = self.outbox.level
        if level != "ok":
            problem(
                f"outbox_{level}",
                "outbox",
                f"{sender.get('queue_depth')} events queued and {sum(held.values())} held "
                f"of at most {self.config.outbox_max_events}",
            )
        for url, link in list(self.links.items()):
            if link.state.value != "connected":
                problem("port_down", url, f"port {link.state.value}: {link.last_error or ''}")
        for url, count in held.items():
            problem("held_frames", url, f"{count} frames wait for this port's keypad to say HELLO")
        for serial, message in sorted(self._refused_devices.items()):
            problem("device_refused", serial, f"Odoo refuses this keypad's events: {message}")
        return found

    def status(self) -> dict:
        sender = self.sender.status()
        level = self.outbox.level
        held = self.outbox.held_counts()
        now = self.clock()
        links = []
        for url, link in list(self.links.items()):
            device = self._link_devices.get(link)
            links.append(
                {
                    "url": url,
                    "state": link.state.value,
                    "last_error": link.last_error,
                    "device": device.serial if device else None,
                    "identified": device is not None,
                    "held": held.get(url, 0),
                    "stats": dict(link.stats),
                }
            )
        devices = [
            {
                "serial": device.serial,
                "url": device.link.url,
                "state": device.link.state.value,
                "online": bool(device.last_frame_at) and now - device.last_frame_at < OFFLINE_AFTER,
                "boot_id": f"{device.boot_id:08x}",
                "firmware": device.firmware,
                "last_frame_age": round(now - device.last_frame_at, 1)
                if device.last_frame_at
                else None,
                "events_stored": device.events_stored,
                "retransmissions": device.retransmissions,
                "teller": device.display.teller_name if device.display else "",
            }
            for device in sorted(self.devices.values(), key=lambda d: d.serial)
        ]
        problems = self.problems(sender, held)
        return {
            "status": "degraded" if problems else "ok",
            "uptime": round(now - self.started_at, 1),
            "devices": devices,
            "links": links,
            "queue": {
                "depth": self.outbox.depth(),
                "held": sum(held.values()),
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
            # The failing states now (each with its reason), then the recent errors.
            "errors": problems + list(self.errors),
        }

"""Keypad ("evaluator") serial protocol, version 1: bytes in, messages out, no I/O.

PROTOCOL.md next to this file is the specification; this module is its reference
implementation, shared by the host proxy and by device simulators. Nothing here opens a
port, reads a clock or starts a thread, so every rule of the protocol is testable with
plain bytes.

Frame: ``AA 55 | VER | TYPE | SEQ (u16) | LEN (u8) | PAYLOAD | CRC-16/CCITT-FALSE``,
big-endian, CRC over VER..PAYLOAD.
"""

from __future__ import annotations

import enum
import struct
import unicodedata
from collections import deque
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Final

# --------------------------------------------------------------------------- constants

SOF: Final = b"\xaa\x55"
"""Start of frame. Two bytes, so line noise rarely fakes one; never escaped."""
PROTOCOL_VERSION: Final = 1
HEADER_LEN: Final = 7  # SOF(2) VER(1) TYPE(1) SEQ(2) LEN(1)
CRC_LEN: Final = 2
OVERHEAD: Final = HEADER_LEN + CRC_LEN
MAX_PAYLOAD: Final = 240
"""Fits a frame in the keypad's 256-byte UART buffer; a LEN above this is a false start."""
MAX_FRAME_LEN: Final = OVERHEAD + MAX_PAYLOAD

SEQ_MODULO: Final = 0x10000
SEQ_HALF: Final = 0x8000

CRC_POLY: Final = 0x1021  # CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740)
CRC_INIT: Final = 0xFFFF
CRC_CHECK: Final = 0x29B1  # crc16(b"123456789"), the catalogue check value

# Timing rules (milliseconds); the device implements them, the host proxy relies on them.
ACK_TIMEOUT_MS: Final = 1000
"""First retransmission of an unacknowledged reliable frame after this long."""
RETRANSMIT_BACKOFF: Final = 2
MAX_RETRANSMIT_TIMEOUT_MS: Final = 8000
"""Backoff cap; below HEARTBEAT_INTERVAL_MS so a retrying device still looks alive."""
HEARTBEAT_INTERVAL_MS: Final = 10_000
OFFLINE_AFTER_MS: Final = 3 * HEARTBEAT_INTERVAL_MS
IDLE_GAP_MS: Final = 50
"""Frames are sent back to back; a longer silence inside a frame means it was cut off."""

MAX_TIME_MS: Final = 0xFFFFFFFF * 1000 + 999
EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Field limits, in UTF-8 bytes.
MAX_SERIAL: Final = 32
MAX_FIRMWARE: Final = 16
MAX_EMPLOYEE_NO: Final = 16
MAX_TELLER_NAME: Final = 96  # 32 CJK characters
MAX_KEYS: Final = 8
MAX_STARS: Final = 5


class Direction(enum.Enum):
    """Who sends a message type; bit 7 of the type byte encodes it."""

    DEVICE_TO_HOST = "device_to_host"
    HOST_TO_DEVICE = "host_to_device"


class MsgType(enum.IntEnum):
    """The TYPE byte. 0x00-0x7F device to host, 0x80-0xFF host to device."""

    HELLO = 0x01
    HEARTBEAT = 0x02
    START = 0x10
    END = 0x11
    RATE = 0x12
    LOGIN = 0x13
    LOGOUT = 0x14
    ACK = 0x80
    NACK = 0x81
    DISPLAY = 0x90
    PLAY = 0x91
    LED = 0x92
    BEEP = 0x93
    SET_TIME = 0x94
    IDENTIFY = 0x95


class Prompt(enum.IntEnum):
    """Voice prompts stored in the keypad's flash."""

    GREETING = 1
    PLEASE_RATE = 2
    THANK_YOU = 3
    GOODBYE = 4


class Colour(enum.IntEnum):
    OFF = 0
    RED = 1
    GREEN = 2
    BLUE = 3
    YELLOW = 4
    WHITE = 5


class Pattern(enum.IntEnum):
    SOLID = 0
    BLINK_SLOW = 1
    BLINK_FAST = 2
    BREATHE = 3


class NackReason(enum.IntEnum):
    """Why the host refused a device frame; only BUSY makes the device retransmit."""

    MALFORMED = 0x01
    UNSUPPORTED = 0x02
    BUSY = 0x03
    UNKNOWN_EMPLOYEE = 0x10
    NOT_LOGGED_IN = 0x11


NACK_RETRY_REASONS: Final = frozenset({NackReason.BUSY})

# --------------------------------------------------------------------------- errors


class ProtocolError(Exception):
    """Base of every error this module raises on purpose."""


class InvalidField(ProtocolError, ValueError):
    """A message field is out of range: raised when building or encoding a message."""


class FramingError(ProtocolError):
    """The bytes are not exactly one well-formed frame (start, version, length)."""


class CrcError(ProtocolError):
    """The frame's CRC does not match its contents."""

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(f"CRC mismatch: computed 0x{expected:04X}, frame has 0x{received:04X}")
        self.expected = expected
        self.received = received


class UnknownMessageType(ProtocolError):
    """A CRC-valid frame with a TYPE this version does not know (host answers NACK)."""

    def __init__(self, msg_type: int) -> None:
        super().__init__(f"unknown message type 0x{msg_type:02X}")
        self.msg_type = msg_type


class MalformedPayload(ProtocolError):
    """A CRC-valid frame whose payload does not parse (host answers NACK MALFORMED)."""


class WrongDirection(ProtocolError):
    """A message type sent the wrong way, e.g. our own echo on a two-wire RS-485 bus."""


# --------------------------------------------------------------------------- CRC


def _crc_table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE: Final = _crc_table(CRC_POLY)


def crc16(data: bytes | bytearray | memoryview, crc: int = CRC_INIT) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR.

    Pass a previous result as ``crc`` to continue over several chunks.
    """
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


# --------------------------------------------------------------------------- helpers


def direction_of(msg_type: int) -> Direction:
    """Direction of a TYPE byte, known or not (bit 7 set: host to device)."""
    return Direction.HOST_TO_DEVICE if msg_type & 0x80 else Direction.DEVICE_TO_HOST


def next_seq(seq: int) -> int:
    """The sequence number after ``seq``; 65535 wraps to 0."""
    return (seq + 1) % SEQ_MODULO


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` in serial-number arithmetic (RFC 1982), in [-32768, 32767]."""
    d = (a - b) % SEQ_MODULO
    return d - SEQ_MODULO if d >= SEQ_HALF else d


def retransmit_timeout_ms(attempt: int) -> int:
    """How long the device waits for an ACK after transmission number ``attempt`` (0 = first).

    1 s, 2 s, 4 s, 8 s, then 8 s forever: events are never given up.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if attempt >= 8:  # avoid huge powers; the cap is reached long before
        return MAX_RETRANSMIT_TIMEOUT_MS
    return min(ACK_TIMEOUT_MS * RETRANSMIT_BACKOFF**attempt, MAX_RETRANSMIT_TIMEOUT_MS)


def to_datetime(time_ms: int) -> datetime | None:
    """Device timestamp to an aware UTC datetime; None when the device clock was not set (0)."""
    if time_ms == 0:
        return None
    return EPOCH + timedelta(milliseconds=time_ms)


def from_datetime(moment: datetime) -> int:
    """Aware datetime to milliseconds since the Unix epoch (for SetTime)."""
    if moment.tzinfo is None:
        raise InvalidField("datetime must be timezone-aware")
    return (moment - EPOCH) // timedelta(milliseconds=1)


def fit_utf8(text: str, max_bytes: int) -> str:
    """Longest prefix of ``text`` whose UTF-8 fits in ``max_bytes`` (never splits a character).

    Display fields are limited in bytes, and a Chinese character takes three.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", "ignore")


# --------------------------------------------------------------------------- field checks


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidField(f"{name} must be an int in [{lo}, {hi}], got {value!r}")


def _check_time(value: object) -> None:
    _check_int("time_ms", value, 0, MAX_TIME_MS)


def _check_text(name: str, value: object, *, max_bytes: int, min_bytes: int = 0, kind: str) -> None:
    """kind: "text" (any UTF-8 without control characters), "ascii" (printable), "digits"."""
    if not isinstance(value, str):
        raise InvalidField(f"{name} must be a str, got {value!r}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidField(f"{name} is not encodable as UTF-8") from exc
    if not min_bytes <= size <= max_bytes:
        raise InvalidField(f"{name} must be {min_bytes}-{max_bytes} UTF-8 bytes, got {size}")
    if kind == "digits" and not (value.isascii() and value.isdigit()):
        raise InvalidField(f"{name} must be ASCII digits, got {value!r}")
    if kind == "ascii" and not (value.isascii() and value.isprintable()):
        raise InvalidField(f"{name} must be printable ASCII, got {value!r}")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidField(f"{name} must not contain control characters")


def _coerce_enum(obj: object, name: str, enum_cls: type[enum.IntEnum]) -> None:
    """Accept a plain int for an enum field, store the enum member (frozen dataclass)."""
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(f"{name} must be a {enum_cls.__name__}, got {value!r}")
    try:
        member = enum_cls(value)
    except ValueError as exc:
        raise InvalidField(f"{name}: {value!r} is not a valid {enum_cls.__name__}") from exc
    object.__setattr__(obj, name, member)


# --------------------------------------------------------------------------- payload codec


class _Reader:
    """Cursor over a payload; every short read becomes MalformedPayload, never IndexError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise MalformedPayload(f"payload too short: need {end} bytes, have {len(self._data)}")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def time_ms(self) -> int:
        seconds, millis = self.u32(), self.u16()
        if millis > 999:
            raise MalformedPayload(f"timestamp milliseconds {millis} > 999")
        return seconds * 1000 + millis

    def text(self, name: str) -> str:
        raw = self.take(self.u8())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPayload(f"{name} is not valid UTF-8") from exc


def _pack_time(time_ms: int) -> bytes:
    return struct.pack(">IH", time_ms // 1000, time_ms % 1000)


def _pack_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    return bytes((len(raw),)) + raw


# --------------------------------------------------------------------------- messages


class Message:
    """Base of all messages. Subclasses are frozen dataclasses registered by TYPE."""

    TYPE: ClassVar[MsgType]
    DIRECTION: ClassVar[Direction]
    RELIABLE: ClassVar[bool] = False
    """Retransmitted by the device until ACKed (HELLO and key events)."""

    def _pack(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def _unpack(cls, r: _Reader) -> Message:
        raise NotImplementedError


class DeviceMessage(Message):
    """Device to host. Every payload starts with the device's own timestamp (time_ms)."""

    DIRECTION = Direction.DEVICE_TO_HOST
    time_ms: int


class HostMessage(Message):
    """Host to device."""

    DIRECTION = Direction.HOST_TO_DEVICE


@dataclass(frozen=True)
class Hello(DeviceMessage):
    """Sent at power-up (new boot_id) and in answer to Identify (same boot_id)."""

    TYPE = MsgType.HELLO
    RELIABLE = True
    time_ms: int
    boot_id: int
    key_count: int
    serial: str
    firmware: str

    def __post_init__(self) -> None:
        _check_time(self.time_ms)
        _check_int("boot_id", self.boot_id, 0, 0xFFFFFFFF)
        _check_int("key_count", self.key_count, 1, MAX_KEYS)
        _check_text("serial", self.serial, min_bytes=1, max_bytes=MAX_SERIAL, kind="ascii")
        _check_text("firmware", self.firmware, min_bytes=1, max_bytes=MAX_FIRMWARE, kind="ascii")

    def _pack(self) -> bytes:
        return (
            _pack_time(self.time_ms)
            + struct.pack(">IB", self.boot_id, self.key_count)
            + _pack_text(self.serial)
            + _pack_text(self.firmware)
        )

    @classmethod
    def _unpack(cls, r: _Reader) -> Hello:
        return cls(r.time_ms(), r.u32(), r.u8(), r.text("serial"), r.text("firmware"))


class _TimeOnlyPayload:
    """Mixin for a message whose payload is only a timestamp (`time_ms`), either way."""

    time_ms: int

    def __post_init__(self) -> None:
        _check_time(self.time_ms)

    def _pack(self) -> bytes:
        return _pack_time(self.time_ms)

    @classmethod
    def _unpack(cls, r: _Reader) -> Message:
        return cls(r.time_ms())


@dataclass(frozen=True)
class _TimedMessage(_TimeOnlyPayload, DeviceMessage):
    """A device message whose payload is only the device's timestamp."""

    time_ms: int


@dataclass(frozen=True)
class Heartbeat(_TimedMessage):
    """Sent every HEARTBEAT_INTERVAL_MS while no reliable frame awaits its ACK."""

    TYPE = MsgType.HEARTBEAT


@dataclass(frozen=True)
class ServiceStart(_TimedMessage):
    """START key: the teller begins serving a customer."""

    TYPE = MsgType.START
    RELIABLE = True


@dataclass(frozen=True)
class ServiceEnd(_TimedMessage):
    """END key: the service is over (the keypad then invites the customer to rate)."""

    TYPE = MsgType.END
    RELIABLE = True


@dataclass(frozen=True)
class Rate(DeviceMessage):
    """The customer pressed rating key 1..8 (1 = first key; the host maps keys to grades)."""

    TYPE = MsgType.RATE
    RELIABLE = True
    time_ms: int
    rating: int

    def __post_init__(self) -> None:
        _check_time(self.time_ms)
        _check_int("rating", self.rating, 1, MAX_KEYS)

    def _pack(self) -> bytes:
        return _pack_time(self.time_ms) + bytes((self.rating,))

    @classmethod
    def _unpack(cls, r: _Reader) -> Rate:
        return cls(r.time_ms(), r.u8())


@dataclass(frozen=True)
class Login(DeviceMessage):
    """A teller typed their employee number on the keypad and pressed LOGIN."""

    TYPE = MsgType.LOGIN
    RELIABLE = True
    time_ms: int
    employee_no: str

    def __post_init__(self) -> None:
        _check_time(self.time_ms)
        _check_text(
            "employee_no", self.employee_no, min_bytes=1, max_bytes=MAX_EMPLOYEE_NO, kind="digits"
        )

    def _pack(self) -> bytes:
        return _pack_time(self.time_ms) + _pack_text(self.employee_no)

    @classmethod
    def _unpack(cls, r: _Reader) -> Login:
        return cls(r.time_ms(), r.text("employee_no"))


@dataclass(frozen=True)
class Logout(_TimedMessage):
    """LOGOUT key: the teller leaves the counter."""

    TYPE = MsgType.LOGOUT
    RELIABLE = True


@dataclass(frozen=True)
class Ack(HostMessage):
    """The host has durably stored the device frame with sequence number ``acked_seq``."""

    TYPE = MsgType.ACK
    acked_seq: int

    def __post_init__(self) -> None:
        _check_int("acked_seq", self.acked_seq, 0, SEQ_MODULO - 1)

    def _pack(self) -> bytes:
        return struct.pack(">H", self.acked_seq)

    @classmethod
    def _unpack(cls, r: _Reader) -> Ack:
        return cls(r.u16())


@dataclass(frozen=True)
class Nack(HostMessage):
    """The host received frame ``acked_seq`` but refuses it; see NACK_RETRY_REASONS."""

    TYPE = MsgType.NACK
    acked_seq: int
    reason: NackReason

    def __post_init__(self) -> None:
        _check_int("acked_seq", self.acked_seq, 0, SEQ_MODULO - 1)
        _coerce_enum(self, "reason", NackReason)

    def _pack(self) -> bytes:
        return struct.pack(">HB", self.acked_seq, self.reason)

    @classmethod
    def _unpack(cls, r: _Reader) -> Nack:
        return cls(r.u16(), r.u8())


@dataclass(frozen=True)
class Display(HostMessage):
    """What the keypad's screen shows: teller name (UTF-8, Chinese fine), number, stars."""

    TYPE = MsgType.DISPLAY
    teller_name: str
    employee_no: str
    stars: int

    def __post_init__(self) -> None:
        _check_text("teller_name", self.teller_name, max_bytes=MAX_TELLER_NAME, kind="text")
        _check_text("employee_no", self.employee_no, max_bytes=MAX_EMPLOYEE_NO, kind="text")
        _check_int("stars", self.stars, 0, MAX_STARS)

    def _pack(self) -> bytes:
        return bytes((self.stars,)) + _pack_text(self.employee_no) + _pack_text(self.teller_name)

    @classmethod
    def _unpack(cls, r: _Reader) -> Display:
        stars = r.u8()
        employee_no = r.text("employee_no")
        return cls(teller_name=r.text("teller_name"), employee_no=employee_no, stars=stars)


@dataclass(frozen=True)
class Play(HostMessage):
    """Play a voice prompt stored on the keypad."""

    TYPE = MsgType.PLAY
    prompt: Prompt

    def __post_init__(self) -> None:
        _coerce_enum(self, "prompt", Prompt)

    def _pack(self) -> bytes:
        return bytes((self.prompt,))

    @classmethod
    def _unpack(cls, r: _Reader) -> Play:
        return cls(r.u8())


@dataclass(frozen=True)
class Led(HostMessage):
    """Set the status LED; duration_ms 0 keeps it until the next Led command."""

    TYPE = MsgType.LED
    colour: Colour
    pattern: Pattern
    duration_ms: int = 0

    def __post_init__(self) -> None:
        _coerce_enum(self, "colour", Colour)
        _coerce_enum(self, "pattern", Pattern)
        _check_int("duration_ms", self.duration_ms, 0, 0xFFFF)

    def _pack(self) -> bytes:
        return struct.pack(">BBH", self.colour, self.pattern, self.duration_ms)

    @classmethod
    def _unpack(cls, r: _Reader) -> Led:
        return cls(r.u8(), r.u8(), r.u16())


@dataclass(frozen=True)
class Beep(HostMessage):
    """Beep ``count`` times, each beep (and each pause) ``duration_ms`` long."""

    TYPE = MsgType.BEEP
    count: int
    duration_ms: int

    def __post_init__(self) -> None:
        _check_int("count", self.count, 1, 10)
        _check_int("duration_ms", self.duration_ms, 10, 2000)

    def _pack(self) -> bytes:
        return struct.pack(">BH", self.count, self.duration_ms)

    @classmethod
    def _unpack(cls, r: _Reader) -> Beep:
        return cls(r.u8(), r.u16())


@dataclass(frozen=True)
class SetTime(_TimeOnlyPayload, HostMessage):
    """Set the keypad clock (UTC), so the timestamps of queued events mean something."""

    TYPE = MsgType.SET_TIME
    time_ms: int


@dataclass(frozen=True)
class Identify(HostMessage):
    """Ask the keypad to send a Hello, e.g. after the host restarted and missed the first."""

    TYPE = MsgType.IDENTIFY

    def _pack(self) -> bytes:
        return b""

    @classmethod
    def _unpack(cls, r: _Reader) -> Identify:
        return cls()


MESSAGE_CLASSES: Final[dict[int, type[Message]]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Heartbeat,
        ServiceStart,
        ServiceEnd,
        Rate,
        Login,
        Logout,
        Ack,
        Nack,
        Display,
        Play,
        Led,
        Beep,
        SetTime,
        Identify,
    )
}
"""TYPE byte to message class."""

# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Frame:
    """One decoded frame: the sender's sequence number and the message."""

    seq: int
    message: Message

    @property
    def msg_type(self) -> MsgType:
        return self.message.TYPE


@dataclass(frozen=True)
class RejectedFrame:
    """A frame with a good CRC whose content was refused; the host NACKs it."""

    msg_type: int
    seq: int
    error: ProtocolError

    @property
    def nack_reason(self) -> NackReason:
        if isinstance(self.error, UnknownMessageType):
            return NackReason.UNSUPPORTED
        return NackReason.MALFORMED


def encode_payload(message: Message) -> bytes:
    """The payload bytes of ``message`` (no header, no CRC)."""
    return message._pack()


def decode_message(msg_type: int, payload: bytes) -> Message:
    """Parse a payload. Raises UnknownMessageType or MalformedPayload, nothing else.

    Bytes after the last known field are ignored: a later minor revision may append fields.
    """
    cls = MESSAGE_CLASSES.get(msg_type)
    if cls is None:
        raise UnknownMessageType(msg_type)
    try:
        return cls._unpack(_Reader(bytes(payload)))
    except InvalidField as exc:
        raise MalformedPayload(f"{cls.__name__}: {exc}") from exc


def encode(message: Message, seq: int) -> bytes:
    """One complete frame carrying ``message`` with sender sequence number ``seq``."""
    _check_int("seq", seq, 0, SEQ_MODULO - 1)
    payload = message._pack()
    if len(payload) > MAX_PAYLOAD:  # field limits keep every message far below this
        raise InvalidField(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack(">BBHB", PROTOCOL_VERSION, message.TYPE, seq, len(payload)) + payload
    return SOF + body + crc16(body).to_bytes(2, "big")


def _frame_from_body(body: bytes, direction: Direction | None) -> Frame:
    """body = VER..PAYLOAD of a frame whose CRC is already checked."""
    msg_type = body[1]
    seq = (body[2] << 8) | body[3]
    if direction is not None and direction_of(msg_type) is not direction:
        raise WrongDirection(f"type 0x{msg_type:02X} is not sent {direction.value}")
    return Frame(seq, decode_message(msg_type, body[5:]))


def decode_frame(data: bytes | bytearray | memoryview, direction: Direction | None = None) -> Frame:
    """Decode exactly one complete frame; raise a ProtocolError subclass if it is not one.

    For a byte stream use FrameDecoder, which resynchronises instead of raising.
    """
    data = bytes(data)
    if len(data) < OVERHEAD or data[:2] != SOF:
        raise FramingError("does not start with a frame header")
    if data[2] != PROTOCOL_VERSION:
        raise FramingError(f"unsupported protocol version {data[2]}")
    length = data[6]
    if length > MAX_PAYLOAD:
        raise FramingError(f"payload length {length} exceeds {MAX_PAYLOAD}")
    if len(data) != OVERHEAD + length:
        raise FramingError(f"frame should be {OVERHEAD + length} bytes, got {len(data)}")
    body = data[2:-2]
    received = int.from_bytes(data[-2:], "big")
    expected = crc16(body)
    if expected != received:
        raise CrcError(expected, received)
    return _frame_from_body(body, direction)


# --------------------------------------------------------------------------- stream decoder


@dataclass
class DecoderStats:
    """Counters of a FrameDecoder. Invariant:
    bytes_received == bytes_in_frames + bytes_discarded + FrameDecoder.buffered."""

    bytes_received: int = 0
    bytes_in_frames: int = 0
    """Bytes of CRC-valid frames, including rejected and wrong-direction ones."""
    bytes_discarded: int = 0
    frames_ok: int = 0
    false_starts: int = 0
    """Start bytes followed by an impossible version or length."""
    crc_errors: int = 0
    truncated: int = 0
    """Partial frames dropped by idle()."""
    malformed_payloads: int = 0
    unknown_types: int = 0
    wrong_direction: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FrameDecoder:
    """Streaming decoder for one serial line: feed it whatever read() returned.

    Skips noise up to the next start of frame; on a bad version, length or CRC it moves one
    byte past the false start and scans again, so a real frame hidden behind a false start
    is still found. Never raises on any bytes; problems go to ``stats``, and CRC-valid
    frames with a bad payload go to drain_rejected() so the host can NACK them. The buffer
    never holds more than MAX_FRAME_LEN - 1 bytes between calls.
    """

    def __init__(
        self, direction: Direction | None = Direction.DEVICE_TO_HOST, *, max_rejected: int = 32
    ) -> None:
        """direction: the message direction to accept (None: both); others are counted."""
        self.direction = direction
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._rejected: deque[RejectedFrame] = deque(maxlen=max_rejected)

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Append received bytes; return the frames completed by them, in order."""
        self.stats.bytes_received += len(data)
        self._buf += data
        return self._scan(line_idle=False)

    def idle(self) -> list[Frame]:
        """The line has been silent for IDLE_GAP_MS: a partial frame will never complete.

        Drops it and rescans the bytes behind it, which may hold complete frames that a
        false start (or a frame cut off by a device reset) was hiding.
        """
        return self._scan(line_idle=True)

    def reset(self) -> None:
        """Forget buffered bytes, e.g. after reopening the port."""
        self.stats.bytes_discarded += len(self._buf)
        self._buf.clear()

    def drain_rejected(self) -> list[RejectedFrame]:
        """Return and forget the rejected frames (at most max_rejected, newest kept)."""
        rejected = list(self._rejected)
        self._rejected.clear()
        return rejected

    def _scan(self, line_idle: bool) -> list[Frame]:
        buf, stats, out = self._buf, self.stats, []
        n = len(buf)
        pos = 0
        while True:
            start = buf.find(SOF, pos)
            if start < 0:
                # A lone trailing 0xAA may be the first half of a start of frame.
                keep = 1 if (not line_idle and pos < n and buf[n - 1] == SOF[0]) else 0
                stats.bytes_discarded += n - keep - pos
                pos = n - keep
                break
            stats.bytes_discarded += start - pos
            pos = start
            avail = n - pos
            if (avail > 2 and buf[pos + 2] != PROTOCOL_VERSION) or (
                avail > 6 and buf[pos + 6] > MAX_PAYLOAD
            ):
                stats.false_starts += 1
                stats.bytes_discarded += 1
                pos += 1
                continue
            if avail < HEADER_LEN or avail < OVERHEAD + buf[pos + 6]:
                if not line_idle:
                    break  # wait for the rest of the frame
                stats.truncated += 1
                stats.bytes_discarded += 1
                pos += 1
                continue
            end = pos + OVERHEAD + buf[pos + 6]
            body = bytes(buf[pos + 2 : end - 2])
            if crc16(body) != (buf[end - 2] << 8) | buf[end - 1]:
                stats.crc_errors += 1
                stats.bytes_discarded += 1
                pos += 1
                continue
            stats.bytes_in_frames += end - pos
            pos = end
            self._deliver(body, out)
        del buf[:pos]
        return out

    def _deliver(self, body: bytes, out: list[Frame]) -> None:
        stats = self.stats
        try:
            frame = _frame_from_body(body, self.direction)
        except WrongDirection:
            stats.wrong_direction += 1  # our own echo: nothing to answer
            return
        except ProtocolError as exc:
            if isinstance(exc, UnknownMessageType):
                stats.unknown_types += 1
            else:
                stats.malformed_payloads += 1
            self._rejected.append(RejectedFrame(body[1], (body[2] << 8) | body[3], exc))
            return
        stats.frames_ok += 1
        out.append(frame)


# --------------------------------------------------------------------------- duplicates


class Delivery(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"


class SequenceTracker:
    """Host-side duplicate detection for one device (a sliding window, as in IPsec).

    The device retransmits a frame with its original sequence number until ACKed, so a
    number seen before is a retransmission: ACK it again, do not process it again. A Hello
    with a different boot_id means the device rebooted and restarted its numbering.
    """

    def __init__(self, window: int = 1024) -> None:
        if not 1 <= window <= SEQ_HALF:
            raise ValueError(f"window must be in [1, {SEQ_HALF}]")
        self.window = window
        self.boot_id: int | None = None
        self.highest: int | None = None
        self._seen = 0  # bit i set: sequence number (highest - i) was seen
        self.reboots = 0
        self.resyncs = 0
        self.duplicates = 0

    def observe(self, seq: int, message: Message | None = None) -> Delivery:
        """Classify a decoded frame from this device and remember it."""
        _check_int("seq", seq, 0, SEQ_MODULO - 1)
        if isinstance(message, Hello) and message.boot_id != self.boot_id:
            if self.boot_id is not None:
                self.reboots += 1
                self.highest = None
            # boot_id None: we (the host) restarted; adopt the device's numbering as it is.
            self.boot_id = message.boot_id
        if self.highest is None:
            self.highest, self._seen = seq, 1
            return Delivery.NEW
        ahead = seq_diff(seq, self.highest)
        if ahead > 0:
            self._seen = ((self._seen << ahead) | 1) & ((1 << self.window) - 1)
            self.highest = seq
            return Delivery.NEW
        behind = -ahead
        if behind < self.window:
            bit = 1 << behind
            if self._seen & bit:
                self.duplicates += 1
                return Delivery.DUPLICATE
            self._seen |= bit  # late, never seen: deliver it
            return Delivery.NEW
        # Too far behind to be one of our retransmissions: the device lost its numbering
        # without a Hello. Delivering beats dropping; start a new window from here.
        self.resyncs += 1
        self.highest, self._seen = seq, 1
        return Delivery.NEW

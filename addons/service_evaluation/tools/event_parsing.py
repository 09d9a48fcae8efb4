"""Validate one raw device event (a JSON object). Pure: no ORM, no I/O.

Every problem becomes an `EventError` with a stable code the device can act on and
a message a person can read; the caller reports it for that event only and goes on
with the rest of the batch.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from .session_replay import EVENT_TYPES as STORED_EVENT_TYPES

HEARTBEAT = "heartbeat"  # a keypad's sign of life: acknowledged, never stored
EVENT_TYPES = (*(code for code, _label in STORED_EVENT_TYPES), HEARTBEAT)
MAX_UID_LENGTH = 64
MAX_KEY = 8  # keypads have at most 8 rating keys
# What PostgreSQL text cannot hold: NUL, and lone surrogates (JSON's "\udxxx" escapes
# deliver them; they have no UTF-8 form). Reaching the database, either one fails the
# whole statement, so the whole batch.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class EventError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ParsedEvent(NamedTuple):  # a NamedTuple: built 100 times a batch, twice as fast
    uid: str
    serial: str
    event_type: str
    device_time: datetime  # naive UTC, as Odoo stores datetimes
    key_code: int | None = None
    employee_number: str | None = None
    counter_code: str | None = None
    business_code: str | None = None
    customer_phone: str | None = None
    firmware: str | None = None
    key_count: int | None = None


def parse_time(value) -> datetime:
    """ISO 8601 with an offset ("2026-11-22T09:30:00.250+08:00", "...Z") or epoch ms.

    Any time that parses is between years 1 and 9999 in UTC, so PostgreSQL can store it
    (the company's limits, check_device_time, refuse the absurd ones).
    """
    if isinstance(value, bool):
        raise EventError("malformed_time", f"time must be ISO 8601 or epoch ms, not {value!r}")
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise EventError(
                "malformed_time", f"epoch milliseconds out of range: {value}"
            ) from None
    elif isinstance(value, str):
        if UNSTORABLE.search(value):  # fromisoformat would stop at a NUL and accept it
            raise EventError("malformed_time", f"not an ISO 8601 time: {value!r}")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise EventError("malformed_time", f"not an ISO 8601 time: {value!r}") from None
        if moment.tzinfo is None:
            raise EventError("malformed_time", f"time without a UTC offset: {value!r}")
    else:
        raise EventError("malformed_time", "time is missing")
    try:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise EventError("malformed_time", f"time out of range: {value!r}") from None


def _text(raw: dict, name: str, max_length: int = 64) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise EventError("malformed_event", f"{name} must be a string")
    value = str(value).strip()
    if len(value) > max_length:
        raise EventError("malformed_event", f"{name} is longer than {max_length} characters")
    if UNSTORABLE.search(value):
        raise EventError(
            "malformed_event",
            f"{name} contains a character that cannot be stored (NUL or a lone surrogate)",
        )
    return value or None  # only spaces: absent, as the documented results say


def check_device_time(
    device_time: datetime, *, now: datetime, clock_skew: timedelta, max_age: timedelta
) -> None:
    """Refuse a device time too far ahead of the server, or too old (all naive UTC)."""
    if device_time > now + clock_skew:
        raise EventError(
            "clock_skew",
            f"device time {device_time.isoformat()}Z is ahead of the server by more than "
            f"{int(clock_skew.total_seconds())} s: set the device clock",
        )
    if device_time < now - max_age:
        raise EventError("too_old", f"device time {device_time.isoformat()}Z is too old")


def usable_id(raw) -> str | None:
    """The id of a raw event as parse_event reads it, or None when it has no usable one
    (not an object; id missing, of the wrong type, too long or unstorable). Every
    per-event result names it, even an error's."""
    if not isinstance(raw, dict):
        return None
    try:
        return _text(raw, "id", MAX_UID_LENGTH)
    except EventError:
        return None


def parse_event(raw) -> ParsedEvent:
    """Check the shape of one event (its time limits are the device company's: see
    check_device_time)."""
    if not isinstance(raw, dict):
        raise EventError("malformed_event", "an event must be a JSON object")
    uid = _text(raw, "id", MAX_UID_LENGTH)
    if not uid:
        raise EventError("malformed_event", "the event id is missing")
    serial = _text(raw, "device")
    if not serial:
        raise EventError("malformed_event", "the device serial number is missing")
    event_type = raw.get("type")
    if event_type not in EVENT_TYPES:
        raise EventError("unknown_type", f"unknown event type {event_type!r}")
    device_time = parse_time(raw.get("time"))
    key_code = None
    if event_type == "rate":
        key_code = raw.get("key")
        if not isinstance(key_code, int) or isinstance(key_code, bool):
            raise EventError("unknown_key", f"a rate event needs an integer key, got {key_code!r}")
        if not 1 <= key_code <= MAX_KEY:
            raise EventError("unknown_key", f"key {key_code} is not between 1 and {MAX_KEY}")
    employee_number = _text(raw, "employee")
    if event_type == "login" and not employee_number:
        raise EventError("unknown_employee", "a login event needs the employee number")
    key_count = raw.get("key_count")
    if key_count is not None and (
        not isinstance(key_count, int)
        or isinstance(key_count, bool)
        or not 1 <= key_count <= MAX_KEY
    ):
        raise EventError("malformed_event", f"key_count must be between 1 and {MAX_KEY}")
    return ParsedEvent(
        uid=uid,
        serial=serial,
        event_type=event_type,
        device_time=device_time,
        key_code=key_code,
        employee_number=employee_number,
        counter_code=_text(raw, "counter"),
        business_code=_text(raw, "business"),
        customer_phone=_text(raw, "customer_phone", 32),
        firmware=_text(raw, "firmware"),
        key_count=key_count
        if isinstance(key_count, int) and not isinstance(key_count, bool)
        else None,
    )

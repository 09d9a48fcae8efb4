"""Rebuild service sessions from one counter device's events. Pure: no ORM, no I/O.

Sessions are a function of the events ordered by the device's own clock, never of
their arrival order. After an outage the proxy delivers hours of events late, possibly
interleaved with newer ones; replaying the device's events from the session that the
earliest new event falls into gives exactly the sessions an on-time delivery would.

Rules, per device, in device-time order:
- START opens a session (serving). A START while a session is still serving cancels
  it (the teller never pressed End); one still awaiting a rating becomes unrated.
- END moves the serving session to "awaiting rating". An END with nothing serving is
  stored as an orphan.
- RATE within `rating_window` seconds after END is the session's one valid press.
  Presses within `anti_repeat` seconds of the session's previous press (the counted
  one, or a repeat: each repeat extends the interval) are repeats (stored for audit,
  never counted). A press after the window expired the session (unrated) and is
  late when it comes within `rating_window + anti_repeat` seconds of END (it was
  meant for that session), otherwise unsolicited, like any other press.
- LOGIN / LOGOUT change the teller on duty; a session belongs to the teller on duty
  at its START.
- A session still awaiting a rating becomes unrated once `now` is past its window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

# Event types (what the device sends) and what became of each stored event.
START, END, RATE, LOGIN, LOGOUT = "start", "end", "rate", "login", "logout"

COUNTED = "counted"  # the session's valid press
REPEAT = "repeat"  # a press within the anti-repeat interval of a counted press
UNSOLICITED = "unsolicited"  # a press with no session awaiting a rating
LATE = "late"  # a press after the rating window (the session expired)
OPENED = "opened"  # START that opened a session
CLOSED = "closed"  # END that closed a serving session
ORPHAN = "orphan"  # END with no serving session
SHIFT = "shift"  # LOGIN or LOGOUT

SERVING, AWAITING, RATED, UNRATED, CANCELLED = (
    "serving",
    "awaiting",
    "rated",
    "unrated",
    "cancelled",
)

# The same vocabulary with its labels, declared once: the models' selections
# (events, sessions, the analysis) and the device event parser use these.
EVENT_TYPES = [
    (START, "Start"),
    (END, "End"),
    (RATE, "Rating Press"),
    (LOGIN, "Teller Login"),
    (LOGOUT, "Teller Logout"),
]
OUTCOMES = [
    (OPENED, "Opened a Session"),
    (CLOSED, "Closed a Session"),
    (ORPHAN, "End Without Session"),
    (COUNTED, "Counted Rating"),
    (REPEAT, "Repeat (Not Counted)"),
    (UNSOLICITED, "Unsolicited Press"),
    (LATE, "After the Rating Window"),
    (SHIFT, "Shift Change"),
]
SESSION_OUTCOMES = (OPENED, CLOSED, COUNTED, REPEAT, LATE)  # events that belong to a session
SESSION_STATES = [
    (SERVING, "Serving"),
    (AWAITING, "Awaiting Rating"),
    (RATED, "Rated"),
    (UNRATED, "Unrated"),
    (CANCELLED, "Cancelled"),
]


class ReplayEvent(NamedTuple):  # a NamedTuple: built for every replayed event
    """One stored event: `key` orders events with the same device time (arrival id)."""

    key: int
    event_type: str
    device_time: datetime
    key_code: int | None = None
    employee_id: int | None = None  # resolved from the employee number, for LOGIN


@dataclass
class SessionSpec:
    """The session a START event produced, identified by that START's key."""

    start_key: int
    date_start: datetime
    employee_id: int | None
    state: str = SERVING
    date_end: datetime | None = None
    end_key: int | None = None
    date_rated: datetime | None = None
    rate_key: int | None = None
    key_code: int | None = None
    last_press: datetime | None = field(default=None, repr=False)


@dataclass
class ReplayResult:
    sessions: list[SessionSpec]
    # event key -> (outcome, start_key of the session it belongs to, or None)
    outcomes: dict[int, tuple[str, int | None]]
    employee_id: int | None  # teller on duty after the last event


def replay(
    events: list[ReplayEvent],
    *,
    rating_window: float,
    anti_repeat: float,
    now: datetime,
    employee_id: int | None = None,
) -> ReplayResult:
    """Replay `events` (any order) starting with `employee_id` on duty."""
    window = timedelta(seconds=rating_window)
    repeat_gap = timedelta(seconds=anti_repeat)
    sessions: list[SessionSpec] = []
    outcomes: dict[int, tuple[str, int | None]] = {}
    current: SessionSpec | None = None  # the latest session, whatever its state
    on_duty = employee_id

    def expire(session: SessionSpec | None, at: datetime) -> None:
        if session and session.state == AWAITING and at > session.date_end + window:
            session.state = UNRATED

    for event in sorted(events, key=lambda e: (e.device_time, e.key)):
        expire(current, event.device_time)
        if event.event_type == START:
            if current and current.state == SERVING:
                current.state = CANCELLED
            elif current and current.state == AWAITING:
                current.state = UNRATED
            current = SessionSpec(event.key, event.device_time, on_duty)
            sessions.append(current)
            outcomes[event.key] = (OPENED, current.start_key)
        elif event.event_type == END:
            if current and current.state == SERVING:
                current.state = AWAITING
                current.date_end = event.device_time
                current.end_key = event.key
                outcomes[event.key] = (CLOSED, current.start_key)
            else:
                outcomes[event.key] = (ORPHAN, None)
        elif event.event_type == RATE:
            outcomes[event.key] = _press(current, event, window, repeat_gap)
        elif event.event_type in (LOGIN, LOGOUT):
            on_duty = event.employee_id if event.event_type == LOGIN else None
            outcomes[event.key] = (SHIFT, None)
    expire(current, now)
    return ReplayResult(sessions, outcomes, on_duty)


def _press(
    session: SessionSpec | None, event: ReplayEvent, window: timedelta, repeat_gap: timedelta
) -> tuple[str, int | None]:
    if session is None:
        return UNSOLICITED, None
    if session.state == AWAITING:
        session.state = RATED
        session.date_rated = event.device_time
        session.rate_key = event.key
        session.key_code = event.key_code
        session.last_press = event.device_time
        return COUNTED, session.start_key
    if session.state == RATED and event.device_time - session.last_press <= repeat_gap:
        # Each repeat extends the interval: a customer hammering the key is one press.
        session.last_press = event.device_time
        return REPEAT, session.start_key
    # Right after the window closed: the press was meant for this session.
    if (
        session.state == UNRATED
        and session.date_end is not None
        and event.device_time - session.date_end <= window + repeat_gap
    ):
        return LATE, session.start_key
    return UNSOLICITED, None

"""The per-batch machinery behind service.evaluation.event._ingest (not a model).

A batch costs the same two statements (and a bus message) whatever the number of
keypads in it:

1. Validation needs no query: each device user's keypads, with their counter, outlet
   and business types, are cached (`service.evaluation.device._get_ingest_devices`),
   and so are the rating scales, the company settings and the teller on duty at each
   counter (for the device's display).
2. `read_replay_state` writes the keypads' last-seen time and reads, in one statement,
   what the replay starts from: each keypad's stored events since the last START
   before its earliest new event, with their sessions; which events of the batch were
   already stored; and ids for the new events. Writing the keypad rows, not just
   locking them, also serialises batches of the same keypad: under Odoo's REPEATABLE
   READ, a batch that raced another one for a keypad fails with a serialization error
   and Odoo retries it on fresh data.
3. The replay itself is pure Python (tools/session_replay.py).
4. `write_replay` writes sessions and events in one statement: new events are
   inserted already knowing their outcome, so no row is written twice.

Bulk parameters travel as one JSON document per table (`_json_table`), which both
sides encode and decode much faster than psycopg2 renders thousands of values.

Timestamps are compared in SQL: the ORM drops microseconds from datetime domains, and
two presses in the same second must still keep their order.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import NamedTuple

from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import session_replay
from ..tools.event_parsing import EventError, check_device_time

# Voice prompt for a device after its latest event of a batch.
PROMPTS = {"start": "greeting", "end": "please_rate", "rate": "thank_you", "logout": "goodbye"}
EVENT_ID_SEQUENCE = "service_evaluation_event_id_seq"
# Counters kanbans reload (debounced) on any counter update: one bus message per
# worker and second is enough, and saves three statements on every busy call.
COUNTER_NOTIFY_INTERVAL = 1.0
_counter_notify_lock = threading.Lock()
_counter_notify_state = {}  # database -> [monotonic time of the last message, pending ids]


class DeviceInfo(NamedTuple):
    """A keypad as the ingest needs it, read once per batch."""

    id: int
    serial: str
    counter_id: int | None
    counter_code: str | None
    outlet_id: int | None
    company_id: int
    source: str
    firmware: str | None
    key_count: int | None
    business_ids: dict  # business type code -> id, of the types the counter serves
    default_business_id: int | None


class StoredEvent(NamedTuple):
    id: int
    device_id: int
    event_type: str
    device_time: object
    key_code: int | None
    employee_id: int | None
    business_type_id: int | None
    customer_phone: str | None
    outcome: str | None
    start_session_id: int | None  # a START's session, if it has one
    start_session_negative: bool | None


class ShiftLink(NamedTuple):
    """A stored or new LOGIN or LOGOUT, as shifts are chained from them."""

    event_id: int
    event_type: str
    employee_id: int | None
    device_time: object


class NewEvent(NamedTuple):
    """A validated event of the batch, not stored yet (id reserved from the sequence)."""

    id: int
    device: DeviceInfo
    event: object  # tools.event_parsing.ParsedEvent
    row: dict  # columns resolved by validation: employee, business type, phone


# Session columns the replay owns, in the order of `_session_row`, with their SQL types.
SESSION_COLUMNS = (
    ("counter_id", "int"), ("outlet_id", "int"), ("company_id", "int"), ("device_id", "int"),
    ("source", "varchar"), ("start_event_id", "int"), ("employee_id", "int"),
    ("business_type_id", "int"), ("state", "varchar"), ("date_start", "timestamp"),
    ("date_end", "timestamp"), ("date_rated", "timestamp"), ("duration", "int"),
    ("reached_prompt", "bool"), ("option_id", "int"), ("score", "float8"),
    ("is_rated", "bool"), ("is_satisfied", "bool"), ("is_negative", "bool"),
    ("customer_phone", "varchar"),
)  # fmt: skip
EVENT_COLUMNS = (
    ("id", "int"), ("device_id", "int"), ("event_uid", "varchar"), ("event_type", "varchar"),
    ("device_time", "timestamp"), ("date_received", "timestamp"), ("key_code", "int"),
    ("employee_number", "varchar"), ("employee_id", "int"), ("business_type_id", "int"),
    ("customer_phone", "varchar"), ("outcome", "varchar"),
)  # fmt: skip

EVENT_UPDATE_COLUMNS = (("id", "int"), ("outcome", "varchar"))
NO_SESSIONS = SQL("SELECT NULL::int AS id, FALSE AS is_negative")


class IngestContext:
    """The batch's devices, and the checks of its events that need the database."""

    def __init__(self, env, now):
        self.env = env
        self.now = now
        self.devices = env["service.evaluation.device"]._get_ingest_devices()
        self.devices_seen = {}  # serial -> DeviceInfo, in order of first appearance
        self._employees = {}
        self._options = {}
        self._time_limits = {}
        self._refusals = {}  # serial -> EventError: one lookup per unknown serial

    def device(self, serial):
        device = self.devices.get(serial)
        if device:
            self.devices_seen.setdefault(serial, device)
            return device
        if serial not in self._refusals:
            # Say why, without revealing anything else about devices of other keys.
            Device = self.env["service.evaluation.device"].sudo()
            if Device.search_count([("serial_number", "=", serial)], limit=1):
                self._refusals[serial] = EventError(
                    "forbidden_device", f"device {serial} does not belong to this API key"
                )
            else:
                self._refusals[serial] = EventError(
                    "unknown_device", f"device {serial} is not registered"
                )
        raise self._refusals[serial]

    def options(self, device):
        """{key_code: (option_id, score, is_satisfied, is_negative)} at the device's outlet."""
        if device.outlet_id not in self._options:
            self._options[device.outlet_id] = self.env["service.evaluation.scale"]._get_key_options(
                device.outlet_id
            )
        return self._options[device.outlet_id]

    def time_limits(self, company_id):
        """The device time window of a company's keypads."""
        if company_id not in self._time_limits:
            settings = self.env["res.company"]._get_service_ingest_settings(company_id)
            self._time_limits[company_id] = {
                "now": self.now,
                "clock_skew": timedelta(seconds=settings.clock_skew),
                "max_age": timedelta(days=settings.max_event_age_days),
            }
        return self._time_limits[company_id]

    def validate(self, device, event):
        """Checks that need the database; returns extra column values for the row."""
        check_device_time(event.device_time, **self.time_limits(device.company_id))
        if not device.counter_id and event.event_type != "heartbeat":
            raise EventError("no_counter", f"device {device.serial} is not bound to a counter")
        if event.counter_code and event.counter_code != device.counter_code:
            raise EventError(
                "wrong_counter",
                f"device {device.serial} is bound to counter {device.counter_code}, "
                f"not {event.counter_code}",
            )
        row = {}
        if event.event_type == "rate" and event.key_code not in self.options(device):
            raise EventError("unknown_key", f"key {event.key_code} is not on the rating scale")
        if event.event_type == "login":
            employee = self.employee(device, event.employee_number)
            if not employee:
                raise EventError(
                    "unknown_employee", f"no employee with number {event.employee_number}"
                )
            row["employee_id"] = employee.id
        if event.business_code:
            if event.business_code not in device.business_ids:
                raise EventError(
                    "unknown_business",
                    f"counter {device.counter_code} does not serve {event.business_code}",
                )
            row["business_type_id"] = device.business_ids[event.business_code]
        if event.customer_phone:
            try:
                row["customer_phone"] = self.env["service.evaluation.session"]._normalise_phone(
                    event.customer_phone, device.company_id
                )
            except ValidationError as error:
                raise EventError("invalid_phone", str(error)) from None
        return row

    def employee(self, device, number):
        key = (device.company_id, number)
        if key not in self._employees:
            self._employees[key] = self.env["hr.employee"].search(
                [("service_employee_number", "=", number), ("company_id", "=", device.company_id)],
                limit=1,
            )
        return self._employees[key]

    def report_firmware(self, reports):
        """Firmware and key count a device announced, when they changed (rare)."""
        Device = self.env["service.evaluation.device"].sudo()
        for device, event in reports:
            vals = {}
            if event.firmware and event.firmware != device.firmware:
                vals["firmware_version"] = event.firmware
            if event.key_count and event.key_count != device.key_count:
                vals["key_count"] = event.key_count
            if vals:
                # The device user may not edit its devices (it could rebind a counter):
                # these reported facts are written through sudo, and nothing else.
                Device.browse(device.id).write(vals)

    def touch_devices(self):
        """Write the last-seen time of the batch's keypads when there is nothing to
        replay (heartbeats, refused events); `read_replay_state` does it otherwise."""
        self.env.cr.execute(
            SQL(
                "WITH %s SELECT count(*) FROM claimed",
                _claim_devices_sql(self.devices_seen.values(), self.now),
            )
        )
        self.env["service.evaluation.device"].invalidate_model(["last_seen"])

    def device_replies(self, prompts):
        """{serial: what the device shows and says}: the teller on duty and a prompt.

        The tellers are cached; a batch that changed shifts has cleared that cache.
        """
        tellers = self.env["service.evaluation.counter"]._get_tellers_on_duty()
        replies = {}
        for serial, device in self.devices_seen.items():
            name, number, stars = tellers.get(device.counter_id) or (None, None, None)
            replies[serial] = {
                "display": {
                    "teller_name": name or "",
                    "employee_number": number or "",
                    "star_level": stars or 0,
                },
                "prompt": PROMPTS.get(prompts.get(device.id), "none"),
            }
        return replies


def _claim_devices_sql(devices, now):
    """A `claimed` CTE that writes the keypads' last_seen, in id order (no deadlocks).

    Writing the rows, not just locking them, is what makes a concurrent batch of the
    same keypad fail and retry (REPEATABLE READ) instead of replaying on a snapshot
    that misses ours.
    """
    return SQL(
        """claimed AS (
               UPDATE service_evaluation_device d SET last_seen = %s
                 FROM (SELECT id FROM service_evaluation_device WHERE id = ANY(%s)
                        ORDER BY id FOR UPDATE) AS locked
                WHERE d.id = locked.id
            RETURNING d.id
           )""",
        now,
        sorted(device.id for device in devices),
    )


def read_replay_state(env, devices, now, since, new_uids, id_count):
    """Claim the batch's keypads, and read what their replay needs, in one statement.

    The keypads' last-seen time is written first (see `_claim_devices_sql`). The
    statement also turns JIT compilation off for the transaction: with many keypads the
    planner's estimates get large enough to spend ~80 ms compiling ~1 ms of work.
    `since` is [(device id, earliest new device time, whether that event is a START)],
    `new_uids` [(device id, uid)] of the batch. Four kinds of rows come back:
    - "event": the stored events the replay must see again, with the session of each
      START. The replay starts at the last stored START before the earliest new
      event (a session boundary; events at the same device time stored before that
      START stay before it), or, when that new event is a START arriving in order
      after a finished session, at that event itself: nothing stored before it can
      change (the common case, and half the rows to read and rewrite);
    - "shift": the last LOGIN or LOGOUT before that point (who was on duty);
    - "duplicate": events of `new_uids` already stored;
    - "new_id": `id_count` ids reserved for the new events, in order.
    Returns (events by device, shift event by device, duplicate (device, uid) set, ids).
    """
    env.cr.execute(
        SQL(
            """SET LOCAL jit = off;
               WITH %(claimed)s,
               anchor AS (
                   -- (since, since_id): replay the stored events at or after this point,
                   -- in (device time, id) order
                   SELECT f.device_id, a.since, a.since_id
                     FROM %(since)s
                LEFT JOIN LATERAL (
                          SELECT e.device_time, e.id, s.state
                            FROM service_evaluation_event e
                       LEFT JOIN service_evaluation_session s ON s.start_event_id = e.id
                           WHERE e.device_id = f.device_id AND e.event_type = 'start'
                             AND e.device_time <= f.since
                        ORDER BY e.device_time DESC, e.id DESC LIMIT 1
                     ) AS last ON TRUE
                CROSS JOIN LATERAL (
                          SELECT f.is_start
                                 AND (last.id IS NULL
                                      OR last.state IN ('rated', 'unrated', 'cancelled'))
                                 AND NOT EXISTS (
                                     SELECT FROM service_evaluation_event e
                                      WHERE e.device_id = f.device_id
                                        AND e.device_time >= f.since) AS from_new_start
                          OFFSET 0  -- evaluated once, not once per use below
                     ) AS choice
                CROSS JOIN LATERAL (
                          SELECT CASE WHEN choice.from_new_start OR last.id IS NULL
                                      THEN f.since ELSE last.device_time END AS since,
                                 CASE WHEN choice.from_new_start OR last.id IS NULL
                                      THEN 0 ELSE last.id END AS since_id
                     ) AS a
               ),
               batch AS (SELECT * FROM %(uids)s)
               SELECT 'event', e.id, e.device_id, e.event_type, e.device_time, e.key_code,
                      e.employee_id, e.business_type_id, e.customer_phone, e.outcome,
                      s.id, s.is_negative
                 FROM anchor a
                 CROSS JOIN LATERAL (
                     -- OFFSET 0 keeps this a per-device index scan; the planner would
                     -- otherwise hash-join the whole event table.
                     SELECT * FROM service_evaluation_event e
                      WHERE e.device_id = a.device_id
                        AND (e.device_time, e.id) >= (a.since, a.since_id) OFFSET 0
                 ) AS e
                 -- LATERAL: an index probe per START, never a join of the session table
                 LEFT JOIN LATERAL (
                     SELECT s.id, s.is_negative FROM service_evaluation_session s
                      WHERE s.start_event_id = e.id AND e.event_type = 'start' LIMIT 1
                 ) AS s ON TRUE
               UNION ALL
               SELECT 'shift', e.id, a.device_id, e.event_type, e.device_time, NULL,
                      e.employee_id, NULL, NULL, NULL, NULL, NULL
                 FROM anchor a
                 CROSS JOIN LATERAL (
                     SELECT * FROM service_evaluation_event e
                      WHERE e.device_id = a.device_id
                        AND (e.device_time, e.id) < (a.since, a.since_id)
                        AND e.event_type IN ('login', 'logout')
                   ORDER BY e.device_time DESC, e.id DESC LIMIT 1
                 ) AS e
               UNION ALL
               SELECT 'duplicate', NULL, e.device_id, e.event_uid, NULL, NULL, NULL, NULL,
                      NULL, NULL, NULL, NULL
                 FROM batch u
                 JOIN service_evaluation_event e
                   ON e.device_id = u.device_id AND e.event_uid = u.uid
               UNION ALL
               SELECT 'new_id', nextval(%(sequence)s), NULL, NULL, NULL, NULL, NULL, NULL,
                      NULL, NULL, NULL, NULL
                 FROM generate_series(1, %(id_count)s)""",
            since=_json_table(
                (("device_id", "int"), ("since", "timestamp"), ("is_start", "bool")), since, "f"
            ),
            uids=_json_table((("device_id", "int"), ("uid", "varchar")), new_uids),
            sequence=EVENT_ID_SEQUENCE,
            id_count=id_count,
            claimed=_claim_devices_sql(devices, now),
        )
    )
    events, shift_events, duplicates, ids = defaultdict(list), {}, set(), []
    for kind, *row in env.cr.fetchall():
        if kind == "event":
            events[row[1]].append(StoredEvent(*row))
        elif kind == "shift":
            # (event id, event type, employee id, device time)
            shift_events[row[1]] = ShiftLink(row[0], row[2], row[5], row[3])
        elif kind == "duplicate":
            duplicates.add((row[1], row[2]))
        else:
            ids.append(row[0])
    env["service.evaluation.device"].invalidate_model(["last_seen"])
    return events, shift_events, duplicates, sorted(ids)


def replay_devices(env, new_events, stored, shift_events, now):
    """Replay each keypad with new events; returns {device id: ReplayResult}."""
    new_by_device = defaultdict(list)
    for new in new_events:
        new_by_device[new.device.id].append(new)
    settings = env["res.company"]._get_service_ingest_settings
    results = {}
    for device_id, news in new_by_device.items():
        company_settings = settings(news[0].device.company_id)
        previous = shift_events.get(device_id)
        events = [
            session_replay.ReplayEvent(e.id, e.event_type, e.device_time, e.key_code, e.employee_id)
            for e in stored.get(device_id, ())
        ]
        events += [
            session_replay.ReplayEvent(
                n.id, n.event.event_type, n.event.device_time, n.event.key_code,
                n.row.get("employee_id"),
            )
            for n in news
        ]  # fmt: skip
        results[device_id] = session_replay.replay(
            events,
            rating_window=company_settings.rating_window,
            anti_repeat=company_settings.anti_repeat,
            now=now,
            employee_id=previous.employee_id
            if previous and previous.event_type == "login"
            else None,
        )
    return results


def write_replay(env, context, new_events, stored, results, now):
    """Insert the new events and sessions, update what changed: one statement.

    New events are inserted with their outcome, so none is written twice. A new
    session's START may be one of them: the foreign key is checked when the whole
    statement ends. Returns the ids of sessions that just became negative.
    """
    stored_by_id = {e.id: e for events in stored.values() for e in events}
    new_by_id = {new.id: new for new in new_events}
    devices = {new.device.id: new.device for new in new_events}
    session_inserts, session_updates, was_negative = [], [], {}
    event_inserts, event_updates = [], []
    for device_id, result in results.items():
        device = devices[device_id]
        options = context.options(device)
        for spec in result.sessions:
            row = _session_row(device, spec, options, stored_by_id, new_by_id)
            start = stored_by_id.get(spec.start_key)
            if start and start.start_session_id:
                session_updates.append((start.start_session_id, *row))
                was_negative[start.start_session_id] = start.start_session_negative
            else:
                session_inserts.append(row)
        for event_id, (outcome, _start_key) in result.outcomes.items():
            new = new_by_id.get(event_id)
            if new:
                event, row = new.event, new.row
                event_inserts.append(
                    (
                        new.id, device_id, event.uid, event.event_type, event.device_time, now,
                        event.key_code, event.employee_number, row.get("employee_id"),
                        row.get("business_type_id"), row.get("customer_phone"), outcome,
                    )
                )  # fmt: skip
            elif stored_by_id[event_id].outcome != outcome:
                event_updates.append((event_id, outcome))

    parts, negatives = [], []
    if event_inserts:
        parts.append(
            SQL(
                "new_events AS (INSERT INTO service_evaluation_event (%s) SELECT * FROM %s)",
                _names(EVENT_COLUMNS),
                _json_table(EVENT_COLUMNS, event_inserts),
            )
        )
    if event_updates:
        parts.append(
            SQL(
                """changed_events AS (
                       UPDATE service_evaluation_event e SET outcome = v.outcome
                         FROM %s WHERE e.id = v.id)""",
                _json_table(EVENT_UPDATE_COLUMNS, event_updates),
            )
        )
    if session_inserts:
        parts.append(
            SQL(
                """new_sessions AS (
                       INSERT INTO service_evaluation_session (%s) SELECT * FROM %s
                       RETURNING id, is_negative)""",
                _names(SESSION_COLUMNS),
                _json_table(SESSION_COLUMNS, session_inserts),
            )
        )
        negatives.append(SQL("SELECT id, is_negative FROM new_sessions"))
    if session_updates:
        compared = [name for name, _type in SESSION_COLUMNS if name != "customer_phone"]
        parts.append(
            SQL(
                """changed_sessions AS (
                       UPDATE service_evaluation_session s SET %s,
                              -- a phone staff attached by hand is never cleared by a replay
                              customer_phone = COALESCE(v.customer_phone, s.customer_phone)
                         FROM %s
                        WHERE s.id = v.id AND ((%s) IS DISTINCT FROM (%s)
                              OR v.customer_phone IS DISTINCT FROM
                                 COALESCE(s.customer_phone, v.customer_phone))
                    RETURNING s.id, s.is_negative)""",
                SQL(", ").join(
                    SQL("%s = v.%s", SQL.identifier(name), SQL.identifier(name))
                    for name in compared
                ),
                _json_table((("id", "int"), *SESSION_COLUMNS), session_updates),
                SQL(", ").join(SQL.identifier("s", name) for name in compared),
                SQL(", ").join(SQL.identifier("v", name) for name in compared),
            )
        )
        negatives.append(SQL("SELECT id, is_negative FROM changed_sessions"))
    if not parts:
        return []
    env.cr.execute(
        SQL(
            "WITH %s SELECT id FROM (%s) AS touched WHERE is_negative",
            SQL(", ").join(parts),
            SQL(" UNION ALL ").join(negatives or [NO_SESSIONS]),
        )
    )
    newly_negative = [
        session_id for (session_id,) in env.cr.fetchall() if not was_negative.get(session_id)
    ]
    env["service.evaluation.session"].invalidate_model()
    env["service.evaluation.event"].invalidate_model(["outcome", "session_id"])
    return newly_negative


def _names(columns):
    return SQL(", ").join(SQL.identifier(name) for name, _type in columns)


def _json_table(columns, rows, alias="v"):
    """`rows` as a table `alias` with typed `columns`, sent as one JSON parameter.

    psycopg2 renders list parameters value by value (~1 µs each, ~1.5 ms for a batch
    of 100 events); json.dumps does the same in a tenth of the time. Rows travel as
    arrays, not objects: half the bytes to encode, and jsonb reads an element by its
    position without rescanning the row. The LIMIT tells the planner how many rows
    come (it assumes 100 for any set-returning function and would otherwise hash-join
    one session against the whole session table).
    """
    return SQL(
        "(SELECT %s FROM jsonb_array_elements(%s::jsonb) AS r LIMIT %s) AS %s",
        _json_columns(columns),
        json.dumps(rows, default=str),
        len(rows),
        SQL.identifier(alias),
    )


@functools.cache
def _json_columns(columns):
    """The select list that types each position of a row array (built once per shape)."""
    return SQL(", ").join(
        SQL("(r->>%s)::%s AS %s", SQL(str(position)), SQL(sql_type), SQL.identifier(name))
        for position, (name, sql_type) in enumerate(columns)
    )


def _session_row(device, spec, options, stored_by_id, new_by_id):
    """The session's columns, in the order of SESSION_COLUMNS."""
    option = options.get(spec.key_code) if spec.key_code else None
    start = new_by_id.get(spec.start_key)
    business_id = (
        start.row.get("business_type_id")
        if start
        else (stored_by_id[spec.start_key].business_type_id)
    )
    phone = None
    if spec.rate_key:
        rate = new_by_id.get(spec.rate_key)
        phone = (
            rate.row.get("customer_phone") if rate else (stored_by_id[spec.rate_key].customer_phone)
        )
    return (
        device.counter_id,
        device.outlet_id,
        device.company_id,
        device.id,
        device.source,
        spec.start_key,
        spec.employee_id,
        business_id or device.default_business_id,
        spec.state,
        spec.date_start,
        spec.date_end,
        spec.date_rated,
        int((spec.date_end - spec.date_start).total_seconds()) if spec.date_end else 0,
        bool(spec.date_end),
        option.option_id if option else None,
        option.score if option else 0.0,
        bool(option),
        bool(option and option.is_satisfied),
        bool(option and option.is_negative),
        phone,
    )


def write_shifts(env, devices, stored, new_events, shift_events):
    """A LOGIN opens a shift that the device's next LOGIN or LOGOUT ends.

    Only devices whose replayed events include a LOGIN or LOGOUT can change shifts.
    A teller is on duty at one counter at a time: a shift with no later LOGIN or
    LOGOUT on its keypad ends when the teller's next shift elsewhere starts, and a
    new open shift ends the teller's open one elsewhere (the open-shift unique index
    holds it). Shifts a manager corrected are left alone. Shifts are facts the device
    user may not write: they are written through sudo, without chatter noise. Shift
    writes clear the cached tellers on duty (service.cache.mixin).
    """
    Shift = env["service.evaluation.shift"].sudo().with_context(tracking_disable=True)
    chains = defaultdict(list)  # device id -> [ShiftLink]
    for device_id, events in stored.items():
        chains[device_id] += [
            ShiftLink(e.id, e.event_type, e.employee_id, e.device_time)
            for e in events
            if e.event_type in ("login", "logout")
        ]
    touched = set()
    for new in new_events:
        if new.event.event_type in ("login", "logout"):
            touched.add(new.device.id)
            chains[new.device.id].append(
                ShiftLink(
                    new.id, new.event.event_type, new.row.get("employee_id"), new.event.device_time
                )
            )
    if not touched:
        return
    for device_id in touched:
        chain = sorted(chains[device_id], key=lambda link: (link.device_time, link.event_id))
        previous = shift_events.get(device_id)
        if previous and previous.event_type == "login":
            chain.insert(0, previous)
        chains[device_id] = chain
    logins = [
        link for device_id in touched for link in chains[device_id] if link.event_type == "login"
    ]
    employee_ids = {link.employee_id for link in logins if link.employee_id}
    if not employee_ids:
        return
    # The tellers' shifts since the earliest login replayed: where else they went.
    their_shifts = Shift.search(
        [("employee_id", "in", list(employee_ids)),
         ("date_start", ">=", min(link.device_time for link in logins))]
    )  # fmt: skip
    existing = {shift.login_event_id.id: shift for shift in their_shifts if shift.login_event_id}
    existing.update(
        (shift.login_event_id.id, shift)
        for shift in Shift.search([("login_event_id", "in", [link.event_id for link in logins])])
    )

    # Where else each teller went on duty: stored shifts, and this batch's logins.
    starts = defaultdict(list)  # employee id -> [(start, login event id)]
    for shift in their_shifts:
        starts[shift.employee_id.id].append((shift.date_start, shift.login_event_id.id))
    for event_id, _type, employee_id, device_time in logins:
        if event_id not in existing:
            starts[employee_id].append((device_time, event_id))

    def next_start_elsewhere(employee_id, event_id, after):
        # (time, event id) order: two logins in the same second still end one another.
        return min(
            (
                start
                for start, other in starts[employee_id]
                if other != event_id and (start, other or 0) > (after, event_id)
            ),
            default=False,
        )

    to_create, to_update, to_open = [], [], []
    for device_id in touched:
        chain = chains[device_id]
        for position, (event_id, event_type, employee_id, device_time) in enumerate(chain):
            if event_type != "login" or not employee_id:
                continue
            following = chain[position + 1] if position + 1 < len(chain) else None
            if following:
                date_end = following.device_time
            else:
                date_end = next_start_elsewhere(employee_id, event_id, device_time)
            shift = existing.get(event_id)
            if shift:
                if not shift.is_corrected and shift.date_end != date_end:
                    to_update.append((shift, date_end))
            else:
                to_create.append(
                    {
                        "employee_id": employee_id,
                        "counter_id": devices[device_id].counter_id,
                        "date_start": device_time,
                        "date_end": date_end,
                        "source": "device",
                        "login_event_id": event_id,
                    }
                )
            if not date_end:
                to_open.append((employee_id, device_time, shift))
    # First end the open shifts the tellers leave, then (re)open theirs: the unique
    # index of open shifts is checked row by row.
    Employee = env["hr.employee"]
    for employee_id, device_time, shift in to_open:
        Shift._end_open_shifts(Employee.browse(employee_id), device_time, keep=shift)
    for shift, date_end in to_update:
        shift.date_end = date_end
    Shift.flush_model()
    if to_create:
        Shift.create(to_create)


def notify_counters(env, counter_ids):
    """Tell the counters kanbans that these counters changed, at most once a second.

    Counters changed meanwhile wait for the next message: the next call of any keypad,
    or the kanban's own periodic refresh when the hall is quiet.
    """
    with _counter_notify_lock:
        state = _counter_notify_state.setdefault(env.cr.dbname, [float("-inf"), set()])
        state[1].update(counter_ids)
        now = time.monotonic()
        if now - state[0] < COUNTER_NOTIFY_INTERVAL:
            return
        state[0], pending = now, state[1]
        state[1] = set()
    group_id = env["ir.model.data"]._xmlid_to_res_id("service_base.service_base_group_user")
    env["res.groups"].sudo().browse(group_id)._bus_send(
        "service_evaluation/counter_update", {"counter_ids": sorted(pending)}
    )

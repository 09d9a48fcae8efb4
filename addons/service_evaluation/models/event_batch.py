"""The per-batch machinery behind service.evaluation.event._ingest (not a model).

`IngestContext` looks up what a batch needs once (devices, scales, employees) and
checks each event against the database. `replay_devices` rebuilds the sessions of all
keypads a batch touched with a fixed number of set-based statements, whatever the
number of keypads: device counts vary, queries do not.

Timestamps are compared in SQL: the ORM drops microseconds from datetime domains, and
two presses in the same second must still keep their order.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import NamedTuple

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import session_replay
from ..tools.event_parsing import EventError

# Voice prompt for a device after its latest event of a batch.
PROMPTS = {"start": "greeting", "end": "please_rate", "rate": "thank_you", "logout": "goodbye"}
# last_seen is written at most this often per device: heartbeats are frequent.
LAST_SEEN_PRECISION = timedelta(seconds=30)
# pg_advisory_xact_lock namespace: batches of the same device replay one at a time.
DEVICE_LOCK_NAMESPACE = 0x5E7A


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
    session_id: int | None


# Session columns the replay owns, in the order of `_session_row`.
SESSION_COLUMNS = (
    "counter_id", "outlet_id", "company_id", "device_id", "source", "start_event_id",
    "employee_id", "business_type_id", "state", "date_start", "date_end", "date_rated",
    "duration", "reached_prompt", "option_id", "score", "is_rated", "is_satisfied",
    "is_negative",
)  # fmt: skip
SESSION_CASTS = (
    "int", "int", "int", "int", "varchar", "int", "int", "int", "varchar", "timestamp",
    "timestamp", "timestamp", "int", "bool", "int", "float8", "bool", "bool", "bool",
)  # fmt: skip


class IngestContext:
    """Per-batch caches and checks: devices, scales and employees, looked up once."""

    def __init__(self, env, serials):
        self.env = env
        Device = env["service.evaluation.device"]
        self.devices = {
            device.serial_number: device
            for device in Device.search([("serial_number", "in", list(serials))])
        }
        self.devices_seen = Device
        self._employees = {}

    def device(self, serial):
        device = self.devices.get(serial)
        if device:
            self.devices_seen |= device
            return device
        # Say why, without revealing anything else about devices of other keys.
        Device = self.env["service.evaluation.device"].sudo()
        if Device.search_count([("serial_number", "=", serial)], limit=1):
            raise EventError("forbidden_device", f"device {serial} does not belong to this API key")
        raise EventError("unknown_device", f"device {serial} is not registered")

    def options(self, device):
        """{key_code: (option_id, score, is_satisfied, is_negative)} at the device's outlet."""
        return self.env["service.evaluation.scale"]._get_key_options(device.counter_id.outlet_id.id)

    def validate(self, device, event):
        """Checks that need the database; returns extra column values for the row."""
        counter = device.counter_id
        if not counter and event.event_type != "heartbeat":
            raise EventError(
                "no_counter", f"device {device.serial_number} is not bound to a counter"
            )
        if event.counter_code and event.counter_code != counter.code:
            raise EventError(
                "wrong_counter",
                f"device {device.serial_number} is bound to counter {counter.code}, "
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
            business = counter.business_type_ids.filtered(lambda b: b.code == event.business_code)
            if not business:
                raise EventError(
                    "unknown_business",
                    f"counter {counter.code} does not serve {event.business_code}",
                )
            row["business_type_id"] = business.id
        if event.customer_phone:
            try:
                row["customer_phone"] = self.env["service.evaluation.session"]._normalise_phone(
                    event.customer_phone, device.company_id.id
                )
            except ValidationError as error:
                raise EventError("invalid_phone", str(error)) from None
        return row

    def employee(self, device, number):
        key = (device.company_id.id, number)
        if key not in self._employees:
            self._employees[key] = self.env["hr.employee"].search(
                [
                    ("service_employee_number", "=", number),
                    ("company_id", "=", device.company_id.id),
                ],
                limit=1,
            )
        return self._employees[key]

    def touch_devices(self, events, now):
        """last_seen (to LAST_SEEN_PRECISION), firmware and key count of reporting devices."""
        updates = {}
        for device, event in events:
            vals = updates.setdefault(device, {})
            if not device.last_seen or now - device.last_seen >= LAST_SEEN_PRECISION:
                vals["last_seen"] = now
            if event.firmware and event.firmware != device.firmware_version:
                vals["firmware_version"] = event.firmware
            if event.key_count and event.key_count != device.key_count:
                vals["key_count"] = event.key_count
        # The device user may not edit its devices (it could rebind a counter): these
        # reported facts are written through sudo, and nothing else.
        for device, vals in updates.items():
            if vals:
                device.sudo().write(vals)

    def device_replies(self, prompts):
        """{serial: what the device shows and says}: the teller on duty and a prompt.

        One query for the batch. It reads only the counters of this key's own devices,
        which the device user may read through the ORM as well.
        """
        counter_ids = self.devices_seen.counter_id.ids
        on_duty = {}
        if counter_ids:
            self.env.cr.execute(
                SQL(
                    """SELECT DISTINCT ON (s.counter_id) s.counter_id, e.name,
                              e.service_employee_number, e.service_star_level
                         FROM service_evaluation_shift s
                         JOIN hr_employee e ON e.id = s.employee_id
                        WHERE s.counter_id = ANY(%s) AND s.date_end IS NULL
                     ORDER BY s.counter_id, s.date_start DESC, s.id DESC""",
                    counter_ids,
                )
            )
            on_duty = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        replies = {}
        for device in self.devices_seen:
            name, number, stars = on_duty.get(device.counter_id.id, (None, None, None))
            replies[device.serial_number] = {
                "display": {
                    "teller_name": name or "",
                    "employee_number": number or "",
                    "star_level": stars or 0,
                },
                "prompt": PROMPTS.get(prompts.get(device), "none"),
            }
        return replies


def lock_devices(env, device_ids):
    """Serialise concurrent batches of the same devices (ordered: no deadlocks)."""
    env.cr.execute(
        SQL(
            "SELECT pg_advisory_xact_lock(%s, d) FROM unnest(%s::int[]) AS d ORDER BY d",
            DEVICE_LOCK_NAMESPACE,
            sorted(device_ids),
        )
    )


def replay_devices(env, context, earliest):
    """Rebuild sessions, outcomes and shifts of the devices in `earliest`.

    `earliest` maps each device to the earliest device time among its new events.
    Returns the sessions that became negative, for alerting.
    """
    cr = env.cr
    devices = {device.id: device for device in earliest}
    # 1. Each device replays from the last START at or before its earliest new event.
    cr.execute(
        SQL(
            """SELECT s.device_id,
                      COALESCE((SELECT e.device_time FROM service_evaluation_event e
                                 WHERE e.device_id = s.device_id AND e.event_type = 'start'
                                   AND e.device_time <= s.since
                              ORDER BY e.device_time DESC, e.id DESC LIMIT 1), s.since)
                 FROM (VALUES %s) AS s(device_id, since)""",
            _values((device.id, since) for device, since in earliest.items()),
        )
    )
    start_from = _values(cr.fetchall())
    # 2. The events to replay, in device-time order.
    cr.execute(
        SQL(
            """SELECT e.id, e.device_id, e.event_type, e.device_time, e.key_code, e.employee_id,
                      e.business_type_id, e.customer_phone, e.outcome, e.session_id
                 FROM (VALUES %s) AS f(device_id, since)
                 CROSS JOIN LATERAL (
                     -- OFFSET 0 keeps this a per-device index scan; the planner would
                     -- otherwise hash-join the whole event table.
                     SELECT * FROM service_evaluation_event e
                      WHERE e.device_id = f.device_id AND e.device_time >= f.since OFFSET 0
                 ) AS e
             ORDER BY e.device_id, e.device_time, e.id""",
            start_from,
        )
    )
    events = defaultdict(list)
    for row in cr.fetchall():
        events[row[1]].append(StoredEvent(*row))
    # 3. Who was on duty when each replay starts: the last LOGIN or LOGOUT before it.
    cr.execute(
        SQL(
            """SELECT f.device_id, e.id, e.event_type, e.employee_id, e.device_time
                 FROM (VALUES %s) AS f(device_id, since)
                 CROSS JOIN LATERAL (
                     SELECT * FROM service_evaluation_event e
                      WHERE e.device_id = f.device_id AND e.device_time < f.since
                        AND e.event_type IN ('login', 'logout')
                   ORDER BY e.device_time DESC, e.id DESC LIMIT 1
                 ) AS e""",
            start_from,
        )
    )
    # device -> (event id, event type, employee id, device time)
    previous_shift_event = {row[0]: row[1:] for row in cr.fetchall()}

    now = fields.Datetime.now()
    results = {}
    for device_id, device_events in events.items():
        company = devices[device_id].company_id
        previous = previous_shift_event.get(device_id)
        results[device_id] = session_replay.replay(
            [
                session_replay.ReplayEvent(
                    e.id, e.event_type, e.device_time, e.key_code, e.employee_id
                )
                for e in device_events
            ],
            rating_window=company.service_rating_window,
            anti_repeat=company.service_anti_repeat,
            now=now,
            employee_id=previous[2] if previous and previous[1] == "login" else None,
        )
    session_ids, newly_negative = _write_sessions(env, context, devices, events, results)
    _write_outcomes(env, events, results, session_ids)
    _write_shifts(env, devices, events, previous_shift_event)
    return env["service.evaluation.session"].browse(newly_negative)


def _values(rows):
    return SQL(", ").join(SQL("(%s, %s)", *row) for row in rows)


def _device_constants(device):
    """What every session of a device shares, read once per batch."""
    counter = device.counter_id
    return (
        counter.id,
        counter.outlet_id.id,
        device.company_id.id,
        device.id,
        device.source,
        counter.business_type_ids[:1].id or None,
    )


def _session_row(constants, spec, options, events_by_id):
    counter_id, outlet_id, company_id, device_id, source, default_business = constants
    option = options.get(spec.key_code) if spec.key_code else None
    return (
        counter_id,
        outlet_id,
        company_id,
        device_id,
        source,
        spec.start_key,
        spec.employee_id,
        events_by_id[spec.start_key].business_type_id or default_business,
        spec.state,
        spec.date_start,
        spec.date_end,
        spec.date_rated,
        int((spec.date_end - spec.date_start).total_seconds()) if spec.date_end else 0,
        bool(spec.date_end),
        option[0] if option else None,
        option[1] if option else 0.0,
        bool(option),
        bool(option and option[2]),
        bool(option and option[3]),
    )


def _write_sessions(env, context, devices, events, results):
    """INSERT new sessions, UPDATE changed ones: two statements for the whole batch."""
    cr = env.cr
    desired, phones = {}, {}
    for device_id, result in results.items():
        device = devices[device_id]
        events_by_id = {e.id: e for e in events[device_id]}
        options = context.options(device)
        constants = _device_constants(device)
        for spec in result.sessions:
            desired[spec.start_key] = _session_row(constants, spec, options, events_by_id)
            if spec.rate_key and events_by_id[spec.rate_key].customer_phone:
                phones[spec.start_key] = events_by_id[spec.rate_key].customer_phone
    if not desired:
        return {}, []
    columns = SQL(", ").join(SQL.identifier(column) for column in SESSION_COLUMNS)
    cr.execute(
        SQL(
            "SELECT id, customer_phone, %s FROM service_evaluation_session "
            "WHERE start_event_id = ANY(%s)",
            columns,
            list(desired),
        )
    )
    existing = {row[7]: row for row in cr.fetchall()}  # by start_event_id
    session_ids, newly_negative, inserts, updates = {}, [], [], []
    uid, now = env.uid, fields.Datetime.now()
    for start_key, row in desired.items():
        current = existing.get(start_key)
        phone = phones.get(start_key)
        if current is None:
            inserts.append((*row, phone, uid, now, uid, now))
            continue
        session_ids[start_key] = current[0]
        # A phone staff attached by hand is never cleared by a replay.
        phone = phone or current[1]
        if tuple(current[2:]) != row or phone != current[1]:
            updates.append((current[0], *row, phone, uid, now))
            if row[-1] and not current[-1]:
                newly_negative.append(current[0])
    if inserts:
        cr.execute(
            SQL(
                """INSERT INTO service_evaluation_session
                       (%s, customer_phone, create_uid, create_date, write_uid, write_date)
                   VALUES %s RETURNING id, start_event_id, is_negative""",
                columns,
                SQL(", ").join(SQL("(" + ", ".join(["%s"] * len(r)) + ")", *r) for r in inserts),
            )
        )
        for session_id, start_key, is_negative in cr.fetchall():
            session_ids[start_key] = session_id
            if is_negative:
                newly_negative.append(session_id)
    if updates:
        casts = ["int", *SESSION_CASTS, "varchar", "int", "timestamp"]
        names = ["id", *SESSION_COLUMNS, "customer_phone", "write_uid", "write_date"]
        cr.execute(
            SQL(
                """UPDATE service_evaluation_session AS s SET %s
                     FROM (VALUES %s) AS v(%s) WHERE s.id = v.id""",
                SQL(", ").join(
                    SQL("%s = v.%s", SQL.identifier(name), SQL.identifier(name))
                    for name in names[1:]
                ),
                SQL(", ").join(
                    SQL(
                        "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")",
                        *update,
                    )
                    for update in updates
                ),
                SQL(", ").join(SQL.identifier(name) for name in names),
            )
        )
    env["service.evaluation.session"].invalidate_model()
    return session_ids, newly_negative


def _write_outcomes(env, events, results, session_ids):
    """One UPDATE for every event whose outcome or session changed."""
    changes = []
    for device_id, result in results.items():
        for event in events[device_id]:
            outcome, start_key = result.outcomes.get(event.id, (None, None))
            session_id = session_ids.get(start_key) if start_key else None
            if event.outcome != outcome or event.session_id != session_id:
                changes.append(
                    SQL("(%s::int, %s::varchar, %s::int)", event.id, outcome, session_id)
                )
    if changes:
        env.cr.execute(
            SQL(
                """UPDATE service_evaluation_event AS e
                      SET outcome = v.outcome, session_id = v.session_id
                     FROM (VALUES %s) AS v(id, outcome, session_id)
                    WHERE e.id = v.id""",
                SQL(", ").join(changes),
            )
        )
        env["service.evaluation.event"].invalidate_model(["outcome", "session_id"])


def _write_shifts(env, devices, events, previous_shift_event):
    """A LOGIN opens a shift that the device's next LOGIN or LOGOUT ends.

    Only devices whose replayed events include a LOGIN or LOGOUT can change shifts.
    """
    Shift = env["service.evaluation.shift"]
    for device_id, device_events in events.items():
        device = devices[device_id]
        shift_events = [e for e in device_events if e.event_type in ("login", "logout")]
        if not shift_events or not device.counter_id:
            continue
        previous = previous_shift_event.get(device_id)
        chain = []  # (event id, type, employee id, device time)
        if previous and previous[1] == "login":
            chain.append(previous)
        chain += [(e.id, e.event_type, e.employee_id, e.device_time) for e in shift_events]
        logins = [link[0] for link in chain if link[1] == "login"]
        existing = {
            shift.login_event_id.id: shift
            for shift in Shift.search([("login_event_id", "in", logins)])
        }
        to_create = []
        for position, (event_id, event_type, employee_id, device_time) in enumerate(chain):
            if event_type != "login" or not employee_id:
                continue
            following = chain[position + 1] if position + 1 < len(chain) else None
            date_end = following[3] if following else False
            shift = existing.get(event_id)
            if shift:
                if shift.date_end != date_end:
                    shift.date_end = date_end
            else:
                to_create.append(
                    {
                        "employee_id": employee_id,
                        "counter_id": device.counter_id.id,
                        "date_start": device_time,
                        "date_end": date_end,
                        "source": "device",
                        "login_event_id": event_id,
                    }
                )
        if to_create:
            Shift.create(to_create)

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import session_replay
from ..tools.event_parsing import EventError, parse_event

EVENT_TYPES = [
    ("start", "Start"),
    ("end", "End"),
    ("rate", "Rating Press"),
    ("login", "Teller Login"),
    ("logout", "Teller Logout"),
]
OUTCOMES = [
    ("opened", "Opened a Session"),
    ("closed", "Closed a Session"),
    ("orphan", "End Without Session"),
    ("counted", "Counted Rating"),
    ("repeat", "Repeat (Not Counted)"),
    ("unsolicited", "Unsolicited Press"),
    ("late", "After the Rating Window"),
    ("shift", "Shift Change"),
]


class ServiceEvaluationEvent(models.Model):
    """Every step a device reported, exactly once: the audit trail behind sessions.

    (device_id, event_uid) is unique in the database, so a resent event can never be
    stored twice, whatever the concurrency. Sessions are rebuilt from these rows.
    """

    _name = "service.evaluation.event"
    _description = "Device Event"
    _order = "device_time desc, id desc"
    _rec_name = "event_uid"
    _log_access = False  # millions of rows: keep them lean

    device_id = fields.Many2one("service.evaluation.device", required=True, ondelete="restrict")
    event_uid = fields.Char(string="Event ID", required=True, help="Chosen by the sender.")
    event_type = fields.Selection(EVENT_TYPES, required=True)
    device_time = fields.Datetime(required=True)
    date_received = fields.Datetime(required=True, default=fields.Datetime.now)
    key_code = fields.Integer()
    employee_number = fields.Char()
    employee_id = fields.Many2one("hr.employee")
    business_type_id = fields.Many2one("service.evaluation.business.type")
    customer_phone = fields.Char(help="Left by the customer at a kiosk, in E.164 form.")
    session_id = fields.Many2one("service.evaluation.session", index="btree_not_null")
    outcome = fields.Selection(OUTCOMES)
    company_id = fields.Many2one("res.company", required=True)

    _device_uid_uniq = models.UniqueIndex(
        "(device_id, event_uid)", "This event was already received from this device."
    )
    _device_time_idx = models.Index("(device_id, device_time, id)")

    # ------------------------------------------------------------ ingest
    @api.model
    def _ingest(self, raw_events):
        """Store a batch of device events and rebuild the sessions they touch.

        Returns {"results": [one reply per event, in order], "devices": {serial: reply}}.
        A bad event gets {"status": "error", "code", "message"}; the others are stored
        ("stored") or recognised as already received ("duplicate"). Runs as the device
        user: record rules limit it to the devices of its own API key.
        """
        company = self.env.company
        now = fields.Datetime.now()
        limits = {
            "now": now,
            "clock_skew": timedelta(seconds=company.service_clock_skew),
            "max_age": timedelta(days=company.service_max_event_age_days),
        }
        results = [None] * len(raw_events)
        parsed = {}
        for index, raw in enumerate(raw_events):
            try:
                parsed[index] = parse_event(raw, **limits)
            except EventError as error:
                results[index] = _error(error)

        context = _IngestContext(self.env, {event.serial for event in parsed.values()})
        rows, heartbeats = [], {}
        for index, event in parsed.items():
            try:
                device = context.device(event.serial)
                row = context.validate(device, event)
            except EventError as error:
                results[index] = _error(error)
                continue
            if event.event_type == "heartbeat":
                heartbeats[device] = event
                results[index] = {"id": event.uid, "status": "ok"}
            else:
                rows.append((index, device, event, row))
        context.touch_devices(heartbeats, [(device, event) for _i, device, event, _r in rows], now)

        # The same event twice in one batch: the first is the one, the rest duplicates.
        first_rows, seen = [], set()
        for row in rows:
            if (row[1].id, row[2].uid) not in seen:
                seen.add((row[1].id, row[2].uid))
                first_rows.append(row)
        stored = self._insert_new(first_rows, now)
        touched = {}
        for index, device, event, _row in rows:
            is_new = (device.id, event.uid) in stored
            stored.discard((device.id, event.uid))
            results[index] = {"id": event.uid, "status": "stored" if is_new else "duplicate"}
            if is_new:
                touched.setdefault(device, []).append(event)

        newly_negative = self.env["service.evaluation.session"]
        prompts = {}
        for device, events in touched.items():
            newly_negative |= self._replay_device(device, min(e.device_time for e in events))
            latest = max(events, key=lambda e: e.device_time)
            prompts[device] = latest.event_type
        newly_negative._alert_negative()
        if touched:
            # Counters kanbans of service users reload on this.
            self.env.ref("service_base.service_base_group_user").sudo()._bus_send(
                "service_evaluation/counter_update",
                {"counter_ids": [device.counter_id.id for device in touched]},
            )
        return {
            "results": results,
            "devices": {
                device.serial_number: context.device_reply(device, prompts.get(device))
                for device in context.devices_seen
            },
        }

    @api.model
    def _insert_new(self, rows, now):
        """INSERT ... ON CONFLICT DO NOTHING: returns {(device_id, uid)} actually stored.

        The unique index decides, not a prior search, so concurrent resends of the same
        event (two proxy threads, a retry racing its original) still store it once.
        """
        if not rows:
            return set()
        values = [
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                device.id,
                event.uid,
                event.event_type,
                event.device_time,
                now,
                event.key_code,
                event.employee_number,
                row.get("employee_id"),
                row.get("business_type_id"),
                row.get("customer_phone"),
                device.company_id.id,
            )
            for _index, device, event, row in rows
        ]
        self.env.cr.execute(
            SQL(
                """INSERT INTO service_evaluation_event
                       (device_id, event_uid, event_type, device_time, date_received, key_code,
                        employee_number, employee_id, business_type_id, customer_phone,
                        company_id)
                   VALUES %s
                   ON CONFLICT (device_id, event_uid) DO NOTHING
                   RETURNING device_id, event_uid""",
                SQL(", ").join(values),
            )
        )
        return set(self.env.cr.fetchall())

    def _replay_device(self, device, since):
        """Rebuild `device`'s sessions and shifts from the session `since` falls into.

        Returns the sessions that became negative, for alerting.
        """
        Session = self.env["service.evaluation.session"]
        anchor = Session.search(
            [("device_id", "=", device.id), ("date_start", "<=", since)],
            order="date_start desc, id desc",
            limit=1,
        )
        start_from = min(anchor.date_start, since) if anchor else since
        events = self.search(
            [("device_id", "=", device.id), ("device_time", ">=", start_from)],
            order="device_time, id",
        )
        previous_shift_event = self.search(
            [
                ("device_id", "=", device.id),
                ("device_time", "<", start_from),
                ("event_type", "in", ("login", "logout")),
            ],
            order="device_time desc, id desc",
            limit=1,
        )
        on_duty = (
            previous_shift_event.employee_id.id
            if previous_shift_event.event_type == "login"
            else None
        )
        company = device.company_id
        result = session_replay.replay(
            [
                session_replay.ReplayEvent(
                    key=event.id,
                    event_type=event.event_type,
                    device_time=event.device_time,
                    key_code=event.key_code or None,
                    employee_id=event.employee_id.id or None,
                )
                for event in events
            ],
            rating_window=company.service_rating_window,
            anti_repeat=company.service_anti_repeat,
            now=fields.Datetime.now(),
            employee_id=on_duty,
        )
        events_by_id = {event.id: event for event in events}
        sessions = self._apply_sessions(device, result, events_by_id)
        self._apply_outcomes(result, sessions, events_by_id)
        self._apply_shifts(device, previous_shift_event, events)
        return sessions.get("__newly_negative__", Session)

    def _apply_sessions(self, device, result, events_by_id):
        Session = self.env["service.evaluation.session"]
        existing = {
            session.start_event_id.id: session
            for session in Session.search(
                [("start_event_id", "in", [spec.start_key for spec in result.sessions])]
            )
        }
        options = _IngestContext.options_for(self.env, device)
        to_create, newly_negative = [], Session
        sessions = {}
        for spec in result.sessions:
            vals = _session_vals(device, spec, options, events_by_id)
            session = existing.get(spec.start_key)
            if session:
                changed = {
                    name: value for name, value in vals.items() if _differs(session[name], value)
                }
                if changed:
                    if changed.get("is_negative") and not session.is_negative:
                        newly_negative |= session
                    session.write(changed)
                sessions[spec.start_key] = session
            else:
                to_create.append(vals)
        created = Session.with_context(mail_create_nolog=True, tracking_disable=True).create(
            to_create
        )
        for session in created:
            sessions[session.start_event_id.id] = session
        newly_negative |= created.filtered("is_negative")
        sessions["__newly_negative__"] = newly_negative
        return sessions

    def _apply_outcomes(self, result, sessions, events_by_id):
        changes = []
        for key, (outcome, start_key) in result.outcomes.items():
            event = events_by_id[key]
            session_id = sessions[start_key].id if start_key else None
            if event.outcome != outcome or event.session_id.id != session_id:
                changes.append(SQL("(%s::int, %s::varchar, %s::int)", key, outcome, session_id))
        if changes:
            self.env.cr.execute(
                SQL(
                    """UPDATE service_evaluation_event AS e
                          SET outcome = v.outcome, session_id = v.session_id
                         FROM (VALUES %s) AS v(id, outcome, session_id)
                        WHERE e.id = v.id""",
                    SQL(", ").join(changes),
                )
            )
            self.invalidate_model(["outcome", "session_id"])

    def _apply_shifts(self, device, previous_shift_event, events):
        """A LOGIN opens a shift that the next LOGIN or LOGOUT of the device ends."""
        if not device.counter_id:
            return
        Shift = self.env["service.evaluation.shift"]
        shift_events = previous_shift_event | events.filtered(
            lambda event: event.event_type in ("login", "logout")
        )
        logins = shift_events.filtered(lambda event: event.event_type == "login")
        if not logins:
            return
        existing = {
            shift.login_event_id.id: shift
            for shift in Shift.search([("login_event_id", "in", logins.ids)])
        }
        ordered = list(shift_events)
        to_create = []
        for position, event in enumerate(ordered):
            if event.event_type != "login" or not event.employee_id:
                continue
            following = ordered[position + 1] if position + 1 < len(ordered) else None
            date_end = following.device_time if following else False
            shift = existing.get(event.id)
            if shift:
                if shift.date_end != date_end:
                    shift.date_end = date_end
            else:
                to_create.append(
                    {
                        "employee_id": event.employee_id.id,
                        "counter_id": device.counter_id.id,
                        "date_start": event.device_time,
                        "date_end": date_end,
                        "source": "device",
                        "login_event_id": event.id,
                    }
                )
        if to_create:
            Shift.create(to_create)


def _error(error):
    return {"status": "error", "code": error.code, "message": error.message}


def _differs(current, value):
    if isinstance(current, models.BaseModel):
        return current.id != (value or False)
    return (current or False) != (value or False)


def _session_vals(device, spec, options, events_by_id):
    option = options.get(spec.key_code) if spec.key_code else None
    start_event = events_by_id[spec.start_key]
    counter = device.counter_id
    vals = {}
    # A phone left at a kiosk with the rating; never cleared, staff may have set one.
    if spec.rate_key and events_by_id[spec.rate_key].customer_phone:
        vals["customer_phone"] = events_by_id[spec.rate_key].customer_phone
    return vals | {
        "counter_id": counter.id,
        "outlet_id": counter.outlet_id.id,
        "company_id": device.company_id.id,
        "device_id": device.id,
        "source": device.source,
        "start_event_id": spec.start_key,
        "employee_id": spec.employee_id or False,
        "business_type_id": start_event.business_type_id.id
        or (counter.business_type_ids[:1].id or False),
        "state": spec.state,
        "date_start": spec.date_start,
        "date_end": spec.date_end or False,
        "date_rated": spec.date_rated or False,
        "duration": int((spec.date_end - spec.date_start).total_seconds()) if spec.date_end else 0,
        "reached_prompt": bool(spec.date_end),
        "option_id": option.id if option else False,
        "score": option.score if option else 0.0,
        "is_rated": bool(option),
        "is_satisfied": bool(option and option.is_satisfied),
        "is_negative": bool(option and option.is_negative),
    }


class _IngestContext:
    """Per-batch caches and checks: devices, scales and employees, looked up once."""

    def __init__(self, env, serials):
        self.env = env
        Device = env["service.evaluation.device"]
        self.devices = {
            device.serial_number: device
            for device in Device.search([("serial_number", "in", list(serials))])
        }
        self.devices_seen = Device
        self._options = {}
        self._employees = {}

    def device(self, serial):
        device = self.devices.get(serial)
        if device:
            self.devices_seen |= device
            return device
        # Say why, without revealing anything about devices of other keys.
        if (
            self.env["service.evaluation.device"]
            .sudo()
            .search_count([("serial_number", "=", serial)])
        ):
            raise EventError("forbidden_device", f"device {serial} does not belong to this API key")
        raise EventError("unknown_device", f"device {serial} is not registered")

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
        if event.event_type == "rate" and event.key_code not in self.options_for(
            self.env, device, self._options
        ):
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

    @staticmethod
    def options_for(env, device, cache=None):
        """{key_code: option} of the scale that applies at the device's outlet."""
        cache = {} if cache is None else cache
        outlet = device.counter_id.outlet_id
        if outlet.id not in cache:
            scale = env["service.evaluation.scale"]._get_for_outlet(outlet)
            cache[outlet.id] = {option.key_code: option for option in scale.option_ids}
        return cache[outlet.id]

    def touch_devices(self, heartbeats, events, now):
        """last_seen, firmware and key count, written once per device per batch."""
        seen = {}
        for device, event in [*heartbeats.items(), *events]:
            seen.setdefault(device, {"last_seen": now})
            if event.firmware:
                seen[device]["firmware_version"] = event.firmware
            if event.key_count:
                seen[device]["key_count"] = event.key_count
        # The device user may not edit its devices (it could rebind a counter): these
        # three reported facts are written through sudo, and nothing else.
        for device, vals in seen.items():
            device.sudo().write(vals)

    def device_reply(self, device, last_event_type):
        """What the device shows and says: the teller on duty, and a voice prompt."""
        shift = self.env["service.evaluation.shift"].search(
            [("counter_id", "=", device.counter_id.id), ("date_end", "=", False)],
            order="date_start desc",
            limit=1,
        )
        employee = shift.employee_id
        return {
            "display": {
                "teller_name": employee.name or "",
                "employee_number": employee.service_employee_number or "",
                "star_level": employee.service_star_level or 0,
            },
            "prompt": PROMPTS.get(last_event_type, "none"),
        }


# Voice prompt for the device after its latest event of a batch.
PROMPTS = {"start": "greeting", "end": "please_rate", "rate": "thank_you", "logout": "goodbye"}

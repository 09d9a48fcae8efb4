from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.event_parsing import EventError, parse_event
from .event_batch import IngestContext, lock_devices, replay_devices

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
    # The replay asks "last START before t" and "last LOGIN/LOGOUT before t" per device:
    # without these, the second scans every press since the teller's login.
    _device_start_idx = models.Index("(device_id, device_time) WHERE event_type = 'start'")
    _device_shift_idx = models.Index(
        "(device_id, device_time) WHERE event_type IN ('login', 'logout')"
    )

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

        context = IngestContext(self.env, {event.serial for event in parsed.values()})
        rows, reporting = [], []
        for index, event in parsed.items():
            try:
                device = context.device(event.serial)
                row = context.validate(device, event)
            except EventError as error:
                results[index] = _error(error)
                continue
            reporting.append((device, event))
            if event.event_type == "heartbeat":
                results[index] = {"id": event.uid, "status": "ok"}
            else:
                rows.append((index, device, event, row))
        context.touch_devices(reporting, now)

        # The same event twice in one batch: the first is the one, the rest duplicates.
        first_rows, seen = [], set()
        for row in rows:
            if (row[1].id, row[2].uid) not in seen:
                seen.add((row[1].id, row[2].uid))
                first_rows.append(row)
        if first_rows:
            # A batch spanning many keypads makes the planner's estimates large enough
            # to JIT-compile the replay queries: ~80 ms of compiling for ~1 ms of work.
            self.env.cr.execute(SQL("SET LOCAL jit = off"))
            lock_devices(self.env, {row[1].id for row in first_rows})
        stored = self._insert_new(first_rows, now)
        earliest, prompts = {}, {}
        for index, device, event, _row in rows:
            is_new = (device.id, event.uid) in stored
            stored.discard((device.id, event.uid))
            results[index] = {"id": event.uid, "status": "stored" if is_new else "duplicate"}
            if is_new:
                if device not in earliest or event.device_time < earliest[device]:
                    earliest[device] = event.device_time
                latest = prompts.get(device)
                if latest is None or event.device_time >= latest[0]:
                    prompts[device] = (event.device_time, event.event_type)

        if earliest:
            replay_devices(self.env, context, earliest)._alert_negative()
            # Counters kanbans of service users reload on this.
            self.env.ref("service_base.service_base_group_user").sudo()._bus_send(
                "service_evaluation/counter_update",
                {"counter_ids": [device.counter_id.id for device in earliest]},
            )
        return {
            "results": results,
            "devices": context.device_replies(
                {device: event_type for device, (_t, event_type) in prompts.items()}
            ),
        }

    @api.model
    def _insert_new(self, rows, now):
        """INSERT ... ON CONFLICT DO NOTHING: returns {(device_id, uid)} actually stored.

        The unique index decides, not a prior search, so concurrent resends of the same
        event (two proxy threads, a retry racing its original) still store it once.
        """
        if not rows:
            return set()
        # One SQL string with flat parameters: no SQL object per row.
        params = []
        for _index, device, event, row in rows:
            params += [
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
            ]
        values = SQL(
            ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows)), *params
        )
        self.env.cr.execute(
            SQL(
                """INSERT INTO service_evaluation_event
                       (device_id, event_uid, event_type, device_time, date_received, key_code,
                        employee_number, employee_id, business_type_id, customer_phone,
                        company_id)
                   VALUES %s
                   ON CONFLICT (device_id, event_uid) DO NOTHING
                   RETURNING device_id, event_uid""",
                values,
            )
        )
        return set(self.env.cr.fetchall())


def _error(error):
    return {"status": "error", "code": error.code, "message": error.message}

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.event_parsing import EventError, parse_event, usable_id
from ..tools.session_replay import EVENT_TYPES, OUTCOMES, SESSION_OUTCOMES
from .event_batch import (
    IngestContext,
    NewEvent,
    notify_counters,
    read_replay_state,
    replay_devices,
    write_replay,
    write_shifts,
)


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
    # Derived, not stored: the session is the one of the device's last START at or
    # before the event. Storing it cost an index entry and a foreign key check per
    # event, on the suite's biggest table.
    session_id = fields.Many2one("service.evaluation.session", compute="_compute_session_id")
    outcome = fields.Selection(OUTCOMES)
    # The keypad's company: not stored, so inserting an event checks one foreign key
    # (its keypad) instead of two; the multi-company rule follows the keypad.
    company_id = fields.Many2one(related="device_id.company_id")

    _device_uid_uniq = models.UniqueIndex(
        "(device_id, event_uid)", "This event was already received from this device."
    )
    # The replay reads a device's events in device-time order ...
    _device_time_idx = models.Index("(device_id, device_time, id)")
    # ... and starts at the last START before a time: one step back in this index,
    # whatever the device's history. Without it, the planner may filter the device's
    # whole history for STARTs (it cannot tell the time bound is recent).
    _device_start_time_idx = models.Index("(device_id, device_time, id) WHERE event_type = 'start'")
    # ... and the last LOGIN/LOGOUT before a time: without this index, that scans every
    # press since the teller's login. It holds only logins and logouts, in the replay's
    # (time, id) order, so that lookup is one step too (Odoo rebuilds an index whose
    # definition changed).
    _device_shift_idx = models.Index(
        "(device_id, device_time, id) WHERE event_type IN ('login', 'logout')"
    )

    def _compute_session_id(self):
        sessions = {}
        ids = [event_id for event_id in self.ids if event_id]
        if ids:
            self.env.cr.execute(
                SQL(
                    """SELECT e.id, s.id
                         FROM service_evaluation_event e
                         CROSS JOIN LATERAL (
                             SELECT st.id FROM service_evaluation_event st
                              WHERE st.device_id = e.device_id AND st.event_type = 'start'
                                AND (st.device_time, st.id) <= (e.device_time, e.id)
                           ORDER BY st.device_time DESC, st.id DESC LIMIT 1
                         ) AS st
                         JOIN service_evaluation_session s ON s.start_event_id = st.id
                        WHERE e.id = ANY(%s) AND e.outcome IN %s""",
                    ids,
                    SESSION_OUTCOMES,
                )
            )
            sessions = dict(self.env.cr.fetchall())
        for event in self:
            event.session_id = sessions.get(event.id, False)

    # ------------------------------------------------------------ ingest
    @api.model
    def _ingest(self, raw_events, live=True):
        """Store a batch of device events and rebuild the sessions they touch.

        Returns {"results": [one reply per event, in order], "devices": {serial: reply}}.
        Every result has the same shape: {"id", "status"}, plus "code" and "message"
        when the status is "error". "id" is the event's id, or None when it has no
        usable one. The good events are stored ("stored") or recognised as already
        received ("duplicate"); a heartbeat is "ok". Runs as the device
        user: record rules limit it to the devices of its own API key. The statements
        are described in models/event_batch.py.

        `live=False` loads history (the demo generator): the events are stored and
        replayed the same way, but nobody is alerted and the counters' screens are not
        told. The device route always ingests live.
        """
        self.env.flush_all()  # the raw SQL below must see pending ORM writes
        now = fields.Datetime.now()
        results = [None] * len(raw_events)
        parsed = {}
        for index, raw in enumerate(raw_events):
            try:
                parsed[index] = parse_event(raw)
            except EventError as error:
                results[index] = _error(usable_id(raw), error)

        context = IngestContext(self.env, now)
        candidates, reporting, seen = [], [], set()
        for index, event in parsed.items():
            try:
                device = context.device(event.serial)
                row = context.validate(device, event)
            except EventError as error:
                results[index] = _error(event.uid, error)
                continue
            reporting.append((device, event))
            if event.event_type == "heartbeat":
                results[index] = {"id": event.uid, "status": "ok"}
            elif (device.id, event.uid) in seen:
                # The same event twice in one batch: the first is the one.
                results[index] = {"id": event.uid, "status": "duplicate"}
            else:
                seen.add((device.id, event.uid))
                candidates.append((index, device, event, row))
        if not reporting:
            return {"results": results, "devices": {}}
        context.report_firmware(reporting)
        if not candidates:
            context.touch_devices()
            return {"results": results, "devices": context.device_replies({})}

        # Each keypad replays from its earliest event in the batch (see read_replay_state).
        earliest = {}
        for _index, device, event, _row in candidates:
            if device.id not in earliest or event.device_time < earliest[device.id].device_time:
                earliest[device.id] = event
        stored, shift_events, duplicates, ids = read_replay_state(
            self.env,
            context.devices_seen.values(),
            now,
            [
                (device_id, e.device_time, e.event_type == "start")
                for device_id, e in earliest.items()
            ],
            [(c[1].id, c[2].uid) for c in candidates],
            len(candidates),
        )
        new_events, prompts = [], {}
        for (index, device, event, row), event_id in zip(candidates, ids, strict=True):
            if (device.id, event.uid) in duplicates:
                results[index] = {"id": event.uid, "status": "duplicate"}
                continue
            results[index] = {"id": event.uid, "status": "stored"}
            new_events.append(NewEvent(event_id, device, event, row))
            latest = prompts.get(device.id)
            if latest is None or event.device_time >= latest[0]:
                prompts[device.id] = (event.device_time, event.event_type)
        if new_events:
            replayed = replay_devices(self.env, new_events, stored, shift_events, now)
            negative = write_replay(self.env, context, new_events, stored, replayed, now)
            devices = {new.device.id: new.device for new in new_events}
            write_shifts(self.env, devices, stored, new_events, shift_events)
            if live:
                self.env["service.evaluation.session"].browse(negative)._alert_negative()
                notify_counters(self.env, {device.counter_id for device in devices.values()})
        return {
            "results": results,
            "devices": context.device_replies(
                {device_id: event_type for device_id, (_t, event_type) in prompts.items()}
            ),
        }


def _error(uid, error):
    """The result of a refused event: the shape of the others, with its code and message."""
    return {"id": uid, "status": "error", "code": error.code, "message": error.message}

from datetime import timedelta

from markupsafe import Markup
from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_datetime

ALERT_STATES = [
    ("open", "Open"),
    ("called_back", "Called Back"),
    ("closed", "Closed"),
]
RECIPIENT_SOURCES = [
    ("outlet_supervisor", "Supervisor of the Outlet"),
    ("unit_supervisor", "Supervisor Up the Tree"),
    ("unit_manager", "Manager Up the Tree"),
    ("company", "Company Extra Recipient"),
    ("none", "Nobody Found"),
]
# Odoo's sms.sms states (process, pending = sent to the provider, sent = delivered, ...)
# plus "bounce" (a delivery report's bounce) and the reasons no SMS was created.
SMS_STATES = [
    ("off", "Not Sent (SMS Alerts Off)"),
    ("no_number", "No Phone Number"),
    ("invalid_number", "Invalid Phone Number"),
    ("outgoing", "In Queue"),
    ("process", "Processing"),
    ("pending", "Sent"),
    ("sent", "Delivered"),
    ("bounce", "Bounced"),
    ("error", "Error"),
    ("canceled", "Cancelled"),
]
SMS_FAILED_STATES = ("error", "bounce", "canceled")
SMS_DONE_STATES = ("pending", "sent", "error", "bounce")
# A status report never moves an SMS backwards, e.g. a late "sent to provider" after
# "delivered" (the same rule as sms.tracker._update_sms_notifications).
SMS_STATES_TO_IGNORE = {
    "canceled": {"canceled", "process", "pending", "sent"},
    "outgoing": {"outgoing", "process", "pending", "sent"},
    "process": {"process", "pending", "sent"},
    "pending": {"pending", "sent"},
    "bounce": {"bounce", "sent"},
    "sent": {"sent"},
    "error": {"error"},
}
DELIVERY_PROBLEMS = [
    ("no_recipient", "No Recipient"),
    ("no_phone", "No Valid Phone"),
    ("sms_failed", "SMS Failed"),
]
NOTE_MAX_LINKS = 10  # links listed in a call-back activity's note
GATEWAY_SAMPLE = 20  # latest alert SMS the settings page looks at
GATEWAY_DAYS = 7
QUEUE_STUCK = timedelta(hours=1)


class ServiceEvaluationAlert(models.Model):
    """One dissatisfied customer, told to one recipient: the proof that someone was
    alerted (or, with no recipient, that nobody could be).

    Created by the device ingest through sudo (`_create_for_sessions`); nobody creates,
    writes or deletes alerts through the ORM. Odoo's SMS app sends the SMS, and its
    status reports reach the alert through an sms.tracker (the sms.sms row itself is
    deleted once sent). The state changes only through `action_mark_called_back` and
    `action_close`.
    """

    _name = "service.evaluation.alert"
    _description = "Dissatisfied Customer Alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    # Recipients read their alerts and no one may write them: notes need read only.
    _mail_post_access = "read"

    session_id = fields.Many2one(
        "service.evaluation.session", required=True, readonly=True, ondelete="cascade", index=True
    )
    outlet_id = fields.Many2one("service.org.unit", required=True, readonly=True, index=True)
    counter_id = fields.Many2one(related="session_id.counter_id")
    employee_id = fields.Many2one(related="session_id.employee_id", string="Teller")
    option_id = fields.Many2one(related="session_id.option_id", string="Rating")
    customer_phone = fields.Char(related="session_id.customer_phone")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    recipient_id = fields.Many2one("res.users", readonly=True, index="btree_not_null")
    recipient_source = fields.Selection(
        RECIPIENT_SOURCES, string="Found As", required=True, readonly=True
    )
    recipient_unit_id = fields.Many2one(
        "service.org.unit",
        string="Found At",
        readonly=True,
        help="The unit whose supervisor or manager the recipient is.",
    )
    body = fields.Text(string="Message", readonly=True, help="In the recipient's language.")
    sms_number = fields.Char(string="SMS Number", readonly=True)
    sms_id = fields.Many2one(
        "sms.sms",
        string="SMS",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
        groups="base.group_system",
        help="Deleted by Odoo once sent; the status below stays.",
    )
    sms_state = fields.Selection(SMS_STATES, string="SMS Status", readonly=True, tracking=True)
    sms_failure_type = fields.Selection(
        selection="_selection_sms_failure_type", string="SMS Failure", readonly=True
    )
    sms_failure_reason = fields.Text(string="SMS Failure Reason", readonly=True)
    popup_shown = fields.Boolean(
        string="Pop-up Shown",
        readonly=True,
        help="A pop-up was shown for this alert. Pop-ups are limited to one per recipient "
        "per interval (company setting); the next one counts the alerts in between.",
    )
    popup_date = fields.Datetime(string="Pop-up At", readonly=True)
    state = fields.Selection(
        ALERT_STATES, required=True, readonly=True, default="open", tracking=True, index=True
    )
    done_user_id = fields.Many2one("res.users", string="Handled By", readonly=True)
    date_done = fields.Datetime(string="Handled At", readonly=True)
    delivery_problem = fields.Selection(
        DELIVERY_PROBLEMS, compute="_compute_delivery_problem", store=True, index="btree_not_null"
    )

    _session_recipient_uniq = models.UniqueIndex(
        "(session_id, COALESCE(recipient_id, 0))", "One alert per session and recipient."
    )

    # ------------------------------------------------------------ computes
    @api.model
    def _selection_sms_failure_type(self):
        """Odoo's SMS failure types (sending and delivery reports), labels translated."""
        values = {}
        for model, field in (("sms.sms", "failure_type"), ("mail.notification", "failure_type")):
            for value, label in self.env[model]._fields[field]._description_selection(self.env):
                if value == "unknown" or value.startswith("sms_"):
                    values.setdefault(value, label)
        return list(values.items())

    @api.depends("recipient_id", "sms_state")
    def _compute_delivery_problem(self):
        for alert in self:
            if not alert.recipient_id:
                alert.delivery_problem = "no_recipient"
            elif alert.sms_state in ("no_number", "invalid_number"):
                alert.delivery_problem = "no_phone"
            elif alert.sms_state in SMS_FAILED_STATES:
                alert.delivery_problem = "sms_failed"
            else:
                alert.delivery_problem = False

    @api.depends("session_id", "recipient_id")
    def _compute_display_name(self):
        for alert in self:
            session = alert.sudo().session_id
            recipient = alert.sudo().recipient_id.name or self.env._("nobody")
            where = f"{session.outlet_id.name or ''} {session.display_name or ''}".strip()
            alert.display_name = f"{where} → {recipient}"

    # ------------------------------------------------------------ actions
    def action_mark_called_back(self):
        """The customer was called back: ends the alerts of every recipient of the session."""
        return self._set_handled("called_back")

    def action_close(self):
        """Nothing (more) to do for this customer, e.g. not reachable: ends the alerts of
        every recipient of the session."""
        return self._set_handled("closed")

    def _set_handled(self, state):
        # Who may: the recipients, the supervisors and managers of the outlet's tree and
        # service administrators, i.e. whoever the record rules let read the alert.
        self.check_access("read")
        if not self.env.user._is_internal():
            raise AccessError(self.env._("Only internal users may handle alerts."))
        alerts = self.sudo().search(
            [("session_id", "in", self.sudo().session_id.ids), ("state", "=", "open")]
        )
        alerts.write(
            {"state": state, "done_user_id": self.env.uid, "date_done": fields.Datetime.now()}
        )
        alerts._sync_callback_activities()
        return True

    # ------------------------------------------------------------ creation (ingest)
    @api.model
    def _find_recipients(self, session):
        """[(user, source, unit)] to alert for a session: the outlet's supervisors, else
        those of the nearest unit up the tree that has some, else the managers of the
        nearest unit (from the outlet up) that has some; plus the company's extra
        recipients. Empty when nobody is found."""
        session = session.sudo()
        chain = []
        unit = session.outlet_id
        while unit and unit not in chain:
            chain.append(unit)
            unit = unit.parent_id
        found = []
        for unit in chain:
            if unit.supervisor_ids:
                source = "outlet_supervisor" if unit == session.outlet_id else "unit_supervisor"
                found = [(user, source, unit) for user in unit.supervisor_ids]
                break
        else:
            for unit in chain:
                if unit.manager_ids:
                    found = [(user, "unit_manager", unit) for user in unit.manager_ids]
                    break
        seen = {user for user, _source, _unit in found}
        for user in session.company_id.service_alert_user_ids:
            if user not in seen:
                found.append((user, "company", self.env["service.org.unit"]))
        return found

    @api.model
    def _create_for_sessions(self, sessions):
        """Alert everyone `_find_recipients` finds about each negative session (once per
        session and recipient); a session nobody can be found for gets an alert without
        recipient, listed as a delivery problem. Called by the ingest as the device
        user: everything runs through sudo, scoped to these sessions."""
        sessions = sessions.sudo().filtered("is_negative")
        if not sessions:
            return self.browse()
        Alert = self.sudo()
        alerted = Alert._read_group([("session_id", "in", sessions.ids)], ["session_id"])
        done = {session.id for (session,) in alerted}
        vals_list = []
        for session in sessions:
            if session.id in done:
                continue
            recipients = self._find_recipients(session) or [(None, "none", None)]
            for user, source, unit in recipients:
                lang = user.lang if user else session.company_id.partner_id.lang
                vals_list.append(
                    {
                        "session_id": session.id,
                        "outlet_id": session.outlet_id.id,
                        "company_id": session.company_id.id,
                        "recipient_id": user.id if user else False,
                        "recipient_source": source,
                        "recipient_unit_id": unit.id if unit else False,
                        "body": self._render_body(session, lang),
                    }
                )
        if not vals_list:
            return self.browse()
        alerts = Alert.with_context(tracking_disable=True).create(vals_list).with_env(Alert.env)
        alerts._send_sms()
        alerts._notify_popups()
        alerts._sync_callback_activities()
        return alerts

    @api.model
    def _render_body(self, session, lang):
        session = session.sudo().with_context(lang=lang or None)
        return session.env._(
            "Dissatisfied customer at %(outlet)s, %(counter)s (teller %(teller)s): %(rating)s",
            outlet=session.outlet_id.name,
            counter=session.counter_id.name,
            teller=session.employee_id.name or "-",
            rating=session.option_id.name,
        )

    def _send_sms(self):
        """One sms.sms per alert through Odoo's SMS app (its queue cron sends it), with a
        tracker so the result reaches the alert even after the SMS row is gone."""
        to_send = []
        for alert in self.filtered("recipient_id"):
            recipient = alert.recipient_id
            if not alert.company_id.service_alert_sms:
                alert.sms_state = "off"
                continue
            phone = recipient.partner_id.phone
            if not phone:
                alert.sms_state = "no_number"
                continue
            session = alert.session_id.with_context(lang=recipient.lang or None)
            try:
                number = session._normalise_phone(phone)
            except ValidationError as error:
                alert.write({"sms_state": "invalid_number", "sms_failure_reason": error.args[0]})
                continue
            to_send.append((alert, number))
        if not to_send:
            return
        sms_vals = [
            {"number": number, "body": alert.body, "partner_id": alert.recipient_id.partner_id.id}
            for alert, number in to_send
        ]
        sms = self.env["sms.sms"].sudo().create(sms_vals)
        self.env["sms.tracker"].sudo().create(
            [
                {"sms_uuid": record.uuid, "service_alert_id": alert.id}
                for record, (alert, _number) in zip(sms, to_send, strict=True)
            ]
        )
        for record, (alert, number) in zip(sms, to_send, strict=True):
            alert.write({"sms_id": record.id, "sms_number": number, "sms_state": "outgoing"})

    def _update_sms_state(self, sms_state, failure_type=False, failure_reason=False):
        """A status report of the alert's SMS (from sms.tracker)."""
        alerts = self.sudo().filtered(
            lambda alert: alert.sms_state not in SMS_STATES_TO_IGNORE.get(sms_state, ())
        )
        if not alerts:
            return
        if sms_state not in SMS_FAILED_STATES:
            failure_type = failure_reason = False
        elif failure_type and failure_type not in dict(self._selection_sms_failure_type()):
            failure_reason = failure_reason or failure_type
            failure_type = "unknown"
        alerts.write(
            {
                "sms_state": sms_state,
                "sms_failure_type": failure_type or False,
                "sms_failure_reason": failure_reason or False,
            }
        )

    def _notify_popups(self):
        """At most one pop-up per recipient per interval; the next one counts the
        dissatisfied customers since the last one."""
        alerts = self.filtered("recipient_id")
        if not alerts:
            return
        now = fields.Datetime.now()
        last_popup = dict(
            self.sudo()._read_group(
                [("recipient_id", "in", alerts.recipient_id.ids), ("popup_shown", "=", True)],
                ["recipient_id"],
                ["popup_date:max"],
            )
        )
        for user, user_alerts in alerts.grouped("recipient_id").items():
            latest = user_alerts.sorted(lambda alert: (alert.date, alert.id))[-1]
            interval = timedelta(minutes=max(latest.company_id.service_alert_popup_interval, 0))
            last = last_popup.get(user)
            if last and now - last < interval:
                continue
            # The open alerts no pop-up showed since the last one (this one included).
            domain = [
                ("recipient_id", "=", user.id),
                ("state", "=", "open"),
                ("popup_shown", "=", False),
            ]
            if last:
                domain.append(("date", ">=", last))
            count = max(self.sudo().search_count(domain), 1)
            env = self.with_context(lang=user.lang or None).env
            if count == 1:
                message = latest.body
            else:
                message = env._(
                    "%(count)s dissatisfied customers since your last alert. Latest: %(body)s",
                    count=count,
                    body=latest.body,
                )
            latest.write({"popup_shown": True, "popup_date": now})
            user.sudo()._bus_send(
                "simple_notification",
                {
                    "type": "danger",
                    "sticky": True,
                    "title": env._("Dissatisfied customer"),
                    "message": message,
                },
            )

    def _sync_callback_activities(self):
        """One open "call back" activity per recipient and outlet these alerts belong to:
        its summary and note list the open alerts; it is marked done once none is left.
        It sits on the oldest open alert of the group (moved when that one is handled)."""
        activity_type = self.env.ref("service_evaluation.mail_activity_type_negative_rating")
        Alert = self.sudo()
        Activity = self.env["mail.activity"].sudo()
        groups = {(alert.recipient_id, alert.outlet_id) for alert in Alert if alert.recipient_id}
        for user, outlet in groups:
            open_alerts = Alert.search(
                [
                    ("recipient_id", "=", user.id),
                    ("outlet_id", "=", outlet.id),
                    ("state", "=", "open"),
                ],
                order="date, id",
            )
            user_activities = Activity.search(
                [
                    ("res_model", "=", self._name),
                    ("activity_type_id", "=", activity_type.id),
                    ("user_id", "=", user.id),
                ]
            )
            anchors = Alert.browse(user_activities.mapped("res_id"))
            activities = Activity.browse(
                activity.id
                for activity, anchor in zip(user_activities, anchors, strict=True)
                if anchor.outlet_id == outlet
            )
            env = self.with_context(lang=user.lang or None).env
            if not open_alerts:
                if activities:
                    activities.with_env(env).sudo().action_feedback(
                        feedback=env._("Every dissatisfied customer was called back or closed.")
                    )
                continue
            values = {
                "res_id": open_alerts[0].id,
                "summary": open_alerts._callback_summary(env, outlet),
                "note": open_alerts._callback_note(env, outlet),
            }
            if activities:
                activities[1:].unlink()  # never more than one
                if activities[0].res_id == values["res_id"]:
                    del values["res_id"]
                activities[0].write(values)
            else:
                open_alerts[0].with_env(env).sudo().activity_schedule(
                    "service_evaluation.mail_activity_type_negative_rating",
                    user_id=user.id,
                    summary=values["summary"],
                    note=values["note"],
                )

    def _callback_summary(self, env, outlet):
        if len(self) == 1:
            return env._("Call back the dissatisfied customer")
        return env._(
            "Call back %(count)s dissatisfied customers at %(outlet)s",
            count=len(self),
            outlet=outlet.name,
        )

    def _callback_note(self, env, outlet):
        intro = env._(
            "%(count)s dissatisfied customers at %(outlet)s are waiting for a call back:",
            count=len(self),
            outlet=outlet.name,
        )
        items = Markup("").join(
            Markup("<li>%s</li>") % alert._get_html_link(title=alert.body)
            for alert in self[-NOTE_MAX_LINKS:]
        )
        note = Markup("<p>%s</p><ul>%s</ul>") % (intro, items)
        if len(self) > NOTE_MAX_LINKS:
            note += Markup("<p>%s</p>") % env._(
                "and %(count)s earlier ones.", count=len(self) - NOTE_MAX_LINKS
            )
        return note

    # ------------------------------------------------------------ SMS gateway health
    @api.model
    def _get_sms_gateway_warning(self, company):
        """A warning for the settings page when alert SMS do not go out, or False."""
        Alert = self.sudo()
        now = fields.Datetime.now()
        recent = Alert.search(
            [
                ("company_id", "=", company.id),
                ("date", ">=", now - timedelta(days=GATEWAY_DAYS)),
                ("sms_state", "in", SMS_DONE_STATES),
            ],
            order="date desc, id desc",
            limit=GATEWAY_SAMPLE,
        )
        if recent and all(alert.sms_state in SMS_FAILED_STATES for alert in recent):
            last = recent[0]
            failure = dict(self._selection_sms_failure_type()).get(last.sms_failure_type)
            reason = " ".join(filter(None, [failure, last.sms_failure_reason])) or self.env._(
                "unknown error"
            )
            return self.env._(
                "No SMS gateway works: the last %(count)s alert SMS all failed "
                "(latest on %(date)s: %(reason)s). Check the SMS account (IAP credits and "
                "registration) or the SMS provider.",
                count=len(recent),
                date=format_datetime(self.env, last.date, dt_format="short"),
                reason=reason,
            )
        stuck = Alert.search_count(
            [
                ("company_id", "=", company.id),
                ("sms_state", "in", ("outgoing", "process")),
                ("date", "<", now - QUEUE_STUCK),
            ]
        )
        if stuck:
            return self.env._(
                "%(count)s alert SMS have waited more than an hour to be sent: check that "
                'the scheduled action "SMS: SMS Queue Manager" runs.',
                count=stuck,
            )
        return False

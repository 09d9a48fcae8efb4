from datetime import timedelta

from markupsafe import Markup
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

SESSION_STATES = [
    ("serving", "Serving"),
    ("awaiting", "Awaiting Rating"),
    ("rated", "Rated"),
    ("unrated", "Unrated"),
    ("cancelled", "Cancelled"),
]


class ServiceEvaluationSession(models.Model):
    """One customer transaction at a counter, and the customer's rating of it.

    Device events create and update sessions (see service.evaluation.event and
    tools/session_replay.py); staff may attach a customer phone for a callback.
    The table is the suite's biggest, so it holds only what reports group by.
    """

    _name = "service.evaluation.session"
    _description = "Service Session"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_start desc, id desc"
    _mail_post_access = "read"
    # Device events write sessions, and they are the audit trail: no create/write
    # columns (two foreign keys checked on every insert, 16 bytes a row).
    _log_access = False

    counter_id = fields.Many2one("service.evaluation.counter", required=True, index=True)
    outlet_id = fields.Many2one("service.org.unit", required=True)  # see _outlet_date_idx
    employee_id = fields.Many2one("hr.employee", string="Teller", index="btree_not_null")
    business_type_id = fields.Many2one("service.evaluation.business.type", string="Business")
    device_id = fields.Many2one("service.evaluation.device", index="btree_not_null")
    source = fields.Selection([("keypad", "Keypad"), ("kiosk", "Kiosk"), ("web", "Web")])
    state = fields.Selection(SESSION_STATES, required=True, default="serving")
    date_start = fields.Datetime(string="Start", required=True)
    date_end = fields.Datetime(string="End")
    date_rated = fields.Datetime(string="Rated At")
    duration = fields.Integer(string="Duration (s)", aggregator="avg")
    option_id = fields.Many2one("service.evaluation.scale.option", string="Rating")
    score = fields.Float(aggregator="avg")
    is_rated = fields.Boolean(string="Rated")
    is_satisfied = fields.Boolean(string="Satisfied")
    is_negative = fields.Boolean(string="Negative")
    reached_prompt = fields.Boolean(
        string="Prompted",
        help="The teller pressed End, so the customer was asked to rate (prompt coverage).",
    )
    customer_phone = fields.Char(help="For a callback; stored in E.164 form.", tracking=True)
    start_event_id = fields.Many2one("service.evaluation.event", copy=False)
    company_id = fields.Many2one("res.company", required=True)

    _start_event_uniq = models.UniqueIndex(
        "(start_event_id) WHERE start_event_id IS NOT NULL", "One session per Start event."
    )
    # Reports and record rules filter by outlet and period. A company_id index would
    # not select anything (a few companies), and one on state would hold every row:
    # only the few open sessions are indexed, for the live counters and the cron.
    _outlet_date_idx = models.Index("(outlet_id, date_start)")
    _open_counter_idx = models.Index("(counter_id) WHERE state IN ('serving', 'awaiting')")

    # ------------------------------------------------------------ computes
    @api.depends("counter_id", "date_start")
    def _compute_display_name(self):
        for session in self:
            start = session.date_start and fields.Datetime.context_timestamp(
                session, session.date_start
            ).strftime("%Y-%m-%d %H:%M")
            session.display_name = f"{session.counter_id.name or ''} {start or ''}".strip()

    # ------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("customer_phone"):
                vals["customer_phone"] = self._normalise_phone(
                    vals["customer_phone"], vals.get("company_id")
                )
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("customer_phone"):
            for session in self:
                phone = session._normalise_phone(vals["customer_phone"])
                super(ServiceEvaluationSession, session).write({**vals, "customer_phone": phone})
            return True
        return super().write(vals)

    def action_view_events(self):
        """The device events of this session: from its START to the device's next one."""
        self.ensure_one()
        event_ids = []
        if self.start_event_id:
            self.env.cr.execute(
                SQL(
                    """SELECT e.id
                         FROM service_evaluation_event st
                    LEFT JOIN LATERAL (
                              SELECT n.device_time, n.id FROM service_evaluation_event n
                               WHERE n.device_id = st.device_id AND n.event_type = 'start'
                                 AND (n.device_time, n.id) > (st.device_time, st.id)
                            ORDER BY n.device_time, n.id LIMIT 1
                         ) AS next_start ON TRUE
                         JOIN service_evaluation_event e
                           ON e.device_id = st.device_id
                          AND (e.device_time, e.id) >= (st.device_time, st.id)
                          AND (next_start.id IS NULL
                               OR (e.device_time, e.id) < (next_start.device_time, next_start.id))
                        WHERE st.id = %s AND e.outcome IN %s""",
                    self.start_event_id.id,
                    self.env["service.evaluation.event"].SESSION_OUTCOMES,
                )
            )
            event_ids = [row[0] for row in self.env.cr.fetchall()]
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_event_action"
        )
        action.update(domain=[("id", "in", event_ids)], context={"create": False})
        return action

    # ------------------------------------------------------------ business
    def _normalise_phone(self, number, company_id=None):
        """E.164 form of `number`, read with the service phone country; raises if invalid."""
        company = (
            self.env["res.company"].browse(company_id) if company_id else self.company_id
        ) or self.env.company
        country = company._get_service_phone_country()
        formatted = self._phone_format(number=number, country=country, raise_exception=False)
        if not formatted or not formatted.startswith("+"):
            raise ValidationError(
                self.env._(
                    "%(number)s is not a valid phone number (country: %(country)s).",
                    number=number,
                    country=country.name or "-",
                )
            )
        return formatted

    def _get_alert_recipients(self):
        """The supervisors of the outlet, or of its nearest unit that has some, plus the
        company's extra recipients."""
        self.ensure_one()
        unit = self.outlet_id.sudo()
        while unit and not unit.supervisor_ids:
            unit = unit.parent_id
        return unit.supervisor_ids | self.company_id.sudo().service_alert_user_ids

    def _alert_negative(self):
        """Tell the outlet's supervisors at once: SMS, live notification, activity.

        Runs as the device user, who may not send SMS or read other users: the
        notification records are created through sudo, scoped to these sessions.
        """
        for session in self.filtered("is_negative"):
            supervisors = session._get_alert_recipients()
            if not supervisors:
                continue
            body = self.env._(
                "Dissatisfied customer at %(outlet)s, %(counter)s (teller %(teller)s): %(rating)s",
                outlet=session.outlet_id.sudo().name,
                counter=session.counter_id.name,
                teller=session.employee_id.sudo().name or "-",
                rating=session.option_id.name,
            )
            numbers = []
            for user in supervisors:
                phone = user.partner_id.phone
                if not phone:
                    continue
                try:
                    numbers.append(session._normalise_phone(phone))
                except ValidationError:
                    session.sudo()._message_log(
                        body=self.env._("No SMS to %(name)s: invalid phone number.", name=user.name)
                    )
            if numbers and session.company_id.service_alert_sms:
                self.env["sms.sms"].sudo().create(
                    [{"number": number, "body": body} for number in numbers]
                )
            session_sudo = session.sudo()
            session_sudo.activity_schedule(
                "service_evaluation.mail_activity_type_negative_rating",
                user_id=supervisors[0].id,
                summary=self.env._("Call back the dissatisfied customer"),
                note=Markup("<p>%s</p>") % body,
            )
            for user in supervisors:
                user.sudo()._bus_send(
                    "simple_notification",
                    {
                        "type": "danger",
                        "sticky": True,
                        "title": self.env._("Dissatisfied customer"),
                        "message": body,
                    },
                )

    @api.model
    def _cron_expire_awaiting(self):
        """Sessions whose rating window has passed become unrated (the kanban shows it)."""
        awaiting = self._read_group([("state", "=", "awaiting")], ["company_id"])
        for (company,) in awaiting:
            limit = fields.Datetime.now() - timedelta(seconds=company.service_rating_window)
            self.search(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "awaiting"),
                    ("date_end", "<", limit),
                ]
            ).write({"state": "unrated"})

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools.session_replay import SESSION_OUTCOMES, SESSION_STATES

# What supervisors and managers may change on a session (see action_set_callback).
STAFF_FIELDS = frozenset({"customer_phone", "staff_note"})


class ServiceEvaluationSession(models.Model):
    """One customer transaction at a counter, and the customer's rating of it.

    Device events create and update sessions (see service.evaluation.event and
    tools/session_replay.py): what a keypad recorded is a fact, written only by that
    ingest path (raw SQL), and no group may write, create or unlink sessions through
    the ORM or RPC. Staff change the few things that are theirs through named methods
    that check who calls, write only their fields and log the author in the chatter:
    a callback phone and a note (`action_set_callback`), and, for administrators, the
    voiding of a session that should never have counted (`action_void`).
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
    staff_note = fields.Text(string="Note", tracking=True)
    # Voided sessions (a test press, a broken keypad) stay for administrators and are
    # left out of every figure: rules hide them from everyone else, reports skip them.
    is_voided = fields.Boolean(string="Voided", readonly=True, tracking=True)
    void_reason = fields.Char(readonly=True, tracking=True)
    voided_by_id = fields.Many2one("res.users", readonly=True)
    date_voided = fields.Datetime(string="Voided On", readonly=True)
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
    @api.depends_context("tz")
    def _compute_display_name(self):
        for session in self:
            start = session.date_start and fields.Datetime.context_timestamp(
                session, session.date_start
            ).strftime("%Y-%m-%d %H:%M")
            session.display_name = f"{session.counter_id.name or ''} {start or ''}".strip()

    # ------------------------------------------------------------ CRUD
    # Only sudo reaches these (no group may create or write sessions): the phone is
    # kept in E.164 form whoever writes it.
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("customer_phone"):
                vals["customer_phone"] = self._normalise_phone(
                    vals["customer_phone"], vals.get("company_id")
                )
        return super().create(vals_list)

    def write(self, vals):
        # The staff's own fields, from the form or RPC, go through the checked method;
        # anything else needs sudo (no group may write sessions).
        if not self.env.su and vals and set(vals) <= STAFF_FIELDS:
            return self.action_set_callback(**vals)
        if vals.get("customer_phone"):
            for session in self:
                phone = session._normalise_phone(vals["customer_phone"])
                super(ServiceEvaluationSession, session).write({**vals, "customer_phone": phone})
            return True
        return super().write(vals)

    # ------------------------------------------------------------ actions
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
                    SESSION_OUTCOMES,
                )
            )
            event_ids = [row[0] for row in self.env.cr.fetchall()]
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_event_action"
        )
        action.update(domain=[("id", "in", event_ids)], context={"create": False})
        return action

    def action_set_callback(self, customer_phone=None, staff_note=None):
        """Attach or correct the customer's callback phone and the staff note.

        For the supervisors and managers of the session's outlet (and administrators):
        record rules alone would let any reader call it, so the scope is checked here,
        then only these two fields are written; tracking logs the author.
        """
        self._check_staff_scope()
        vals = {}
        if customer_phone is not None:
            vals["customer_phone"] = customer_phone or False  # normalised by write
        if staff_note is not None:
            vals["staff_note"] = staff_note or False
        if vals:
            self.sudo().write(vals)
        return True

    def action_void(self, reason):
        """Void sessions that should never have counted; administrators only.

        A voided session stays visible to administrators, is hidden from everyone
        else and left out of every figure and star level. The reason is mandatory and
        the voiding is logged with its author.
        """
        if not self.env.user.has_group("service_base.service_base_group_admin"):
            raise AccessError(self.env._("Only service administrators may void sessions."))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Give a reason to void a session."))
        self.check_access("read")
        to_void = self.filtered(lambda session: not session.is_voided)
        to_void.sudo().write(
            {
                "is_voided": True,
                "void_reason": reason,
                "voided_by_id": self.env.uid,
                "date_voided": fields.Datetime.now(),
            }
        )
        return True

    def action_open_callback(self):
        self.ensure_one()
        self._check_staff_scope()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Callback"),
            "res_model": "service.evaluation.session.callback",
            "view_mode": "form",
            "target": "new",
            "context": {"default_session_id": self.id},
        }

    # ------------------------------------------------------------ business
    def _check_staff_scope(self):
        """Raise unless the user supervises or manages every session's outlet."""
        self.check_access("read")
        if not self.env.user._service_acts_on(self.sudo().outlet_id):
            raise AccessError(
                self.env._(
                    "Only the supervisors and managers of the outlet may change a session's "
                    "callback phone or note."
                )
            )

    def _normalise_phone(self, number, company_id=None):
        """E.164 form of `number` for this session's company (or `company_id`); raises
        if invalid. The rule lives in service_base (res.company._service_phone_e164)."""
        company = (
            self.env["res.company"].browse(company_id) if company_id else self.company_id
        ) or self.env.company
        return company._service_phone_e164(number)

    def _alert_negative(self):
        """Alert about these sessions that just became negative: one alert per session
        and recipient (SMS, throttled pop-up, grouped call-back activity), or a recorded
        delivery problem when nobody can be found. Runs as the device user; the alert
        model works through sudo, scoped to these sessions."""
        return self.env["service.evaluation.alert"]._create_for_sessions(self)

    @api.model
    def _cron_expire_awaiting(self):
        """Sessions whose rating window has passed become unrated (the kanban shows it)."""
        awaiting = self._read_group([("state", "=", "awaiting")], ["company_id"])
        for (company,) in awaiting:
            limit = fields.Datetime.now() - timedelta(seconds=company.service_rating_window)
            self.sudo().search(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "awaiting"),
                    ("date_end", "<", limit),
                ]
            ).write({"state": "unrated"})

from odoo import api, fields, models, tools
from odoo.tools import SQL

COUNTER_STATES = [
    ("idle", "Idle"),
    ("serving", "Serving"),
    ("awaiting", "Awaiting Rating"),
    ("offline", "Device Offline"),
]


class ServiceEvaluationCounter(models.Model):
    """A service window (窗口) of an outlet, with its rating keypad."""

    _name = "service.evaluation.counter"
    _description = "Service Counter"
    # The device event path caches each keypad's counter code, outlet and business types.
    _inherit = ["mail.thread", "service.cache.mixin"]
    _cache_fields = frozenset({"code", "outlet_id", "company_id", "business_type_ids", "active"})
    _order = "outlet_id, sequence, code"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    outlet_id = fields.Many2one(
        "service.org.unit",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
        domain=[("unit_type", "=", "outlet")],
    )
    business_type_ids = fields.Many2many(
        "service.evaluation.business.type", string="Business Types", check_company=True
    )
    device_ids = fields.One2many("service.evaluation.device", "counter_id", string="Devices")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True, tracking=True)
    color = fields.Integer()

    # Live state, read by the counters kanban.
    live_state = fields.Selection(COUNTER_STATES, compute="_compute_live", string="State")
    current_session_id = fields.Many2one("service.evaluation.session", compute="_compute_live")
    current_employee_id = fields.Many2one(
        "hr.employee", compute="_compute_live", string="Teller on Duty"
    )
    session_count = fields.Integer(compute="_compute_session_count")
    today_session_count = fields.Integer(compute="_compute_session_count")
    today_satisfaction = fields.Float(compute="_compute_session_count")

    _code_company_uniq = models.UniqueIndex(
        "(company_id, code)", "The counter code must be unique per company."
    )

    @api.model
    @tools.ormcache()
    def _get_tellers_on_duty(self):
        """{counter id: (name, employee number, star level)} of the tellers on duty.

        Every device reply shows its counter's; cached (one query per worker after a
        change), and cleared when a shift or one of these employee fields changes. Open
        shifts have an index of their own, so this reads only them.
        """
        self.env["service.evaluation.shift"].flush_model()  # the SQL must see ORM writes
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (s.counter_id)
                          s.counter_id, e.name, e.service_employee_number, e.service_star_level
                     FROM service_evaluation_shift s
                     JOIN hr_employee e ON e.id = s.employee_id
                    WHERE s.date_end IS NULL
                 ORDER BY s.counter_id, s.date_start DESC, s.id DESC"""
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    @api.depends_context("uid")
    def _compute_live(self):
        Session = self.env["service.evaluation.session"]
        open_sessions = {
            session.counter_id: session
            for session in Session.search(
                [("counter_id", "in", self.ids), ("state", "in", ("serving", "awaiting"))],
                order="date_start",
            )
        }
        shifts = {
            shift.counter_id: shift.employee_id
            for shift in self.env["service.evaluation.shift"].search(
                [("counter_id", "in", self.ids), ("date_end", "=", False)], order="date_start"
            )
        }
        for counter in self:
            session = open_sessions.get(counter, Session)
            counter.current_session_id = session
            counter.current_employee_id = shifts.get(counter, self.env["hr.employee"])
            if counter.device_ids and not any(counter.device_ids.mapped("is_online")):
                counter.live_state = "offline"
            else:
                counter.live_state = session.state if session else "idle"

    def _compute_session_count(self):
        Session = self.env["service.evaluation.session"]
        today = fields.Datetime.to_datetime(fields.Date.context_today(self))
        totals = dict(
            Session._read_group([("counter_id", "in", self.ids)], ["counter_id"], ["__count"])
        )
        today_stats = {
            (counter, is_rated, is_satisfied): count
            for counter, is_rated, is_satisfied, count in Session._read_group(
                [("counter_id", "in", self.ids), ("date_start", ">=", today)],
                ["counter_id", "is_rated", "is_satisfied"],
                ["__count"],
            )
        }
        for counter in self:
            satisfied = today_stats.get((counter, True, True), 0)
            rated = satisfied + today_stats.get((counter, True, False), 0)
            count = rated + sum(
                today_stats.get((counter, False, flag), 0) for flag in (True, False)
            )
            counter.session_count = totals.get(counter, 0)
            counter.today_session_count = count
            counter.today_satisfaction = 100.0 * satisfied / rated if rated else 0.0

    def action_open_sessions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_session_action"
        )
        action["domain"] = [("counter_id", "=", self.id)]
        action["context"] = {"default_counter_id": self.id}
        return action

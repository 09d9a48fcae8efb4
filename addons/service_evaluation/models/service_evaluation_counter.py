from odoo import api, fields, models
from odoo.addons.service_base.models.service_cache_mixin import service_ormcache
from odoo.exceptions import UserError
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
    _cache_depends = {
        "device": frozenset({"code", "outlet_id", "company_id", "business_type_ids", "active"})
    }
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
    shift_ids = fields.One2many("service.evaluation.shift", "counter_id", string="Shifts")
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
    @service_ormcache(group="tellers")
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
        # The state of a counter one may read and who is on duty there are no secret (the
        # keypad shows them): read through sudo, so a teller sees their colleagues'
        # counters live too. The session itself is linked only if the user may read it.
        Session = self.env["service.evaluation.session"]
        open_sessions = {
            session.counter_id.id: session
            for session in Session.sudo().search(
                [("counter_id", "in", self.ids), ("state", "in", ("serving", "awaiting"))],
                order="date_start",
            )
        }
        shifts = {
            shift.counter_id.id: shift.employee_id.id
            for shift in self.env["service.evaluation.shift"]
            .sudo()
            .search([("counter_id", "in", self.ids), ("date_end", "=", False)], order="date_start")
        }
        readable = Session.browse(
            session.id for session in open_sessions.values()
        )._filtered_access("read")
        Employee = self.env["hr.employee"]
        for counter in self:
            session = open_sessions.get(counter.id, Session.sudo())
            counter.current_session_id = Session.browse(session.id) & readable
            counter.current_employee_id = Employee.browse(shifts.get(counter.id))
            devices = counter.sudo().device_ids
            if devices and not any(devices.mapped("is_online")):
                counter.live_state = "offline"
            else:
                counter.live_state = session.state if session else "idle"

    def _compute_session_count(self):
        Session = self.env["service.evaluation.session"]
        today = fields.Datetime.to_datetime(fields.Date.context_today(self))
        # Voided sessions count nowhere (administrators' rules would show them).
        counted = [("counter_id", "in", self.ids), ("is_voided", "=", False)]
        totals = dict(Session._read_group(counted, ["counter_id"], ["__count"]))
        today_stats = {
            (counter, is_rated, is_satisfied): count
            for counter, is_rated, is_satisfied, count in Session._read_group(
                [*counted, ("date_start", ">=", today)],
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

    def action_start_shift(self):
        """Put the current user's employee on duty at this counter (web client).

        The teller's open shift elsewhere ends now (one counter at a time); a counter
        with someone else on duty is refused: they end their shift first.
        """
        self.ensure_one()
        self.check_access("read")
        employee = self.env.user.employee_ids.filtered(
            lambda employee: employee.company_id == self.company_id
        )[:1]
        if not employee:
            raise UserError(
                self.env._("Your user is not linked to an employee of %(company)s.",
                           company=self.company_id.name)
            )  # fmt: skip
        Shift = self.env["service.evaluation.shift"].sudo()
        on_duty = Shift.search([("counter_id", "=", self.id), ("date_end", "=", False)], limit=1)
        if on_duty.employee_id == employee:
            return True
        if on_duty:
            raise UserError(
                self.env._(
                    "%(teller)s is on duty at %(counter)s: their shift must end first.",
                    teller=on_duty.employee_id.name,
                    counter=self.name,
                )
            )
        now = fields.Datetime.now()
        Shift._end_open_shifts(employee, now)
        Shift.create(
            {"employee_id": employee.id, "counter_id": self.id, "date_start": now,
             "source": "web"}
        )  # fmt: skip
        return True

    def action_open_sessions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_session_action"
        )
        action["domain"] = [("counter_id", "=", self.id)]
        action["context"] = {"default_counter_id": self.id}
        return action

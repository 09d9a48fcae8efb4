from odoo import api, fields, models

# Computed on hr.employee.public for readers without access to hr.employee.
SERVICE_COMPUTED_ON_PUBLIC = frozenset(
    {"service_star_level_ids", "service_session_count", "service_counter_id",
     "service_outlet_id", "service_on_duty"}
)  # fmt: skip


class HrEmployee(models.Model):
    """Tellers are employees with an employee number (工号).

    What every internal user may read of an employee must also be on
    hr.employee.public (models/hr_employee_public.py): without access to hr.employee
    (HR officers, or the Service groups), Odoo reads employees through that view and
    refuses any other field not restricted to groups the user lacks.
    """

    _name = "hr.employee"
    # What keypads display of the teller on duty is cached
    # (service.evaluation.counter._get_tellers_on_duty).
    _inherit = ["hr.employee", "service.cache.mixin"]
    _cache_depends = {
        "tellers": frozenset({"name", "service_employee_number", "service_star_level"})
    }

    # Public (shown on keypads): also on hr.employee.public.
    service_employee_number = fields.Char(
        string="Employee Number",
        index="btree_not_null",
        copy=False,
        groups="base.group_user",
        help="工号: typed on the counter keypad at login and shown on its display.",
    )
    service_star_level = fields.Integer(
        string="Star Level",
        readonly=True,
        copy=False,
        groups="base.group_user",
        aggregator="avg",
        help="Current star level (2 to 5; 0 when not yet rated enough), from the last period.",
    )
    # Readable by every internal user, as Odoo's hr requires of the fields an employee's
    # public profile offers; computed as the reader, with their own access rights and
    # record rules, so they are empty for users outside the Service groups.
    service_star_level_ids = fields.Many2many(
        "service.evaluation.star.level",
        string="Star Level History",
        compute="_compute_service_star_level_ids",
        # Computed as sudo, read as the user: a plain user may not even assign an empty
        # set of star levels (Odoo checks the comodel's access on x2many assignment).
        compute_sudo=True,
    )
    service_session_count = fields.Integer(
        string="Sessions", compute="_compute_service_session_count"
    )
    service_counter_id = fields.Many2one(
        "service.evaluation.counter",
        string="On Duty At",
        compute="_compute_service_counter_id",
        help="The counter of the teller's open shift (上柜, not ended yet), among the shifts "
        "you may see.",
    )
    service_outlet_id = fields.Many2one(
        "service.org.unit",
        string="Outlet on Duty",
        compute="_compute_service_counter_id",
        search="_search_service_outlet_id",
    )
    service_on_duty = fields.Boolean(
        string="On Duty",
        compute="_compute_service_counter_id",
        search="_search_service_on_duty",
    )

    _service_employee_number_uniq = models.UniqueIndex(
        "(company_id, service_employee_number) WHERE service_employee_number IS NOT NULL",
        "This employee number is already used in the company.",
    )

    # ------------------------------------------------------------ computes
    @api.depends_context("uid")
    def _compute_service_star_level_ids(self):
        levels = self.env["hr.employee"].sudo(False)._service_star_levels(self.filtered("id").ids)
        for employee in self:
            employee.service_star_level_ids = levels.get(employee.id, False)

    @api.depends_context("uid")
    def _compute_service_session_count(self):
        counts = self._service_session_counts(self.filtered("id").ids)
        for employee in self:
            employee.service_session_count = counts.get(employee.id, 0)

    @api.depends_context("uid")
    def _compute_service_counter_id(self):
        shifts = self._service_open_shifts(self.filtered("id").ids)
        for employee in self:
            shift = shifts.get(employee.id, self.env["service.evaluation.shift"])
            employee.service_counter_id = shift.counter_id
            employee.service_outlet_id = shift.outlet_id
            employee.service_on_duty = bool(shift)

    def _search_service_on_duty(self, operator, value):
        if operator != "in":
            return NotImplemented
        return [("id", "in", self._service_on_duty_ids([]))]

    def _search_service_outlet_id(self, operator, value):
        if operator.startswith("not "):
            return NotImplemented
        return [("id", "in", self._service_on_duty_ids([("outlet_id", operator, value)]))]

    def _copy_cache_from(self, public, field_names):
        # Users without access to hr.employee read it through hr.employee.public, whose
        # stored columns Odoo copies; our service fields are computed there, as the
        # reader: compute them before the copy.
        for fname in SERVICE_COMPUTED_ON_PUBLIC.intersection(field_names):
            public.mapped(fname)
        return super()._copy_cache_from(public, field_names)

    # ------------------------------------------------------------ actions
    def action_open_service_sessions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_session_action"
        )
        action["domain"] = [("employee_id", "=", self.id)]
        return action

    # ------------------------------------------------------------ business
    # Also used by hr.employee.public, whose ids are the employees'. Star levels, sessions
    # and shifts are read as the user: a teller counts their own, a supervisor their
    # outlets'; a user without access to them gets nothing, not an error.
    @api.model
    def _service_star_levels(self, employee_ids):
        """{employee id: their star levels the user may see}."""
        StarLevel = self.env["service.evaluation.star.level"]
        if not StarLevel.has_access("read"):
            return {}
        levels = StarLevel.search([("employee_id", "in", employee_ids)])
        return {employee.id: group for employee, group in levels.grouped("employee_id").items()}

    @api.model
    def _service_session_counts(self, employee_ids):
        """{employee id: number of sessions the user may see}."""
        if not self.env["service.evaluation.session"].has_access("read"):
            return {}
        groups = self.env["service.evaluation.session"]._read_group(
            [("employee_id", "in", employee_ids), ("is_voided", "=", False)],
            ["employee_id"],
            ["__count"],
        )
        return {employee.id: count for employee, count in groups}

    @api.model
    def _service_open_shifts(self, employee_ids):
        """{employee id: their open shift (the latest if several)} among those the user sees."""
        if not self.env["service.evaluation.shift"].has_access("read"):
            return {}
        shifts = self.env["service.evaluation.shift"].search(
            [("employee_id", "in", employee_ids), ("date_end", "=", False)],
            order="date_start, id",
        )
        return {shift.employee_id.id: shift for shift in shifts}

    @api.model
    def _service_on_duty_ids(self, shift_domain):
        """Ids of the employees with an open shift matching `shift_domain` (as the user)."""
        if not self.env["service.evaluation.shift"].has_access("read"):
            return []
        shifts = self.env["service.evaluation.shift"].search_fetch(
            [("date_end", "=", False), *shift_domain], ["employee_id"]
        )
        return shifts.employee_id.ids

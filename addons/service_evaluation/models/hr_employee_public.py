from odoo import api, fields, models


class HrEmployeePublic(models.Model):
    """The service fields of employees for users without access to hr.employee.

    hr.employee.public is an SQL view whose columns are its stored fields, read from
    hr_employee (``_get_fields``): the employee number and the star level are such
    columns. The rest is computed as on hr.employee, as the reader: every internal user
    may read them (Odoo's hr requires it of public fields), and they are empty for users
    outside the Service groups.
    """

    _name = "hr.employee.public"
    _inherit = ["hr.employee.public"]

    service_employee_number = fields.Char(string="Employee Number", readonly=True)
    service_star_level = fields.Integer(string="Star Level", readonly=True, aggregator="avg")
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
        "service.evaluation.counter", string="On Duty At", compute="_compute_service_counter_id"
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

    @api.depends_context("uid")
    def _compute_service_star_level_ids(self):
        levels = self.env["hr.employee"].sudo(False)._service_star_levels(self.filtered("id").ids)
        for employee in self:
            employee.service_star_level_ids = levels.get(employee.id, False)

    @api.depends_context("uid")
    def _compute_service_session_count(self):
        counts = self.env["hr.employee"]._service_session_counts(self.filtered("id").ids)
        for employee in self:
            employee.service_session_count = counts.get(employee.id, 0)

    @api.depends_context("uid")
    def _compute_service_counter_id(self):
        shifts = self.env["hr.employee"]._service_open_shifts(self.filtered("id").ids)
        for employee in self:
            shift = shifts.get(employee.id, self.env["service.evaluation.shift"])
            employee.service_counter_id = shift.counter_id
            employee.service_outlet_id = shift.outlet_id
            employee.service_on_duty = bool(shift)

    def _search_service_on_duty(self, operator, value):
        return self.env["hr.employee"]._search_service_on_duty(operator, value)

    def _search_service_outlet_id(self, operator, value):
        return self.env["hr.employee"]._search_service_outlet_id(operator, value)

    def action_open_service_sessions(self):
        self.ensure_one()
        return self.employee_id.action_open_service_sessions()

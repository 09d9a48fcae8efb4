from odoo import fields, models


class HrEmployee(models.Model):
    # What keypads display of the teller on duty is cached
    # (service.evaluation.counter._get_tellers_on_duty).
    _inherit = ["hr.employee", "service.cache.mixin"]
    _cache_fields = frozenset({"name", "service_employee_number", "service_star_level"})

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
        help="Current star level (2 to 5; 0 when not yet rated enough), from the last period.",
    )
    service_star_level_ids = fields.One2many(
        "service.evaluation.star.level",
        "employee_id",
        string="Star Level History",
        groups="base.group_user",
    )
    service_session_count = fields.Integer(
        compute="_compute_service_session_count", groups="base.group_user"
    )

    _service_employee_number_uniq = models.UniqueIndex(
        "(company_id, service_employee_number) WHERE service_employee_number IS NOT NULL",
        "This employee number is already used in the company.",
    )

    def _compute_service_session_count(self):
        counts = dict(
            self.env["service.evaluation.session"]._read_group(
                [("employee_id", "in", self.ids)], ["employee_id"], ["__count"]
            )
        )
        for employee in self:
            employee.service_session_count = counts.get(employee, 0)

    def action_open_service_sessions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_session_action"
        )
        action["domain"] = [("employee_id", "=", self.id)]
        return action

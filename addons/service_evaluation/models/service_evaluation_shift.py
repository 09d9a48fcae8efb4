from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ServiceEvaluationShift(models.Model):
    """A teller on duty at a counter (上柜), from a keypad login or the web client."""

    _name = "service.evaluation.shift"
    _description = "Counter Shift"
    # Device replies show the teller on duty at each counter, cached.
    _inherit = ["service.cache.mixin"]
    _cache_fields = frozenset({"employee_id", "counter_id", "date_start", "date_end"})
    _order = "date_start desc, id desc"
    _check_company_auto = True

    employee_id = fields.Many2one("hr.employee", required=True, index=True, check_company=True)
    counter_id = fields.Many2one(
        "service.evaluation.counter", required=True, index=True, check_company=True
    )
    outlet_id = fields.Many2one(related="counter_id.outlet_id", store=True, index=True)
    date_start = fields.Datetime(required=True, default=fields.Datetime.now)
    date_end = fields.Datetime()
    duration_hours = fields.Float(
        compute="_compute_duration_hours", store=True, aggregator="sum", string="On-duty Hours"
    )
    source = fields.Selection(
        [("device", "Keypad"), ("web", "Web Client")], required=True, default="web"
    )
    login_event_id = fields.Many2one("service.evaluation.event", index="btree_not_null")
    company_id = fields.Many2one(related="counter_id.company_id", store=True)

    # Who is on duty at a counter is asked on every device call: only the few open
    # shifts are indexed, so the answer does not depend on the years of history.
    _open_counter_idx = models.Index(
        "(counter_id, date_start DESC, id DESC) WHERE date_end IS NULL"
    )
    _login_event_uniq = models.UniqueIndex(
        "(login_event_id) WHERE login_event_id IS NOT NULL", "One shift per login event."
    )

    @api.depends("date_start", "date_end")
    def _compute_duration_hours(self):
        for shift in self:
            if shift.date_start and shift.date_end:
                shift.duration_hours = (shift.date_end - shift.date_start).total_seconds() / 3600
            else:
                shift.duration_hours = 0.0

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for shift in self:
            if shift.date_end and shift.date_end < shift.date_start:
                raise ValidationError(self.env._("A shift cannot end before it starts."))

    def action_end_shift(self):
        self.filtered(lambda shift: not shift.date_end).date_end = fields.Datetime.now()

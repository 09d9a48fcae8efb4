from odoo import api, fields, models


class ServiceEvaluationShiftCorrection(models.TransientModel):
    """A manager's correction of a shift's times, with the reason."""

    _name = "service.evaluation.shift.correction"
    _description = "Correct a Shift"

    shift_id = fields.Many2one("service.evaluation.shift", required=True, readonly=True)
    employee_id = fields.Many2one(related="shift_id.employee_id")
    counter_id = fields.Many2one(related="shift_id.counter_id")
    date_start = fields.Datetime(
        string="Start",
        required=True,
        compute="_compute_dates",
        store=True,
        readonly=False,
        precompute=True,
    )
    date_end = fields.Datetime(
        string="End", compute="_compute_dates", store=True, readonly=False, precompute=True
    )
    reason = fields.Char(required=True)

    @api.depends("shift_id")
    def _compute_dates(self):
        for correction in self:
            correction.date_start = correction.shift_id.date_start
            correction.date_end = correction.shift_id.date_end

    def action_correct(self):
        self.shift_id.action_correct(self.date_start, self.date_end, self.reason)
        return {"type": "ir.actions.act_window_close"}

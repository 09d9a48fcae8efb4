from odoo import api, fields, models


class ServiceEvaluationSessionCallback(models.TransientModel):
    """The callback phone and note of a session, edited by the outlet's staff.

    Sessions are read-only to everyone (they are facts): this small form is how the
    session form edits the two fields staff own, through the checked method.
    """

    _name = "service.evaluation.session.callback"
    _description = "Session Callback"

    session_id = fields.Many2one("service.evaluation.session", required=True, readonly=True)
    customer_phone = fields.Char(
        compute="_compute_from_session", store=True, readonly=False, precompute=True
    )
    staff_note = fields.Text(
        string="Note", compute="_compute_from_session", store=True, readonly=False, precompute=True
    )

    @api.depends("session_id")
    def _compute_from_session(self):
        for callback in self:
            callback.customer_phone = callback.session_id.customer_phone
            callback.staff_note = callback.session_id.staff_note

    def action_save(self):
        self.session_id.action_set_callback(
            customer_phone=self.customer_phone or "", staff_note=self.staff_note or ""
        )
        return {"type": "ir.actions.act_window_close"}

from odoo import fields, models


class ServiceEvaluationSessionVoid(models.TransientModel):
    """Asks an administrator why sessions are voided, then voids them."""

    _name = "service.evaluation.session.void"
    _description = "Void Service Sessions"

    session_ids = fields.Many2many(
        "service.evaluation.session",
        string="Sessions",
        default=lambda self: self.env.context.get("active_ids"),
    )
    reason = fields.Char(required=True, help="E.g. a test press, a broken keypad.")

    def action_void(self):
        self.session_ids.action_void(self.reason)
        return {"type": "ir.actions.act_window_close"}

from odoo import fields, models


class ServiceDispatchRequestClose(models.TransientModel):
    """Close a request answered at intake, or cancel one, with what came of it."""

    _name = "service.dispatch.request.close"
    _description = "Close Service Request"

    request_id = fields.Many2one("service.dispatch.request", required=True)
    mode = fields.Selection([("close", "Close"), ("cancel", "Cancel")], default="close")
    outcome = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "cancel":
            self.request_id.action_cancel(self.outcome)
        else:
            self.request_id.action_close(self.outcome)
        return {"type": "ir.actions.act_window_close"}

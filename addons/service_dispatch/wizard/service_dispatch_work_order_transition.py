from odoo import api, fields, models

from ..models.service_dispatch_work_order import FEEDBACK_RATINGS
from ..tools.work_order_flow import STEPS


class ServiceDispatchWorkOrderTransition(models.TransientModel):
    """The dialog of a work order step that needs input (an outlet, a reason, what was
    done, the customer's rating). It only gathers values: the work order's named
    step method checks who may take the step."""

    _name = "service.dispatch.work.order.transition"
    _description = "Work Order Step"

    work_order_id = fields.Many2one("service.dispatch.work.order", required=True)
    step = fields.Selection(STEPS, required=True)
    outlet_id = fields.Many2one("service.org.unit", domain=[("unit_type", "=", "outlet")])
    technician_id = fields.Many2one(
        "service.dispatch.technician", domain="[('outlet_id', '=', outlet_id)]"
    )
    note = fields.Text()
    feedback_rating = fields.Selection(FEEDBACK_RATINGS, string="Customer Rating")

    @api.onchange("outlet_id")
    def _onchange_outlet_id(self):
        if self.technician_id.outlet_id != self.outlet_id:
            self.technician_id = False

    def action_confirm(self):
        self.ensure_one()
        order = self.work_order_id
        if self.step == "dispatch":
            order.action_dispatch(self.outlet_id.id, self.technician_id.id, self.note)
        elif self.step == "accept":
            order.action_accept(self.technician_id.id, self.note)
        elif self.step == "refuse":
            order.action_refuse(self.note)
        elif self.step == "done":
            order.action_done(self.note)
        elif self.step == "feedback":
            order.action_record_feedback(self.feedback_rating, self.note)
        elif self.step == "cancel":
            order.action_cancel(self.note)
        return {"type": "ir.actions.act_window_close"}

from odoo import fields, models

from ..tools.work_order_flow import STEPS, WORK_ORDER_STATES


class ServiceDispatchWorkOrderStep(models.Model):
    """One step of a work order's trail: what happened, when, by whom, at which outlet.
    Written by the work order's step methods only; nobody edits it."""

    _name = "service.dispatch.work.order.step"
    _description = "Work Order Step"
    _order = "date desc, id desc"

    work_order_id = fields.Many2one(
        "service.dispatch.work.order", required=True, index=True, ondelete="cascade"
    )
    step = fields.Selection(STEPS, required=True)
    state_from = fields.Selection(WORK_ORDER_STATES, string="From")
    state_to = fields.Selection(WORK_ORDER_STATES, string="To", required=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now)
    user_id = fields.Many2one("res.users", string="By", required=True)
    outlet_id = fields.Many2one("service.org.unit")
    technician_id = fields.Many2one("service.dispatch.technician")
    note = fields.Text()
    company_id = fields.Many2one(related="work_order_id.company_id", store=True)

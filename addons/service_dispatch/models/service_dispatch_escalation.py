from odoo import fields, models

from ..tools.sla_clock import DEADLINE_KINDS

ESCALATION_KINDS = [
    ("warning", "Warning"),
    ("escalation", "Escalation"),
]


class ServiceDispatchEscalation(models.Model):
    """A warning or an escalation of a work order's deadline, as the SLA job sent it:
    to which unit, for which deadline, when, to whom. Written by the job only (as
    superuser); nobody edits it."""

    _name = "service.dispatch.escalation"
    _description = "Work Order Escalation"
    _order = "date desc, id desc"

    work_order_id = fields.Many2one(
        "service.dispatch.work.order", required=True, index=True, ondelete="cascade"
    )
    kind = fields.Selection(ESCALATION_KINDS, required=True, default="escalation")
    level_id = fields.Many2one("service.dispatch.escalation.level")
    unit_id = fields.Many2one("service.org.unit", string="Escalated To")
    deadline_kind = fields.Selection(DEADLINE_KINDS, string="Deadline to", required=True)
    deadline = fields.Datetime(required=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now)
    user_ids = fields.Many2many(
        "res.users",
        "service_dispatch_escalation_user_rel",
        "escalation_id",
        "user_id",
        string="Recipients",
    )
    company_id = fields.Many2one(related="work_order_id.company_id", store=True)

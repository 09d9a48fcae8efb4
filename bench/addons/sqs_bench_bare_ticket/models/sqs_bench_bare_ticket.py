from odoo import fields, models


class SqsBenchBareTicket(models.Model):
    """The fields of a service request and its dispatched work order on one bare
    mail.thread record: the same comodels, the same tracking, no computes, no
    constraints, no sequence, no SLA, no dispatch."""

    _name = "sqs.bench.bare.ticket"
    _description = "Benchmark Bare Ticket"
    _inherit = ["mail.thread"]

    partner_id = fields.Many2one("res.partner", tracking=True)
    appliance_id = fields.Many2one("service.dispatch.appliance", tracking=True)
    type_id = fields.Many2one("service.dispatch.request.type", tracking=True)
    channel = fields.Selection([("phone", "Phone"), ("email", "E-mail")], tracking=True)
    description = fields.Text()
    priority = fields.Selection([("0", "Normal"), ("1", "Urgent")], tracking=True)
    unit_id = fields.Many2one("service.org.unit", tracking=True)
    state = fields.Selection([("new", "New"), ("dispatched", "Dispatched")], tracking=True)
    outlet_id = fields.Many2one("service.org.unit", tracking=True)

from odoo import fields, models


class ServiceDispatchApplianceOwnership(models.Model):
    """Who owned an appliance, from when to when. Written by the appliance only."""

    _name = "service.dispatch.appliance.ownership"
    _description = "Appliance Ownership"
    _order = "date_start desc, id desc"

    appliance_id = fields.Many2one(
        "service.dispatch.appliance", required=True, index=True, ondelete="cascade"
    )
    partner_id = fields.Many2one("res.partner", string="Owner", required=True, index=True)
    date_start = fields.Datetime(string="From", required=True, default=fields.Datetime.now)
    date_end = fields.Datetime(string="Until")
    user_id = fields.Many2one("res.users", string="Recorded By", default=lambda self: self.env.user)
    company_id = fields.Many2one(related="appliance_id.company_id", store=True)

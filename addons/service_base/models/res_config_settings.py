from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    service_phone_country_id = fields.Many2one(
        related="company_id.service_phone_country_id", readonly=False
    )
    service_org_unit_count = fields.Integer(compute="_compute_service_org_unit_count")

    def _compute_service_org_unit_count(self):
        count = self.env["service.org.unit"].search_count([])
        for settings in self:
            settings.service_org_unit_count = count

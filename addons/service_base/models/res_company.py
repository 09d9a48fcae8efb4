from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    service_phone_country_id = fields.Many2one(
        "res.country",
        help="Country used to read phone numbers written without a country code "
        "(customer callbacks, supervisor SMS). Defaults to the company's country.",
    )

    def _get_service_phone_country(self):
        self.ensure_one()
        return self.service_phone_country_id or self.country_id

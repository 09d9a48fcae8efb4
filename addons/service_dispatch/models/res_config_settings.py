from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    service_dispatch_intake_unit_id = fields.Many2one(
        related="company_id.service_dispatch_intake_unit_id", readonly=False
    )
    service_dispatch_web_rate_limit = fields.Integer(
        string="Web Form Submissions",
        config_parameter="service_dispatch.web_form_rate_limit",
        default=5,
        help="Submissions of the public web form accepted from one address per period.",
    )
    service_dispatch_web_rate_minutes = fields.Integer(
        string="Web Form Period (minutes)",
        config_parameter="service_dispatch.web_form_rate_minutes",
        default=10,
    )

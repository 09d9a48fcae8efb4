from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    service_rating_window = fields.Integer(
        related="company_id.service_rating_window", readonly=False
    )
    service_anti_repeat = fields.Integer(related="company_id.service_anti_repeat", readonly=False)
    service_clock_skew = fields.Integer(related="company_id.service_clock_skew", readonly=False)
    service_star_period = fields.Selection(related="company_id.service_star_period", readonly=False)
    service_star_min_rated = fields.Integer(
        related="company_id.service_star_min_rated", readonly=False
    )
    service_star_5_rate = fields.Float(related="company_id.service_star_5_rate", readonly=False)
    service_star_4_rate = fields.Float(related="company_id.service_star_4_rate", readonly=False)
    service_star_3_rate = fields.Float(related="company_id.service_star_3_rate", readonly=False)
    service_alert_sms = fields.Boolean(related="company_id.service_alert_sms", readonly=False)
    service_alert_user_ids = fields.Many2many(
        related="company_id.service_alert_user_ids", readonly=False
    )
    service_alert_popup_interval = fields.Integer(
        related="company_id.service_alert_popup_interval", readonly=False
    )
    service_alert_sms_warning = fields.Char(compute="_compute_service_alert_sms_warning")

    @api.depends("company_id")
    def _compute_service_alert_sms_warning(self):
        Alert = self.env["service.evaluation.alert"]
        for settings in self:
            settings.service_alert_sms_warning = Alert._get_sms_gateway_warning(settings.company_id)

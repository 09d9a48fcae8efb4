from datetime import timedelta

from odoo import fields, models

# A new device key is valid this long unless the administrator chooses otherwise
# (at most the Service Device group's key duration, 10 years).
DEFAULT_KEY_DAYS = 365


class ServiceEvaluationDeviceKeyGenerate(models.TransientModel):
    """Pairs a hardware proxy: makes a device key for a Service Device user and shows
    it once."""

    _name = "service.evaluation.device.key.generate"
    _description = "Generate Device Key"

    user_id = fields.Many2one(
        "res.users",
        string="Device User",
        required=True,
        ondelete="cascade",
        domain=[("service_is_device", "=", True)],
    )
    name = fields.Char("Key Name", required=True, help="Where the key goes, e.g. the proxy's hall.")
    expiration_date = fields.Datetime(
        "Expires On",
        required=True,
        default=lambda self: fields.Datetime.now() + timedelta(days=DEFAULT_KEY_DAYS),
        help="The device route refuses the key after this date; at most 10 years ahead.",
    )

    def action_generate(self):
        self.ensure_one()
        key = self.user_id._service_device_key_generate(self.name, self.expiration_date)
        # The key is in the dialog's context only: Odoo keeps its hash.
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Device Key Ready"),
            "res_model": "res.users.apikeys.show",
            "view_mode": "form",
            "views": [
                (self.env.ref("service_evaluation.res_users_apikeys_show_view_form_device").id,
                 "form"),
            ],
            "target": "new",
            "context": {"default_key": key},
        }  # fmt: skip

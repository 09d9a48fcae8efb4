from odoo import api, fields, models
from odoo.exceptions import AccessDenied, AccessError, UserError
from odoo.fields import Domain

from .res_users_apikeys import DEVICE_SCOPE


class ResUsers(models.Model):
    _inherit = "res.users"

    service_is_device = fields.Boolean(
        "Service Device",
        compute="_compute_service_is_device",
        search="_search_service_is_device",
        help="A technical user of keypads and kiosks (the Service Device group).",
    )
    # The keys the device route may still accept: what an administrator pairs and revokes
    # (Service > Configuration > Hardware Proxies, or the user's Device Keys tab).
    service_device_key_ids = fields.Many2many(
        "res.users.apikeys",
        string="Device Keys",
        compute="_compute_service_device_key_ids",
        groups="service_base.service_base_group_admin,base.group_system",
    )

    @api.depends("group_ids")
    def _compute_service_is_device(self):
        group = self.env.ref("service_evaluation.group_service_device")
        for user in self:
            user.service_is_device = group in user.sudo().all_group_ids

    def _search_service_is_device(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        group = self.env.ref("service_evaluation.group_service_device")
        devices = Domain("all_group_ids", "in", group.ids)
        return devices if (True in value) == (operator == "in") else ~devices

    @api.depends_context("uid")
    def _compute_service_device_key_ids(self):
        # As the reader: a Service Administrator reads the keys of device users only
        # (security/res_users_apikeys_security.xml). Expired keys are refused already and
        # removed by Odoo's daily clean-up.
        now = fields.Datetime.now()
        devices = self.filtered("service_is_device")
        keys = self.env["res.users.apikeys"].search(
            [
                ("user_id", "in", devices.ids),
                "|",
                ("expiration_date", "=", False),
                ("expiration_date", ">", now),
            ],
            order="create_date desc, id desc",
        )
        keys_of = {}
        for key in keys:
            keys_of.setdefault(key.user_id.id, key.browse())
            keys_of[key.user_id.id] |= key
        for user in self:
            user.service_device_key_ids = keys_of.get(user.id, keys.browse())

    def _is_service_device(self):
        """Whether this user is the technical user of keypads (False for no user)."""
        return self.sudo()._has_group("service_evaluation.group_service_device")

    def _check_credentials(self, credential, env):
        # A Service Device user is a keypad, not a person: it never logs in, neither with
        # a password nor with an API key over XML-RPC / JSON-RPC.
        if self.env.user._is_service_device():
            raise AccessDenied()
        return super()._check_credentials(credential, env)

    def _service_device_key_generate(self, name, expiration_date):
        """Make an API key for this Service Device user and return it in clear (the only
        time it can be read).

        The key has the device scope: the device route accepts it and nothing else does.
        It must expire, at most the Service Device group's key duration (10 years) from
        now. Only a Service Administrator or a system administrator may make one.
        """
        self.ensure_one()
        if not (
            self.env.is_system() or self.env.user.has_group("service_base.service_base_group_admin")
        ):
            raise AccessError(self.env._("Only a Service Administrator can make device keys."))
        if not self._is_service_device():
            raise UserError(
                self.env._(
                    "%(user)s is not in the Service Device group: only keypads and kiosks get "
                    "device keys.",
                    user=self.display_name,
                )
            )
        # As the device user, so the expiry is checked against its own groups' maximum.
        return (
            self.env["res.users.apikeys"]
            .with_user(self)
            ._generate(DEVICE_SCOPE, name, expiration_date)
        )

    def service_device_key_generate(self, name, expiration_date):
        """_service_device_key_generate for integrators' scripts over JSON-2: the expiry is
        "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" in UTC. Returns the key in clear, once."""
        try:
            expiration_date = fields.Datetime.to_datetime(expiration_date)
        except (TypeError, ValueError):
            raise UserError(
                self.env._(
                    "The expiry must be a date (YYYY-MM-DD) or a UTC date and time "
                    "(YYYY-MM-DD HH:MM:SS), not %(value)r.",
                    value=expiration_date,
                )
            ) from None
        if not isinstance(name, str) or not name.strip():
            raise UserError(self.env._("Give the device key a name, e.g. the proxy's place."))
        return self._service_device_key_generate(name.strip(), expiration_date)

    def action_service_device_key_wizard(self):
        """Open the Generate Key dialog for this device user."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Generate Device Key"),
            "res_model": "service.evaluation.device.key.generate",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_user_id": self.id},
        }

from odoo import models
from odoo.exceptions import AccessDenied, AccessError, UserError

from .res_users_apikeys import DEVICE_SCOPE


class ResUsers(models.Model):
    _inherit = "res.users"

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

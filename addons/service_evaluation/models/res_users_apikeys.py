import logging

from odoo import models
from odoo.exceptions import AccessError
from odoo.http import request

_logger = logging.getLogger(__name__)

# The scope of the keys of Service Device users. Only the device route asks for it
# (ir.http._auth_method_service_device); /json/2, XML-RPC and JSON-RPC ask for 'rpc',
# so a key with this scope opens nothing else.
DEVICE_SCOPE = "service_evaluation.device"


class ResUsersApikeys(models.Model):
    _inherit = "res.users.apikeys"

    def _check_credentials(self, *, scope, key):
        # An unscoped key made for a device user before device keys had their scope
        # still posts events on the device route, but no longer opens RPC.
        # The key's user's own environment: before authentication, the request's has none.
        uid = super()._check_credentials(scope=scope, key=key)
        if uid and scope == "rpc" and self.env(user=uid).user._is_service_device():
            return None
        return uid

    def action_service_device_revoke(self):
        """Revoke keys of Service Device users (a Service Administrator or a system
        administrator): the device route refuses them from the very next call."""
        env = self.env
        if not (env.is_system() or env.user.has_group("service_base.service_base_group_admin")):
            raise AccessError(env._("Only a Service Administrator can revoke device keys."))
        keys = self.sudo()
        if not all(user._is_service_device() for user in keys.user_id):
            raise AccessError(env._("Only the keys of Service Device users are revoked here."))
        ip = request.httprequest.environ["REMOTE_ADDR"] if request else "n/a"
        _logger.info(
            "device key(s) revoked: %s of %s by '%s' (#%s) from %s",
            keys.ids, keys.user_id.mapped("login"), env.user.login, env.uid, ip,
        )  # fmt: skip
        keys.unlink()
        return True

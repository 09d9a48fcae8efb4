from odoo import models

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

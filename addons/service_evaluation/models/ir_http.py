import re

from odoo import models
from odoo.http import request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from .res_users_apikeys import DEVICE_SCOPE


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _auth_method_service_device(cls):
        """auth="service_device": `Authorization: Bearer <key>` with a device key (or an
        older unscoped key) of a Service Device user. No session, no person's key."""
        header = request.httprequest.headers.get("Authorization") or ""
        match = re.match(r"^bearer\s+(.+)$", header, re.IGNORECASE)
        uid = match and request.env["res.users.apikeys"]._check_credentials(
            scope=DEVICE_SCOPE, key=match.group(1)
        )
        if not uid:
            raise Unauthorized("Invalid API key", www_authenticate=WWWAuthenticate("bearer"))
        request.update_env(user=uid)
        request.session.can_save = False  # stateless
        if not request.env.user._is_service_device():
            raise Unauthorized(
                "not_a_device: this API key's user is not in the Service Device group",
                www_authenticate=WWWAuthenticate("bearer"),
            )

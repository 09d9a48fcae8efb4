from odoo import http
from odoo.http import request

INTAKE_ACTION = "service_dispatch.service_dispatch_intake_action"


class ServiceDispatchIntake(http.Controller):
    @http.route("/service_dispatch/intake", type="http", auth="user", methods=["GET"])
    def intake(self, phone=None, **kwargs):
        """The telephony pop: a new intake screen for the ringing number, in the backend.

        Created as the logged-in user (agents only: access rights), so the caller is looked
        up with their record rules."""
        intake = request.env["service.dispatch.intake"].create({"phone": (phone or "").strip()})
        return request.redirect(f"/odoo/action-{INTAKE_ACTION}/{intake.id}")

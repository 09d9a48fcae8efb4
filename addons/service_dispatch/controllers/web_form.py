from odoo import http
from odoo.http import request

HONEYPOT = "website"  # hidden from people; bots fill it in
TEMPLATE = "service_dispatch.web_form_request_page"


class ServiceRequestWebForm(http.Controller):
    @http.route("/service/request", type="http", auth="public", methods=["GET", "POST"])
    def service_request(self, **post):
        """The public service request form: GET shows it, POST (with its CSRF token)
        submits it through one model method, which validates, rate-limits by client
        address and records the request."""
        if request.httprequest.method != "POST":
            return self._render({}, {})
        status, errors, _request = (
            request.env["service.dispatch.web.submission"]
            .sudo()
            ._submit(post, request.httprequest.remote_addr or "", honeypot=post.get(HONEYPOT))
        )
        if status == "limited":
            return self._render(post, {}, limited=True, status=429)
        if status == "invalid":
            return self._render(post, errors)
        return self._render({}, {}, done=True)

    def _render(self, values, errors, limited=False, done=False, status=200):
        Submission = request.env["service.dispatch.web.submission"].sudo()
        return request.render(
            TEMPLATE,
            {
                "values": values,
                "errors": errors,
                "limited": limited,
                "done": done,
                "request_types": Submission._web_request_types(),
                "honeypot": HONEYPOT,
            },
            status=status,
        )

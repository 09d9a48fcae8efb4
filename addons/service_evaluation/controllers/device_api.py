from odoo import http
from odoo.http import request

MAX_BATCH = 1000


class DeviceApi(http.Controller):
    """The route keypads (through hardware_proxy) and kiosks post their events to.

    Authentication (auth="service_device", models/ir_http.py) is the bearer device key of
    a technical user in the Service Device group; record rules then limit it to that
    user's own devices.
    """

    @http.route(
        "/service_evaluation/device/events",
        type="jsonrpc",
        auth="service_device",
        methods=["POST"],
    )
    def post_events(self, events=None, **kwargs):
        if not isinstance(events, list) or not events:
            return _refusal("malformed_batch", "params.events must be a non-empty list of events")
        if len(events) > MAX_BATCH:
            return _refusal("batch_too_large", f"at most {MAX_BATCH} events per call")
        return request.env["service.evaluation.event"]._ingest(events)


def _refusal(code, message):
    return {"error": {"code": code, "message": message}, "results": [], "devices": {}}

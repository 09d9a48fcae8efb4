from odoo import http
from odoo.http import request

MAX_BATCH = 1000


class DeviceApi(http.Controller):
    """The route keypads (through hardware_proxy) and kiosks post their events to.

    Authentication is the bearer API key of a technical user in the Service Device
    group; record rules then limit it to that user's own devices.
    """

    @http.route(
        "/service_evaluation/device/events", type="jsonrpc", auth="bearer", methods=["POST"]
    )
    def post_events(self, events=None, **kwargs):
        if not request.env.user.has_group("service_evaluation.group_service_device"):
            return _refusal(
                "not_a_device", "this API key's user is not in the Service Device group"
            )
        if not isinstance(events, list) or not events:
            return _refusal("malformed_batch", "params.events must be a non-empty list of events")
        if len(events) > MAX_BATCH:
            return _refusal("batch_too_large", f"at most {MAX_BATCH} events per call")
        return request.env["service.evaluation.event"]._ingest(events)


def _refusal(code, message):
    return {"error": {"code": code, "message": message}, "results": [], "devices": {}}

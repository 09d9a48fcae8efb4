"""A telephony system talking to the service centre (service_dispatch), two ways.

    python docs/examples/call_centre_client.py URL DB LOGIN API_KEY PHONE [REFERENCE]

Looks the caller of PHONE up, then prints where work order REFERENCE stands (if
given), over JSON-2 and over XML-RPC. The three calls of the call-centre API are
methods of the models, callable with an API key of a user in the *Agent* group:

- `res.partner.service_lookup_caller(phone)`: who is calling;
- `service.dispatch.request.service_create_from_call(values)`: record the request;
- `service.dispatch.work.order.service_get_status(reference)`: where a job stands.

Bad input comes back as an error with a clear message, never a server error:
JSON-2 answers HTTP 422 (bad value), 403 (rights) or 404 (no such work order) with a
JSON body {name, message, ...}; XML-RPC raises a Fault whose faultString is the message
(faultCode 2 for bad values and unknown work orders, 4 for rights).
Only the standard library is used, so integrators can copy this file as it is.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import xmlrpc.client

LOOKUP = ("res.partner", "service_lookup_caller")
CREATE = ("service.dispatch.request", "service_create_from_call")
STATUS = ("service.dispatch.work.order", "service_get_status")


class Json2Error(Exception):
    """An error reply of /json/2: the HTTP status, Odoo's exception name and message."""

    def __init__(self, status: int, payload: dict):
        self.status = status
        self.name = payload.get("name", "")
        self.message = payload.get("message", "")
        super().__init__(f"{status} {self.name}: {self.message}")


class Json2Client:
    """JSON-2: one POST per call to /json/2/<model>/<method>, named arguments, the
    API key as bearer token."""

    def __init__(self, url: str, db: str, api_key: str, lang: str | None = None):
        self.url, self.db, self.api_key, self.lang = url.rstrip("/"), db, api_key, lang

    def call(self, model: str, method: str, **kwargs):
        if self.lang:
            kwargs["context"] = {"lang": self.lang}
        request = urllib.request.Request(
            f"{self.url}/json/2/{model}/{method}",
            data=json.dumps(kwargs).encode(),
            headers={
                "Authorization": f"bearer {self.api_key}",
                "Content-Type": "application/json",
                "X-Odoo-Database": self.db,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise Json2Error(error.code, json.loads(error.read() or b"{}")) from None

    def lookup_caller(self, phone: str) -> dict:
        return self.call(*LOOKUP, phone=phone)

    def create_from_call(self, values: dict) -> dict:
        return self.call(*CREATE, values=values)

    def work_order_status(self, reference: str | int) -> dict:
        return self.call(*STATUS, reference=reference)


class XmlRpcClient:
    """XML-RPC (deprecated in Odoo 19, removed in 20): the API key is the password.
    An error raises xmlrpc.client.Fault: faultString is the message."""

    def __init__(self, url: str, db: str, login: str, api_key: str):
        url = url.rstrip("/")
        self.db, self.api_key = db, api_key
        self.uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(
            db, login, api_key, {}
        )
        if not self.uid:
            raise PermissionError("authentication failed")
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")

    def call(self, model: str, method: str, *args):
        return self.models.execute_kw(self.db, self.uid, self.api_key, model, method, list(args))

    def lookup_caller(self, phone: str) -> dict:
        return self.call(*LOOKUP, phone)

    def create_from_call(self, values: dict) -> dict:
        return self.call(*CREATE, values)

    def work_order_status(self, reference: str | int) -> dict:
        return self.call(*STATUS, reference)


def describe_caller(found: dict) -> str:
    if not found["customers"]:
        return f"{found['phone']}: unknown caller"
    lines = []
    for customer in found["customers"]:
        member = f" ({customer['member_tier']} member)" if customer["is_member"] else ""
        lines.append(f"{found['phone']}: {customer['name']}{member}")
        lines += [f"  owns {a['product']} #{a['serial_number']}" for a in customer["appliances"]]
        lines += [f"  open {r['name']} ({r['type']})" for r in customer["open_requests"]]
    return "\n".join(lines)


def describe_status(status: dict) -> str:
    outlet = status["outlet"]["name"] if status["outlet"] else "not dispatched"
    return f"{status['name']}: {status['state_label']} ({status['state']}), {outlet}"


def main(argv: list[str]) -> int:
    if len(argv) not in (6, 7):
        print(__doc__)
        return 2
    url, db, login, api_key, phone = argv[1:6]
    json2 = Json2Client(url, db, api_key)
    xmlrpc_client = XmlRpcClient(url, db, login, api_key)
    try:
        print(describe_caller(json2.lookup_caller(phone)))
        if len(argv) == 7:
            print(describe_status(json2.work_order_status(argv[6])))
    except Json2Error as error:
        print(f"refused: {error}")
        return 1
    try:
        print(f"XML-RPC: {describe_caller(xmlrpc_client.lookup_caller(phone)).splitlines()[0]}")
    except xmlrpc.client.Fault as fault:
        print(f"refused: {fault.faultString}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

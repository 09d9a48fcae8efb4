"""Read and create organisation units from outside Odoo, two ways.

    python docs/examples/service_units_client.py URL DB LOGIN API_KEY

JSON-2 (`/json/2/<model>/<method>`) is Odoo 19's external API: stateless, one HTTP
POST per call, named arguments, an API key as bearer token. XML-RPC still works in 19
but is deprecated (gone in Odoo 20) and logs a warning on every call.
Only the standard library is used, so integrators can copy this file as it is.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import xmlrpc.client

UNIT_FIELDS = ["code", "name", "complete_name", "unit_type", "parent_id"]


class Json2Error(Exception):
    """An error reply of /json/2: HTTP status plus Odoo's error name and message."""

    def __init__(self, status: int, payload: dict):
        self.status = status
        self.name = payload.get("name", "")
        super().__init__(f"{status} {self.name}: {payload.get('message', '')}")


def json2_call(url: str, db: str, api_key: str, model: str, method: str, **kwargs):
    """Call `model.method(**kwargs)` through /json/2 and return the decoded result."""
    request = urllib.request.Request(
        f"{url}/json/2/{model}/{method}",
        data=json.dumps(kwargs).encode(),
        headers={
            "Authorization": f"bearer {api_key}",
            "Content-Type": "application/json",
            # Name the database: without it Odoo lists databases on every call.
            "X-Odoo-Database": db,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise Json2Error(error.code, json.loads(error.read() or b"{}")) from None


def list_units_json2(url: str, db: str, api_key: str) -> list[dict]:
    return json2_call(
        url,
        db,
        api_key,
        "service.org.unit",
        "search_read",
        domain=[],
        fields=UNIT_FIELDS,
        order="complete_name",
    )


def create_outlet_json2(url: str, db: str, api_key: str, parent_code: str, code: str, name: str):
    """Create an outlet below the unit whose code is parent_code; returns its id."""
    parents = json2_call(
        url, db, api_key, "service.org.unit", "search", domain=[["code", "=", parent_code]]
    )
    if not parents:
        raise LookupError(f"no unit with code {parent_code}")
    vals = {"code": code, "name": name, "unit_type": "outlet", "parent_id": parents[0]}
    return json2_call(url, db, api_key, "service.org.unit", "create", vals_list=[vals])[0]


def list_units_xmlrpc(url: str, db: str, login: str, api_key: str) -> list[dict]:
    """Deprecated route, kept for integrators whose tools only speak XML-RPC."""
    common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
    uid = common.authenticate(db, login, api_key, {})
    if not uid:
        raise PermissionError("authentication failed")
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
    return models.execute_kw(
        db,
        uid,
        api_key,
        "service.org.unit",
        "search_read",
        [[]],
        {"fields": UNIT_FIELDS, "order": "complete_name"},
    )


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__)
        return 2
    url, db, login, api_key = argv[1:]
    for unit in list_units_json2(url, db, api_key):
        print(f"{unit['code']:<10} {unit['unit_type']:<7} {unit['complete_name']}")
    print(f"XML-RPC sees {len(list_units_xmlrpc(url, db, login, api_key))} units too.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Two calls for the same keypad at the same moment, against a real threaded Odoo.

Odoo runs each request in REPEATABLE READ on a snapshot taken when it starts. If two
batches of one keypad replayed concurrently, each would rebuild the sessions without
the other's events (a press counted as unsolicited, a session left awaiting). The
route writes the keypad's row first, so the second call fails with a serialization
error inside Odoo and is retried on fresh data: the result must be the one of any
sequential order.
"""

import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from odoo_server import ROOT, create_keypads

sys.path.insert(0, str(ROOT / "docs" / "examples"))
from service_units_client import json2_call

ROUTE = "/service_evaluation/device/events"
CUSTOMERS = 6


@pytest.fixture(scope="module")
def keypad(odoo_db):
    """A device user with its API key, and one keypad bound to a counter."""
    made = create_keypads(odoo_db, "Race", 1)
    return {"key": made["key"], "serial": made["serials"][0]}


def test_concurrent_calls_of_one_keypad_give_the_sequential_result(
    odoo_server, keypad, admin_api_key
):
    serial, headers = keypad["serial"], {"Authorization": f"Bearer {keypad['key']}"}
    t0 = datetime.now(timezone.utc) - timedelta(minutes=10)

    def event(kind, seconds, **extra):
        moment = (t0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
        return {"id": uuid.uuid4().hex, "device": serial, "type": kind, "time": moment} | extra

    replies = []

    def post(events, barrier):
        barrier.wait()
        reply = odoo_server.jsonrpc(ROUTE, {"events": events}, headers)
        replies.append(reply)

    for customer in range(CUSTOMERS):
        base = customer * 30
        # The customer's rating races the call that opens and closes the session.
        calls = [
            [event("start", base), event("end", base + 20)],
            [event("rate", base + 22, key=1)],
        ]
        barrier = threading.Barrier(len(calls))
        threads = [threading.Thread(target=post, args=(c, barrier)) for c in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    statuses = [r["result"]["results"][0]["status"] for r in replies]
    assert statuses == ["stored"] * len(replies), replies[:2]
    domain = [["device_id.serial_number", "=", serial]]
    sessions = json2_call(
        odoo_server.url,
        odoo_server.db,
        admin_api_key,
        "service.evaluation.session",
        "search_read",
        domain=domain,
        fields=["state"],
    )
    assert [s["state"] for s in sessions] == ["rated"] * CUSTOMERS
    outcomes = json2_call(
        odoo_server.url,
        odoo_server.db,
        admin_api_key,
        "service.evaluation.event",
        "search_read",
        domain=[*domain, ["event_type", "=", "rate"]],
        fields=["outcome"],
    )
    assert [e["outcome"] for e in outcomes] == ["counted"] * CUSTOMERS

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

from odoo_server import ROOT, odoo_shell

sys.path.insert(0, str(ROOT / "docs" / "examples"))
from service_units_client import json2_call

ROUTE = "/service_evaluation/device/events"
CUSTOMERS = 6


@pytest.fixture(scope="module")
def keypad(odoo_db):
    """A device user with its API key, and one keypad bound to a counter."""
    tag = uuid.uuid4().hex[:6].upper()
    output = odoo_shell(
        odoo_db,
        f"""
from datetime import timedelta
from odoo import fields
user = env['res.users'].create({{
    'name': 'Race {tag}', 'login': 'race.{tag}',
    'group_ids': [(6, 0, [env.ref('service_evaluation.group_service_device').id])]}})
outlet = env['service.org.unit'].create({{'name': 'Race {tag}', 'code': 'RACE-{tag}'}})
counter = env['service.evaluation.counter'].create({{
    'name': 'Race', 'code': 'RACE-{tag}-1', 'outlet_id': outlet.id}})
env['service.evaluation.device'].create({{
    'serial_number': 'RACE{tag}', 'counter_id': counter.id, 'device_user_id': user.id}})
key = env['res.users.apikeys'].with_user(user)._generate(
    None, 'race', fields.Datetime.now() + timedelta(days=30))
env.cr.commit()
print('KEY=' + key)
""",
    )
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {"key": values["KEY"], "serial": f"RACE{tag}"}


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

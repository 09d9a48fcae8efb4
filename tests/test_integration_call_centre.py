"""docs/integration.md, section 8 "Call centre (service_dispatch)", is a contract: what it
says is checked here against a live Odoo, over JSON-2 and XML-RPC.

The section is parsed, not copied: its `curl` commands and Python snippets are run (the
sample number, serial, reference and login replaced by those of a fresh test centre made
in `odoo shell`), the keys and types of every result table (`#### ...` then
`| Key | Type | Meaning |`) are compared with what the server returns, every value table
(`| `model.field` value | Meaning |`) with the field's selection, the values table with
the keys the server accepts, and every row of the error table with what each protocol
answers (status, exception, faultCode, message; never a server error).
"""

import json
import os
import random
import re
import subprocess
import sys
import uuid
import xmlrpc.client
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "examples"))

import call_centre_client as client

from odoo_server import odoo_shell

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integration.md"
SECTION = "## 8. Call centre (service_dispatch)"

# The samples of the page, replaced by the test centre's own values (see `samples`).
SAMPLE_PHONE = "+86 138 0013 8000"
SAMPLE_SERIAL = "WM8-2024-000123"
SAMPLE_REFERENCE = "WO2026000042"
SAMPLE_UNKNOWN = "+8613900000000"


# ---------------------------------------------------------------- reading the page
def section_lines() -> list[str]:
    lines = DOC.read_text().splitlines()
    start = lines.index(SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), None)
    return lines[start + 1 : end]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def section_tables() -> list[tuple[str, list[str], list[list[str]]]]:
    """[(the heading above, header cells, rows)] of the section's tables."""
    tables, block, heading = [], [], ""
    for line in [*section_lines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            tables.append((heading, _cells(block[0]), [_cells(row) for row in block[2:]]))
            block = []
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
    return tables


def code_blocks(language: str) -> list[str]:
    text = "\n".join(section_lines())
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def key_tables() -> dict[str, dict[str, str]]:
    """{heading: {key: documented type}} of the result tables."""
    return {
        heading: {row[0].strip("`"): row[1] for row in rows}
        for heading, header, rows in section_tables()
        if header[:2] == ["Key", "Type"]
    }


# ---------------------------------------------------------------- a test centre
@pytest.fixture(scope="module")
def centre(odoo_db):
    """A call centre unit with an outlet and technician, its telephony user (Agent,
    supervisor of the centre), a dispatcher, a user outside the service groups, each
    with an API key; a gold member with an appliance and two work orders (one accepted,
    one cancelled); another customer's appliance. Made in `odoo shell`, fresh names."""
    tag = uuid.uuid4().hex[:6].upper()
    number = int(tag, 16) % 10**8
    output = odoo_shell(
        odoo_db,
        f"""
from datetime import timedelta
from odoo import fields
company = env.company
if not company._get_service_phone_country():  # numbers are read in the company's country
    company.service_phone_country_id = env.ref('base.cn')
ref = env.ref
centre = env['service.org.unit'].create(
    {{'name': 'Call centre {tag}', 'code': 'CC{tag}', 'unit_type': 'branch'}})
outlet = env['service.org.unit'].create(
    {{'name': 'CC outlet {tag}', 'code': 'CC{tag}-1', 'unit_type': 'outlet',
      'parent_id': centre.id}})
tech = env['service.dispatch.technician'].create({{'name': 'Tech {tag}', 'outlet_id': outlet.id}})
Users = env['res.users']
def user(login, groups):
    return Users.create({{'name': login, 'login': login,
                          'group_ids': [(6, 0, [ref(g).id for g in groups])]}})
agent = user('telephony.{tag.lower()}', ['service_dispatch.group_dispatch_agent'])
dispatcher = user('dispatcher.{tag.lower()}', ['service_dispatch.group_dispatch_dispatcher'])
nobody = user('nobody.{tag.lower()}', ['base.group_user'])
centre.supervisor_ids = [(4, agent.id), (4, dispatcher.id)]
washer = env['product.product'].create({{'name': 'CC Washer {tag}', 'default_code': 'CCW{tag}',
    'barcode': '69{number:08d}1', 'service_warranty_months': 24}})
customer = env['res.partner'].create({{'name': 'CC Customer {tag}', 'phone': '+86 139 {number:08d}',
    'service_member_tier': 'gold', 'service_member_number': 'CC{tag}'}})
other = env['res.partner'].create({{'name': 'CC Other {tag}', 'phone': '+86 137 {number:08d}'}})
Appliance = env['service.dispatch.appliance']
Appliance.create({{'partner_id': customer.id, 'product_id': washer.id,
    'serial_number': 'CCSN{tag}', 'purchase_date': '2025-06-01'}})
Appliance.create({{'partner_id': other.id, 'product_id': washer.id,
    'serial_number': 'CCOTHER{tag}'}})
Request = env['service.dispatch.request'].with_user(agent)
orders = []
for description in ('accepted', 'cancelled'):
    request = Request.create({{'partner_id': customer.id, 'type_id': ref(
        'service_dispatch.request_type_repair').id, 'unit_id': centre.id,
        'appliance_id': customer.service_appliance_ids.id, 'description': description}})
    request.action_create_work_order()
    order = request.work_order_ids.with_user(dispatcher)
    order.action_dispatch(outlet.id)
    orders.append(order)
orders[0].action_accept(tech.id)
orders[1].action_cancel('pytest: the customer fixed it')
expiry = fields.Datetime.now() + timedelta(days=1)
def key(u):
    return env['res.users.apikeys'].with_user(u)._generate(None, 'pytest call centre', expiry)
values = {{
    'agent_key': key(agent), 'dispatcher_key': key(dispatcher), 'nobody_key': key(nobody),
    'agent_login': agent.login, 'dispatcher_login': dispatcher.login,
    'nobody_login': nobody.login, 'customer_id': customer.id,
    'order': orders[0].name, 'order_id': orders[0].id,
    'cancelled': orders[1].name, 'cancelled_id': orders[1].id,
    'country': company._get_service_phone_country().name,
}}
env.cr.commit()
import json
print('WORLD=' + json.dumps(values))
""",
    )
    world = json.loads(next(line[6:] for line in output.splitlines() if line.startswith("WORLD=")))
    world.update(
        tag=tag,
        phone=f"+86 139 {number:08d}",
        e164=f"+86139{number:08d}",
        serial=f"CCSN{tag}",
        other_serial=f"CCOTHER{tag}",
        product_code=f"CCW{tag}",
        barcode=f"69{number:08d}1",
        unit_code=f"CC{tag}",
    )
    return world


def new_number() -> tuple[str, str]:
    """A number nobody calls from yet: (as typed, E.164)."""
    digits = f"{random.randrange(10**8):08d}"
    return f"+86 136 {digits}", f"+86136{digits}"


@pytest.fixture(scope="module")
def samples(centre):
    """The page's sample values -> the test centre's."""
    return {
        SAMPLE_PHONE: centre["phone"],
        SAMPLE_SERIAL: centre["serial"],
        SAMPLE_REFERENCE: centre["order"],
        '"telephony"': f'"{centre["agent_login"]}"',
    }


def replaced(text: str, samples: dict) -> str:
    for sample, value in samples.items():
        text = text.replace(sample, value)
    return text


class Protocol:
    """One user over one protocol: `call(model, method, ids=None, **kwargs)` returns the
    result, or raises client.Json2Error / xmlrpc.client.Fault."""

    def __init__(self, kind, server, login, key):
        self.kind = kind
        if kind == "json2":
            self.client = client.Json2Client(server.url, server.db, key)
        else:
            self.client = client.XmlRpcClient(server.url, server.db, login, key)

    def call(self, model, method, ids=None, **kwargs):
        if self.kind == "json2":
            if ids:
                kwargs["ids"] = ids
            return self.client.call(model, method, **kwargs)
        return self.client.call(model, method, *([ids] if ids else []), *kwargs.values())


@pytest.fixture(scope="module")
def users(odoo_server, centre):
    def make(kind):
        return {
            role: Protocol(kind, odoo_server, centre[f"{role}_login"], centre[f"{role}_key"])
            for role in ("agent", "dispatcher", "nobody")
        }

    return {"json2": make("json2"), "xmlrpc": make("xmlrpc")}


PROTOCOLS = ("json2", "xmlrpc")


# ---------------------------------------------------------------- the three calls
@pytest.mark.parametrize("kind", PROTOCOLS)
def test_lookup_known_and_unknown_number(users, centre, kind):
    agent = users[kind]["agent"]
    found = agent.call("res.partner", "service_lookup_caller", phone=centre["phone"])
    assert found["phone"] == centre["e164"]
    (customer,) = found["customers"]
    assert customer["id"] == centre["customer_id"]
    assert (customer["is_member"], customer["member_tier"]) == (True, "gold")
    assert [a["serial_number"] for a in customer["appliances"]] == [centre["serial"]]
    assert {o["name"] for o in customer["work_orders"]} == {centre["order"], centre["cancelled"]}
    assert customer["open_requests"]  # the requests of the two orders at least
    typed, e164 = new_number()
    assert agent.call("res.partner", "service_lookup_caller", phone=typed) == {
        "phone": e164,
        "customers": [],
    }


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_create_for_a_known_customer(users, centre, kind):
    agent = users[kind]["agent"]
    result = agent.call(
        "service.dispatch.request",
        "service_create_from_call",
        values={
            "phone": centre["phone"],
            "request_type": "REPAIR",
            "serial_number": centre["serial"],
            "description": f"pytest {kind}",
            "create_work_order": True,
        },
    )
    assert result["customer"] == {
        "id": centre["customer_id"],
        "name": f"CC Customer {centre['tag']}",
        "is_new": False,
    }
    assert result["request"]["type_code"] == "REPAIR"
    assert result["request"]["channel"] == "phone"
    assert result["request"]["state"] == "in_progress"
    assert result["appliance"]["serial_number"] == centre["serial"]
    assert result["work_order"]["state"] == "new"
    assert result["work_order"]["request"]["id"] == result["request"]["id"]


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_create_for_a_new_customer_and_appliance(users, centre, kind):
    agent = users[kind]["agent"]
    typed, e164 = new_number()
    serial = f"CCNEW{centre['tag']}{kind}"
    result = agent.call(
        "service.dispatch.request",
        "service_create_from_call",
        values={
            "phone": typed,
            "customer_name": f"New caller {kind}",
            "request_type": "INSTALL",
            "product_code": centre["barcode"],
            "serial_number": serial,
        },
    )
    assert result["customer"]["is_new"] is True
    assert result["appliance"]["serial_number"] == serial
    assert result["appliance"]["owner_id"] == result["customer"]["id"]
    assert result["work_order"]["service_type"] == "installation"  # created at once
    (customer,) = agent.call("res.partner", "service_lookup_caller", phone=e164)["customers"]
    assert customer["id"] == result["customer"]["id"]
    assert [a["serial_number"] for a in customer["appliances"]] == [serial]
    assert [r["id"] for r in customer["open_requests"]] == [result["request"]["id"]]


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_status_by_reference_and_id(users, centre, kind):
    agent = users[kind]["agent"]
    by_name = agent.call(
        "service.dispatch.work.order", "service_get_status", reference=centre["order"]
    )
    by_id = agent.call(
        "service.dispatch.work.order", "service_get_status", reference=centre["order_id"]
    )
    assert by_name == by_id
    assert by_name["state"] == "accepted" and by_name["is_open"] is True
    assert by_name["outlet"]["code"] == f"CC{centre['tag']}-1"
    assert by_name["technician"] == f"Tech {centre['tag']}"
    assert by_name["dates"]["dispatched"] and by_name["dates"]["accepted"]
    assert by_name["dates"]["done"] is False
    assert [step["step"] for step in by_name["steps"]] == ["create", "dispatch", "accept"]
    cancelled = agent.call(
        "service.dispatch.work.order", "service_get_status", reference=centre["cancelled"]
    )
    assert cancelled["state"] == "cancelled" and cancelled["is_open"] is False
    assert cancelled["cancel_reason"] == "pytest: the customer fixed it"


# ---------------------------------------------------------------- the page's tables
def _live_objects(users, centre) -> dict:
    agent = users["json2"]["agent"]
    found = agent.call("res.partner", "service_lookup_caller", phone=centre["phone"])
    customer = found["customers"][0]
    created = agent.call(
        "service.dispatch.request",
        "service_create_from_call",
        values={"phone": centre["phone"], "request_type": "REPAIR",
                "serial_number": centre["serial"], "create_work_order": True},
    )  # fmt: skip
    status = agent.call(
        "service.dispatch.work.order", "service_get_status", reference=centre["order"]
    )
    return {
        "The lookup's result": found,
        "A customer": customer,
        "An appliance": customer["appliances"][0],
        "A request": customer["open_requests"][0],
        "A work order of the lookup": customer["work_orders"][0],
        "Its result": created,
        "The status": status,
        "`dates`": status["dates"],
        "`sla`": status["sla"],
        "`steps[]`": status["steps"][0],
    }


TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "date": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", v),
    "datetime": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", v),
}


def _has_type(value, documented: str) -> bool:
    kind, _, alternative = documented.partition(" or ")
    if alternative == "false" and value is False:
        return True
    return bool(TYPES[kind](value))


def test_every_result_table_matches_the_server(users, centre):
    tables = key_tables()
    objects = _live_objects(users, centre)
    for prefix, live in objects.items():
        matches = [heading for heading in tables if heading.startswith(prefix)]
        assert len(matches) == 1, f"one table under a heading starting {prefix!r}: {matches}"
        documented = tables[matches[0]]
        assert set(documented) == set(live), (prefix, set(documented) ^ set(live))
        for key, kind in documented.items():
            assert _has_type(live[key], kind), (prefix, key, kind, live[key])
    assert len(tables) == len(objects), "a result table the test does not know"


def test_every_value_table_matches_the_selection(users):
    agent = users["json2"]["agent"]
    tables = [
        (re.fullmatch(r"`([a-z_.]+)\.(\w+)` value", header[0]), rows)
        for _heading, header, rows in section_tables()
        if header[0].endswith(" value")
    ]
    assert len(tables) >= 7
    for match, rows in tables:
        assert match, "a value table's header names `model.field`"
        model, field = match.groups()
        described = agent.call(model, "fields_get", allfields=[field], attributes=["selection"])
        assert [row[0].strip("`") for row in rows] == [
            value for value, _label in described[field]["selection"]
        ], (model, field)


def test_the_values_table_lists_what_the_server_accepts(users, centre):
    (documented,) = [
        [row[0].strip("`") for row in rows]
        for heading, header, rows in section_tables()
        if header[:2] == ["Value", "Required"]
    ]
    with pytest.raises(client.Json2Error) as refused:
        users["json2"]["agent"].call(
            "service.dispatch.request",
            "service_create_from_call",
            values={"phone": centre["phone"], "request_type": "REPAIR", "colour": "red"},
        )
    accepted = refused.value.message.split("A call takes ")[1].rstrip(".").split(", ")
    assert sorted(documented) == accepted


# ---------------------------------------------------------------- errors
def _bad_calls(centre) -> dict:
    """The error table's rows: label -> (role, model, method, ids, kwargs)."""
    unknown_typed, _e164 = new_number()
    create = ("service.dispatch.request", "service_create_from_call", None)
    call = {"phone": centre["phone"], "request_type": "REPAIR"}
    return {
        "unknown product": ("agent", *create, {"values": dict(call, product_code="NOPE")}),
        "malformed phone": ("agent", *create, {"values": dict(call, phone="12")}),
        "malformed phone (lookup)": (
            "agent", "res.partner", "service_lookup_caller", None, {"phone": "12"}),
        "unknown request type": ("agent", *create, {"values": dict(call, request_type="FIX")}),
        "unknown number, no name": ("agent", *create, {"values": dict(call, phone=unknown_typed)}),
        "appliance of someone else": (
            "agent", *create, {"values": dict(call, serial_number=centre["other_serial"])}),
        "unknown value": ("agent", *create, {"values": dict(call, colour="red")}),
        "unknown work order": (
            "agent", "service.dispatch.work.order", "service_get_status", None,
            {"reference": "WO-NOPE"}),
        "closed or cancelled order": (
            "dispatcher", "service.dispatch.work.order", "action_cancel",
            [centre["cancelled_id"]], {"reason": "again"}),
        "not a dispatcher": (
            "agent", "service.dispatch.work.order", "action_cancel", [centre["order_id"]],
            {"reason": "pytest"}),
        "not an agent": ("nobody", *create, {"values": call}),
    }, unknown_typed  # fmt: skip


def _message_matches(documented: str, live: str) -> bool:
    """The page's message, where "…" stands for any text."""
    pattern = ".*?".join(re.escape(part) for part in documented.split("…"))
    return re.match(pattern, live, re.S) is not None


def test_every_error_of_the_table(users, centre, samples):
    (rows,) = [rows for _h, header, rows in section_tables() if header[0] == "Bad input"]
    calls, unknown_typed = _bad_calls(centre)
    assert {row[0] for row in rows} == set(calls), "the page and the test list the same cases"
    unknown_e164 = unknown_typed.replace(" ", "")
    for label, _call, json2, fault_code, message in rows:
        role, model, method, ids, kwargs = calls[label]
        message = replaced(message, {SAMPLE_UNKNOWN: unknown_e164, "China": centre["country"]})
        status, name = json2.split(" ")
        with pytest.raises(client.Json2Error) as refused:
            users["json2"][role].call(model, method, ids=ids, **kwargs)
        error = refused.value
        assert (error.status, error.name) == (int(status), name.strip("`")), (label, error)
        assert _message_matches(message, error.message), (label, error.message)
        with pytest.raises(xmlrpc.client.Fault) as fault:
            users["xmlrpc"][role].call(model, method, ids=ids, **kwargs)
        assert fault.value.faultCode == int(fault_code), (label, fault.value.faultString[:300])
        assert _message_matches(message, fault.value.faultString), (label, fault.value)


def test_nothing_is_recorded_by_a_refused_call(users, centre):
    typed, e164 = new_number()
    agent = users["json2"]["agent"]
    with pytest.raises(client.Json2Error) as refused:
        agent.call(
            "service.dispatch.request",
            "service_create_from_call",
            values={"phone": typed, "customer_name": "Half done", "request_type": "REPAIR",
                    "product_code": "NOPE", "serial_number": "X"},
        )  # fmt: skip
    assert refused.value.status == 422
    assert agent.call("res.partner", "service_lookup_caller", phone=e164)["customers"] == []


def test_a_missing_argument_is_json2s_own_422(users):
    with pytest.raises(client.Json2Error) as refused:
        users["json2"]["agent"].call("res.partner", "service_lookup_caller")
    assert refused.value.status == 422
    assert "missing a required argument" in refused.value.message


# ---------------------------------------------------------------- the page's snippets
def _env(odoo_server, centre) -> dict:
    return {
        **os.environ,
        "ODOO_URL": odoo_server.url,
        "ODOO_DB": odoo_server.db,
        "ODOO_API_KEY": centre["agent_key"],
    }


def test_the_curl_commands_of_the_page(odoo_server, centre, samples):
    commands = [block for block in code_blocks("bash") if block.lstrip().startswith("curl")]
    assert len(commands) == 3
    replies = []
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", replaced(command, samples).rstrip() + " -w '\\n%{http_code}'"],
            env=_env(odoo_server, centre),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        body, _, code = result.stdout.rpartition("\n")
        assert code == "200", (command, body[:500])
        replies.append(json.loads(body))
    lookup, created, status = replies
    assert lookup["customers"][0]["id"] == centre["customer_id"]
    assert created["request"]["description"] == "Drum does not spin"
    assert created["request"]["state"] == "in_progress" and created["work_order"]["state"] == "new"
    assert status["name"] == centre["order"] and status["state_label"] == "Accepted"


def test_the_python_snippets_of_the_page(odoo_server, centre, samples, monkeypatch):
    snippets = [block for block in code_blocks("python") if "import" in block]
    assert len(snippets) == 2
    for name, value in _env(odoo_server, centre).items():
        if name.startswith("ODOO_"):
            monkeypatch.setenv(name, value)
    requests_snippet, xmlrpc_snippet = snippets
    namespace: dict = {}
    exec(replaced(requests_snippet, samples), namespace)  # the page's own code
    assert namespace["callers"][0]["id"] == centre["customer_id"]
    namespace = {}
    exec(replaced(xmlrpc_snippet, samples), namespace)
    assert namespace["found"]["customers"][0]["id"] == centre["customer_id"]


def test_the_example_script(odoo_server, centre, capsys):
    argv = ["client", odoo_server.url, odoo_server.db, centre["agent_login"],
            centre["agent_key"], centre["phone"], centre["order"]]  # fmt: skip
    assert client.main(argv) == 0
    out = capsys.readouterr().out
    assert f"CC Customer {centre['tag']} (gold member)" in out
    assert f"{centre['order']}: Accepted (accepted), CC outlet {centre['tag']}" in out
    assert "XML-RPC: " in out

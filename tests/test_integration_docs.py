"""docs/integration.md is a contract: what it says is checked here against a live Odoo.

The page is parsed, not copied: its model sections (`### `model``), their field tables
(`| Field | Type | Meaning |`) and value tables (`| `field` value | Meaning |`), the scale
recipe and the keypad morning of section 6. Change the code or the page alone and
these tests fail.
"""

import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "examples"))

import service_units_client as client
from odoo_server import create_keypads, odoo_shell

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integration.md"
ROUTE = "/service_evaluation/device/events"

# What an integrator touches (issue 11): the page must have a section for each.
REQUIRED_MODELS = {
    "service.org.unit",
    "service.evaluation.counter",
    "service.evaluation.device",
    "service.evaluation.session",
    "service.evaluation.event",
    "service.evaluation.business.type",
    "service.evaluation.scale",
    "service.evaluation.scale.option",
    "service.evaluation.shift",
    "service.evaluation.star.level",
    "service.evaluation.alert",
    "service.evaluation.session.report",
    "hr.employee",
    "hr.employee.public",
}
REQUIRED_VALUES = {
    ("service.evaluation.session", "state"),
    ("service.evaluation.event", "event_type"),
    ("service.evaluation.event", "outcome"),
    ("service.evaluation.alert", "state"),
    ("service.evaluation.alert", "sms_state"),
}
FACTS = (
    "service.evaluation.session",
    "service.evaluation.event",
    "service.evaluation.shift",
    "service.evaluation.star.level",
    "service.evaluation.alert",
)


# ---------------------------------------------------------------- reading the page
def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _tables(lines: list[str]) -> list[tuple[list[str], list[list[str]]]]:
    """[(header cells, rows of cells)] of the Markdown tables in `lines`."""
    tables, block = [], []
    for line in [*lines, ""]:
        if line.startswith("|"):
            block.append(line)
        elif block:
            tables.append((_cells(block[0]), [_cells(row) for row in block[2:]]))
            block = []
    return tables


def _section(title_pattern: str) -> list[str]:
    """The lines of the first heading matching `title_pattern`, up to the next heading."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(title_pattern, line))
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"#{2,3} ", lines[i])), len(lines)
    )
    return lines[start + 1 : end]


def doc_models() -> dict[str, dict]:
    """{model: {"fields": {name: (type, relation)}, "values": {field: [values]}}}."""
    lines = DOC.read_text().splitlines()
    section5 = lines.index("## 5. The models you will meet")
    section6 = lines.index("## 6. The rules behind the figures")
    models, current = {}, None
    chunks: dict[str, list[str]] = {}
    for line in lines[section5:section6]:
        heading = re.match(r"### `([a-z0-9_.]+)`", line)
        if heading:
            current = heading.group(1)
            chunks[current] = []
        elif line.startswith(("## ", "### ")):
            current = None
        elif current:
            chunks[current].append(line)
    for model, chunk in chunks.items():
        fields, values = {}, {}
        for header, rows in _tables(chunk):
            if header[:2] == ["Field", "Type"]:
                for row in rows:
                    kind = re.fullmatch(r"(\w+)(?: → `([a-z0-9_.]+)`)?", row[1])
                    assert kind, f"{model}: unreadable type {row[1]!r}"
                    fields[row[0].strip("`")] = (kind.group(1), kind.group(2))
            elif value_of := re.fullmatch(r"`(\w+)` value", header[0]):
                values[value_of.group(1)] = [row[0].strip("`") for row in rows]
        models[model] = {"fields": fields, "values": values}
    return models


def doc_morning() -> list[tuple[int, str, int | None, str]]:
    """[(second, event type, key, outcome)] of the keypad morning of section 6."""
    (_header, rows), *_ = [
        table for table in _tables(_section("### How a keypad")) if table[0][0] == "Second"
    ]
    morning = []
    for second, event, outcome, _why in rows:
        event_type, _, key = event.replace("`", "").partition(" ")
        morning.append((int(second), event_type, int(key) if key else None, outcome.strip("`")))
    return morning


def doc_scale_recipe():
    code = "\n".join(_section("### Which scale an outlet uses"))
    (block,) = re.findall(r"```python\n(.*?)```", code, re.S)
    namespace: dict = {}
    exec(block, namespace)  # the page's own code
    return namespace["scale_of"]


# ---------------------------------------------------------------- a world to check it on
def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


@pytest.fixture(scope="module")
def admin(odoo_server, admin_api_key):
    def call(model, method, **kwargs):
        return client.json2_call(
            odoo_server.url, odoo_server.db, admin_api_key, model, method, **kwargs
        )

    return call


@pytest.fixture(scope="module")
def world(odoo_server, odoo_db, admin):
    """Three keypads at a fresh outlet, its own manager (a Service Manager made in
    `odoo shell`, with an API key), a star level there, the keypad morning of the page
    on the first keypad and a dissatisfied customer on the second."""
    made = create_keypads(odoo_db, "DOCS", 3)  # the third never posts
    tag = made["tag"]
    output = odoo_shell(
        odoo_db,
        f"""
from datetime import timedelta
from odoo import fields
from odoo.exceptions import ValidationError
outlet = env['service.org.unit'].search([('code', '=', 'DOCS{tag}')])
manager = env['res.users'].create({{
    'name': 'Docs Manager {tag}', 'login': 'docs.manager.{tag.lower()}',
    'group_ids': [(6, 0, [env.ref('service_base.service_base_group_manager').id])]}})
outlet.manager_ids = manager
teller = env['hr.employee'].search([('service_employee_number', '=', '{made["number"]}')])
today = fields.Date.today()
env['service.evaluation.star.level'].create({{
    'employee_id': teller.id, 'outlet_id': outlet.id, 'company_id': outlet.company_id.id,
    'period_start': today.replace(day=1), 'period_end': today, 'star_level': 0}})
Keys = env['res.users.apikeys'].with_user(manager)
now = fields.Datetime.now()
print('KEY=' + Keys._generate(None, 'docs', now + timedelta(days=1)))
print('REVOCABLE=' + Keys._generate(None, 'docs revocable', now + timedelta(days=1)))
try:
    Keys._generate(None, 'docs too long', now + timedelta(days=91))
    print('LIMIT=none')
except ValidationError:
    print('LIMIT=refused')
env.cr.commit()
print('MANAGER=' + str(manager.id))
""",
    )
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)

    headers = {"Authorization": f"Bearer {made['key']}"}
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    morning = doc_morning()
    serial, other, _silent = made["serials"]
    events = []
    for second, event_type, key, _outcome in morning:
        event = {
            "id": f"m-{second}",
            "device": serial,
            "type": event_type,
            "time": iso(t0 + timedelta(seconds=second)),
        }
        if key:
            event["key"] = key
        if event_type == "login":
            event["employee"] = made["number"]
        events.append(event)
    reply = odoo_server.jsonrpc(ROUTE, {"events": events}, headers)
    assert {r["status"] for r in reply["result"]["results"]} == {"stored"}, reply
    negative = [
        {
            "id": f"n-{i}",
            "device": other,
            "type": kind,
            "time": iso(t0 + timedelta(seconds=s)),
            **({"key": 4} if kind == "rate" else {}),
        }
        for i, (kind, s) in enumerate((("start", 0), ("end", 60), ("rate", 62)))
    ]
    reply = odoo_server.jsonrpc(ROUTE, {"events": negative}, headers)
    assert {r["status"] for r in reply["result"]["results"]} == {"stored"}, reply

    def as_manager(model, method, **kwargs):
        return client.json2_call(
            odoo_server.url, odoo_server.db, values["KEY"], model, method, **kwargs
        )

    outlet_id = admin("service.org.unit", "search", domain=[["code", "=", f"DOCS{tag}"]])[0]
    return {
        **made,
        "manager": as_manager,
        "manager_id": int(values["MANAGER"]),
        "revocable": values["REVOCABLE"],
        "limit": values["LIMIT"],
        "t0": t0,
        "morning": morning,
        "outlet_id": outlet_id,
        "device_headers": headers,
    }


def sessions_of(call, serial):
    return call(
        "service.evaluation.session",
        "search_read",
        domain=[["device_id.serial_number", "=", serial]],
        fields=["state", "option_id", "employee_id", "is_negative", "is_voided"],
        order="date_start, id",
    )


# ---------------------------------------------------------------- section 5: the models
def test_the_page_documents_every_model_an_integrator_touches():
    models = doc_models()
    assert set(models) >= REQUIRED_MODELS
    for model, field in REQUIRED_VALUES:
        assert field in models[model]["values"], f"{model}.{field}: no value table"
    assert {"late", "orphan", "shift"} <= set(
        models["service.evaluation.event"]["values"]["outcome"]
    )
    assert "service_employee_number" in models["hr.employee"]["fields"]
    for model, documented in models.items():
        assert documented["fields"], f"{model}: no field table"


def test_documented_fields_exist_with_their_types(admin):
    problems = []
    for model, documented in doc_models().items():
        described = admin(model, "fields_get", attributes=["type", "relation", "selection"])
        for name, (kind, relation) in documented["fields"].items():
            actual = described.get(name)
            if actual is None:
                problems.append(f"{model}.{name}: no such field")
            elif actual["type"] != kind or (actual.get("relation") or None) != relation:
                problems.append(
                    f"{model}.{name}: documented {kind} {relation or ''}, is "
                    f"{actual['type']} {actual.get('relation') or ''}"
                )
        for name, values in documented["values"].items():
            actual = described.get(name, {})
            if name not in documented["fields"]:
                problems.append(f"{model}.{name}: value table without a field row")
            keys = [key for key, _label in actual.get("selection", [])]
            if sorted(keys) != sorted(values):
                problems.append(f"{model}.{name}: documented {values}, model has {keys}")
    assert not problems, "\n".join(problems)


def test_the_overview_lists_the_sections():
    (header, rows), *_ = _tables(_section("## 5. The models you will meet"))
    assert header[0] == "Model"
    listed = {
        "service.evaluation" + name if name.startswith(".") else name
        for row in rows
        for name in re.findall(r"\[`([a-z0-9_.]+)`\]", row[0])
    }
    assert listed == set(doc_models())


def test_sessions_and_events_have_no_log_access_fields(admin):
    for model in ("service.evaluation.session", "service.evaluation.event"):
        described = admin(model, "fields_get", attributes=["type"])
        assert not {"create_date", "write_date"} & set(described), model
    assert admin("service.evaluation.event", "fields_get", attributes=["type"])["date_received"]


def test_counters_live_state(world, admin):
    """Keypads heard from just now are online; one that never posted is offline."""
    counters = admin(
        "service.evaluation.counter",
        "search_read",
        domain=[["outlet_id", "=", world["outlet_id"]]],
        fields=["code", "live_state"],
        order="code",
    )
    assert [counter["live_state"] for counter in counters] == ["idle", "idle", "offline"]


# ---------------------------------------------------------------- facts and named methods
@pytest.mark.parametrize("model", FACTS)
def test_facts_are_read_only_for_a_manager(world, admin, model):
    manager = world["manager"]
    records = manager(model, "search_read", domain=[], fields=["id"], limit=1)
    assert records, f"the manager reads no {model}: the world fixture is wrong"
    record_id = records[0]["id"]
    vals = {
        "service.evaluation.session": {"score": 100, "is_satisfied": True},
        "service.evaluation.event": {"outcome": "counted"},
        "service.evaluation.shift": {"date_start": "2020-01-01 08:00:00"},
        "service.evaluation.star.level": {"star_level": 5},
        "service.evaluation.alert": {"state": "closed"},
    }[model]
    for method, kwargs in (
        ("write", {"ids": [record_id], "vals": vals}),
        ("unlink", {"ids": [record_id]}),
        ("create", {"vals_list": [vals]}),
    ):
        with pytest.raises(client.Json2Error) as refused:
            manager(model, method, **kwargs)
        assert refused.value.status == 403, (model, method, refused.value)
    # Administrators may not write facts either.
    with pytest.raises(client.Json2Error) as refused:
        admin(model, "write", ids=[record_id], vals=vals)
    assert refused.value.status == 403, (model, refused.value)


def test_staff_change_sessions_through_named_methods(world, admin):
    manager = world["manager"]
    session_a = sessions_of(manager, world["serials"][0])[0]["id"]
    assert (
        manager(
            "service.evaluation.session",
            "action_set_callback",
            ids=[session_a],
            customer_phone="+86 138 0013 8001",
        )
        is True
    )
    assert (
        manager(
            "service.evaluation.session",
            "write",
            ids=[session_a],
            vals={"staff_note": "called, will come back"},
        )
        is True
    )
    (read,) = manager(
        "service.evaluation.session",
        "read",
        ids=[session_a],
        fields=["customer_phone", "staff_note"],
    )
    assert (read["customer_phone"], read["staff_note"]) == (
        "+8613800138001",
        "called, will come back",
    )
    # Voiding is for administrators; a voided session is hidden from everyone else.
    with pytest.raises(client.Json2Error) as refused:
        manager("service.evaluation.session", "action_void", ids=[session_a], reason="test")
    assert refused.value.status == 403
    cancelled = [s for s in sessions_of(admin, world["serials"][0]) if s["state"] == "cancelled"]
    assert (
        admin(
            "service.evaluation.session",
            "action_void",
            ids=[cancelled[0]["id"]],
            reason="pytest: a test press",
        )
        is True
    )
    assert not manager(
        "service.evaluation.session", "search", domain=[["id", "=", cancelled[0]["id"]]]
    )
    (voided,) = admin(
        "service.evaluation.session",
        "read",
        ids=[cancelled[0]["id"]],
        fields=["is_voided", "void_reason", "voided_by_id"],
    )
    assert voided["is_voided"] and voided["void_reason"] == "pytest: a test press"


def test_shifts_and_alerts_change_through_named_methods(world):
    manager = world["manager"]
    (shift,) = manager(
        "service.evaluation.shift",
        "search_read",
        domain=[["outlet_id", "=", world["outlet_id"]]],
        fields=["source", "date_start", "date_end"],
    )
    assert shift["source"] == "device" and shift["date_end"]
    assert (
        manager(
            "service.evaluation.shift",
            "action_correct",
            ids=[shift["id"]],
            date_start=shift["date_start"],
            date_end=shift["date_end"],
            reason="pytest: checked",
        )
        is True
    )
    (corrected,) = manager(
        "service.evaluation.shift", "read", ids=[shift["id"]], fields=["is_corrected"]
    )
    assert corrected["is_corrected"]

    (alert,) = manager(
        "service.evaluation.alert",
        "search_read",
        domain=[["recipient_id", "=", world["manager_id"]]],
        fields=["state", "recipient_source", "recipient_id", "session_id"],
    )
    assert alert["state"] == "open"
    assert alert["recipient_source"] == "unit_manager"  # nobody supervises the outlet
    assert alert["recipient_id"][0] == world["manager_id"]
    assert manager("service.evaluation.alert", "action_mark_called_back", ids=[alert["id"]]) is True
    (done,) = manager(
        "service.evaluation.alert", "read", ids=[alert["id"]], fields=["state", "done_user_id"]
    )
    assert done["state"] == "called_back" and done["done_user_id"][0] == world["manager_id"]


def test_tellers_through_the_public_profile(world):
    (teller,) = world["manager"](
        "hr.employee.public",
        "search_read",
        domain=[["service_employee_number", "=", world["number"]]],
        fields=[
            "name",
            "service_employee_number",
            "service_star_level",
            "service_on_duty",
            "service_session_count",
        ],
    )
    assert teller["name"].startswith("DOCS 柜员")
    assert teller["service_on_duty"] is False  # logged out at second 120
    assert teller["service_session_count"] >= 3


def test_the_session_analysis_groups(world):
    groups = world["manager"](
        "service.evaluation.session.report",
        "formatted_read_group",
        domain=[],
        groupby=["outlet_id"],
        aggregates=["session_count:sum", "rated_count:sum", "satisfaction_rate:avg"],
    )
    assert [group["outlet_id"][0] for group in groups] == [world["outlet_id"]]
    assert groups[0]["session_count:sum"] >= 3
    assert groups[0]["rated_count:sum"] >= 2


# ---------------------------------------------------------------- section 6: the rules
def test_the_keypad_morning_of_the_page(world, admin):
    company = admin(
        "res.company",
        "search_read",
        domain=[],
        fields=["service_rating_window", "service_anti_repeat"],
        limit=1,
    )[0]
    assert (company["service_rating_window"], company["service_anti_repeat"]) == (10, 5)
    serial = world["serials"][0]
    events = admin(
        "service.evaluation.event",
        "search_read",
        domain=[["device_id.serial_number", "=", serial]],
        fields=["event_uid", "outcome", "session_id"],
        order="device_time, id",
    )
    by_uid = {event["event_uid"]: event for event in events}
    assert [by_uid[f"m-{second}"]["outcome"] for second, *_ in world["morning"]] == [
        outcome for *_, outcome in world["morning"]
    ]
    sessions = sessions_of(admin, serial)
    assert [s["state"] for s in sessions] == ["rated", "unrated", "cancelled", "rated"]
    keys = {
        option["id"]: option["key_code"]
        for option in admin(
            "service.evaluation.scale.option", "search_read", domain=[], fields=["key_code"]
        )
    }
    assert [keys.get(s["option_id"] and s["option_id"][0]) for s in sessions] == [2, None, None, 1]
    teller = admin(
        "hr.employee", "search", domain=[["service_employee_number", "=", world["number"]]]
    )
    assert {s["employee_id"] and s["employee_id"][0] for s in sessions} == set(teller)
    a, b = sessions[0]["id"], sessions[1]["id"]
    assert by_uid["m-24"]["session_id"][0] == a and by_uid["m-28"]["session_id"][0] == a  # repeats
    assert by_uid["m-62"]["session_id"][0] == b  # late
    assert not by_uid["m-34"]["session_id"] and not by_uid["m-5"]["session_id"]
    # The repeats of the negative key raised no alert.
    assert not admin("service.evaluation.alert", "search", domain=[["session_id", "=", a]])


def test_which_scale_an_outlet_uses(world, odoo_server, odoo_db, admin):
    """An outlet's own scale, else its nearest ancestor's, else the company's default:
    the page's recipe agrees with what the keypads at each outlet accept."""
    scale_of = doc_scale_recipe()
    made = create_keypads(odoo_db, "DOCSCALE", 3)
    tag = made["tag"]
    branch = admin(
        "service.org.unit",
        "create",
        vals_list=[{"code": f"DS-B-{tag}", "name": f"Docs branch {tag}", "unit_type": "branch"}],
    )[0]
    below, own = admin(
        "service.org.unit",
        "create",
        vals_list=[
            {"code": f"DS-O{i}-{tag}", "name": f"Docs outlet {i} {tag}", "parent_id": branch}
            for i in (1, 2)
        ],
    )
    elsewhere = admin("service.org.unit", "search", domain=[["code", "=", f"DOCSCALE{tag}"]])[0]
    for i, outlet in ((1, below), (2, own)):
        counter = admin(
            "service.evaluation.counter", "search", domain=[["code", "=", f"DOCSCALE{tag}-{i}"]]
        )
        admin("service.evaluation.counter", "write", ids=counter, vals={"outlet_id": outlet})

    def scale(unit, key):
        return admin(
            "service.evaluation.scale",
            "create",
            vals_list=[
                {
                    "name": f"Docs {key} {tag}",
                    "outlet_id": unit,
                    "option_ids": [
                        [
                            0,
                            0,
                            {
                                "key_code": key,
                                "name": f"key {key}",
                                "score": 100,
                                "is_satisfied": True,
                            },
                        ]
                    ],
                }
            ],
        )[0]

    branch_scale, own_scale = scale(branch, 6), scale(own, 8)
    (company,) = admin("service.org.unit", "read", ids=[elsewhere], fields=["company_id"])
    (default,) = admin(
        "service.evaluation.scale",
        "search",
        domain=[["outlet_id", "=", False], ["company_id", "=", company["company_id"][0]]],
    )
    assert scale_of(admin, below) == branch_scale
    assert scale_of(admin, own) == own_scale
    assert scale_of(admin, elsewhere) == default

    t0 = datetime.now(timezone.utc) - timedelta(minutes=30)
    accepted = {}
    for serial in made["serials"]:
        events = [
            {
                "id": f"s-{key}",
                "device": serial,
                "type": "rate",
                "key": key,
                "time": iso(t0 + timedelta(seconds=key)),
            }
            for key in (1, 6, 8)
        ]
        reply = odoo_server.jsonrpc(
            ROUTE, {"events": events}, {"Authorization": f"Bearer {made['key']}"}
        )
        results = reply["result"]["results"]
        assert {r.get("code") for r in results if r["status"] == "error"} <= {"unknown_key"}
        accepted[serial] = [
            key for key, r in zip((1, 6, 8), results, strict=True) if r["status"] == "stored"
        ]
    first, second, third = made["serials"]
    assert accepted == {first: [6], second: [8], third: [1]}


# ---------------------------------------------------------------- section 1: keys
def test_api_keys_of_internal_users(world, odoo_server, odoo_db):
    assert world["limit"] == "refused", "an internal user's key may not outlive 90 days"
    key = world["revocable"]
    assert client.json2_call(
        odoo_server.url, odoo_server.db, key, "service.org.unit", "search", domain=[]
    ) == [world["outlet_id"]]
    odoo_shell(
        odoo_db,
        f"env['res.users.apikeys'].search([('user_id', '=', {world['manager_id']}), "
        "('name', '=', 'docs revocable')])._remove()\nenv.cr.commit()\n",
    )
    with pytest.raises(client.Json2Error) as refused:
        client.json2_call(
            odoo_server.url, odoo_server.db, key, "service.org.unit", "search", domain=[]
        )
    assert refused.value.status == 401


def test_demo_logins_are_where_the_page_says():
    page = DOC.read_text()
    for place in ("README", "addons/service_evaluation/readme/USAGE.md"):
        assert place in page
    readme = (ROOT / "README.md").read_text()
    usage = (ROOT / "addons" / "service_evaluation" / "readme" / "USAGE.md").read_text()
    assert "## Demo logins" in readme and "## Demo logins" in usage
    for login in (
        "admin",
        "service.admin",
        "west.manager",
        "east.manager",
        "service.user",
        "teller.demo",
    ):
        assert f"`{login}`" in page and f"`{login}`" in usage

"""docs/examples/service_units_client.py against a live Odoo (the test database)."""

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "examples"))

import service_units_client as client


def test_json2_lists_the_demo_tree(odoo_server, admin_api_key):
    units = client.list_units_json2(odoo_server.url, odoo_server.db, admin_api_key)
    by_code = {unit["code"]: unit for unit in units}
    assert by_code["BJ-W-01"]["name"] == "西客站营业厅"
    assert by_code["BJ-W-01"]["parent_id"][0] == by_code["BJ-W"]["id"]
    assert by_code["HQ"]["unit_type"] == "hq"


def test_json2_creates_an_outlet(odoo_server, admin_api_key):
    code = f"IT-{uuid.uuid4().hex[:6]}"
    unit_id = client.create_outlet_json2(
        odoo_server.url, odoo_server.db, admin_api_key, "BJ-E", code, "集成测试营业厅"
    )
    units = client.list_units_json2(odoo_server.url, odoo_server.db, admin_api_key)
    created = next(unit for unit in units if unit["id"] == unit_id)
    assert created["complete_name"] == "总部 / 东区分公司 / 集成测试营业厅"


def test_json2_rejects_a_wrong_key(odoo_server):
    with pytest.raises(client.Json2Error) as error:
        client.list_units_json2(odoo_server.url, odoo_server.db, "not-a-key")
    assert error.value.status == 401


def test_xmlrpc_with_api_key(odoo_server, admin_api_key):
    units = client.list_units_xmlrpc(odoo_server.url, odoo_server.db, "admin", admin_api_key)
    assert {"HQ", "BJ-W", "BJ-E", "BJ-W-01", "BJ-W-02"} <= {unit["code"] for unit in units}


def test_xmlrpc_manager_sees_own_branch_only(odoo_server):
    """Record rules apply over RPC: the west manager never sees the east branch."""
    units = client.list_units_xmlrpc(
        odoo_server.url, odoo_server.db, "west.manager", "west.manager"
    )
    assert {unit["code"] for unit in units} == {"BJ-W", "BJ-W-01", "BJ-W-02"}


def test_example_main_prints_the_tree(odoo_server, admin_api_key, capsys):
    argv = ["client", odoo_server.url, odoo_server.db, "admin", admin_api_key]
    assert client.main(argv) == 0
    assert "西客站营业厅" in capsys.readouterr().out

"""Shared fixtures for the tests that run outside Odoo.

Tests that need a live Odoo use the `odoo_server` fixture: it serves the database
`make test` has just built (SQS_TEST_DB, default sqs_test: our addons with demo data).
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_server import OdooServer, database_exists, odoo_shell


@pytest.fixture(scope="session")
def odoo_db() -> str:
    name = os.environ.get("SQS_TEST_DB", "sqs_test")
    if not database_exists(name):
        pytest.skip(f"database {name} does not exist: run `make test` (it builds it)")
    return name


@pytest.fixture(scope="session")
def odoo_server(odoo_db):
    server = OdooServer(odoo_db).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def admin_api_key(odoo_db) -> str:
    """A fresh API key of the admin user, made in `odoo shell` as a real user would."""
    output = odoo_shell(
        odoo_db,
        "key = env['res.users.apikeys'].with_user(env.ref('base.user_admin'))"
        "._generate(None, 'pytest integration', None)\n"
        "env.cr.commit()\n"
        "print('APIKEY=' + key)\n",
    )
    return next(line[7:] for line in output.splitlines() if line.startswith("APIKEY="))

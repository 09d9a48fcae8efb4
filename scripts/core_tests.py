#!/usr/bin/env python3
"""Run Odoo's own test suites of the given modules on a database, with its full registry.

    core_tests.py DATABASE TEST_TAGS MODULE[,MODULE...] [odoo options]

`odoo --test-tags /hr` on an installed database runs hr's at_install tests while the
registry is loading, at hr's turn: without the modules loaded after it (ours), so their
NOT NULL columns and overrides are missing and the result means nothing. Here the registry
is loaded first with tests disabled, then the at_install and post_install suites of the
modules run through Odoo's own loader (`make_suite` + `run_suite`), as `preload_registries`
does for post_install. The result line is Odoo's usual
"odoo.tests.result: N failed, N error(s) of N tests when loading database ...".
"""

import sys
import time

import odoo.cli  # noqa: F401  (sets up odoo.addons, as odoo-bin does)
from odoo import api, sql_db
from odoo.modules.registry import Registry
from odoo.service import server
from odoo.tests import loader
from odoo.tests.result import OdooTestResult
from odoo.tools import config


def run_suites(dbnames, modules):
    rc = 0
    for dbname in dbnames:
        config["test_enable"] = False  # no at_install tests while the registry loads
        try:
            registry = Registry.new(dbname)
        except Exception:
            server._logger.critical("Failed to load database %s", dbname, exc_info=True)
            return -1
        finally:
            config["test_enable"] = True
        report = registry._assertion_report = OdooTestResult()
        for position in ("at_install", "post_install"):
            t0, q0 = time.time(), sql_db.sql_counter
            suite = loader.make_suite(modules, position)
            if suite.has_http_case():
                with registry.cursor() as cr:
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    env["ir.qweb"]._pregenerate_assets_bundles()
            result = loader.run_suite(suite, global_report=report)
            report.update(result)
            server._logger.info(
                "%s: %d tests in %.2fs, %s queries",
                position,
                result.testsRun,
                time.time() - t0,
                sql_db.sql_counter - q0,
            )
        report.log_stats()
        if not report.wasSuccessful():
            rc += 1
    return rc


def main(dbname, test_tags, modules, *odoo_args):
    config.parse_config(
        [*odoo_args, "-d", dbname, "--test-tags", test_tags, "--stop-after-init", "--workers=0"],
        setup_logging=True,
    )
    module_names = [name for name in modules.split(",") if name]
    # ThreadedServer.run() starts the HTTP server (needed by HttpCase and tours) because
    # test_enable is set, calls preload_registries, then logs the result line.
    server.preload_registries = lambda dbnames: run_suites(dbnames, module_names)
    return server.start(preload=[dbname], stop=True)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))

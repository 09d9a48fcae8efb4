from odoo.tools import SQL

from .common import EvaluationCommon

PENDING = "service_cache.pending"  # service_cache_mixin: groups signalled at commit
SEEN = "service_cache.generations"  # service_cache_mixin: generations read this transaction


class TestCacheInvalidation(EvaluationCommon):
    """Keypad logins and employee edits leave the record rules' and the device route's
    caches alone (service.cache.mixin); changes of who manages what still clear the
    rule cache, and shifts still reach the tellers on duty."""

    def setUp(self):
        super().setUp()
        self.registry = self.env.registry
        self.mixin = self.env["service.cache.mixin"]
        # Warm what a supervisor's request and a keypad's request cache.
        self.rule_key = self.warm_rule_cache()
        self.display()
        # The fixtures' own changes (Odoo restores the callbacks' data after each test).
        self.registry.cache_invalidated.clear()
        self.env.cr.postcommit.data.get(PENDING, set()).clear()
        self.device_values = self.mixin._service_cache_values("device")
        self.assertTrue(self.device_values, "the device route caches its keypads")

    # ------------------------------------------------------------ helpers
    def warm_rule_cache(self):
        Rule = self.env["ir.rule"].with_user(self.supervisor_a1)
        Rule._compute_domain("service.evaluation.session", "read")
        keys = [key for key in self.default_cache() if key[0] == "ir.rule"]
        self.assertTrue(keys, "ir.rule domains are in Odoo's 'default' cache")
        return keys[-1]

    def default_cache(self):
        return self.registry._Registry__caches["default"]

    def display(self):
        reply = self.ingest([self.event("heartbeat", 0)])
        return reply["devices"][self.device_a1_1.serial_number]["display"]

    def assert_rule_and_device_caches_kept(self):
        self.assertNotIn("default", self.registry.cache_invalidated)
        self.assertIn(self.rule_key, self.default_cache())
        self.assertIs(self.mixin._service_cache_values("device"), self.device_values)
        self.assertTrue(self.device_values)
        self.assertNotIn("device", self.env.cr.postcommit.data.get(PENDING, set()))

    # ------------------------------------------------------------ tests
    def test_keypad_login_clears_only_the_tellers_on_duty(self):
        self.assertEqual(self.display()["teller_name"], "")
        reply = self.ingest([self.event("login", 10, employee="E-1001")])
        self.assertEqual(reply["results"][0]["status"], "stored")
        self.assertTrue(self.counter_a1_1.current_employee_id, "the LOGIN opened a shift")
        self.assert_rule_and_device_caches_kept()
        self.assertEqual(self.env.cr.postcommit.data[PENDING], {"tellers"})
        # The next reply shows the teller; so does a LOGOUT.
        self.assertEqual(self.display()["teller_name"], "Teller One")
        self.ingest([self.event("logout", 20)])
        self.assertEqual(self.display()["teller_name"], "")
        self.assert_rule_and_device_caches_kept()

    def test_ordinary_employee_edits_clear_nothing(self):
        tellers = self.mixin._service_cache_values("tellers")
        self.teller_1.write({"job_title": "Senior Teller", "work_phone": "+86 10 1234 5678"})
        self.assert_rule_and_device_caches_kept()
        self.assertIs(self.mixin._service_cache_values("tellers"), tellers)
        self.assertFalse(self.env.cr.postcommit.data.get(PENDING))
        # What keypads show of a teller is another matter (the tellers group only).
        self.teller_1.service_star_level = 3
        self.assert_rule_and_device_caches_kept()
        self.assertEqual(self.env.cr.postcommit.data[PENDING], {"tellers"})

    def test_new_and_moved_units_leave_the_rule_cache(self):
        """child_of is expanded at query time: the tree needs no rule cache clearing."""
        Unit = self.env["service.org.unit"]
        new = Unit.create({"name": "Outlet A3", "code": "E-A3", "parent_id": self.branch_a.id})
        self.assertNotIn("default", self.registry.cache_invalidated)
        self.assertIn(self.rule_key, self.default_cache())
        self.assertIn(new, Unit.with_user(self.manager_a).search([]))
        new.parent_id = self.branch_b
        self.assertNotIn(new, Unit.with_user(self.manager_a).search([]))
        self.assertNotIn("default", self.registry.cache_invalidated)

    def test_managers_and_supervisors_clear_the_rule_cache(self):
        session_scope = self.env["service.evaluation.counter"].with_user(self.supervisor_a1)
        self.assertNotIn(self.counter_b1_1, session_scope.search([]))
        self.outlet_b1.supervisor_ids = [(4, self.supervisor_a1.id)]
        self.assertIn("default", self.registry.cache_invalidated)
        self.assertNotIn(self.rule_key, self.default_cache())
        self.assertIn(self.counter_b1_1, session_scope.search([]))

    def test_other_workers_learn_of_a_signal(self):
        """Another worker's committed change shows as a newer signal row: the values
        cached for the older generation are dropped at the next transaction."""
        self.assertEqual(self.display()["teller_name"], "")
        tellers = self.mixin._service_cache_values("tellers")
        # Another worker opens a shift and signals it (its own cursor, committed).
        self.env.cr.execute(
            SQL(
                "INSERT INTO service_evaluation_shift (employee_id, counter_id, company_id, "
                "outlet_id, source, date_start) "
                "VALUES (%s, %s, %s, %s, 'web', now() at time zone 'UTC')",
                self.teller_2.id,
                self.counter_a1_1.id,
                self.counter_a1_1.company_id.id,
                self.outlet_a1.id,
            )
        )
        self.assertEqual(self.display()["teller_name"], "", "cached: no signal seen yet")
        self.env.cr.execute(SQL("INSERT INTO service_cache_signal (name) VALUES ('tellers')"))
        # This worker's next transaction, once its last reading of the signals is old.
        self.env.cr.cache.pop(SEEN)
        self.mixin._service_cache_signals().checked = float("-inf")
        self.assertEqual(self.display()["teller_name"], "Teller Two")
        self.assertIsNot(self.mixin._service_cache_values("tellers"), tellers)
        self.assert_rule_and_device_caches_kept()

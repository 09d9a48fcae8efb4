from odoo.exceptions import UserError
from odoo.tools import mute_logger
from psycopg2 import IntegrityError

from .common import ServiceBaseCommon


class TestOrgUnit(ServiceBaseCommon):
    def test_complete_name_follows_the_tree(self):
        self.assertEqual(self.outlet_a1.complete_name, "Test HQ / Branch A / Outlet A1")
        self.branch_a.name = "West"
        self.assertEqual(self.outlet_a1.complete_name, "Test HQ / West / Outlet A1")

    def test_child_of_covers_the_subtree(self):
        found = self.Unit.search([("id", "child_of", self.branch_a.id)])
        self.assertEqual(found, self.subtree_a)
        self.assertEqual(self.branch_a._get_subtree(), self.subtree_a)
        self.assertEqual(self.branch_a.child_count, 2)

    def test_moving_a_unit_reparents_its_subtree(self):
        """Moving branch A below branch B carries its outlets along."""
        self.branch_a.parent_id = self.branch_b
        self.assertTrue(self.outlet_a1.parent_path.startswith(self.branch_b.parent_path))
        self.assertEqual(
            self.outlet_a1.parent_path,
            f"{self.hq.id}/{self.branch_b.id}/{self.branch_a.id}/{self.outlet_a1.id}/",
        )
        under_b = self.Unit.search([("id", "child_of", self.branch_b.id)])
        self.assertEqual(under_b, self.subtree_b | self.subtree_a)
        under_hq_direct = self.Unit.search([("parent_id", "=", self.hq.id)])
        self.assertEqual(under_hq_direct, self.branch_b)
        self.assertEqual(self.outlet_a2.complete_name, "Test HQ / Branch B / Branch A / Outlet A2")

    def test_a_unit_cannot_move_below_itself(self):
        # _parent_store detects the cycle first (UserError); our constraint backs it up.
        with self.assertRaises(UserError):
            self.branch_a.parent_id = self.outlet_a1

    def test_code_is_unique_per_company(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        # Same code in another company is fine.
        self.Unit.create({"name": "Elsewhere", "code": "T-A", "company_id": other_company.id})
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.env.cr.savepoint(),
        ):
            self.Unit.create({"name": "Duplicate", "code": "T-A"})

    def test_archived_units_leave_searches(self):
        self.outlet_a2.action_archive()
        self.assertEqual(self.branch_a._get_subtree(), self.branch_a | self.outlet_a1)

    def test_action_open_children(self):
        action = self.branch_a.action_open_children()
        self.assertEqual(self.Unit.search(action["domain"]), self.outlet_a1 | self.outlet_a2)
        self.assertEqual(action["context"]["default_parent_id"], self.branch_a.id)

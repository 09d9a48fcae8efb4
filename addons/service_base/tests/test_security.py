from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import ServiceBaseCommon


class TestOrgUnitSecurity(ServiceBaseCommon):
    def test_manager_reads_own_subtree_only(self):
        units = self.Unit.with_user(self.manager_a).search([])
        self.assertEqual(units, self.subtree_a)

    def test_manager_cannot_read_sibling_branch(self):
        with self.assertRaises(AccessError):
            self.branch_b.with_user(self.manager_a).read(["name"])
        with self.assertRaises(AccessError):
            self.outlet_b1.with_user(self.manager_a).read(["name"])
        with self.assertRaises(AccessError):
            self.hq.with_user(self.manager_a).read(["name"])

    def test_manager_changes_own_subtree_only(self):
        self.outlet_a1.with_user(self.manager_a).name = "Renamed A1"
        self.assertEqual(self.outlet_a1.name, "Renamed A1")
        new_outlet = self.Unit.with_user(self.manager_a).create(
            {"name": "New A3", "code": "T-A-3", "parent_id": self.branch_a.id}
        )
        self.assertEqual(new_outlet.parent_id, self.branch_a)
        with self.assertRaises(AccessError):
            self.outlet_b1.with_user(self.manager_a).write({"name": "Hijacked"})
        with self.assertRaises(AccessError):
            self.Unit.with_user(self.manager_a).create(
                {"name": "Under B", "code": "T-B-9", "parent_id": self.branch_b.id}
            )

    def test_supervisor_reads_but_cannot_change(self):
        units = self.Unit.with_user(self.supervisor_a1).search([])
        self.assertEqual(units, self.outlet_a1)
        with self.assertRaises(AccessError):
            self.outlet_a1.with_user(self.supervisor_a1).write({"name": "Nope"})

    def test_scope_follows_changes(self):
        """Giving manager A branch B too widens their scope at once (rule cache)."""
        self.assertNotIn(self.outlet_b1, self.Unit.with_user(self.manager_a).search([]))
        self.branch_b.manager_ids = [(4, self.manager_a.id)]
        self.assertEqual(
            self.Unit.with_user(self.manager_a).search([]), self.subtree_a | self.subtree_b
        )
        self.branch_a.manager_ids = [(3, self.manager_a.id)]
        self.assertEqual(self.Unit.with_user(self.manager_a).search([]), self.subtree_b)

    def test_admin_sees_everything(self):
        units = self.Unit.with_user(self.service_admin).search([])
        self.assertLessEqual(self.hq | self.subtree_a | self.subtree_b, units)

    def test_internal_user_outside_service_has_no_access(self):
        with self.assertRaises(AccessError):
            self.Unit.with_user(self.internal_user).search([])


@tagged("post_install", "-at_install")
class TestOrgUnitSecurityRpc(HttpCase, ServiceBaseCommon):
    """The same rules hold over XML-RPC, with the manager's own credentials."""

    def test_xmlrpc_manager_cannot_read_sibling_branch(self):
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "test.manager.a", "test.manager.a", {})
        self.assertEqual(uid, self.manager_a.id)

        def call(method, *args, **kwargs):
            return self.xmlrpc_object.execute_kw(
                db, uid, "test.manager.a", "service.org.unit", method, list(args), kwargs
            )

        ids = call("search", [])
        self.assertEqual(set(ids), set(self.subtree_a.ids))
        records = call("read", self.outlet_a1.ids, fields=["name"])
        self.assertEqual(records[0]["name"], "Outlet A1")
        with self.assertRaisesRegex(Exception, "AccessError|not allowed|access"):
            call("read", self.branch_b.ids, fields=["name"])

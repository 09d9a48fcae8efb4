"""Who may create, read, write and delete each dispatch model, tested as a matrix.

Every model of service_dispatch × {agent, dispatcher, service-centre manager of branch
A, outlet A1's supervisor, branch A's Service Manager (no dispatch role), branch B's
dispatcher, service administrator, an internal user outside the Service groups} ×
{create, read, write, unlink}, through the ORM as each user; then the same boundaries
over XML-RPC with the users' own logins.
"""

import xmlrpc.client

from odoo.addons.service_base.tests.access_matrix import AccessMatrixMixin
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import DispatchCommon

ROLES = ("agent", "dispatcher", "centre_manager", "outlet", "manager", "other", "admin",
         "internal")  # fmt: skip

# model -> {role: operations allowed on a record of branch A / outlet A1}: c(reate),
# r(ead), w(rite), u(nlink).
MATRIX = {
    "service.dispatch.request": {
        "agent": "crw", "dispatcher": "crw", "centre_manager": "crw", "outlet": "r",
        "manager": "r", "other": "", "admin": "crwu", "internal": "",
    },
    "service.dispatch.work.order": {
        "agent": "r", "dispatcher": "crw", "centre_manager": "crw", "outlet": "r",
        "manager": "r", "other": "", "admin": "crwu", "internal": "",
    },
    # The trail: written by the step methods only.
    "service.dispatch.work.order.step": {
        "agent": "r", "dispatcher": "r", "centre_manager": "r", "outlet": "r",
        "manager": "r", "other": "", "admin": "r", "internal": "",
    },
    # Customers' appliances: the whole company's, for intake anywhere.
    "service.dispatch.appliance": {
        "agent": "crw", "dispatcher": "crw", "centre_manager": "crwu", "outlet": "r",
        "manager": "r", "other": "crw", "admin": "crwu", "internal": "",
    },
    "service.dispatch.appliance.ownership": {
        "agent": "r", "dispatcher": "r", "centre_manager": "r", "outlet": "r",
        "manager": "r", "other": "r", "admin": "r", "internal": "",
    },
    # Configuration.
    "service.dispatch.request.type": {
        "agent": "r", "dispatcher": "r", "centre_manager": "crwu", "outlet": "r",
        "manager": "r", "other": "r", "admin": "crwu", "internal": "",
    },
    "service.dispatch.technician": {
        "agent": "r", "dispatcher": "r", "centre_manager": "crwu", "outlet": "r",
        "manager": "r", "other": "r", "admin": "crwu", "internal": "",
    },
}  # fmt: skip
# Branch B's records are read by its dispatcher and administrators only.
FOREIGN_READERS = {"other", "admin"}


class AccessMatrixCommon(DispatchCommon):
    """DispatchCommon plus one request and work order on each side: branch A's,
    dispatched to outlet A1, and branch B's, dispatched to outlet B1."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            "agent": cls.agent_a,
            "dispatcher": cls.dispatcher_a,
            "centre_manager": cls.centre_manager_a,
            "outlet": cls.supervisor_a1,
            "manager": cls.manager_a,
            "other": cls.dispatcher_b,
            "admin": cls.service_admin,
            "internal": cls.internal_user,
        }
        cls.order_a = cls.dispatched_order(cls.outlet_a1)
        cls.order_b = cls.dispatched_order(cls.outlet_b1, unit=cls.branch_b)
        cls.request_a, cls.request_b = cls.order_a.request_id, cls.order_b.request_id


class TestAccessMatrix(AccessMatrixMixin, AccessMatrixCommon):
    def _records(self):
        """model -> (record of branch A's side, record of branch B's side or None,
        values to create a record on A's side, values to write)."""
        return {
            "service.dispatch.request": (
                self.request_a, self.request_b,
                {"partner_id": self.customer.id, "type_id": self.complaint.id,
                 "unit_id": self.branch_a.id},
                {"description": "Rewritten"},
            ),
            "service.dispatch.work.order": (
                self.order_a, self.order_b,
                {"request_id": self.request_a.id, "service_type": "repair"},
                {"description": "Bring a ladder"},
            ),
            "service.dispatch.work.order.step": (
                self.order_a.step_ids[:1], self.order_b.step_ids[:1], None, {"note": "Forged"},
            ),
            "service.dispatch.appliance": (
                self.appliance, None,
                {"partner_id": self.customer.id, "product_id": self.kettle.id,
                 "serial_number": "K-NEW"},
                {"purchase_place": "Elsewhere"},
            ),
            "service.dispatch.appliance.ownership": (
                self.appliance.ownership_ids, None, None, {"date_end": "2020-01-01 00:00:00"},
            ),
            "service.dispatch.request.type": (
                self.repair, None,
                {"name": "Maintenance", "code": "T-MAINT", "path": "close_at_intake"},
                {"name": "Repairs"},
            ),
            "service.dispatch.technician": (
                self.tech_a1, None, {"name": "New Tech", "outlet_id": self.outlet_a1.id},
                {"phone": "+86 139 0000 0000"},
            ),
        }  # fmt: skip

    def test_matrix(self):
        self.assertAccessMatrix(MATRIX, ROLES, self._records(), FOREIGN_READERS)

    def test_agents_create_requests_for_their_centre_only(self):
        Request = self.env["service.dispatch.request"].with_user(self.agent_a)
        with self.assertRaises(AccessError):
            Request.create(
                {"partner_id": self.customer.id, "type_id": self.complaint.id,
                 "unit_id": self.branch_b.id}
            )  # fmt: skip

    def test_hq_sees_every_centre(self):
        hq_agent = self._new_user("dispatch.agent.hq", "service_dispatch.group_dispatch_agent")
        self.hq.supervisor_ids = [(4, hq_agent.id)]
        Order = self.env["service.dispatch.work.order"].with_user(hq_agent)
        seen = Order.search([("id", "in", (self.order_a | self.order_b).ids)])
        self.assertEqual(seen, self.order_a | self.order_b)


@tagged("post_install", "-at_install")
class TestAccessOverXmlRpc(HttpCase, AccessMatrixCommon):
    """The same boundaries over XML-RPC, with the users' own passwords."""

    def call(self, role, model, method, *args, **kwargs):
        user = self.users[role]
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, user.login, model, method, list(args), kwargs
        )

    def assert_refused(self, role, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault) as refused:
            self.call(role, model, method, *args, **kwargs)
        self.assertRegex(refused.exception.faultString, "(not allowed|access|Only|through its)")

    def test_intake_over_xmlrpc(self):
        found = self.call("agent", "res.partner", "service_lookup_caller", "+86 138 0013 9999")
        self.assertEqual(found["customers"][0]["id"], self.customer.id)
        with self.assertRaises(xmlrpc.client.Fault) as bad:
            self.call("agent", "res.partner", "service_lookup_caller", "12")
        self.assertIn("is not a valid phone number", bad.exception.faultString)
        [request_id] = self.call(
            "agent", "service.dispatch.request", "create",
            [{"partner_id": self.customer.id, "type_id": self.repair.id,
              "appliance_id": self.appliance.id, "unit_id": self.branch_a.id}],
        )  # fmt: skip
        self.call("agent", "service.dispatch.request", "action_create_work_order", [request_id])
        [order] = self.call(
            "agent", "service.dispatch.work.order", "search_read",
            [("request_id", "=", request_id)], fields=["state", "name"],
        )  # fmt: skip
        self.assertEqual(order["state"], "new")

    def test_the_trail_cannot_be_forged(self):
        self.assert_refused(
            "dispatcher", "service.dispatch.work.order", "write", [self.order_a.id],
            {"state": "closed"},
        )  # fmt: skip
        self.assert_refused(
            "outlet", "service.dispatch.work.order", "write", [self.order_a.id],
            {"state": "done"},
        )  # fmt: skip
        self.assert_refused(
            "admin", "service.dispatch.work.order.step", "write",
            [self.order_a.step_ids[:1].id], {"note": "Forged"},
        )  # fmt: skip
        # What the outlet may do goes through the checked step methods.
        self.call("outlet", "service.dispatch.work.order", "action_accept", [self.order_a.id])
        self.order_a.invalidate_recordset()
        self.assertEqual(self.order_a.state, "accepted")
        self.assertEqual(self.order_a.step_ids.sorted("id")[-1].user_id, self.supervisor_a1)

    def test_centres_do_not_see_each_other(self):
        ids = (self.order_a | self.order_b).ids
        seen = {
            role: set(self.call(role, "service.dispatch.work.order", "search", [("id", "in", ids)]))
            for role in ("outlet", "dispatcher", "other")
        }
        self.assertEqual(seen["outlet"], {self.order_a.id})
        self.assertEqual(seen["dispatcher"], {self.order_a.id})
        self.assertEqual(seen["other"], {self.order_b.id})
        self.assert_refused(
            "other", "service.dispatch.request", "read", [self.request_a.id], ["name"]
        )
        self.assert_refused(
            "other", "service.dispatch.work.order", "action_cancel", [self.order_a.id], "Mine now"
        )

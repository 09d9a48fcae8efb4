"""Who may create, read, write and delete each dispatch model, tested as a matrix.

Every model of service_dispatch × {agent, dispatcher, service-centre manager of branch
A, outlet A1's supervisor, branch A's Service Manager (no dispatch role), branch B's
dispatcher, service administrator, an internal user outside the Service groups} ×
{create, read, write, unlink}, through the ORM as each user; the wizards (intake screen,
Dispatch dialog): who opens them, and that each user sees only their own; then the same
boundaries over XML-RPC with the users' own logins, the SLA job's records included.
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
    # An outlet's coverage: read in the subtree, changed by the centre manager who
    # manages the outlet (branch B's areas are B's) and by administrators.
    "service.dispatch.service.area": {
        "agent": "r", "dispatcher": "r", "centre_manager": "crwu", "outlet": "r",
        "manager": "r", "other": "", "admin": "crwu", "internal": "",
    },
    # Deadlines: the company's (or every company's) configuration, set by administrators:
    # the centres and outlets they judge read them.
    "service.dispatch.sla.policy": {
        "agent": "r", "dispatcher": "r", "centre_manager": "r", "outlet": "r",
        "manager": "r", "other": "r", "admin": "crwu", "internal": "",
    },
    "service.dispatch.escalation.level": {
        "agent": "r", "dispatcher": "r", "centre_manager": "r", "outlet": "r",
        "manager": "r", "other": "r", "admin": "crwu", "internal": "",
    },
    # The escalation log: read with the work order, written by the SLA job only.
    "service.dispatch.escalation": {
        "agent": "r", "dispatcher": "r", "centre_manager": "r", "outlet": "r",
        "manager": "r", "other": "", "admin": "r", "internal": "",
    },
    # The web form's rate-limit log (client addresses): administrators read it;
    # written by the form's controller only.
    "service.dispatch.web.submission": {
        "agent": "", "dispatcher": "", "centre_manager": "", "outlet": "",
        "manager": "", "other": "", "admin": "r", "internal": "",
    },
}  # fmt: skip
# Wizards (transient): who may open them (create, then read and write their own); each
# user sees only the screens they opened (none may delete: they are vacuumed).
WIZARDS = {
    "service.dispatch.intake": {"agent", "dispatcher", "centre_manager", "other", "admin"},
    "service.dispatch.work.order.dispatch": {"dispatcher", "centre_manager", "other", "admin"},
}
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
        cn = cls.env.ref("base.cn")
        Area = cls.env["service.dispatch.service.area"]
        cls.area_a1 = Area.create({"outlet_id": cls.outlet_a1.id, "country_id": cn.id,
                                   "city": "Shanghai"})  # fmt: skip
        cls.area_b1 = Area.create({"outlet_id": cls.outlet_b1.id, "country_id": cn.id,
                                   "city": "Nanjing"})  # fmt: skip
        cls.sla_policy = cls.env["service.dispatch.sla.policy"].create(
            {"name": "Matrix repairs", "type_id": cls.repair.id, "hours_accept": 4,
             "company_id": cls.company.id}
        )  # fmt: skip
        cls.escalation_level = cls.env["service.dispatch.escalation.level"].create(
            {"name": "Matrix centre", "levels_up": 1, "delay_hours": 2}
        )
        Escalation = cls.env["service.dispatch.escalation"]
        cls.escalation_a, cls.escalation_b = Escalation.create(
            [
                {"work_order_id": order.id, "deadline_kind": "accept",
                 "deadline": "2026-01-05 09:00:00", "level_id": cls.escalation_level.id}
                for order in (cls.order_a, cls.order_b)
            ]
        )  # fmt: skip
        cls.submission = cls.env["service.dispatch.web.submission"].create(
            {"ip": "192.0.2.10", "state": "accepted", "request_id": cls.request_a.id}
        )


class TestAccessMatrix(AccessMatrixMixin, AccessMatrixCommon):
    def _records(self):
        """model -> (record of branch A's side, record of branch B's side or None,
        values to create a record on A's side, values to write)."""
        return self.core_matrix_records(self.order_a, self.order_b) | {
            "service.dispatch.service.area": (
                self.area_a1, self.area_b1,
                {"outlet_id": self.outlet_a1.id, "country_id": self.area_a1.country_id.id,
                 "zip_prefix": "2001"},
                {"district": "Pudong"},
            ),
            "service.dispatch.sla.policy": (
                self.sla_policy, None,
                {"name": "Matrix urgent", "priority": "2", "hours_accept": 1},
                {"hours_accept": 8},
            ),
            "service.dispatch.escalation.level": (
                self.escalation_level, None,
                {"name": "Matrix HQ", "levels_up": 3, "delay_hours": 8},
                {"delay_hours": 24},
            ),
            "service.dispatch.escalation": (
                self.escalation_a, self.escalation_b,
                {"work_order_id": self.order_a.id, "deadline_kind": "done",
                 "deadline": "2026-01-06 09:00:00"},
                {"kind": "warning"},
            ),
            "service.dispatch.web.submission": (
                self.submission, None, {"ip": "192.0.2.11", "state": "spam"},
                {"state": "invalid"},
            ),
        }  # fmt: skip

    def test_matrix(self):
        self.assertAccessMatrix(MATRIX, ROLES, self._records(), FOREIGN_READERS)

    def test_wizards(self):
        """Who may open the intake screen and the Dispatch dialog, and that nobody else
        reads or changes the one a user opened."""

        def values(model, role):
            if model == "service.dispatch.intake":
                return {"phone": "+86 138 0013 9999"}, {"description": "Leaks"}
            order, outlet = (
                (self.order_b, self.outlet_b1)
                if role == "other"
                else (self.order_a, self.outlet_a1)
            )
            return {"work_order_id": order.id, "outlet_id": outlet.id}, {"note": "Call first"}

        for model, openers in WIZARDS.items():
            for role in ROLES:
                create_vals, write_vals = values(model, role)
                Wizard = self.env[model].with_user(self.users[role])
                with self.subTest(model=model, role=role), self._rolled_back():
                    if role not in openers:
                        with self.assertRaises(AccessError):
                            Wizard.create(create_vals)
                        continue
                    wizard = Wizard.create(create_vals)
                    wizard.read(["display_name"])
                    wizard.write(write_vals)
                    with self.assertRaises(AccessError):
                        wizard.unlink()
                    # Another user who may open the same wizard does not see this one.
                    intruder = self.users["dispatcher" if role != "dispatcher" else "other"]
                    self.assertFalse(wizard.with_user(intruder).search([("id", "=", wizard.id)]))
                    with self.assertRaises(AccessError):
                        wizard.with_user(intruder).read(["display_name"])
                    with self.assertRaises(AccessError):
                        wizard.with_user(intruder).write(write_vals)

    def test_dispatch_candidates_are_the_dialogs_own(self):
        wizard = (
            self.env["service.dispatch.work.order.dispatch"]
            .with_user(self.dispatcher_a)
            .create({"work_order_id": self.order_a.id, "outlet_id": self.outlet_a1.id})
        )
        line = self.env["service.dispatch.work.order.dispatch.line"].create(
            {"wizard_id": wizard.id, "rank": 1, "outlet_id": self.outlet_a1.id}
        )
        self.assertTrue(line.with_user(self.dispatcher_a).read(["reason"]))
        with self.assertRaises(AccessError):
            line.with_user(self.dispatcher_b).read(["reason"])

    def test_centre_managers_change_their_outlets_areas_only(self):
        Area = self.env["service.dispatch.service.area"].with_user(self.centre_manager_a)
        self.assertFalse(Area.search([("id", "=", self.area_b1.id)]))
        with self.assertRaises(AccessError):
            self.area_b1.with_user(self.centre_manager_a).write({"city": "Suzhou"})
        with self.assertRaises(AccessError):
            Area.create({"outlet_id": self.outlet_b1.id, "country_id": self.area_b1.country_id.id,
                         "city": "Suzhou"})  # fmt: skip
        # A Service Manager of branch B who is not a centre manager changes nothing.
        self.area_b1.with_user(self.manager_b).read(["city"])
        with self.assertRaises(AccessError):
            self.area_b1.with_user(self.manager_b).write({"city": "Suzhou"})

    def test_centre_managers_change_their_outlets_technicians_only(self):
        self.tech_a1.with_user(self.centre_manager_a).phone = "+86 139 0000 0001"
        self.assertEqual(self.tech_b1.with_user(self.centre_manager_a).name, self.tech_b1.name)
        with self.assertRaises(AccessError):
            self.tech_b1.with_user(self.centre_manager_a).write({"phone": "+86 139 0000 0002"})
        with self.assertRaises(AccessError):
            self.env["service.dispatch.technician"].with_user(self.centre_manager_a).create(
                {"name": "Poached", "outlet_id": self.outlet_b1.id}
            )
        self.tech_b1.with_user(self.service_admin).phone = "+86 139 0000 0003"

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

    def test_sla_records_cannot_be_forged(self):
        """The escalation log and a work order's deadlines are the SLA job's: a dispatcher
        of the order's centre reads them and may change neither."""
        [log] = self.call(
            "dispatcher", "service.dispatch.escalation", "search_read",
            [("work_order_id", "=", self.order_a.id)], fields=["kind", "deadline_kind"],
        )  # fmt: skip
        self.assertEqual(log["id"], self.escalation_a.id)
        self.assert_refused(
            "dispatcher", "service.dispatch.escalation", "create",
            [{"work_order_id": self.order_a.id, "deadline_kind": "accept",
              "deadline": "2026-01-05 09:00:00"}],
        )  # fmt: skip
        self.assert_refused(
            "dispatcher", "service.dispatch.escalation", "write", [self.escalation_a.id],
            {"kind": "warning"},
        )  # fmt: skip
        self.assert_refused(
            "dispatcher", "service.dispatch.escalation", "unlink", [self.escalation_a.id]
        )
        for values in (
            {"sla_deadline_accept": "2030-01-01 00:00:00"},
            {"sla_status": "on_track"},
            {"sla_policy_id": self.sla_policy.id},
        ):
            self.assert_refused(
                "dispatcher", "service.dispatch.work.order", "write", [self.order_a.id], values
            )
        self.assert_refused(
            "dispatcher", "service.dispatch.sla.policy", "write", [self.sla_policy.id],
            {"hours_accept": 100},
        )  # fmt: skip
        self.order_a.invalidate_recordset()
        self.escalation_a.invalidate_recordset()
        self.assertEqual(self.escalation_a.kind, "escalation")
        self.assertEqual(self.sla_policy.hours_accept, 4)

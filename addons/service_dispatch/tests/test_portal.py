"""The portal: outlet staff of two outlets (A1, B1) and customers.

Outlet staff see and handle only their outlet's work orders (ORM and HTTP), take the
customer's signature, and record jobs from their own hotline, which the parent centre
and HQ see and the other branch does not. Customers see their own requests only and
write on them through the portal chatter.
"""

from odoo.addons.service_base.tests.access_matrix import AccessMatrixMixin
from odoo.exceptions import AccessError, UserError
from odoo.http import Request
from odoo.tests import HttpCase, JsonRpcException, tagged
from odoo.tools import mute_logger

from .common import DispatchCommon

OUTLET_PORTAL = "service_dispatch.group_dispatch_outlet_portal"
# A 1x1 PNG, as the signature pad sends it (base64, no data: prefix).
SIGNATURE = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhf"
    "DwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class PortalCommon(DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outlet_user_a1 = cls._new_user(
            "dispatch.portal.a1", OUTLET_PORTAL, service_outlet_id=cls.outlet_a1.id
        )
        cls.outlet_user_b1 = cls._new_user(
            "dispatch.portal.b1", OUTLET_PORTAL, service_outlet_id=cls.outlet_b1.id
        )
        cls.customer_b = cls.env["res.partner"].create(
            {"name": "Customer Two", "phone": "139 0013 8888", "city": "Nanjing"}
        )
        cls.customer_user = cls._new_user(
            "dispatch.customer.one",
            "base.group_portal",
            partner_id=cls.customer.id,
            name=cls.customer.name,
        )
        cls.order_a1 = cls.dispatched_order(cls.outlet_a1)
        request_b = cls.new_request(
            cls.dispatcher_b,
            unit_id=cls.branch_b.id,
            partner_id=cls.customer_b.id,
            appliance_id=False,
            phone="139 0013 8888",
            description="Kettle does not heat",
        )
        request_b.with_user(cls.dispatcher_b).action_create_work_order()
        cls.order_b1 = request_b.work_order_ids
        cls.order_b1.with_user(cls.dispatcher_b).action_dispatch(cls.outlet_b1.id)
        cls.WorkOrder = cls.env["service.dispatch.work.order"]
        cls.Request = cls.env["service.dispatch.request"]

    def outlet_job_values(self, **values):
        return {
            "phone": "138 0013 9999",
            "customer_name": "",
            "product_id": str(self.washer.id),
            "serial_number": "W-0001",
            "type_id": str(self.repair.id),
            "description": "Leaks water",
            **values,
        }


class TestOutletPortalAccess(PortalCommon):
    def test_outlet_user_is_portal_staff_of_its_outlet(self):
        self.assertTrue(self.outlet_user_a1.share)
        self.assertTrue(self.outlet_user_a1.has_group("base.group_portal"))
        self.assertEqual(self.outlet_user_a1._service_dispatch_portal_outlet(), self.outlet_a1)
        self.assertFalse(self.customer_user._service_dispatch_portal_outlet())
        self.assertFalse(self.supervisor_a1._service_dispatch_portal_outlet())
        # A portal user given an outlet becomes its staff.
        user = self._new_user("dispatch.portal.new", "base.group_portal")
        user.service_outlet_id = self.outlet_a2
        self.assertTrue(user.has_group(OUTLET_PORTAL))
        self.assertEqual(self.WorkOrder.with_user(user).search([]), self.WorkOrder)

    def test_each_outlet_sees_only_its_orders(self):
        for user, order, other in (
            (self.outlet_user_a1, self.order_a1, self.order_b1),
            (self.outlet_user_b1, self.order_b1, self.order_a1),
        ):
            with self.subTest(user=user.login):
                WorkOrder = self.WorkOrder.with_user(user)
                self.assertEqual(WorkOrder.search([]), order)
                self.assertEqual(order.with_user(user).read(["name"])[0]["name"], order.name)
                with self.assertRaises(AccessError):
                    other.with_user(user).read(["name"])
                Request = self.Request.with_user(user)
                self.assertIn(order.request_id, Request.search([]))
                self.assertNotIn(other.request_id, Request.search([]))
                with self.assertRaises(AccessError):
                    other.request_id.with_user(user).read(["description"])
                Step = self.env["service.dispatch.work.order.step"].with_user(user)
                self.assertEqual(Step.search([]).work_order_id, order)
                self.assertFalse(self.WorkOrder.with_user(user).has_access("write"))

    def test_outlet_never_reads_other_outlets_customers(self):
        with self.assertRaises(AccessError):
            self.customer_b.with_user(self.outlet_user_a1).read(["name", "phone"])
        with self.assertRaises(AccessError):
            self.customer.with_user(self.outlet_user_b1).read(["name", "phone"])
        Technician = self.env["service.dispatch.technician"]
        self.assertEqual(Technician.with_user(self.outlet_user_a1).search([]), self.tech_a1)

    def test_staff_without_outlet_see_nothing(self):
        user = self._new_user("dispatch.portal.none", OUTLET_PORTAL)
        new_order = self.new_request(self.agent_a)._create_work_orders()
        self.assertEqual(new_order.state, "new")
        self.assertEqual(self.WorkOrder.with_user(user).search([]), self.WorkOrder)
        Request = self.Request.with_user(user)
        self.assertFalse(Request.search([("partner_id", "!=", user.partner_id.id)]))

    def test_outlet_takes_the_steps_of_its_order_only(self):
        order = self.order_a1.with_user(self.outlet_user_a1)
        with self.assertRaises(AccessError):
            self.order_b1.with_user(self.outlet_user_a1).action_accept()
        with self.assertRaises(UserError):
            order.action_accept(self.tech_b1.id)
        order.action_accept(self.tech_a1.id)
        order.action_on_site()
        with self.assertRaises(AccessError):
            self.order_b1.with_user(self.outlet_user_a1).action_refuse("Not ours")
        order.action_done("Replaced the pump")
        order.action_portal_sign("Customer One", SIGNATURE)
        self.assertEqual(self.order_a1.state, "done")
        self.assertEqual(self.order_a1.technician_id, self.tech_a1)
        self.assertEqual(self.order_a1.signed_by, "Customer One")
        self.assertTrue(self.order_a1.signed_on)
        self.assertTrue(self.order_a1.customer_signature)
        steps = self.order_a1.step_ids.filtered(lambda s: s.user_id == self.outlet_user_a1)
        self.assertEqual(set(steps.mapped("step")), {"accept", "on_site", "done"})
        with self.assertRaises(UserError):
            order.action_portal_sign("Customer One", SIGNATURE)

    def test_signature_rules(self):
        order = self.order_a1.with_user(self.outlet_user_a1)
        with self.assertRaises(UserError):  # not on site yet
            order.action_portal_sign("Customer One", SIGNATURE)
        order.action_accept()
        order.action_on_site()
        with self.assertRaises(UserError):
            order.action_portal_sign("", SIGNATURE)
        with self.assertRaises(UserError):
            order.action_portal_sign("Customer One", "not base64!")
        with self.assertRaises(AccessError):
            self.order_a1.with_user(self.outlet_user_b1).action_portal_sign("X", SIGNATURE)
        # The signature is part of the trail: no plain write, administrators included.
        with self.assertRaises(AccessError):
            self.order_a1.with_user(self.service_admin).write({"signed_by": "Someone else"})

    def test_outlet_refuses_with_a_reason(self):
        order = self.order_a1.with_user(self.outlet_user_a1)
        with self.assertRaises(UserError):
            order.action_refuse("  ")
        order.action_refuse("No technician for that area")
        self.assertEqual(self.order_a1.state, "refused")
        # Back to dispatch: the outlet no longer sees it.
        self.assertFalse(self.WorkOrder.with_user(self.outlet_user_a1).search([]))


PORTAL_ROLES = ("outlet_portal", "outlet_portal_b", "customer", "portal")
# model -> {role: operations allowed on outlet A1's side}; outlet B1's staff read B1's.
PORTAL_MATRIX = {
    "service.dispatch.request": {
        "outlet_portal": "r", "outlet_portal_b": "", "customer": "r", "portal": "",
    },
    "service.dispatch.work.order": {
        "outlet_portal": "r", "outlet_portal_b": "", "customer": "", "portal": "",
    },
    "service.dispatch.work.order.step": {
        "outlet_portal": "r", "outlet_portal_b": "", "customer": "", "portal": "",
    },
    "service.dispatch.appliance": {
        "outlet_portal": "", "outlet_portal_b": "", "customer": "", "portal": "",
    },
    "service.dispatch.appliance.ownership": {
        "outlet_portal": "", "outlet_portal_b": "", "customer": "", "portal": "",
    },
    "service.dispatch.request.type": {
        "outlet_portal": "", "outlet_portal_b": "", "customer": "", "portal": "",
    },
    "service.dispatch.technician": {
        "outlet_portal": "r", "outlet_portal_b": "", "customer": "", "portal": "",
    },
}  # fmt: skip


class TestPortalAccessMatrix(AccessMatrixMixin, PortalCommon):
    """The portal roles in the matrix of tests/test_access_matrix.py: outlet A1's and
    B1's staff, the customer of A1's order, a portal user with no requests."""

    def test_portal_matrix(self):
        self.users = {
            "outlet_portal": self.outlet_user_a1,
            "outlet_portal_b": self.outlet_user_b1,
            "customer": self.customer_user,
            "portal": self._new_user("dispatch.portal.plain", "base.group_portal"),
        }
        records = self.core_matrix_records(self.order_a1, self.order_b1, self.tech_b1)
        self.assertAccessMatrix(PORTAL_MATRIX, PORTAL_ROLES, records, {"outlet_portal_b"})


class TestOutletHotline(PortalCommon):
    def test_outlet_records_a_job_for_itself(self):
        request = self.Request.with_user(self.outlet_user_a1)._portal_create_for_outlet(
            self.outlet_job_values()
        )
        self.assertEqual(request.env.user, self.outlet_user_a1)
        request_sudo = request.sudo()
        self.assertEqual(request_sudo.unit_id, self.outlet_a1)
        self.assertEqual(request_sudo.channel, "portal")
        self.assertEqual(request_sudo.partner_id, self.customer)  # found by number
        self.assertEqual(request_sudo.appliance_id, self.appliance)  # and by serial
        order = request_sudo.work_order_ids
        self.assertEqual(order.state, "dispatched")
        self.assertEqual(order.outlet_id, self.outlet_a1)
        self.assertEqual(
            order.step_ids.filtered(lambda s: s.step == "dispatch").user_id, self.outlet_user_a1
        )
        # The outlet, its centre (dispatcher, manager, branch manager) and HQ see it.
        for user in (
            self.outlet_user_a1,
            self.dispatcher_a,
            self.centre_manager_a,
            self.manager_a,
            self.service_admin,
        ):
            with self.subTest(user=user.login):
                self.assertIn(order, self.WorkOrder.with_user(user).search([]))
                self.assertIn(request_sudo, self.Request.with_user(user).search([]))
        # The other branch and the other outlet do not.
        for user in (self.outlet_user_b1, self.dispatcher_b, self.manager_b):
            with self.subTest(user=user.login):
                self.assertNotIn(order, self.WorkOrder.with_user(user).search([]))
                self.assertNotIn(request_sudo, self.Request.with_user(user).search([]))
        # The outlet takes it on like any dispatched order.
        order.with_user(self.outlet_user_a1).action_accept(self.tech_a1.id)
        self.assertEqual(order.state, "accepted")

    def test_new_caller_and_new_appliance(self):
        request = (
            self.Request.with_user(self.outlet_user_b1)
            ._portal_create_for_outlet(
                self.outlet_job_values(
                    phone="137 0000 1234",
                    customer_name="New Caller",
                    street="1 Road",
                    city="Suzhou",
                    product_id=str(self.kettle.id),
                    serial_number="K-777",
                    type_id=str(self.installation.id),
                )
            )
            .sudo()
        )
        self.assertEqual(request.partner_id.name, "New Caller")
        self.assertEqual(request.partner_id.phone_sanitized, "+8613700001234")
        self.assertEqual(request.appliance_id.serial_number, "K-777")
        self.assertEqual(request.appliance_id.partner_id, request.partner_id)
        self.assertEqual(len(request.work_order_ids), 1)  # installation: auto, not twice
        self.assertEqual(request.work_order_ids.outlet_id, self.outlet_b1)

    def test_bad_jobs_are_refused_clearly(self):
        Request = self.Request.with_user(self.outlet_user_a1)
        for values, message in (
            ({"description": " "}, "Describe"),
            ({"type_id": str(self.consultation.id)}, "request type"),
            ({"phone": ""}, "number"),
            ({"phone": "12"}, "not a valid phone number"),
            ({"phone": "137 0000 4321"}, "name"),
            ({"serial_number": ""}, "serial number"),
        ):
            with self.subTest(values=values), self.assertRaisesRegex(UserError, message):
                Request._portal_create_for_outlet(self.outlet_job_values(**values))
        # A serial registered to another customer is not handed over.
        with self.assertRaisesRegex(UserError, "another customer"):
            Request._portal_create_for_outlet(
                self.outlet_job_values(phone="139 0013 8888", customer_name="Customer Two")
            )
        self.outlet_a1.dispatch_status = "suspended"
        with self.assertRaisesRegex(UserError, "suspended"):
            Request._portal_create_for_outlet(self.outlet_job_values())
        for user in (self.customer_user, self.supervisor_a1):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.Request.with_user(user)._portal_create_for_outlet(self.outlet_job_values())


class TestCustomerPortal(PortalCommon):
    def test_customer_sees_own_requests_only(self):
        Request = self.Request.with_user(self.customer_user)
        self.assertEqual(Request.search([]), self.order_a1.request_id)
        with self.assertRaises(AccessError):
            self.order_b1.request_id.with_user(self.customer_user).read(["description"])
        with self.assertRaises(AccessError):
            self.order_a1.request_id.with_user(self.customer_user).write({"description": "x"})
        self.assertFalse(self.WorkOrder.with_user(self.customer_user).has_access("read"))

    def test_customer_creates_a_request(self):
        self.company.service_dispatch_intake_unit_id = self.hq
        request = self.Request.with_user(self.customer_user)._portal_create_for_customer(
            {
                "type_id": str(self.repair.id),
                "appliance_id": str(self.appliance.id),
                "description": "Door will not open",
            }
        )
        self.assertEqual(request.channel, "portal")
        self.assertEqual(request.partner_id, self.customer)
        self.assertEqual(request.unit_id, self.hq)
        self.assertIn(self.customer, request.sudo().message_partner_ids)
        self.assertEqual(request.access_url, f"/my/service-requests/{request.id}")
        foreign = self.env["service.dispatch.appliance"].create(
            {"partner_id": self.customer_b.id, "product_id": self.kettle.id, "serial_number": "K-1"}
        )
        with self.assertRaisesRegex(UserError, "your appliances"):
            self.Request.with_user(self.customer_user)._portal_create_for_customer(
                {
                    "type_id": str(self.repair.id),
                    "appliance_id": str(foreign.id),
                    "description": "x",
                }
            )


@tagged("post_install", "-at_install")
class TestPortalHttp(HttpCase, PortalCommon):
    def post_form(self, url, **data):
        return self.url_open(
            url, data={"csrf_token": Request.csrf_token(self), **data}, allow_redirects=False
        )

    def test_outlet_http_flow(self):
        self.authenticate(self.outlet_user_a1.login, self.outlet_user_a1.login)
        listing = self.url_open("/my/work-orders")
        self.assertEqual(listing.status_code, 200)
        self.assertIn(self.order_a1.name, listing.text)
        self.assertNotIn(self.order_b1.name, listing.text)
        self.assertNotIn("Customer Two", listing.text)

        # The other outlet's order: back to /my, nothing shown, nothing done.
        other = self.url_open(f"/my/work-orders/{self.order_b1.id}", allow_redirects=False)
        self.assertIn(other.status_code, (301, 302, 303))
        self.assertTrue(other.headers["Location"].endswith("/my"))
        refused = self.post_form(
            f"/my/work-orders/{self.order_b1.id}/accept", technician_id=str(self.tech_b1.id)
        )
        self.assertTrue(refused.headers["Location"].endswith("/my"))
        self.order_b1.invalidate_recordset()
        self.assertEqual(self.order_b1.state, "dispatched")

        page = self.url_open(self.order_a1.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Customer One", page.text)
        self.assertIn("W-0001", page.text)
        self.assertIn("o_service_accept", page.text)

        response = self.post_form(
            f"/my/work-orders/{self.order_a1.id}/accept", technician_id=str(self.tech_a1.id)
        )
        self.assertEqual(response.status_code, 303)
        self.order_a1.invalidate_recordset()
        self.assertEqual(self.order_a1.state, "accepted")
        self.assertEqual(self.order_a1.technician_id, self.tech_a1)
        self.post_form(f"/my/work-orders/{self.order_a1.id}/on_site")
        # A step refused by the model shows its message on the page, input kept.
        empty = self.post_form(f"/my/work-orders/{self.order_a1.id}/refuse", reason=" ")
        self.assertEqual(empty.status_code, 200)
        self.assertIn("o_service_portal_error", empty.text)
        self.post_form(f"/my/work-orders/{self.order_a1.id}/done", work_summary="New pump")
        self.order_a1.invalidate_recordset()
        self.assertEqual(self.order_a1.state, "done")
        self.assertEqual(self.order_a1.work_summary, "New pump")

        page = self.url_open(self.order_a1.access_url)
        self.assertIn("portal.signature_form", page.text)
        result = self.make_jsonrpc_request(
            f"/my/work-orders/{self.order_a1.id}/sign",
            {"name": "Customer One", "signature": SIGNATURE},
        )
        self.assertTrue(result.get("force_refresh"), result)
        self.order_a1.invalidate_recordset()
        self.assertEqual(self.order_a1.signed_by, "Customer One")
        # The other outlet's order cannot be signed either.
        result = self.make_jsonrpc_request(
            f"/my/work-orders/{self.order_b1.id}/sign", {"name": "X", "signature": SIGNATURE}
        )
        self.assertIn("error", result)

    def test_outlet_http_new_job(self):
        self.authenticate(self.outlet_user_a1.login, self.outlet_user_a1.login)
        form = self.url_open("/my/work-orders/new")
        self.assertEqual(form.status_code, 200)
        self.assertIn("Test Washer", form.text)
        # Missing description: the form comes back with the message and what was typed.
        bad = self.post_form(
            "/my/work-orders/new",
            **self.outlet_job_values(description="", customer_name="Typed Name"),
        )
        self.assertEqual(bad.status_code, 200)
        self.assertIn("o_service_portal_error", bad.text)
        self.assertIn("Typed Name", bad.text)
        good = self.post_form("/my/work-orders/new", **self.outlet_job_values())
        self.assertEqual(good.status_code, 303)
        order = self.WorkOrder.search(
            [("outlet_id", "=", self.outlet_a1.id), ("request_id.channel", "=", "portal")]
        )
        self.assertEqual(len(order), 1)
        self.assertIn(f"/my/work-orders/{order.id}", good.headers["Location"])
        # A customer (no outlet) is sent back to /my.
        self.authenticate(self.customer_user.login, self.customer_user.login)
        self.assertTrue(
            self.url_open("/my/work-orders/new", allow_redirects=False)
            .headers["Location"]
            .endswith("/my")
        )

    def test_customer_http_requests_and_chatter(self):
        self.authenticate(self.customer_user.login, self.customer_user.login)
        own = self.order_a1.request_id
        listing = self.url_open("/my/service-requests")
        self.assertEqual(listing.status_code, 200)
        self.assertIn(own.name, listing.text)
        self.assertNotIn(self.order_b1.request_id.name, listing.text)
        page = self.url_open(own.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("o_portal_chatter", page.text)
        other = self.url_open(self.order_b1.request_id.access_url, allow_redirects=False)
        self.assertIn(other.status_code, (301, 302, 303))
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": own._name,
                "thread_id": own.id,
                "post_data": {
                    "body": "When does the technician come?",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            },
        )
        message = own.message_ids.filtered(lambda m: m.author_id == self.customer)[:1]
        self.assertIn("When does the technician come?", str(message.body))
        # Not on another customer's request.
        with self.assertRaisesRegex(JsonRpcException, "NotFound"), mute_logger("odoo.http"):
            self.make_jsonrpc_request(
                "/mail/message/post",
                {
                    "thread_model": own._name,
                    "thread_id": self.order_b1.request_id.id,
                    "post_data": {"body": "Hello", "message_type": "comment"},
                },
            )
        # A new request of their own.
        response = self.post_form(
            "/my/service-requests/new", type_id=str(self.repair.id), description="Door stuck"
        )
        self.assertEqual(response.status_code, 303)
        created = self.Request.search(
            [("partner_id", "=", self.customer.id), ("channel", "=", "portal")]
        )
        self.assertEqual(created.description, "Door stuck")
        self.assertIn(created.access_url, response.headers["Location"])
        # With two requests in the list, a request's page links the other (record pager).
        self.url_open("/my/service-requests")
        page = self.url_open(own.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn(created.access_url, page.text)

    def test_home_counters(self):
        self.authenticate(self.outlet_user_a1.login, self.outlet_user_a1.login)
        counts = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["service_work_order_count", "service_request_count"]}
        )
        self.assertEqual(counts["service_work_order_count"], 1)
        home = self.url_open("/my")
        self.assertIn("/my/work-orders/new", home.text)

    def test_tour_outlet_accepts_on_portal(self):
        self.start_tour(
            "/my/work-orders", "service_dispatch_portal_accept", login=self.outlet_user_a1.login
        )
        self.order_a1.invalidate_recordset()
        self.assertEqual(self.order_a1.state, "accepted")
        self.assertEqual(self.order_a1.technician_id, self.tech_a1)

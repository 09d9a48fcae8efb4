"""The integration API a telephony system calls (docs/integration.md, "Call centre"):
service_create_from_call, service_get_status, and the lookup's shape. Every bad input
is a UserError (or subclass) with a clear message; results are plain JSON without
null (XML-RPC cannot send None)."""

import json

from odoo.exceptions import AccessError, MissingError, UserError, ValidationError

from .common import DispatchCommon

CARD_KEYS = {
    "id",
    "name",
    "type",
    "type_code",
    "state",
    "channel",
    "date",
    "appliance_id",
    "description",
}
STATUS_KEYS = {
    "sla",
    "id",
    "name",
    "state",
    "state_label",
    "is_open",
    "service_type",
    "priority",
    "request",
    "customer",
    "appliance",
    "outlet",
    "technician",
    "dates",
    "refuse_count",
    "refuse_reason",
    "cancel_reason",
    "feedback_rating",
    "steps",
}


def _has_none(value):
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return value is None


class TestCallCentreApi(DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kettle.barcode = "6900000000017"
        cls.Request = cls.env["service.dispatch.request"].with_user(cls.agent_a)
        cls.WorkOrder = cls.env["service.dispatch.work.order"]

    def assertPlainJson(self, value):
        self.assertEqual(json.loads(json.dumps(value)), value)
        self.assertFalse(_has_none(value), value)

    # ------------------------------------------------------------ create from a call
    def test_known_customer_known_appliance(self):
        result = self.Request.service_create_from_call(
            {
                "phone": "+86 138-0013-9999",
                "request_type": "REPAIR",
                "serial_number": "W-0001",
                "description": "Leaks water",
                "priority": "1",
            }
        )
        self.assertPlainJson(result)
        request = self.env["service.dispatch.request"].browse(result["request"]["id"])
        self.assertEqual(set(result["request"]), CARD_KEYS)
        self.assertEqual(result["request"]["type_code"], "REPAIR")
        self.assertEqual(result["request"]["channel"], "phone")
        self.assertEqual(result["request"]["state"], "open")
        self.assertEqual(
            result["customer"], {"id": self.customer.id, "name": "Customer One", "is_new": False}
        )
        self.assertEqual(result["appliance"]["id"], self.appliance.id)
        self.assertFalse(result["work_order"])  # a repair's work order is one click away
        self.assertEqual(request.partner_id, self.customer)
        self.assertEqual(request.phone, "+8613800139999")
        self.assertEqual(request.priority, "1")
        self.assertEqual(request.user_id, self.agent_a)
        self.assertEqual(request.unit_id, self.branch_a)

    def test_repair_with_its_work_order_now(self):
        result = self.Request.service_create_from_call(
            {
                "phone": "13800139999",
                "request_type": "repair",
                "product_code": "T-W",
                "create_work_order": True,
            }
        )
        order = result["work_order"]
        self.assertEqual(set(order), STATUS_KEYS)
        self.assertEqual(order["state"], "new")
        self.assertEqual(order["request"]["state"], "in_progress")
        self.assertEqual(order["appliance"]["serial_number"], "W-0001")  # the one washer

    def test_new_customer_and_appliance_install(self):
        result = self.Request.service_create_from_call(
            {
                "phone": "139 1234 5678",
                "customer_name": "  New Caller ",
                "request_type": "INSTALL",
                "product_code": "6900000000017",  # the kettle's barcode
                "serial_number": " K-NEW-1 ",
            }
        )
        self.assertPlainJson(result)
        self.assertTrue(result["customer"]["is_new"])
        partner = self.env["res.partner"].browse(result["customer"]["id"])
        self.assertEqual(partner.name, "New Caller")
        self.assertEqual(partner.phone_sanitized, "+8613912345678")
        self.assertEqual(result["appliance"]["serial_number"], "K-NEW-1")
        self.assertEqual(result["appliance"]["product_id"], self.kettle.id)
        self.assertEqual(result["appliance"]["owner_id"], partner.id)
        # Installation creates its work order at once.
        self.assertEqual(result["work_order"]["service_type"], "installation")
        self.assertEqual(result["work_order"]["customer"]["id"], partner.id)
        # The next call from that number finds them, with the appliance.
        card = (
            self.env["res.partner"]
            .with_user(self.agent_a)
            .service_lookup_caller("13912345678")["customers"][0]
        )
        self.assertEqual(card["id"], partner.id)
        self.assertEqual([a["serial_number"] for a in card["appliances"]], ["K-NEW-1"])

    def test_consultation_without_appliance(self):
        result = self.Request.service_create_from_call(
            {"phone": "13800139999", "request_type": "CONSULT", "description": "Descaling?"}
        )
        self.assertFalse(result["appliance"])
        self.assertFalse(result["work_order"])
        self.assertEqual(result["request"]["appliance_id"], False)

    def test_bad_calls_are_clear_errors(self):
        other = self.env["res.partner"].create({"name": "Other", "phone": "13700000000"})
        base = {"phone": "13800139999", "request_type": "REPAIR"}
        cases = [
            (
                {"product_code": "NOPE", "serial_number": "X1"},
                UserError,
                "No product has the internal reference or barcode NOPE",
            ),
            ({"phone": "12"}, ValidationError, "12 is not a valid phone number"),
            ({"phone": None}, ValidationError, "Give the number the customer calls from"),
            ({"request_type": "FIX"}, UserError, "Unknown request type FIX: use one of REPAIR"),
            ({"request_type": None}, UserError, "Unknown request type -"),
            ({"request_type": "REP%"}, UserError, "Unknown request type REP%"),
            ({"phone": "13900000001"}, UserError, "give the customer's name"),
            ({"customer_id": other.id}, UserError, "does not call from"),
            ({"serial_number": "UNKNOWN-SN"}, UserError, "UNKNOWN-SN is not registered"),
            (
                {"phone": "13700000000", "serial_number": "W-0001"},
                UserError,
                "registered to another customer",
            ),
            ({"product_code": "T-K"}, UserError, "Give the serial number"),
            ({"priority": "9"}, UserError, "Priority is one of 0, 1, 2"),
            ({"colour": "red"}, UserError, "Unknown values: colour"),
            ({"unit_code": "NOWHERE"}, UserError, "No service unit of yours has the code NOWHERE"),
            (
                {"request_type": "CONSULT", "create_work_order": True},
                UserError,
                "does not lead to a work order",
            ),
        ]
        for values, error, message in cases:
            with self.subTest(values=values), self.assertRaisesRegex(error, message):
                self.Request.service_create_from_call(dict(base, **values))
        with self.assertRaisesRegex(UserError, "as an object"):
            self.Request.service_create_from_call(["13800139999"])

    def test_only_agents_record_calls(self):
        for user in (self.supervisor_a1, self.internal_user):
            with (
                self.subTest(user=user.login),
                self.assertRaisesRegex(AccessError, "Only service agents"),
            ):
                self.env["service.dispatch.request"].with_user(user).service_create_from_call(
                    {"phone": "13800139999", "request_type": "REPAIR"}
                )
        # An agent records calls for units of their own subtree only.
        with self.assertRaisesRegex(UserError, "No service unit of yours has the code T-B"):
            self.Request.service_create_from_call(
                {"phone": "13800139999", "request_type": "REPAIR", "unit_code": "T-B"}
            )

    # ------------------------------------------------------------ status
    def test_status_by_reference_and_id(self):
        order = self.dispatched_order()
        order.with_user(self.dispatcher_a).action_accept(self.tech_a1.id)
        WorkOrder = self.WorkOrder.with_user(self.agent_a)
        status = WorkOrder.service_get_status(order.name)
        self.assertEqual(status, WorkOrder.service_get_status(order.id))
        self.assertPlainJson(status)
        self.assertEqual(set(status), STATUS_KEYS)
        self.assertEqual(status["state"], "accepted")
        self.assertEqual(status["state_label"], "Accepted")
        self.assertTrue(status["is_open"])
        # Accepted: the deadline to be on site runs.
        self.assertEqual(status["sla"]["deadline_kind"], "on_site")
        self.assertEqual(status["sla"]["deadline"], status["sla"]["deadlines"]["on_site"])
        self.assertEqual(status["sla"]["status"], "on_track")
        self.assertEqual(status["sla"]["escalation_level"], 0)
        self.assertEqual(
            status["outlet"], {"id": self.outlet_a1.id, "code": "T-A-1", "name": "Outlet A1"}
        )
        self.assertEqual(status["technician"], "Tech A1")
        self.assertEqual(
            set(status["dates"]),
            {"created", "dispatched", "accepted", "on_site", "done", "feedback"},
        )
        self.assertTrue(status["dates"]["dispatched"] and status["dates"]["accepted"])
        self.assertFalse(status["dates"]["on_site"])
        self.assertEqual([s["step"] for s in status["steps"]], ["create", "dispatch", "accept"])
        self.assertEqual(status["steps"][1]["outlet"], "Outlet A1")
        self.assertEqual(status["request"]["id"], order.request_id.id)

    def test_status_errors(self):
        order = self.dispatched_order()
        WorkOrder = self.WorkOrder.with_user(self.agent_a)
        for reference in ("WO-NOPE", 0, -1):
            with self.subTest(reference=reference), self.assertRaises(MissingError):
                WorkOrder.service_get_status(reference)
        for reference in ("", None, True, [order.id]):
            with (
                self.subTest(reference=reference),
                self.assertRaisesRegex(UserError, "Give the work order's reference"),
            ):
                WorkOrder.service_get_status(reference)
        # Outside the user's subtree: as if it did not exist.
        with self.assertRaisesRegex(MissingError, "or you may not read it"):
            self.WorkOrder.with_user(self.dispatcher_b).service_get_status(order.name)
        # No access to work orders at all.
        with self.assertRaises(AccessError):
            self.WorkOrder.with_user(self.internal_user).service_get_status(order.name)

    def test_acting_on_a_finished_order(self):
        order = self.dispatched_order()
        order.with_user(self.dispatcher_a).action_cancel("Customer fixed it")
        self.assertEqual(
            self.WorkOrder.with_user(self.agent_a).service_get_status(order.id)["cancel_reason"],
            "Customer fixed it",
        )
        with self.assertRaisesRegex(UserError, "is Cancelled: it cannot be cancelled"):
            order.with_user(self.dispatcher_a).action_cancel("again")
        # An agent may read but not cancel.
        with self.assertRaisesRegex(AccessError, "Only dispatchers"):
            order.with_user(self.agent_a).action_cancel("again")

    def test_lookup_shape(self):
        self.dispatched_order()
        found = self.env["res.partner"].with_user(self.agent_a).service_lookup_caller("13800139999")
        (card,) = found["customers"]
        self.assertEqual(
            set(card),
            {
                "id",
                "name",
                "is_member",
                "member_tier",
                "member_number",
                "appliances",
                "open_requests",
                "work_orders",
            },
        )
        self.assertEqual(
            set(card["appliances"][0]),
            {
                "id",
                "product",
                "product_id",
                "serial_number",
                "purchase_date",
                "warranty_end",
                "is_under_warranty",
                "owner_id",
                "owner",
            },
        )
        self.assertEqual(set(card["open_requests"][0]), CARD_KEYS)
        self.assertEqual(
            set(card["work_orders"][0]),
            {
                "id",
                "name",
                "state",
                "service_type",
                "request_id",
                "appliance_id",
                "outlet",
                "date",
                "date_done",
            },
        )
        with self.assertRaisesRegex(ValidationError, "is not a valid phone number"):
            self.env["res.partner"].service_lookup_caller(13)

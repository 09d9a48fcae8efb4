"""From a ringing number to a dispatched work order in the browser (in two clicks, and
in one with Record & Dispatch), and the outlet
accepting it on the portal: the telephony pop opens the intake screen on the caller, the
dispatcher records a repair, opens its work order and dispatches it to the top ranked
outlet; then the outlet's portal user accepts that order (tour
`service_dispatch_portal_accept`)."""

from urllib.parse import quote

from odoo.tests import HttpCase, tagged

from .common import DispatchCommon

OUTLET_PORTAL = "service_dispatch.group_dispatch_outlet_portal"
CUSTOMER_POINT = (31.2213, 121.5447)
NEAR_POINT = (31.2304, 121.4737)  # about 7 km away
FAR_POINT = (31.0, 121.2)


@tagged("post_install", "-at_install")
class TestRingToDispatchTour(HttpCase, DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cn = cls.env.ref("base.cn")
        region = cls.env["res.country.state"].create(
            {"name": "Tour Region", "code": "TTR", "country_id": cn.id}
        )
        cls.caller = cls.env["res.partner"].create(
            {
                "name": "Tour Caller",
                "phone": "138 0013 7777",
                "service_member_tier": "gold",
                "service_member_number": "M-TOUR",
                "country_id": cn.id,
                "state_id": region.id,
                "city": "Tour City",
                "service_district": "Tour District",
                "zip": "200120",
                "partner_latitude": CUSTOMER_POINT[0],
                "partner_longitude": CUSTOMER_POINT[1],
            }
        )
        cls.caller_appliance = cls.env["service.dispatch.appliance"].create(
            {
                "partner_id": cls.caller.id,
                "product_id": cls.washer.id,
                "serial_number": "TOUR-W-1",
                "purchase_date": "2025-03-01",
            }
        )
        Area = cls.env["service.dispatch.service.area"]
        for outlet, point, area in (
            (cls.outlet_a1, NEAR_POINT, {"district": "Tour District", "city": "Tour City"}),
            (cls.outlet_a2, FAR_POINT, {"city": "Tour City"}),
        ):
            outlet.partner_id = cls.env["res.partner"].create({"name": outlet.name})
            outlet.write({"latitude": point[0], "longitude": point[1]})
            Area.create({"outlet_id": outlet.id, "country_id": cn.id, **area})
        # The outlet's third-party staff, on the portal.
        cls.outlet_user = cls._new_user(
            "dispatch.tour.portal.a1", OUTLET_PORTAL, service_outlet_id=cls.outlet_a1.id
        )

    def test_ring_to_dispatch_then_outlet_accepts(self):
        self.assertTrue(self.dispatcher_a.has_group("service_dispatch.group_dispatch_agent"))
        phone = quote(self.caller.phone_sanitized, safe="")
        self.start_tour(
            f"/service_dispatch/intake?phone={phone}",
            "service_dispatch_ring_to_dispatch",
            login=self.dispatcher_a.login,
        )
        request = self.env["service.dispatch.request"].search([("partner_id", "=", self.caller.id)])
        self.assertEqual(len(request), 1)
        self.assertRecordValues(
            request,
            [
                {
                    "type_id": self.repair.id,
                    "appliance_id": self.caller_appliance.id,
                    "channel": "phone",
                    "user_id": self.dispatcher_a.id,
                    "unit_id": self.branch_a.id,
                }
            ],
        )
        self.assertIn("The drum does not turn", request.description)
        order = request.work_order_ids
        self.assertEqual(len(order), 1)
        self.assertRecordValues(order, [{"state": "dispatched", "outlet_id": self.outlet_a1.id}])

        # The outlet's portal user accepts THAT order (the only one of their outlet).
        self.assertEqual(
            self.env["service.dispatch.work.order"]
            .with_user(self.outlet_user)
            .search([("state", "=", "dispatched")]),
            order,
        )
        self.start_tour(
            "/my/work-orders", "service_dispatch_portal_accept", login=self.outlet_user.login
        )
        order.invalidate_recordset()
        self.assertRecordValues(
            order,
            [
                {
                    "state": "accepted",
                    "outlet_id": self.outlet_a1.id,
                    "technician_id": self.tech_a1.id,
                }
            ],
        )
        steps = order.step_ids.sorted("id")
        self.assertEqual(steps.mapped("step"), ["create", "dispatch", "accept"])
        self.assertRecordValues(
            steps[1:],
            [
                {"user_id": self.dispatcher_a.id, "outlet_id": self.outlet_a1.id,
                 "state_to": "dispatched"},
                {"user_id": self.outlet_user.id, "outlet_id": self.outlet_a1.id,
                 "state_to": "accepted"},
            ],
        )  # fmt: skip

    def test_ring_then_record_and_dispatch_in_one_click(self):
        phone = quote(self.caller.phone_sanitized, safe="")
        self.start_tour(
            f"/service_dispatch/intake?phone={phone}",
            "service_dispatch_ring_record_and_dispatch",
            login=self.dispatcher_a.login,
        )
        request = self.env["service.dispatch.request"].search([("partner_id", "=", self.caller.id)])
        self.assertRecordValues(request, [{"state": "in_progress", "type_id": self.repair.id}])
        self.assertRecordValues(
            request.work_order_ids, [{"state": "dispatched", "outlet_id": self.outlet_a1.id}]
        )
        # Agents record; only dispatchers see the one-click button.
        Intake = self.env["service.dispatch.intake"]
        for user, shown in ((self.agent_a, False), (self.dispatcher_a, True)):
            arch = Intake.with_user(user).get_views([(False, "form")])["views"]["form"]["arch"]
            self.assertEqual("action_record_and_dispatch" in arch, shown, user.login)

from odoo.exceptions import ValidationError
from odoo.tools import SQL, mute_logger
from psycopg2 import IntegrityError

from .common import DispatchCommon


class TestCallerLookup(DispatchCommon):
    def test_number_is_sanitized_in_the_service_country(self):
        # The contact has no country: its number is read as a Chinese one.
        self.assertFalse(self.customer.country_id)
        self.assertEqual(self.customer.phone_sanitized, "+8613800139999")

    def test_lookup_finds_the_caller_whatever_the_format(self):
        Partner = self.env["res.partner"].with_user(self.agent_a)
        for number in ("138 0013 9999", "+86 138-0013-9999", "13800139999", "+8613800139999"):
            with self.subTest(number=number):
                found = Partner.service_lookup_caller(number)
                self.assertEqual(found["phone"], "+8613800139999")
                self.assertEqual([c["id"] for c in found["customers"]], self.customer.ids)

    def test_lookup_shows_member_status_appliances_requests_and_orders(self):
        open_request = self.new_request()
        closed = self.new_request(type_id=self.consultation.id, appliance_id=False)
        closed.with_user(self.agent_a).action_close("Told them how to descale it.")
        order = self.dispatched_order()
        card = (
            self.env["res.partner"]
            .with_user(self.agent_a)
            .service_lookup_caller("138 0013 9999")["customers"][0]
        )
        self.assertTrue(card["is_member"])
        self.assertEqual(card["member_tier"], "gold")
        self.assertEqual(card["member_number"], "M-0001")
        self.assertEqual([a["serial_number"] for a in card["appliances"]], ["W-0001"])
        self.assertTrue(card["appliances"][0]["warranty_end"])
        open_ids = {r["id"] for r in card["open_requests"]}
        self.assertIn(open_request.id, open_ids)
        self.assertIn(order.request_id.id, open_ids)
        self.assertNotIn(closed.id, open_ids)
        self.assertEqual([o["id"] for o in card["work_orders"]], order.ids)
        self.assertEqual(card["work_orders"][0]["state"], "dispatched")

    def test_household_members_first(self):
        spouse = self.env["res.partner"].create({"name": "Spouse", "phone": "+86 138 0013 9999"})
        found = self.env["res.partner"].service_lookup_caller("13800139999")
        self.assertEqual([c["id"] for c in found["customers"]], [self.customer.id, spouse.id])

    def test_unknown_number_finds_nobody(self):
        found = self.env["res.partner"].service_lookup_caller("139 0000 0000")
        self.assertEqual(found, {"phone": "+8613900000000", "customers": []})

    def test_malformed_number_is_a_clear_error(self):
        for number in ("12", "not a number", ""):
            with (
                self.subTest(number=number),
                self.assertRaisesRegex(ValidationError, "is not a valid phone number"),
            ):
                self.env["res.partner"].service_lookup_caller(number)

    def test_other_centre_sees_the_customer_but_not_our_requests(self):
        self.new_request()
        card = (
            self.env["res.partner"]
            .with_user(self.dispatcher_b)
            .service_lookup_caller("138 0013 9999")["customers"][0]
        )
        self.assertEqual(card["open_requests"], [])
        self.assertEqual(card["appliances"][0]["serial_number"], "W-0001")

    def test_sanitized_number_is_indexed(self):
        self.env.cr.execute(
            SQL(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'res_partner' "
                "AND indexdef LIKE %s",
                "%(phone_sanitized)%",
            )
        )
        self.assertTrue(self.env.cr.fetchall())

    def test_member_number_is_unique(self):
        refused = None
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.env["res.partner"].create(
                    {"name": "Copycat", "service_member_tier": "silver",
                     "service_member_number": "M-0001"}
                )  # fmt: skip
                self.env.flush_all()
        except (IntegrityError, ValidationError) as error:
            refused = error
        self.assertTrue(refused, "a second M-0001")
        self.assertFalse(self.env["res.partner"].create({"name": "Plain"}).service_is_member)

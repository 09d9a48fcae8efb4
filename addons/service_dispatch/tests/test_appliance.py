from datetime import date, timedelta

from odoo.exceptions import AccessError, ValidationError
from odoo.tools import mute_logger
from psycopg2 import IntegrityError

from .common import DispatchCommon


class TestAppliance(DispatchCommon):
    def test_product_label_follows_the_product(self):
        """The stored product name the intake lists show instead of the product."""
        self.assertEqual(self.appliance.product_label, self.washer.display_name)
        self.assertEqual(self.appliance.display_name, f"{self.washer.display_name} (W-0001)")
        self.washer.write({"name": "Renamed Washer", "default_code": "T-W2"})
        self.assertEqual(self.appliance.product_label, "[T-W2] Renamed Washer")
        self.appliance.product_id = self.kettle
        self.assertEqual(self.appliance.product_label, "[T-K] Test Kettle")

    def test_warranty_end_from_the_product(self):
        self.assertEqual(self.appliance.warranty_end, date(2027, 1, 15))
        no_warranty = self.env["service.dispatch.appliance"].create(
            {"partner_id": self.customer.id, "product_id": self.kettle.id,
             "serial_number": "K-1", "purchase_date": "2025-01-15"}
        )  # fmt: skip
        self.assertFalse(no_warranty.warranty_end)
        self.assertFalse(no_warranty.is_under_warranty)

    def test_warranty_end_is_editable_and_kept(self):
        appliance = self.appliance.with_user(self.agent_a)
        appliance.warranty_end = "2028-01-15"
        appliance.purchase_place = "Another shop"
        self.assertEqual(self.appliance.warranty_end, date(2028, 1, 15))

    def test_under_warranty_search(self):
        old = self.env["service.dispatch.appliance"].create(
            {"partner_id": self.customer.id, "product_id": self.washer.id,
             "serial_number": "W-OLD", "purchase_date": "2010-01-01"}
        )  # fmt: skip
        self.appliance.purchase_date = date.today() - timedelta(days=30)
        Appliance = self.env["service.dispatch.appliance"]
        scope = [("id", "in", (old | self.appliance).ids)]
        self.assertTrue(self.appliance.is_under_warranty)
        self.assertEqual(
            Appliance.search([*scope, ("is_under_warranty", "=", True)]), self.appliance
        )
        self.assertEqual(Appliance.search([*scope, ("is_under_warranty", "=", False)]), old)

    def test_serial_is_unique_per_product(self):
        refused = None
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.env["service.dispatch.appliance"].create(
                    {"partner_id": self.customer.id, "product_id": self.washer.id,
                     "serial_number": " W-0001 "}
                )  # fmt: skip
                self.env.flush_all()
        except (IntegrityError, ValidationError) as error:
            refused = error
        self.assertTrue(refused, "a second W-0001 washer")
        # The same serial on another product is another appliance.
        other = self.env["service.dispatch.appliance"].create(
            {"partner_id": self.customer.id, "product_id": self.kettle.id,
             "serial_number": "W-0001"}
        )  # fmt: skip
        self.assertTrue(other)

    def test_blank_serial_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "serial number"):
            self.env["service.dispatch.appliance"].create(
                {"partner_id": self.customer.id, "product_id": self.kettle.id,
                 "serial_number": "   "}
            )  # fmt: skip

    def test_ownership_changes_are_kept(self):
        self.assertEqual(self.appliance.ownership_ids.partner_id, self.customer)
        buyer = self.env["res.partner"].create({"name": "Second-hand Buyer"})
        self.appliance.with_user(self.agent_a).partner_id = buyer
        history = self.appliance.ownership_ids.sorted("id")
        self.assertEqual(history.partner_id, self.customer | buyer)
        self.assertTrue(history[0].date_end)
        self.assertFalse(history[1].date_end)
        self.assertEqual(history[1].user_id, self.agent_a)
        self.assertEqual(self.customer.service_appliance_count, 0)
        self.assertEqual(buyer.service_appliance_count, 1)

    def test_scanning_a_serial_finds_the_owner(self):
        Appliance = self.env["service.dispatch.appliance"].with_user(self.agent_a)
        found = Appliance.lookup_serial(" W-0001 ")
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["owner_id"], self.customer.id)
        self.assertEqual(found[0]["product_id"], self.washer.id)
        self.assertEqual(Appliance.lookup_serial("W-9999"), [])
        with self.assertRaisesRegex(ValidationError, "serial number"):
            Appliance.lookup_serial("  ")
        # The search box matches the serial number too.
        self.assertEqual(Appliance.name_search("W-0001")[0][0], self.appliance.id)

    def test_ownership_history_is_not_editable(self):
        ownership = self.appliance.ownership_ids
        with self.assertRaises(AccessError):
            ownership.with_user(self.centre_manager_a).write({"date_end": "2020-01-01"})

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, tagged

from .common import DispatchCommon

INTAKE_URL = "/odoo/action-service_dispatch.service_dispatch_intake_action/"


class TestIntake(DispatchCommon):
    def intake_form(self, user=None, **values):
        intake = Form(self.env["service.dispatch.intake"].with_user(user or self.agent_a))
        for name, value in values.items():
            setattr(intake, name, value)
        return intake

    def test_known_caller_shows_everything(self):
        open_request = self.new_request()
        complaint = self.new_request(type_id=self.complaint.id, description="Late technician")
        consultation = self.new_request(type_id=self.consultation.id, appliance_id=False)
        consultation.with_user(self.agent_a).action_close("Told them how to descale it.")
        order = self.dispatched_order()
        intake = self.intake_form(phone="+86 138-0013-9999")
        self.assertEqual(intake.partner_id, self.customer)
        self.assertEqual(intake.phone_e164, "+8613800139999")
        self.assertEqual(intake.member_tier, "gold")
        self.assertEqual(intake.member_number, "M-0001")
        self.assertFalse(intake.is_unknown_caller)
        self.assertEqual(intake.appliance_ids[:], self.appliance)
        self.assertIn(open_request, intake.open_request_ids[:])
        self.assertIn(order.request_id, intake.open_request_ids[:])
        self.assertNotIn(consultation, intake.open_request_ids[:])
        self.assertEqual(intake.work_order_ids[:], order)
        self.assertEqual(intake.complaint_ids[:], complaint)

    def test_history_follows_the_customer(self):
        # Another number, then a customer chosen by hand: the lists follow the customer.
        intake = self.intake_form(phone="13800139999")
        self.assertEqual(intake.appliance_ids[:], self.appliance)
        intake.partner_id = self.env["res.partner"].create({"name": "Household Member"})
        self.assertFalse(intake.appliance_ids[:])
        intake.partner_id = self.customer
        self.assertEqual(intake.appliance_ids[:], self.appliance)
        intake.phone = "139 0000 1234"
        self.assertFalse(intake.partner_id)
        self.assertFalse(intake.appliance_ids[:])

    def test_onchange_sends_the_list_columns(self):
        # The screen's onchange returns each history line with the columns of its list.
        order = self.dispatched_order()
        spec = {
            "phone": {},
            "partner_id": {"fields": {"display_name": {}}},
            "appliance_ids": {
                "fields": {"product_id": {"fields": {"display_name": {}}}, "serial_number": {}}
            },
            "work_order_ids": {"fields": {"name": {}, "state": {}}},
        }
        Intake = self.env["service.dispatch.intake"].with_user(self.agent_a)
        value = Intake.onchange({"phone": "13800139999"}, ["phone"], spec)["value"]
        value = {
            name: [list(c) for c in v] if isinstance(v, list) else v for name, v in value.items()
        }
        self.assertEqual(value["partner_id"]["id"], self.customer.id)
        self.assertEqual(
            value["appliance_ids"],
            [
                [
                    4,
                    self.appliance.id,
                    {
                        "id": self.appliance.id,
                        "product_id": {
                            "id": self.appliance.product_id.id,
                            "display_name": self.appliance.product_id.display_name,
                        },
                        "serial_number": "W-0001",
                    },
                ]
            ],
        )
        self.assertEqual(
            value["work_order_ids"],
            [[4, order.id, {"id": order.id, "name": order.name, "state": order.state}]],
        )
        # The lines the screen had are unlinked when the number changes.
        values = {
            "phone": "13900001234",
            "partner_id": self.customer.id,
            "appliance_ids": [[4, self.appliance.id]],
            "work_order_ids": [[4, order.id]],
        }
        value = Intake.onchange(values, ["phone"], spec)["value"]
        value = {
            name: [list(c) for c in v] if isinstance(v, list) else v for name, v in value.items()
        }
        self.assertFalse(value["partner_id"])
        self.assertEqual(value["appliance_ids"], [[3, self.appliance.id, 0]])
        self.assertEqual(value["work_order_ids"], [[3, order.id, 0]])

    def test_history_is_read_as_the_agent(self):
        # A request of branch B is outside agent A's subtree: the screen leaves it out.
        other = self.new_request(self.env.user, unit_id=self.branch_b.id)
        intake = self.intake_form(phone="13800139999")
        self.assertEqual(intake.partner_id, self.customer)
        self.assertNotIn(other, intake.open_request_ids[:])

    def test_malformed_number_says_so(self):
        intake = self.intake_form(phone="12")
        self.assertIn("not a valid phone number", intake.phone_error)
        self.assertFalse(intake.partner_id)
        self.assertFalse(intake.is_unknown_caller)

    def test_unknown_number_quick_create(self):
        intake = self.intake_form(phone="139 0000 1234")
        self.assertTrue(intake.is_unknown_caller)
        self.assertFalse(intake.partner_id)
        intake.new_name = "New Caller"
        intake.new_street = "1 Renmin Road"
        intake.new_city = "Hangzhou"
        intake.new_district = "Xihu"
        intake.new_zip = "310000"
        intake.new_product_id = self.kettle
        intake.new_serial_number = " K-9000 "
        intake.new_purchase_date = "2025-06-01"
        record = intake.save()
        record.action_create_customer()
        partner = record.partner_id
        self.assertEqual(partner.name, "New Caller")
        self.assertEqual(partner.phone_sanitized, "+8613900001234")
        self.assertEqual(
            (partner.street, partner.city, partner.service_district, partner.zip),
            ("1 Renmin Road", "Hangzhou", "Xihu", "310000"),
        )
        self.assertEqual(record.appliance_ids.serial_number, "K-9000")
        self.assertEqual(record.appliance_id, record.appliance_ids)
        self.assertFalse(record.is_unknown_caller)
        # The same number now finds the new customer.
        self.assertEqual(self.intake_form(phone="13900001234").partner_id, partner)

    def test_quick_create_needs_a_name(self):
        record = self.intake_form(phone="139 0000 1234").save()
        with self.assertRaises(UserError):
            record.action_create_customer()

    def test_serial_finds_owner(self):
        intake = self.intake_form(serial_number="W-0001")
        self.assertEqual(intake.partner_id, self.customer)
        self.assertEqual(intake.appliance_id, self.appliance)
        self.assertEqual(intake.member_number, "M-0001")
        intake = self.intake_form(serial_number="NOPE")
        self.assertIn("NOPE", intake.serial_error)
        self.assertFalse(intake.partner_id)

    def test_record_repair_creates_work_order(self):
        intake = self.intake_form(phone="13800139999")
        intake.type_id = self.repair
        intake.appliance_id = self.appliance
        intake.description = "Does not drain"
        record = intake.save()
        record.action_record_request()
        request = record.request_id
        self.assertEqual(request.channel, "phone")
        self.assertEqual(request.phone, "+8613800139999")
        self.assertEqual(request.user_id, self.agent_a)
        self.assertEqual(request.appliance_id, self.appliance)
        self.assertEqual(request.unit_id, self.branch_a)
        self.assertEqual(request.state, "in_progress")
        self.assertEqual(len(request.work_order_ids), 1)
        self.assertEqual(record.request_work_order_ids, request.work_order_ids)
        self.assertIn(request, record.open_request_ids)

    def test_installation_gets_one_work_order(self):
        record = self.intake_form(phone="13800139999", type_id=self.installation).save()
        record.action_record_request()
        self.assertEqual(len(record.request_id.work_order_ids), 1)

    def test_consultation_closed_at_intake(self):
        intake = self.intake_form(phone="13800139999", type_id=self.consultation)
        intake.description = "How do I descale it?"
        intake.outcome = "Use citric acid, monthly."
        record = intake.save()
        record.action_record_request()
        request = record.request_id
        self.assertEqual(request.state, "closed")
        self.assertEqual(request.outcome, "Use citric acid, monthly.")
        self.assertFalse(request.work_order_ids)

    def test_consultation_needs_outcome(self):
        record = self.intake_form(phone="13800139999").save()
        record.type_id = self.praise
        with self.assertRaises(UserError):
            record.action_record_request()
        self.assertFalse(record.request_id)

    def test_only_agents_take_calls(self):
        with self.assertRaises(AccessError):
            self.env["service.dispatch.intake"].with_user(self.supervisor_a1).create(
                {"phone": "13800139999"}
            )


@tagged("post_install", "-at_install")
class TestIntakePop(HttpCase, DispatchCommon):
    def test_pop_redirects_an_agent_to_the_screen(self):
        self.authenticate("dispatch.agent.a", "dispatch.agent.a")
        response = self.url_open(
            "/service_dispatch/intake?phone=%2B8613800139999", allow_redirects=False
        )
        self.assertEqual(response.status_code, 303)
        location = response.headers["Location"]
        self.assertIn(INTAKE_URL, location)
        intake = self.env["service.dispatch.intake"].browse(int(location.rsplit("/", 1)[1]))
        self.assertEqual(intake.create_uid, self.agent_a)
        self.assertEqual(intake.partner_id, self.customer)

    def test_pop_refuses_the_public(self):
        Intake = self.env["service.dispatch.intake"]
        before = Intake.search_count([])
        response = self.url_open(
            "/service_dispatch/intake?phone=13800139999", allow_redirects=False
        )
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])
        self.assertIn("redirect=", response.headers["Location"])  # back to the pop after login
        self.assertEqual(Intake.search_count([]), before)

from odoo.exceptions import AccessError, UserError, ValidationError

from .common import DispatchCommon


class TestRequest(DispatchCommon):
    def test_request_records_who_took_it_and_how(self):
        request = self.new_request(priority="1")
        self.assertTrue(request.name.startswith("SR"))
        self.assertEqual(request.user_id, self.agent_a)
        self.assertEqual(request.phone, "+8613800139999")
        self.assertEqual(request.channel, "phone")
        self.assertEqual(request.state, "open")
        self.assertEqual(request.priority, "1")
        self.assertFalse(request.work_order_ids, "a repair waits for the agent's click")

    def test_default_unit_is_the_agents_centre(self):
        request = (
            self.env["service.dispatch.request"]
            .with_user(self.agent_a)
            .create({"partner_id": self.customer.id, "type_id": self.complaint.id})
        )
        self.assertEqual(request.unit_id, self.branch_a)
        self.assertEqual(request.priority, "1", "the complaint type's default priority")

    def test_repair_becomes_a_work_order_in_one_click(self):
        request = self.new_request()
        action = request.with_user(self.agent_a).action_create_work_order()
        order = request.work_order_ids
        self.assertEqual(action["res_id"], order.id)
        self.assertEqual(request.state, "in_progress")
        self.assertEqual(order.state, "new")
        self.assertEqual(order.partner_id, self.customer)
        self.assertEqual(order.appliance_id, self.appliance)
        self.assertEqual(order.address_id, self.customer)
        self.assertEqual(order.service_type, "repair")
        self.assertEqual(order.unit_id, self.branch_a)
        self.assertEqual(order.step_ids.step, "create")
        self.assertEqual(order.step_ids.user_id, self.agent_a)

    def test_installation_creates_its_work_order_at_once(self):
        request = self.new_request(type_id=self.installation.id)
        self.assertEqual(request.work_order_ids.service_type, "installation")
        self.assertEqual(request.state, "in_progress")

    def test_consultation_and_praise_close_at_intake(self):
        for request_type in (self.consultation, self.praise):
            with self.subTest(type=request_type.code):
                request = self.new_request(type_id=request_type.id)
                with self.assertRaisesRegex(UserError, "does not lead to a work order"):
                    request.with_user(self.agent_a).action_create_work_order()
                with self.assertRaisesRegex(UserError, "outcome"):
                    request.with_user(self.agent_a).action_close("  ")
                request.with_user(self.agent_a).action_close("Answered.")
                self.assertEqual(request.state, "closed")
                self.assertEqual(request.outcome, "Answered.")
                self.assertEqual(request.closed_by_id, self.agent_a)
                with self.assertRaisesRegex(UserError, "already closed"):
                    request.with_user(self.agent_a).action_close("Again.")

    def test_a_request_with_an_open_work_order_closes_with_it(self):
        order = self.dispatched_order()
        with self.assertRaisesRegex(UserError, "work order in progress"):
            order.request_id.with_user(self.agent_a).action_close("Done?")
        with self.assertRaisesRegex(UserError, "open work orders"):
            order.request_id.with_user(self.agent_a).action_cancel("Duplicate")

    def test_cancel_needs_a_reason(self):
        request = self.new_request(type_id=self.complaint.id)
        with self.assertRaisesRegex(UserError, "reason"):
            request.with_user(self.agent_a).action_cancel("")
        request.with_user(self.agent_a).action_cancel("Wrong number")
        self.assertEqual(request.state, "cancelled")

    def test_state_and_outcome_change_through_the_buttons_only(self):
        request = self.new_request()
        with self.assertRaises(AccessError):
            request.with_user(self.agent_a).write({"state": "closed"})
        with self.assertRaises(AccessError):
            request.with_user(self.centre_manager_a).write({"outcome": "Forged"})
        with self.assertRaises(AccessError):
            self.new_request(state="closed")
        request.with_user(self.agent_a).write({"description": "Also leaks water"})
        self.assertEqual(request.description, "Also leaks water")

    def test_only_agents_change_requests(self):
        request = self.new_request(type_id=self.consultation.id)
        with self.assertRaises(AccessError):
            request.with_user(self.supervisor_a1).action_close("Not mine to close")
        with self.assertRaises(AccessError):
            request.with_user(self.dispatcher_b).action_close("Other centre")

    def test_bad_input_is_a_clear_error(self):
        with self.assertRaisesRegex(ValidationError, "not a valid phone number"):
            self.new_request(phone="12")
        stranger = self.env["res.partner"].create({"name": "Stranger"})
        with self.assertRaisesRegex(ValidationError, "belongs to Customer One"):
            self.new_request(partner_id=stranger.id)
        with self.assertRaisesRegex(ValidationError, "choose its service type"):
            self.env["service.dispatch.request.type"].create(
                {"name": "Odd", "code": "ODD", "path": "work_order"}
            )


class TestEmailIntake(DispatchCommon):
    RAW = """From: Wang Fang <wang.fang@example.com>
To: service-requests@example.com
Subject: Fridge not cooling
Message-ID: <dispatch-test-1@example.com>
Date: Mon, 30 Nov 2026 09:00:00 +0800
Content-Type: text/plain; charset=utf-8

The fridge stopped cooling yesterday.
"""

    def test_an_email_becomes_a_request(self):
        request_id = self.env["mail.thread"].message_process("service.dispatch.request", self.RAW)
        request = self.env["service.dispatch.request"].browse(request_id)
        self.assertEqual(request.channel, "email")
        self.assertTrue(request.name.startswith("SR"))
        self.assertEqual(request.partner_id.email, "wang.fang@example.com")
        self.assertEqual(request.type_id, self.consultation)
        self.assertEqual(request.unit_id, self.Unit.search([("parent_id", "=", False)], limit=1))
        self.assertIn("Fridge not cooling", request.description)
        self.assertIn("stopped cooling", request.description)
        self.assertFalse(request.user_id, "nobody took it yet")
        # A known sender is not created twice.
        second = self.RAW.replace("dispatch-test-1", "dispatch-test-2")
        other_id = self.env["mail.thread"].message_process("service.dispatch.request", second)
        self.assertEqual(self.env["service.dispatch.request"].browse(other_id).partner_id,
                         request.partner_id)  # fmt: skip

    def test_alias_defaults_choose_type_and_unit(self):
        request = self.env["service.dispatch.request"].message_new(
            {"email_from": "li.lei@example.com", "subject": "Broken washer", "body": "<p>Help</p>"},
            {"type_id": self.repair.id, "unit_id": self.branch_a.id},
        )
        self.assertEqual(request.type_id, self.repair)
        self.assertEqual(request.unit_id, self.branch_a)
        self.assertEqual(request.description, "Broken washer\n\nHelp")

from odoo.exceptions import ValidationError

from .common import EvaluationCommon


class TestAlerts(EvaluationCommon):
    def test_negative_press_alerts_the_supervisors(self):
        self.ingest(self.rated_flow(0, 4, teller_number="E-1001"))
        session = self.sessions()
        self.assertTrue(session.is_negative)
        sms = self.env["sms.sms"].search([("number", "=", "+8613800138000")])
        self.assertEqual(len(sms), 1, "one SMS, to the supervisor's E.164 number")
        self.assertIn("Outlet A", sms.body)
        self.assertIn("Teller One", sms.body)
        activity = session.activity_ids
        self.assertEqual(activity.user_id, self.supervisor_a)
        self.assertEqual(
            activity.activity_type_id,
            self.env.ref("service_evaluation.mail_activity_type_negative_rating"),
        )
        self.env.cr.precommit.run()  # the bus queues notifications at commit time
        notifications = self.env["bus.bus"].search([("message", "ilike", "Dissatisfied customer")])
        self.assertTrue(notifications, "a live notification is queued for the supervisor")

    def test_no_alert_for_positive_or_repeat_presses(self):
        self.ingest(self.rated_flow(0, 1))
        # A negative key pressed again after a counted positive press is only a repeat.
        self.ingest([self.event("rate", 65, key=4)])
        self.assertFalse(self.env["sms.sms"].search([("number", "=", "+8613800138000")]))

    def test_resend_alerts_once(self):
        batch = self.rated_flow(0, 4)
        self.ingest(batch)
        self.ingest(batch)
        self.assertEqual(self.env["sms.sms"].search_count([("number", "=", "+8613800138000")]), 1)

    def test_sms_can_be_switched_off(self):
        self.company.service_alert_sms = False
        self.ingest(self.rated_flow(0, 4))
        self.assertFalse(self.env["sms.sms"].search([("number", "=", "+8613800138000")]))
        self.assertTrue(self.sessions().activity_ids)

    def test_customer_phone_is_normalised(self):
        self.ingest(self.rated_flow(0, 4))
        session = self.sessions()
        session.customer_phone = "010 6600 0000"
        self.assertEqual(session.customer_phone, "+861066000000")
        session.customer_phone = "+86 138-0013-8001"
        self.assertEqual(session.customer_phone, "+8613800138001")
        with self.assertRaisesRegex(ValidationError, "not a valid phone number"):
            session.customer_phone = "12"

    def test_kiosk_phone_with_the_rating(self):
        events = self.rated_flow(0, 4)
        events[-1]["customer_phone"] = "139 1234 5678"
        bad = self.rated_flow(300, 4)
        bad[-1]["customer_phone"] = "99"
        reply = self.ingest(events + bad)
        self.assertEqual(reply["results"][-1]["code"], "invalid_phone")
        self.assertIn("not a valid phone number", reply["results"][-1]["message"])
        first, second = self.sessions()
        self.assertEqual(first.customer_phone, "+8613912345678")
        # The refused press leaves its session awaiting, then unrated: nothing counted.
        self.assertFalse(second.is_rated)
        # A later replay of the device never clears a phone staff attached by hand.
        second.customer_phone = "010 6600 0000"
        self.ingest([self.event("start", 900)])
        self.assertEqual(second.customer_phone, "+861066000000")

"""Ratings are facts: only the ingest writes them; staff change their own fields
through checked, logged methods; administrators void with a reason."""

from odoo.exceptions import AccessError, UserError

from .test_access_matrix import AccessMatrixCommon


class TestSessionFacts(AccessMatrixCommon):
    def test_nobody_rewrites_a_rating(self):
        # Finding 1: a teller wrote score = 100 on their own session, a branch manager
        # wrote score and is_negative on any session of their branch.
        for role, vals in (
            ("teller", {"score": 100.0, "is_satisfied": True}),
            ("manager", {"score": 0.0, "is_negative": True}),
            ("admin", {"state": "cancelled"}),
            ("device", {"option_id": self.options[2].id}),
        ):
            with self.subTest(role=role), self.assertRaises(AccessError):
                self.session_a.with_user(self.users[role]).write(vals)
        # A staff field mixed with a fact is refused as a whole.
        with self.assertRaises(AccessError):
            self.session_a.with_user(self.supervisor_a1).write(
                {"customer_phone": "138 0013 8001", "score": 100.0}
            )
        self.assertEqual(self.session_a.option_id, self.options[1])

    def test_callback_phone_and_note_by_the_outlets_staff(self):
        session = self.session_a.with_user(self.supervisor_a1)
        session.action_set_callback(customer_phone="138 0013 8001", staff_note="Call after 5 pm")
        self.assertEqual(self.session_a.customer_phone, "+8613800138001")
        # The form saves through write: routed to the same checked method.
        self.session_a.with_user(self.manager_a).write({"customer_phone": "010 6600 0000"})
        self.assertEqual(self.session_a.customer_phone, "+861066000000")
        self.assertEqual(self.session_a.staff_note, "Call after 5 pm")
        for role in ("teller", "other_manager", "device"):
            with self.subTest(role=role), self.assertRaises(AccessError):
                self.session_a.with_user(self.users[role]).action_set_callback(
                    customer_phone="138 0013 8009"
                )
        with self.assertRaisesRegex(Exception, "not a valid phone number"):
            session.action_set_callback(customer_phone="12")

    def test_callback_changes_are_logged_with_their_author(self):
        self.session_a.with_context(tracking_disable=False).with_user(
            self.supervisor_a1
        ).action_set_callback(customer_phone="138 0013 8001")
        self.env.cr.precommit.run()  # tracking values are written at commit
        tracking = self.env["mail.tracking.value"].search(
            [("mail_message_id.res_id", "=", self.session_a.id),
             ("mail_message_id.model", "=", "service.evaluation.session")]
        )  # fmt: skip
        self.assertTrue(tracking)
        self.assertEqual(tracking.mail_message_id.author_id, self.supervisor_a1.partner_id)

    def test_administrators_void_with_a_reason(self):
        for role in ("teller", "supervisor", "manager"):
            with self.subTest(role=role), self.assertRaises(AccessError):
                self.session_a.with_user(self.users[role]).action_void("test press")
        with self.assertRaises(UserError):
            self.session_a.with_user(self.service_admin).action_void("  ")
        wizard = (
            self.env["service.evaluation.session.void"]
            .with_user(self.service_admin)
            .with_context(active_ids=self.session_a.ids)
            .create({"reason": "Test presses while installing the keypad"})
        )
        wizard.action_void()
        self.assertTrue(self.session_a.is_voided)
        self.assertEqual(self.session_a.voided_by_id, self.service_admin)
        self.assertEqual(self.session_a.void_reason, "Test presses while installing the keypad")
        # Visible to administrators only.
        Session = self.env["service.evaluation.session"]
        for role in ("teller", "supervisor", "manager", "device"):
            with self.subTest(role=role):
                self.assertFalse(
                    Session.with_user(self.users[role]).search([("id", "=", self.session_a.id)])
                )
        self.assertTrue(
            Session.with_user(self.service_admin).search([("id", "=", self.session_a.id)])
        )

    def test_a_voided_session_counts_nowhere(self):
        self.session_a.with_user(self.service_admin).action_void("broken keypad")
        Report = self.env["service.evaluation.session.report"]
        self.assertFalse(
            Report.with_user(self.service_admin).search([("id", "=", self.session_a.id)])
        )
        # Counter A1-1 keeps its other (dissatisfied) customer of the fixture.
        counter = self.counter_a1_1.with_user(self.service_admin)
        self.assertEqual(counter.session_count, 1)
        StarLevel = self.env["service.evaluation.star.level"]
        StarLevel._compute_levels(self.t0.date())
        level = StarLevel.search([("employee_id", "=", self.teller_1.id)])
        self.assertEqual((level.rated_count, level.satisfied_count), (1, 0))

from datetime import datetime, time

from odoo.addons.service_evaluation.demo.session_generator import TZ, UTC
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoHistory(TransactionCase):
    """The demo's sessions and shifts come from keypad events through the device ingest
    (demo/session_generator.py), so they follow the replay's rules and open their events."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.counter = cls.env.ref(
            "service_evaluation.counter_xikezhan_1_demo", raise_if_not_found=False
        )
        if not cls.counter:
            cls.skipTest(cls, "installed without demo data")
        cls.sessions = cls.env["service.evaluation.session"].search(
            [("counter_id", "=", cls.counter.id)]
        )

    def test_every_session_has_its_start_event(self):
        self.assertGreater(len(self.sessions), 500)
        self.assertFalse(self.sessions.filtered(lambda session: not session.start_event_id))
        self.assertLessEqual({"rated", "unrated", "cancelled"}, set(self.sessions.mapped("state")))

    def test_view_events_of_a_rated_session(self):
        session = self.sessions.filtered(lambda session: session.state == "rated")[-1:]
        self.assertTrue(session)
        action = session.action_view_events()
        events = self.env["service.evaluation.event"].search(action["domain"])
        self.assertEqual(
            sorted(events.mapped("event_type")), ["end", "rate", "start"][: len(events)]
        )
        self.assertIn("counted", events.mapped("outcome"))
        counted = events.filtered(lambda event: event.outcome == "counted")
        self.assertEqual(counted.key_code, session.option_id.key_code)
        self.assertEqual(events.session_id, session)

    def test_replay_rules_show(self):
        """Teller 7 skips End for about a third of the customers: the next START cancels
        those sessions; double presses are repeats, presses after the window are late."""
        by_state = dict(
            self.env["service.evaluation.session"]._read_group(
                [("outlet_id.code", "!=", False)], ["state"], ["__count"]
            )
        )
        self.assertGreater(by_state.get("cancelled", 0), 100)
        self.assertGreater(by_state.get("unrated", 0), 100)
        self.assertGreater(by_state["rated"], by_state["unrated"])
        outcomes = {
            outcome
            for (outcome,) in self.env["service.evaluation.event"]._read_group(
                [("device_id", "=", self.counter.device_ids[:1].id)], ["outcome"]
            )
        }
        self.assertLessEqual({"opened", "closed", "counted", "repeat", "late", "shift"}, outcomes)

    def test_one_shift_per_teller_and_day_from_logins(self):
        shifts = self.env["service.evaluation.shift"].search([("counter_id", "=", self.counter.id)])
        self.assertGreater(len(shifts), 50)
        self.assertEqual(set(shifts.mapped("source")), {"device"})
        self.assertEqual(len(shifts.filtered(lambda shift: not shift.date_end)), 1, "today's")
        rated = self.sessions.filtered(lambda session: session.state == "rated")
        self.assertFalse(rated.filtered(lambda session: not session.employee_id))

    def test_history_raised_no_alerts_today_did(self):
        """History is loaded without alerts; today's dissatisfied customers are alerted."""
        now = datetime.now()
        local_midnight = datetime.combine(now.replace(tzinfo=UTC).astimezone(TZ).date(), time())
        start_of_today = local_midnight.replace(tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)
        negative = self.env["service.evaluation.session"].search(
            [("is_negative", "=", True), ("outlet_id.code", "!=", False)]
        )
        alerted = self.env["service.evaluation.alert"].search([]).session_id
        history = negative.filtered(lambda session: session.date_start < start_of_today)
        self.assertGreater(len(history), 50)
        self.assertFalse(history & alerted)
        self.assertEqual(negative - history, (negative - history) & alerted)

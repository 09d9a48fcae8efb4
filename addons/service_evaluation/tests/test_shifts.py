"""One teller, one counter; shifts started and ended from the web client; a
manager's logged correction; times shown in the user's time zone."""

from datetime import datetime

import psycopg2
import pytz
from odoo.exceptions import AccessError, UserError
from odoo.tools import mute_logger

from .common import EvaluationCommon


class TestShifts(EvaluationCommon):
    def open_shifts(self, employee=None):
        return self.env["service.evaluation.shift"].search(
            [("employee_id", "=", (employee or self.teller_1).id), ("date_end", "=", False)]
        )

    def test_login_at_a_second_counter_ends_the_first(self):
        # Finding 4: 周婷 was on duty at 西客站 1号 and 车公庄 2号 at once.
        self.ingest([self.event("login", 0, employee="E-1001")])
        self.ingest([self.event("login", 60, self.device_a2_1, employee="E-1001")])
        shift = self.open_shifts()
        self.assertEqual(shift.counter_id, self.counter_a2_1)
        first = self.env["service.evaluation.shift"].search(
            [("employee_id", "=", self.teller_1.id), ("counter_id", "=", self.counter_a1_1.id)]
        )
        self.assertEqual(first.date_end, shift.date_start)
        counters = (self.counter_a1_1 | self.counter_a2_1).with_user(self.manager_a)
        self.assertEqual(
            counters.mapped("current_employee_id"), self.teller_1, "on duty at one counter"
        )
        self.assertFalse(self.counter_a1_1.current_employee_id)
        # A later replay of the first keypad (an event arriving late) keeps it ended.
        self.ingest([self.event("start", 30), self.event("end", 50)])
        self.assertEqual(self.open_shifts(), shift)
        self.assertEqual(first.date_end, shift.date_start)

    def test_an_older_login_arriving_late_does_not_reopen(self):
        # Keypad A2-1's login at +60 arrives first, keypad A1-1's login at +0 after it.
        self.ingest([self.event("login", 60, self.device_a2_1, employee="E-1001")])
        self.ingest([self.event("login", 0, employee="E-1001")])
        shifts = self.env["service.evaluation.shift"].search(
            [("employee_id", "=", self.teller_1.id)], order="date_start"
        )
        self.assertEqual(shifts.counter_id, self.counter_a1_1 | self.counter_a2_1)
        self.assertEqual(shifts[0].date_end, shifts[1].date_start)
        self.assertEqual(self.open_shifts(), shifts[1])

    def test_logins_on_several_keypads_in_one_batch(self):
        # The proxy carries several keypads' presses in one batch: the teller ends up on
        # duty at the last login only, even two in the same second.
        reply = self.ingest(
            [
                self.event("login", 0, employee="E-1001"),
                self.event("login", 5, self.device_a1_2, employee="E-1001"),
                self.event("login", 5, self.device_a2_1, employee="E-1001"),
            ]
        )
        self.assertEqual({r["status"] for r in reply["results"]}, {"stored"})
        self.assertEqual(len(self.open_shifts()), 1)
        shown = [
            reply["devices"][device.serial_number]["display"]["teller_name"]
            for device in (self.device_a1_1, self.device_a1_2, self.device_a2_1)
        ]
        self.assertEqual(shown.count("Teller One"), 1, shown)

    def test_the_database_refuses_two_open_shifts(self):
        Shift = self.env["service.evaluation.shift"]
        Shift.create({"employee_id": self.teller_2.id, "counter_id": self.counter_a1_1.id})
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.IntegrityError),
            self.env.cr.savepoint(),
        ):
            Shift.create({"employee_id": self.teller_2.id, "counter_id": self.counter_a2_1.id})

    def test_a_teller_starts_and_ends_their_own_shift(self):
        self.ingest([self.event("login", 0, employee="E-1001")])
        keypad_shift = self.open_shifts()
        # Tellers read the counters of the outlets they work at.
        counter = self.counter_a1_2.with_user(self.teller_user_1)
        counter.action_start_shift()
        self.assertEqual(self.open_shifts().counter_id, self.counter_a1_2)
        self.assertTrue(keypad_shift.date_end, "the keypad shift ended")
        self.assertEqual(self.counter_a1_1.current_employee_id, self.env["hr.employee"])
        # Someone else on duty: refused, with their name.
        self.env["service.evaluation.shift"].create(
            {"employee_id": self.teller_2.id, "counter_id": self.counter_a1_1.id}
        )
        with self.assertRaisesRegex(UserError, "Teller Two"):
            self.counter_a1_1.with_user(self.teller_user_1).action_start_shift()
        # Past shifts cannot be edited, nor another teller's ended.
        with self.assertRaises(AccessError):
            keypad_shift.with_user(self.teller_user_1).write({"date_end": datetime.now()})
        colleague = self.open_shifts(self.teller_2)
        with self.assertRaises(AccessError):
            colleague.with_user(self.teller_user_1).action_end_shift()
        self.open_shifts().with_user(self.teller_user_1).action_end_shift()
        self.assertFalse(self.open_shifts())
        # The outlet's supervisor may end a teller's shift (a teller who went home).
        colleague.with_user(self.supervisor_a1).action_end_shift()
        self.assertTrue(colleague.date_end)

    def test_a_manager_corrects_a_shift_with_a_reason(self):
        self.ingest([self.event("login", 0, employee="E-1001"), self.event("logout", 600)])
        shift = self.env["service.evaluation.shift"].search(
            [("employee_id", "=", self.teller_1.id)]
        )
        corrected_end = (
            shift.date_start.replace(microsecond=0) + (shift.date_end - shift.date_start) * 2
        )
        for user in (self.teller_user_1, self.supervisor_a1):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                shift.with_user(user).action_correct(shift.date_start, corrected_end, "forgot")
        with self.assertRaises(UserError):
            shift.with_user(self.manager_a).action_correct(shift.date_start, corrected_end, "")
        wizard = (
            self.env["service.evaluation.shift.correction"]
            .with_user(self.manager_a)
            .create({"shift_id": shift.id, "reason": "The teller forgot to log out"})
        )
        wizard.date_end = corrected_end
        wizard.action_correct()
        self.assertEqual(shift.date_end, corrected_end)
        self.assertTrue(shift.is_corrected)
        note = shift.message_ids.filtered(lambda m: "forgot to log out" in (m.body or ""))
        self.assertEqual(note.author_id, self.manager_a.partner_id)
        # A replay of the keypad no longer changes the corrected shift.
        self.ingest([self.event("start", 700), self.event("login", 300, employee="E-1002")])
        self.assertEqual(shift.date_end, corrected_end)

    def test_session_title_in_the_users_time_zone(self):
        # Finding 4: the title showed UTC while the Start field showed local time.
        self.ingest(self.rated_flow(0, 1))
        session = self.sessions()
        start = session.date_start
        local = pytz.utc.localize(start).astimezone(pytz.timezone("Asia/Shanghai"))
        self.assertIn(
            local.strftime("%H:%M"), session.with_context(tz="Asia/Shanghai").display_name
        )
        self.assertIn(start.strftime("%H:%M"), session.with_context(tz="UTC").display_name)

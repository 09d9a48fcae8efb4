import json
import random
import time
from datetime import datetime, timedelta

from ..models import event_batch
from .common import EvaluationCommon


class TestIngest(EvaluationCommon):
    def test_session_lifecycle(self):
        # Device times close to now, so the session is still awaiting its rating.
        self.company.service_rating_window = 60
        self.t0 = datetime.now().replace(microsecond=0) - timedelta(seconds=80)
        reply = self.ingest([self.event("login", 0, employee="E-1001")])
        self.assertEqual(reply["results"][0]["status"], "stored")
        self.assertEqual(
            reply["devices"][self.device_a1_1.serial_number]["display"]["teller_name"], "Teller One"
        )
        reply = self.ingest([self.event("start", 10)])
        self.assertEqual(reply["devices"][self.device_a1_1.serial_number]["prompt"], "greeting")
        session = self.sessions()
        self.assertEqual((session.state, session.employee_id), ("serving", self.teller_1))
        self.assertEqual(session.business_type_id, self.deposit)
        reply = self.ingest([self.event("end", 70)])
        self.assertEqual(reply["devices"][self.device_a1_1.serial_number]["prompt"], "please_rate")
        self.assertEqual((session.state, session.duration), ("awaiting", 60))
        self.assertTrue(session.reached_prompt)
        reply = self.ingest([self.event("rate", 74, key=2)])
        reply = reply["devices"][self.device_a1_1.serial_number]
        self.assertEqual(reply["prompt"], "thank_you")
        self.assertEqual(reply["display"]["teller_name"], "Teller One")
        self.assertEqual(session.state, "rated")
        self.assertEqual(session.option_id, self.options[2])
        self.assertTrue(session.is_satisfied)
        self.assertEqual(session.score, self.options[2].score)
        reply = self.ingest([self.event("logout", 78)])
        display = reply["devices"][self.device_a1_1.serial_number]["display"]
        self.assertEqual((display["teller_name"], display["employee_number"]), ("", ""))
        reply = self.ingest([self.event("heartbeat", 79)])
        self.assertEqual(
            reply["devices"][self.device_a1_1.serial_number]["display"]["teller_name"], ""
        )
        shift = self.env["service.evaluation.shift"].search(
            [("employee_id", "=", self.teller_1.id)]
        )
        self.assertEqual(shift.counter_id, self.counter_a1_1)
        self.assertAlmostEqual(shift.duration_hours, 78 / 3600, places=4)
        self.assertEqual(self.device_a1_1.last_seen.date(), datetime.now().date())
        self.assertTrue(self.device_a1_1.is_online)

    def test_rating_window_and_expiry(self):
        self.ingest([self.event("start", 0), self.event("end", 60), self.event("rate", 75, key=1)])
        session = self.sessions()
        self.assertEqual(session.state, "unrated")
        late = self.env["service.evaluation.event"].search(
            [("outcome", "=", "late"), ("device_id", "=", self.device_a1_1.id)]
        )
        self.assertEqual(late.session_id, session)
        # A session awaiting a rating expires through the cron once the window passed.
        self.ingest(
            [self.event("start", 100, self.device_a1_2), self.event("end", 160, self.device_a1_2)]
        )
        self.assertEqual(self.sessions(self.device_a1_2).state, "unrated")  # t0 is 2 h ago
        self.sessions(self.device_a1_2).state = "awaiting"
        self.env["service.evaluation.session"]._cron_expire_awaiting()
        self.assertEqual(self.sessions(self.device_a1_2).state, "unrated")

    def test_anti_repeat_and_unsolicited(self):
        self.ingest(
            [self.event("start", 0), self.event("end", 60), self.event("rate", 62, key=1),
             self.event("rate", 64, key=4), self.event("rate", 300, key=4)]
        )  # fmt: skip
        session = self.sessions()
        self.assertEqual(session.option_id, self.options[1])
        self.assertFalse(session.is_negative)
        outcomes = (
            self.env["service.evaluation.event"]
            .search(
                [("device_id", "=", self.device_a1_1.id), ("event_type", "=", "rate")],
                order="device_time",
            )
            .mapped("outcome")
        )
        self.assertEqual(outcomes, ["counted", "repeat", "unsolicited"])
        self.assertEqual(self.env["service.evaluation.session"].search_count(
            [("device_id", "=", self.device_a1_1.id), ("is_rated", "=", True)]), 1)  # fmt: skip

    def test_idempotent_resend(self):
        batch = self.rated_flow(0, 1, teller_number="E-1001")
        first = self.ingest(batch)
        self.assertEqual({r["status"] for r in first["results"]}, {"stored"})
        again = self.ingest(batch)
        self.assertEqual({r["status"] for r in again["results"]}, {"duplicate"})
        self.assertEqual(len(self.sessions()), 1)
        self.assertEqual(
            self.env["service.evaluation.event"].search_count(
                [("device_id", "=", self.device_a1_1.id)]
            ),
            4,
        )
        # A resend in the same batch is a duplicate too.
        repeated = self.event("start", 900)
        reply = self.ingest([repeated, dict(repeated)])
        self.assertEqual([r["status"] for r in reply["results"]], ["stored", "duplicate"])

    def test_out_of_order_batches_rebuild_the_same_sessions(self):
        """Keypad A1-2 delivers on time; A2-1 delivers the same day shuffled, in 4 late
        batches."""
        rng = random.Random(7)
        flows = {self.device_a1_2: [], self.device_a2_1: []}
        for device, events in flows.items():
            events.append(self.event("login", 0, device, employee="E-1002"))
            for customer in range(12):
                base = 10 + customer * 120
                events.append(self.event("start", base, device))
                if customer % 5 != 4:  # some customers never prompted
                    events.append(self.event("end", base + 50, device))
                    if customer % 3:
                        events.append(self.event("rate", base + 53, device, key=1 + customer % 4))
                        events.append(self.event("rate", base + 55, device, key=1))
        self.ingest(flows[self.device_a1_2])
        shuffled = list(flows[self.device_a2_1])
        rng.shuffle(shuffled)
        for start in range(0, len(shuffled), 9):
            self.ingest(shuffled[start : start + 9])

        def summary(device):
            return [
                (s.date_start, s.state, s.option_id.key_code, s.employee_id.id, s.duration)
                for s in self.sessions(device)
            ]

        self.assertEqual(len(summary(self.device_a1_2)), 12)
        self.assertEqual(summary(self.device_a1_2), summary(self.device_a2_1))

    def test_each_event_in_its_own_batch(self):
        """One event per call, as a keypad on line sends them: every transition of the
        previous session is still applied when the next START arrives on its own."""
        steps = [
            ("start", 0, {}),  # never ended: cancelled by the next START
            ("start", 100, {}),
            ("end", 150, {}),  # never rated: unrated by the next START
            ("start", 200, {}),
            ("end", 250, {}),
            ("rate", 252, {"key": 1}),
            ("start", 300, {}),  # after a rated session: replayed from itself
            ("end", 350, {}),
            ("rate", 352, {"key": 2}),
            ("rate", 354, {"key": 2}),  # a repeat press...
            ("start", 354, {}),  # ...and a START at the same device time
            ("rate", 355, {"key": 3}),  # nothing awaits a rating: unsolicited
        ]
        for event_type, seconds, extra in steps:
            self.ingest([self.event(event_type, seconds, **extra)])
        states = ["cancelled", "unrated", "rated", "rated", "serving"]
        self.assertEqual([s.state for s in self.sessions()], states)
        self.assertEqual(
            self.outcomes(),
            ["opened", "opened", "closed", "opened", "closed", "counted", "opened", "closed",
             "counted", "repeat", "opened", "unsolicited"],
        )  # fmt: skip
        # Each event knows its session (derived from the device's last START)...
        rated = self.sessions()[3]
        repeat = self.env["service.evaluation.event"].search(
            [("outcome", "=", "repeat"), ("device_id", "=", self.device_a1_1.id)]
        )
        self.assertEqual(repeat.session_id, rated)
        # ...and a session lists its own events, up to the next START.
        action = rated.action_view_events()
        events = self.env["service.evaluation.event"].search(action["domain"])
        self.assertEqual(
            sorted(events.mapped("outcome")), ["closed", "counted", "opened", "repeat"]
        )
        # The same events delivered in one batch give the same sessions.
        self.ingest([self.event(t, s, self.device_a1_2, **extra) for t, s, extra in steps])
        self.assertEqual([s.state for s in self.sessions(self.device_a1_2)], states)

    def test_rebinding_a_keypad_moves_it_to_the_other_key(self):
        """Which keypads a key may post for is cached: rebinding one must clear it."""
        self.assertEqual(self.ingest([self.event("start", 0)])["results"][0]["status"], "stored")
        self.device_a1_1.device_user_id = self.other_device_user
        reply = self.ingest([self.event("end", 10)])
        self.assertEqual(reply["results"][0]["code"], "forbidden_device")
        reply = self.ingest([self.event("end", 10)], user=self.other_device_user)
        self.assertEqual(reply["results"][0]["status"], "stored")
        self.device_a1_1.active = False
        reply = self.ingest([self.event("start", 20)], user=self.other_device_user)
        self.assertEqual(reply["results"][0]["code"], "unknown_device")

    def test_counter_changes_reach_the_cached_keypads(self):
        """What the ingest validates against is cached per device user: changing a
        counter's code or business types, or moving a keypad, must clear it."""
        self.assertEqual(self.ingest([self.event("start", 0)])["results"][0]["status"], "stored")
        self.counter_a1_1.code = "E-A1-1-NEW"
        reply = self.ingest([self.event("end", 5) | {"counter": "E-A1-1"}])
        self.assertEqual(reply["results"][0]["code"], "wrong_counter")
        loans = self.env["service.evaluation.business.type"].create(
            {"name": "Loans", "code": "E-LOAN"}
        )
        reply = self.ingest([self.event("start", 10) | {"business": "E-LOAN"}])
        self.assertEqual(reply["results"][0]["code"], "unknown_business")
        self.counter_a1_1.business_type_ids = [(4, loans.id)]
        reply = self.ingest([self.event("start", 10) | {"business": "E-LOAN"}])
        self.assertEqual(reply["results"][0]["status"], "stored")
        self.assertEqual(self.sessions()[-1].business_type_id, loans)
        self.device_a1_1.counter_id = self.counter_a1_2
        reply = self.ingest([self.event("start", 20) | {"counter": "E-A1-2"}])
        self.assertEqual(reply["results"][0]["status"], "stored")
        self.assertEqual(self.sessions()[-1].counter_id, self.counter_a1_2)

    def test_display_follows_shifts_and_star_levels(self):
        """The teller each reply shows is cached per counter: a shift opened or ended in
        the web client, or a new star level, must reach the next reply."""

        def display():
            reply = self.ingest([self.event("heartbeat", 0)])
            return reply["devices"][self.device_a1_1.serial_number]["display"]

        self.assertEqual(display()["teller_name"], "")
        shift = self.env["service.evaluation.shift"].create(
            {"employee_id": self.teller_2.id, "counter_id": self.counter_a1_1.id}
        )
        self.assertEqual(
            (display()["teller_name"], display()["employee_number"]), ("Teller Two", "E-1002")
        )
        self.teller_2.service_star_level = 4
        self.assertEqual(display()["star_level"], 4)
        self.teller_2.name = "Teller Two Renamed"
        self.assertEqual(display()["teller_name"], "Teller Two Renamed")
        shift.action_end_shift()
        self.assertEqual(display()["teller_name"], "")

    def test_counter_notifications_are_throttled(self):
        """At most one kanban notification a second; counters changed meanwhile go
        with the next one."""
        event_batch._counter_notify_state.pop(self.env.cr.dbname, None)
        Bus = self.env["bus.bus"].sudo()
        self.env.cr.precommit.run()  # what the fixtures queued (new users join #general)
        last_id = Bus.search([], order="id desc", limit=1).id or 0

        def messages():
            self.env.cr.precommit.run()  # the bus writes its messages at commit
            found = Bus.search([("id", ">", last_id)], order="id")
            return [json.loads(message.message)["payload"] for message in found]

        self.ingest([self.event("start", 0)])
        self.ingest([self.event("start", 5, self.device_a1_2)])
        self.assertEqual(messages(), [{"counter_ids": [self.counter_a1_1.id]}])
        event_batch._counter_notify_state[self.env.cr.dbname][0] -= 2  # a second later
        self.ingest([self.event("start", 10, self.device_a2_1)])
        self.assertEqual(
            messages()[1:],
            [{"counter_ids": sorted([self.counter_a1_2.id, self.counter_a2_1.id])}],
        )

    def test_a_warm_batch_costs_two_statements(self):
        """Whatever its size, a batch is one read and one write once the caches are
        warm: keypads, scales, settings and tellers are cached, and nothing reads the
        device user's own record (a cache keyed on env.company once did, every call)."""
        # A kanban message was just sent: this one waits (and writes nothing now).
        event_batch._counter_notify_state[self.env.cr.dbname] = [time.monotonic(), set()]
        self.ingest([self.event("start", 0), self.event("end", 5), self.event("rate", 7, key=1)])
        batch = []
        for device in (self.device_a1_1, self.device_a1_2):
            for customer in range(3):
                start = 20 + 20 * customer
                batch += [
                    self.event("start", start, device),
                    self.event("end", start + 5, device),
                    self.event("rate", start + 7, device, key=2),
                ]
        # Each request starts afresh: new environments (env.company not computed yet)
        # and an empty record cache.
        self.env.flush_all()
        self.env.transaction.reset()
        with self.assertQueryCount(2):
            reply = self.ingest(batch)
        self.assertEqual({result["status"] for result in reply["results"]}, {"stored"})
        self.assertEqual(self.sessions(self.device_a1_2).mapped("state"), ["rated"] * 3)

    def test_per_event_errors_keep_the_good_events(self):
        good_start = self.event("start", 0)
        batch = [
            self.event("start", 1, device=self.device_a1_1) | {"device": "NO-SUCH-KEYPAD"},
            self.event("start", 2) | {"counter": "E-A2-1"},
            self.event("rate", 3, key=9),
            self.event("start", 4) | {"time": "yesterday"},
            self.event("start", 5) | {"time": "2026-11-02T09:00:00"},
            self.event("start", 6) | {"type": "explode"},
            self.event("login", 7, employee="NOBODY"),
            self.event("start", 8) | {"time": "2999-01-01T00:00:00Z"},
            self.event("start", 9, device=self.foreign_device),
            "not an object",
            self.event("rate", 10, key=10**30),
            self.event("heartbeat", 11, key_count=10**30),
            {"type": "start"},
            good_start,
        ]
        reply = self.ingest(batch)
        codes = [r.get("code") for r in reply["results"]]
        self.assertEqual(
            codes,
            ["unknown_device", "wrong_counter", "unknown_key", "malformed_time",
             "malformed_time", "unknown_type", "unknown_employee", "clock_skew",
             "forbidden_device", "malformed_event", "unknown_key", "malformed_event",
             "malformed_event", None],
        )  # fmt: skip
        self.assertEqual(reply["results"][-1], {"id": good_start["id"], "status": "stored"})
        for result in reply["results"][:-1]:
            self.assertEqual(result["status"], "error")
            self.assertTrue(result["message"])
        self.assertEqual(len(self.sessions()), 1)

    def test_presses_in_the_same_second_keep_their_order(self):
        """A rating and the next customer's Start within one second, in separate batches."""
        self.ingest(
            [self.event("start", 0), self.event("end", 60), self.event("rate", 62.2, key=1)]
        )
        self.ingest(
            [self.event("start", 62.7), self.event("end", 120), self.event("rate", 121, key=2)]
        )
        self.ingest([self.event("rate", 122.4, key=4), self.event("start", 122.9)])
        self.assertEqual(
            self.outcomes(),
            ["opened", "closed", "counted", "opened", "closed", "counted", "repeat", "opened"],
        )
        self.assertEqual([s.option_id.key_code for s in self.sessions()], [1, 2, 0])

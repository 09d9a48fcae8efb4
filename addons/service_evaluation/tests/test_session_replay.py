"""The pure session rules (tools/session_replay.py), without the database."""

import random
from datetime import datetime, timedelta

from odoo.tests import BaseCase

from ..tools import session_replay as sr

T0 = datetime(2026, 11, 2, 9, 0, 0)


def ev(key, event_type, seconds, key_code=None, employee_id=None):
    return sr.ReplayEvent(key, event_type, T0 + timedelta(seconds=seconds), key_code, employee_id)


def run(events, now_offset=3600, **kwargs):
    return sr.replay(
        events, rating_window=10, anti_repeat=5, now=T0 + timedelta(seconds=now_offset), **kwargs
    )


class TestSessionReplay(BaseCase):
    def test_lifecycle(self):
        result = run(
            [ev(1, "login", 0, employee_id=7), ev(2, "start", 10), ev(3, "end", 70),
             ev(4, "rate", 73, key_code=1)]
        )  # fmt: skip
        (session,) = result.sessions
        self.assertEqual((session.state, session.key_code, session.employee_id), ("rated", 1, 7))
        self.assertEqual(result.outcomes[4], (sr.COUNTED, 2))

    def test_window_expiry(self):
        result = run([ev(1, "start", 0), ev(2, "end", 60), ev(3, "rate", 71, key_code=1)])
        self.assertEqual(result.sessions[0].state, sr.UNRATED)
        self.assertEqual(result.outcomes[3][0], sr.LATE)
        # Still within the window when replayed "now": awaiting, not yet unrated.
        result = run([ev(1, "start", 0), ev(2, "end", 60)], now_offset=65)
        self.assertEqual(result.sessions[0].state, sr.AWAITING)
        result = run([ev(1, "start", 0), ev(2, "end", 60)], now_offset=71)
        self.assertEqual(result.sessions[0].state, sr.UNRATED)

    def test_repeats_and_unsolicited(self):
        result = run(
            [ev(1, "start", 0), ev(2, "end", 60), ev(3, "rate", 61, key_code=4),
             ev(4, "rate", 63, key_code=1), ev(5, "rate", 67, key_code=1),
             ev(6, "rate", 200, key_code=1)]
        )  # fmt: skip
        self.assertEqual(result.sessions[0].key_code, 4)
        self.assertEqual(result.outcomes[4][0], sr.REPEAT)
        self.assertEqual(result.outcomes[5][0], sr.REPEAT)  # within 5 s of the last repeat
        self.assertEqual(result.outcomes[6][0], sr.UNSOLICITED)
        self.assertEqual(run([ev(1, "rate", 0, key_code=1)]).outcomes[1], (sr.UNSOLICITED, None))

    def test_start_without_end_cancels(self):
        result = run([ev(1, "start", 0), ev(2, "start", 100), ev(3, "end", 160)])
        self.assertEqual([s.state for s in result.sessions], [sr.CANCELLED, sr.UNRATED])
        self.assertEqual(run([ev(1, "end", 0)]).outcomes[1], (sr.ORPHAN, None))

    def test_order_of_arrival_does_not_matter(self):
        events = []
        key = 0
        for customer in range(30):
            base = customer * 300
            for event_type, offset, code in (
                ("start", 0, None),
                ("end", 90, None),
                ("rate", 93, 1 + customer % 4),
                ("rate", 95, 1),
            ):
                key += 1
                events.append(ev(key, event_type, base + offset, key_code=code))
        in_order = run(events, now_offset=10**5)
        shuffled = list(events)
        random.Random(4).shuffle(shuffled)
        again = run(shuffled, now_offset=10**5)
        self.assertEqual(in_order.sessions, again.sessions)
        self.assertEqual(in_order.outcomes, again.outcomes)

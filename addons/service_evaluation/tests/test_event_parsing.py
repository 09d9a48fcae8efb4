"""The pure parsing rules of one device event (tools/event_parsing.py), without the
database: whatever an event carries, it is either parsed into values PostgreSQL can
store, or refused with an EventError (a per-event error, never a failed batch)."""

from datetime import datetime

from odoo.tests import BaseCase

from ..tools.event_parsing import EventError, parse_event, parse_time, usable_id

TEXT_FIELDS = ("id", "device", "counter", "business", "employee", "customer_phone", "firmware")


def event(**extra):
    return {
        "id": "KP-01:b1:0001",
        "device": "KP-01",
        "type": "heartbeat",
        "time": "2026-11-23T09:00:00.250+08:00",
    } | extra


class TestEventParsing(BaseCase):
    def assertRefused(self, raw, code, words=""):
        with self.assertRaises(EventError) as caught:
            parse_event(raw)
        self.assertEqual(caught.exception.code, code)
        self.assertIn(words, caught.exception.message)
        return caught.exception

    def test_valid_event(self):
        parsed = parse_event(
            event(type="rate", key=4, counter="C-1", firmware="2.3.1", key_count=8)
        )
        self.assertEqual(
            (parsed.uid, parsed.serial, parsed.event_type), ("KP-01:b1:0001", "KP-01", "rate")
        )
        self.assertEqual(parsed.device_time, datetime(2026, 11, 23, 1, 0, 0, 250000))
        self.assertEqual((parsed.key_code, parsed.key_count), (4, 8))
        # Any text PostgreSQL can store is kept as sent (trimmed): CJK, emoji, controls.
        for text in ("柜台三号", "KP-😀-01", "tab\tinside", "\u200bzero width", "\uffff"):
            with self.subTest(text=text):
                parsed = parse_event(event(id=text, device=text, employee=text, firmware=text))
                self.assertEqual((parsed.uid, parsed.serial, parsed.employee_number), (text,) * 3)
        # Numbers are accepted where text is expected, as their decimal form.
        self.assertEqual(parse_event(event(id=10**40)).uid, str(10**40))

    def test_text_postgresql_cannot_store_is_refused(self):
        """NUL is refused by PostgreSQL text, a lone surrogate (a JSON "\\udxxx" escape)
        by UTF-8: the event is refused before anything reaches the database."""
        for field in TEXT_FIELDS:
            for text in ("KP\x00-01", "\x00", "KP-01\x00", "KP\ud800-01", "\udfff"):
                with self.subTest(field=field, text=text):
                    error = self.assertRefused(
                        event(**{"type": "login", "employee": "1001"} | {field: text}),
                        "malformed_event",
                        field,
                    )
                    self.assertIn("cannot be stored", error.message)
                    # The message itself can be sent back as UTF-8.
                    error.message.encode("utf-8")

    def test_too_long_and_wrong_types(self):
        for field, limit in (("id", 64), ("device", 64), ("customer_phone", 32)):
            with self.subTest(field=field):
                parse_event(event(**{field: "9" * limit}))
                self.assertRefused(event(**{field: "9" * (limit + 1)}), "malformed_event", "longer")
                self.assertRefused(event(**{field: 10**limit}), "malformed_event", "longer")
        for value in (1.5, True, [], {}, ["KP-01"], {"nested": ["KP-01"]}):
            with self.subTest(value=value):
                self.assertRefused(event(device=value), "malformed_event", "must be a string")
        for value in (None, "", "   "):
            with self.subTest(value=value):
                self.assertRefused(event(id=value), "malformed_event", "missing")
                # The refusal's result names no id (null), as docs/device-api.md says;
                # found by tests/test_device_api_fuzz.py ("   " used to give "").
                self.assertIsNone(usable_id(event(id=value)))
        for value in ("not an object", 17, None, [event()]):
            with self.subTest(value=value):
                self.assertRefused(value, "malformed_event", "JSON object")

    def test_integers_beyond_the_database_range(self):
        for key in (0, 9, -1, 2**31, -(2**31) - 1, 2**63, 10**30, True, 1.0, "1", None, [1]):
            with self.subTest(key=key):
                self.assertRefused(event(type="rate", key=key), "unknown_key")
        for key_count in (0, 9, 2**31, 2**63, 10**30, -1, True, 4.0, "4", "", [4]):
            with self.subTest(key_count=key_count):
                self.assertRefused(event(key_count=key_count), "malformed_event", "key_count")

    def test_times_out_of_range(self):
        """Times Python cannot represent in UTC are malformed (never an OverflowError),
        and so are times with a NUL in them."""
        for value in (
            "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
            "9999-12-31T23:59:59-01:00",  # after year 9999 once in UTC
            10**20, -(10**20), 10**400, 1e300, -1e300,
            "2026-11-23T09:00:00", "yesterday", "\ud800",
            # Python's fromisoformat stops at a NUL: these must not pass as times.
            "2026-11-23T09:00:00\x00Z", "2026-11-23T09:00:00+08:00\x00", "2026-11-23\x0009:00:00Z",
            "", None, True, [], {},
        ):  # fmt: skip
            with self.subTest(value=value):
                self.assertRefused(event(time=value), "malformed_time")
        # The extremes that are representable parse; the company's limits refuse them.
        self.assertEqual(parse_time("0001-01-01T00:00:00Z"), datetime(1, 1, 1))
        self.assertEqual(parse_time("9999-12-31T23:59:59Z"), datetime(9999, 12, 31, 23, 59, 59))
        self.assertEqual(parse_time(0), datetime(1970, 1, 1))

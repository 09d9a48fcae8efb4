from .common import EvaluationCommon

RESULT_KEYS = {"id", "status"}
ERROR_KEYS = {"id", "status", "code", "message"}


class TestEventResults(EvaluationCommon):
    """docs/device-api.md, "Reply": every entry of `results` has the same shape, an `id`
    (None when the event has no usable one), a `status`, and for an error its `code`
    and `message`."""

    def named(self, raw, outcome):
        """An event whose result must name its own id."""
        return raw, raw["id"], outcome

    def test_every_result_has_the_same_shape(self):
        good = self.event("start", 0)
        batch = [
            # (event, the result's id, its status or error code)
            self.named(good, "stored"),
            self.named(dict(good), "duplicate"),
            self.named(self.event("heartbeat", 1), "ok"),
            # Refused while reading the event.
            self.named(self.event("start", 2) | {"type": "explode"}, "unknown_type"),
            self.named(self.event("start", 3) | {"time": "yesterday"}, "malformed_time"),
            self.named(self.event("rate", 4, key=9), "unknown_key"),
            self.named(self.event("start", 5) | {"device": ""}, "malformed_event"),
            # Refused against its keypad or its company.
            self.named(self.event("start", 6) | {"device": "NO-SUCH-KEYPAD"}, "unknown_device"),
            self.named(self.event("start", 7) | {"counter": "E-A2-1"}, "wrong_counter"),
            self.named(self.event("start", 8, device=self.foreign_device), "forbidden_device"),
            # As Odoo reads an id: a number becomes text, surrounding spaces are dropped.
            (self.event("start", 9) | {"id": 42, "type": "explode"}, "42", "unknown_type"),
            (self.event("start", 10) | {"id": " ev-x ", "type": "explode"}, "ev-x",
             "unknown_type"),
            # No usable id: None (null in JSON).
            ("not an object", None, "malformed_event"),
            ({"type": "start"}, None, "malformed_event"),
            (self.event("start", 11) | {"id": ""}, None, "malformed_event"),
            (self.event("start", 12) | {"id": "x" * 65}, None, "malformed_event"),
            (self.event("start", 13) | {"id": ["ev"]}, None, "malformed_event"),
            (self.event("start", 14) | {"id": True}, None, "malformed_event"),
            (self.event("start", 15) | {"id": "ev\x00"}, None, "malformed_event"),
            (self.event("start", 16) | {"id": "ev\ud800"}, None, "malformed_event"),
        ]  # fmt: skip
        reply = self.ingest([raw for raw, _uid, _outcome in batch])
        for (raw, uid, outcome), result in zip(batch, reply["results"], strict=True):
            with self.subTest(event=raw):
                self.assertEqual(result["id"], uid)
                if outcome in ("stored", "duplicate", "ok"):
                    self.assertEqual(set(result), RESULT_KEYS)
                    self.assertEqual(result["status"], outcome)
                else:
                    self.assertEqual(set(result), ERROR_KEYS)
                    self.assertEqual((result["status"], result["code"]), ("error", outcome))
                    self.assertTrue(result["message"])
        self.assertEqual(len(self.sessions()), 1)

import json
from datetime import timedelta

from odoo.tests import HttpCase, tagged

from .common import EvaluationCommon

ROUTE = "/service_evaluation/device/events"


@tagged("post_install", "-at_install")
class TestDeviceApi(HttpCase, EvaluationCommon):
    """The real route, over HTTP, with bearer API keys."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Device keys need an expiry within the Service Device group's maximum.
        expiry = cls.env.cr.now() + timedelta(days=300)
        cls.key = cls.device_user._service_device_key_generate("keypad proxy", expiry)
        cls.other_key = cls.other_device_user._service_device_key_generate("other", expiry)
        # A person's key as made in Preferences (unscoped): valid, but not a device's.
        cls.person_key = (
            cls.env["res.users.apikeys"]
            .with_user(cls.supervisor_a1)
            ._generate(None, "person", cls.env.cr.now() + timedelta(hours=12))
        )

    def post(self, events, key=None):
        headers = {"Content-Type": "application/json", "X-Odoo-Database": self.env.cr.dbname}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"events": events}}
        response = self.url_open(ROUTE, data=json.dumps(body), headers=headers)
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_batch_over_http(self):
        reply = self.post(self.rated_flow(0, 2, teller_number="E-1001"), self.key)
        result = reply["result"]
        self.assertEqual([r["status"] for r in result["results"]], ["stored"] * 4)
        device_reply = result["devices"][self.device_a1_1.serial_number]
        self.assertEqual(device_reply["display"]["teller_name"], "Teller One")
        self.assertEqual(device_reply["display"]["employee_number"], "E-1001")
        self.assertEqual(device_reply["prompt"], "thank_you")
        self.assertEqual(self.sessions().state, "rated")
        again = self.post(self.rated_flow(0, 2), self.key)["result"]
        self.assertEqual({r["status"] for r in again["results"]}, {"stored"})

    def test_no_key_and_wrong_key(self):
        for key in (None, "wrong-key"):
            with self.subTest(key=key):
                reply = self.post([self.event("start", 0)], key)
                self.assertIn("error", reply)
                self.assertIn("Unauthorized", reply["error"]["data"]["name"])
        self.assertFalse(self.sessions())

    def test_key_posting_for_another_users_device(self):
        reply = self.post([self.event("start", 0)], self.other_key)["result"]
        self.assertEqual(reply["results"][0]["code"], "forbidden_device")
        self.assertFalse(self.sessions())

    def test_person_key_is_not_a_device(self):
        reply = self.post([self.event("start", 0)], self.person_key)
        self.assertIn("Unauthorized", reply["error"]["data"]["name"])
        self.assertIn("not_a_device", reply["error"]["data"]["message"])
        self.assertFalse(self.sessions())

    def test_malformed_batch_is_a_clear_error_not_a_500(self):
        for events in (None, [], "start", [{}] * 1001):
            with self.subTest(events=str(events)[:20]):
                reply = self.post(events, self.key)["result"]
                self.assertIn(reply["error"]["code"], ("malformed_batch", "batch_too_large"))

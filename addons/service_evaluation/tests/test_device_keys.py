import json
from datetime import timedelta
from xmlrpc.client import Fault

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged

from .common import EvaluationCommon

ROUTE = "/service_evaluation/device/events"
# What a stolen keypad proxy's key must not read (docs/device-api.md, "Device keys").
LEAKY_MODELS = ("res.partner", "hr.employee", "res.users", "mail.message")


@tagged("post_install", "-at_install")
class TestDeviceKeys(HttpCase, EvaluationCommon):
    """A device key posts events for its own keypads and opens nothing else; a device
    user never logs in; a revoked or expired key is refused on the very next call."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.expiry = cls.env.cr.now() + timedelta(days=300)
        cls.device_key = cls.device_user._service_device_key_generate("proxy", cls.expiry)
        Keys = cls.env["res.users.apikeys"]
        # A key made the way it was before device keys had their own scope.
        cls.legacy_key = Keys.with_user(cls.device_user)._generate(None, "legacy", cls.expiry)
        # A person's keys: unscoped (as made in Preferences) and explicitly 'rpc'.
        supervisor_keys = Keys.with_user(cls.supervisor_a)
        in_12_hours = cls.env.cr.now() + timedelta(hours=12)
        cls.person_keys = {
            "unscoped": supervisor_keys._generate(None, "person", in_12_hours),
            "rpc": supervisor_keys._generate("rpc", "person rpc", in_12_hours),
        }
        cls.device_password = "Keypad-Proxy-Pw-1"
        cls.device_user.password = cls.device_password
        cls.supervisor_password = "Supervisor-Pw-1"
        cls.supervisor_a.password = cls.supervisor_password
        cls.db = cls.env.cr.dbname
        # Every refused login below must be refused for what it is, not by the cooldown.
        cls.env["ir.config_parameter"].set_param("base.login_cooldown_after", 0)

    # ------------------------------------------------------------ helpers
    def headers(self, key):
        return {
            "Content-Type": "application/json",
            "X-Odoo-Database": self.db,
            "Authorization": f"Bearer {key}",
        }

    def post(self, key, events=None):
        events = events or [self.event("start", 0)]
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"events": events}}
        response = self.url_open(ROUTE, data=json.dumps(body), headers=self.headers(key))
        self.assertEqual(response.status_code, 200)
        return response.json()

    def assertPosts(self, key):
        reply = self.post(key, self.rated_flow(0, 2, teller_number="E-1001"))
        statuses = [r["status"] for r in reply["result"]["results"]]
        self.assertEqual(statuses, ["stored"] * 4)

    def assertRefused(self, key, message="Invalid API key"):
        before = self.env["service.evaluation.event"].search_count([])
        reply = self.post(key)
        self.assertNotIn("result", reply)
        self.assertEqual(reply["error"]["data"]["name"], "werkzeug.exceptions.Unauthorized")
        self.assertIn(message, reply["error"]["data"]["message"])
        self.assertEqual(self.env["service.evaluation.event"].search_count([]), before)

    def json2(self, key, model):
        return self.url_open(
            f"/json/2/{model}/search_read",
            data=json.dumps({"domain": [], "fields": ["display_name"], "limit": 5}),
            headers=self.headers(key),
        )

    def jsonrpc(self, service, method, *args):
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": list(args)},
        }
        return self.url_open("/jsonrpc", json=body).json()

    def key_record(self, name):
        return self.env["res.users.apikeys"].search(
            [("user_id", "=", self.device_user.id), ("name", "=", name)]
        )

    # ------------------------------------------------------------ the device route
    def test_device_key_posts_events(self):
        self.assertPosts(self.device_key)
        self.assertEqual(self.sessions().state, "rated")
        self.assertEqual(self.key_record("proxy").scope, "service_evaluation.device")

    def test_legacy_unscoped_key_still_posts_events(self):
        self.assertPosts(self.legacy_key)

    def test_person_key_is_refused(self):
        for kind, key in self.person_keys.items():
            with self.subTest(kind=kind):
                self.assertRefused(key, "not_a_device" if kind == "unscoped" else "Invalid")
        self.assertFalse(self.sessions())

    def test_revoked_key_is_refused_on_the_next_call(self):
        key = self.device_user._service_device_key_generate("to revoke", self.expiry)
        self.assertPosts(key)
        self.key_record("to revoke")._remove()
        self.assertRefused(key)

    def test_expired_key_is_refused(self):
        past = self.env.cr.now() - timedelta(minutes=1)
        key = self.device_user._service_device_key_generate("expired", past)
        self.assertRefused(key)

    # ------------------------------------------------------------ nothing else
    def test_device_keys_open_no_json2(self):
        # The same request with a person's key is answered: the refusals are the key's.
        self.assertEqual(self.json2(self.person_keys["unscoped"], "res.partner").status_code, 200)
        for name, key in (("device", self.device_key), ("legacy", self.legacy_key)):
            for model in LEAKY_MODELS:
                with self.subTest(key=name, model=model):
                    response = self.json2(key, model)
                    self.assertEqual(response.status_code, 401)
                    self.assertNotIn(self.supervisor_a.name, response.text)

    def test_device_user_cannot_log_in_over_rpc(self):
        login = self.device_user.login
        self.assertEqual(
            self.xmlrpc_common.authenticate(
                self.db, self.supervisor_a.login, self.supervisor_password, {}
            ),
            self.supervisor_a.id,
        )
        for name, secret in (
            ("device key", self.device_key),
            ("legacy key", self.legacy_key),
            ("password", self.device_password),
        ):
            with self.subTest(secret=name):
                self.assertFalse(self.xmlrpc_common.authenticate(self.db, login, secret, {}))
                with self.assertRaises(Fault):
                    self.xmlrpc_object.execute_kw(
                        self.db,
                        self.device_user.id,
                        secret,
                        "res.partner",
                        "search_read",
                        [[]],
                        {"fields": ["name"], "limit": 5},
                    )

    def test_device_user_cannot_log_in_over_jsonrpc(self):
        login = self.device_user.login
        reply = self.jsonrpc(
            "common", "authenticate", self.db, self.supervisor_a.login, self.supervisor_password, {}
        )
        self.assertEqual(reply["result"], self.supervisor_a.id)
        for name, secret in (
            ("device key", self.device_key),
            ("legacy key", self.legacy_key),
            ("password", self.device_password),
        ):
            with self.subTest(secret=name):
                reply = self.jsonrpc("common", "authenticate", self.db, login, secret, {})
                self.assertFalse(reply["result"])
                reply = self.jsonrpc(
                    "object",
                    "execute_kw",
                    self.db,
                    self.device_user.id,
                    secret,
                    "res.partner",
                    "search_read",
                    [[]],
                    {"fields": ["name"], "limit": 5},
                )
                self.assertNotIn("result", reply)
                self.assertIn("AccessDenied", reply["error"]["data"]["name"])

    def test_device_user_cannot_log_in_to_the_web_client(self):
        response = self.url_open(
            "/web/session/authenticate",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "db": self.db,
                    "login": self.device_user.login,
                    "password": self.device_password,
                },
            },
        )
        self.assertIn("AccessDenied", response.json()["error"]["data"]["name"])

    # ------------------------------------------------------------ making keys
    def test_only_device_users_get_device_keys(self):
        with self.assertRaises(UserError):
            self.supervisor_a._service_device_key_generate("person", self.expiry)

    def test_device_keys_expire_within_ten_years(self):
        for expiry in (None, self.env.cr.now() + timedelta(days=3651)):
            with self.subTest(expiry=expiry), self.assertRaises(ValidationError):
                self.device_user._service_device_key_generate("too long", expiry)
        key = self.device_user._service_device_key_generate(
            "ten years", self.env.cr.now() + timedelta(days=3649)
        )
        self.assertPosts(key)

    def test_only_the_hash_of_a_device_key_is_kept(self):
        self.env.cr.execute(
            "SELECT key FROM res_users_apikeys WHERE user_id = %s", [self.device_user.id]
        )
        stored = [row[0] for row in self.env.cr.fetchall()]
        self.assertTrue(stored)
        self.assertNotIn(self.device_key, stored)

    def test_only_service_administrators_make_device_keys(self):
        with self.assertRaises(AccessError):
            self.device_user.with_user(self.manager)._service_device_key_generate(
                "by a manager", self.expiry
            )
        service_admin = self.service_admin
        for maker in (service_admin, self.env.ref("base.user_admin")):
            with self.subTest(maker=maker.login):
                key = self.device_user.with_user(maker)._service_device_key_generate(
                    f"by {maker.login}", self.expiry
                )
                self.assertEqual(
                    self.post(key, [self.event("heartbeat", 0)])["result"]["results"][0]["status"],
                    "ok",
                )

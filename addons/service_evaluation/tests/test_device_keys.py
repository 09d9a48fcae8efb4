import json
from datetime import timedelta
from xmlrpc.client import Fault

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, tagged
from odoo.tools.safe_eval import safe_eval

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
        supervisor_keys = Keys.with_user(cls.supervisor_a1)
        in_12_hours = cls.env.cr.now() + timedelta(hours=12)
        cls.person_keys = {
            "unscoped": supervisor_keys._generate(None, "person", in_12_hours),
            "rpc": supervisor_keys._generate("rpc", "person rpc", in_12_hours),
        }
        cls.device_password = "Keypad-Proxy-Pw-1"
        cls.device_user.password = cls.device_password
        cls.supervisor_password = "Supervisor-Pw-1"
        cls.supervisor_a1.password = cls.supervisor_password
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

    def json2_call(self, key, model, method, **params):
        response = self.url_open(
            f"/json/2/{model}/{method}", data=json.dumps(params), headers=self.headers(key)
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

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
                    self.assertNotIn(self.supervisor_a1.name, response.text)

    def test_device_user_cannot_log_in_over_rpc(self):
        login = self.device_user.login
        self.assertEqual(
            self.xmlrpc_common.authenticate(
                self.db, self.supervisor_a1.login, self.supervisor_password, {}
            ),
            self.supervisor_a1.id,
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
            "common",
            "authenticate",
            self.db,
            self.supervisor_a1.login,
            self.supervisor_password,
            {},
        )
        self.assertEqual(reply["result"], self.supervisor_a1.id)
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
            self.supervisor_a1._service_device_key_generate("person", self.expiry)

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
            self.device_user.with_user(self.manager_a)._service_device_key_generate(
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

    # ------------------------------------------------------------ pairing a proxy
    # docs/device-api.md, "Device keys": Service > Configuration > Hardware Proxies.
    def test_administrator_pairs_a_proxy_and_revokes_its_key(self):
        admin_user = self.device_user.with_user(self.service_admin)
        action = admin_user.action_service_device_key_wizard()
        self.assertEqual(action["res_model"], "service.evaluation.device.key.generate")
        Wizard = self.env[action["res_model"]].with_user(self.service_admin)
        with Form(Wizard.with_context(**action["context"])) as wizard:
            self.assertEqual(wizard.user_id, self.device_user)
            in_a_year = self.env.cr.now() + timedelta(days=365)
            self.assertAlmostEqual(wizard.expiration_date, in_a_year, delta=timedelta(minutes=5))
            wizard.name = "west hall proxy"
        shown = wizard.record.action_generate()

        # Shown once: the key is only in the dialog's context; Odoo keeps its hash.
        self.assertEqual(shown["res_model"], "res.users.apikeys.show")
        key = shown["context"]["default_key"]
        show = self.env["res.users.apikeys.show"].with_user(self.service_admin)
        self.assertEqual(show.with_context(**shown["context"]).default_get(["key"])["key"], key)
        self.assertNotIn("key", self.env["res.users.apikeys"]._fields)
        self.assertNotIn("key", Wizard._fields)

        # Listed among the user's active device keys, with its scope and dates.
        listed = admin_user.service_device_key_ids
        self.assertIn("west hall proxy", listed.mapped("name"))
        paired = listed.filtered(lambda k: k.name == "west hall proxy")
        row = paired.read(["name", "scope", "expiration_date", "create_date"])[0]
        self.assertEqual(row["scope"], "service_evaluation.device")
        self.assertAlmostEqual(row["expiration_date"], in_a_year, delta=timedelta(minutes=5))
        self.assertTrue(row["create_date"])

        self.assertPosts(key)
        self.assertEqual(self.sessions().state, "rated")

        paired.action_service_device_revoke()
        self.assertNotIn("west hall proxy", admin_user.service_device_key_ids.mapped("name"))
        self.assertRefused(key)

    def test_pairing_lists_active_keys_of_device_users_only(self):
        admin_user = self.device_user.with_user(self.service_admin)
        past = self.env.cr.now() - timedelta(minutes=1)
        self.device_user._service_device_key_generate("expired", past)
        self.assertEqual(
            sorted(admin_user.service_device_key_ids.mapped("name")), ["legacy", "proxy"]
        )
        # A person's keys stay theirs: not listed, not readable, not revocable here.
        supervisor = self.supervisor_a1.with_user(self.service_admin)
        self.assertFalse(supervisor.service_is_device)
        self.assertFalse(supervisor.service_device_key_ids)
        Keys = self.env["res.users.apikeys"]
        person_keys = Keys.search([("user_id", "=", self.supervisor_a1.id)])
        self.assertEqual(len(person_keys), 2)
        self.assertFalse(
            Keys.with_user(self.service_admin).search([("user_id", "=", self.supervisor_a1.id)])
        )
        with self.assertRaises(AccessError):
            person_keys.with_user(self.service_admin).action_service_device_revoke()
        self.assertEqual(len(person_keys.exists()), 2)

    def test_only_service_administrators_pair_and_revoke(self):
        Wizard = self.env["service.evaluation.device.key.generate"]
        with self.assertRaises(AccessError):
            Wizard.with_user(self.manager_a).create(
                {"user_id": self.device_user.id, "name": "by a manager"}
            )
        # Even a wizard made for them: the key method checks the caller again.
        wizard = Wizard.create({"user_id": self.device_user.id, "name": "by a manager"})
        with self.assertRaises(AccessError):
            wizard.with_user(self.manager_a).action_generate()
        proxy_key = self.key_record("proxy")
        with self.assertRaises(AccessError):
            proxy_key.with_user(self.manager_a).action_service_device_revoke()
        self.assertPosts(self.device_key)
        # A user outside the Service Device group gets no key from the wizard either.
        wizard = Wizard.with_user(self.service_admin).create(
            {"user_id": self.supervisor_a1.id, "name": "person"}
        )
        with self.assertRaises(UserError):
            wizard.action_generate()

    def test_hardware_proxies_menu_and_user_form(self):
        action = self.env.ref("service_evaluation.res_users_action_service_device")
        Users = self.env["res.users"].with_user(self.service_admin)
        found = Users.search(safe_eval(action.domain))
        self.assertIn(self.device_user, found)
        self.assertNotIn(self.supervisor_a1, found)
        self.assertNotIn(self.service_admin, found)
        self.assertIn(self.service_admin, Users.search([("service_is_device", "=", False)]))
        menu = self.env.ref("service_evaluation.service_evaluation_device_user_menu")
        self.assertEqual(menu.action, action)
        admins = self.env.ref("service_base.service_base_group_admin")
        self.assertEqual(menu.group_ids, admins)
        self.assertEqual(action.group_ids, admins)
        # Generate Key and the Device Keys tab: on the user form for Service Administrators.
        form = self.env.ref("base.view_users_form")
        for user, shown in ((self.service_admin, True), (self.manager_a, False)):
            with self.subTest(user=user.login):
                arch = Users.with_user(user).get_views([(form.id, "form")])["views"]["form"]
                self.assertEqual("action_service_device_key_wizard" in arch["arch"], shown)
                self.assertEqual("service_device_key_ids" in arch["arch"], shown)
        own = self.env.ref("service_evaluation.res_users_view_form_service_device")
        arch = Users.get_views([(own.id, "form")])["views"]["form"]["arch"]
        self.assertIn("action_service_device_revoke", arch)

    def test_integrator_pairs_over_json2(self):
        """docs/device-api.md: a Service Administrator's API key makes, lists and revokes
        a device key over /json/2."""
        in_12_hours = self.env.cr.now() + timedelta(hours=12)
        admin_key = (
            self.env["res.users.apikeys"]
            .with_user(self.service_admin)
            ._generate("rpc", "integrator", in_12_hours)
        )
        expiry = (self.env.cr.now() + timedelta(days=365)).strftime("%Y-%m-%d")
        key = self.json2_call(
            admin_key,
            "res.users",
            "service_device_key_generate",
            ids=[self.device_user.id],
            name="script proxy",
            expiration_date=expiry,
        )
        self.assertIsInstance(key, str)
        self.assertPosts(key)
        devices = self.json2_call(
            admin_key,
            "res.users",
            "search_read",
            domain=[["service_is_device", "=", True]],
            fields=["login"],
        )
        self.assertIn(self.device_user.login, [row["login"] for row in devices])
        self.assertNotIn(self.supervisor_a1.login, [row["login"] for row in devices])
        rows = self.json2_call(
            admin_key,
            "res.users.apikeys",
            "search_read",
            domain=[["user_id", "=", self.device_user.id]],
            fields=["name", "scope", "expiration_date", "create_date"],
        )
        row = next(row for row in rows if row["name"] == "script proxy")
        self.assertEqual(row["scope"], "service_evaluation.device")
        self.assertTrue(row["expiration_date"].startswith(expiry))
        self.assertTrue(
            self.json2_call(
                admin_key, "res.users.apikeys", "action_service_device_revoke", ids=[row["id"]]
            )
        )
        self.assertRefused(key)
        # A manager's API key makes none.
        manager_key = (
            self.env["res.users.apikeys"]
            .with_user(self.manager_a)
            ._generate("rpc", "manager", in_12_hours)
        )
        response = self.url_open(
            "/json/2/res.users/service_device_key_generate",
            data=json.dumps({"ids": [self.device_user.id], "name": "x", "expiration_date": expiry}),
            headers=self.headers(manager_key),
        )
        self.assertEqual(response.status_code, 403, response.text)

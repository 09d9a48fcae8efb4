from odoo.exceptions import AccessError

from .common import EvaluationCommon


class TestSessionSecurity(EvaluationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.service_admin
        Session = cls.env["service.evaluation.session"]
        base = {"company_id": cls.env.company.id, "state": "rated", "is_rated": True,
                "date_start": cls.t0}  # fmt: skip
        cls.own_good = Session.create(
            base | {"counter_id": cls.counter_a1_1.id, "outlet_id": cls.outlet_a1.id,
                    "employee_id": cls.teller_1.id, "is_satisfied": True}
        )  # fmt: skip
        cls.own_negative = Session.create(
            base | {"counter_id": cls.counter_a1_1.id, "outlet_id": cls.outlet_a1.id,
                    "employee_id": cls.teller_1.id, "is_negative": True}
        )  # fmt: skip
        cls.colleague = Session.create(
            base | {"counter_id": cls.counter_a1_2.id, "outlet_id": cls.outlet_a1.id,
                    "employee_id": cls.teller_2.id, "is_satisfied": True}
        )  # fmt: skip
        cls.other_outlet = Session.create(
            base | {"counter_id": cls.counter_a2_1.id, "outlet_id": cls.outlet_a2.id,
                    "is_negative": True}
        )  # fmt: skip
        cls.all_sessions = cls.own_good | cls.own_negative | cls.colleague | cls.other_outlet

    def visible(self, user):
        return (
            self.env["service.evaluation.session"]
            .with_user(user)
            .search([("id", "in", self.all_sessions.ids)])
        )

    def test_visibility_matrix(self):
        expectations = {
            # A teller: own sessions, but not the negative one (customer privacy).
            self.teller_user_1: self.own_good,
            self.teller_user_2: self.colleague,
            # A supervisor: everything of their outlet, negatives included.
            self.supervisor_a1: self.own_good | self.own_negative | self.colleague,
            self.supervisor_a2: self.other_outlet,
            # The branch manager: the whole subtree.
            self.manager_a: self.all_sessions,
            self.admin: self.all_sessions,
        }
        for user, expected in expectations.items():
            with self.subTest(user=user.login):
                self.assertEqual(self.visible(user), expected)

    def test_teller_cannot_read_negative_or_others(self):
        for record in (self.own_negative, self.colleague, self.other_outlet):
            with self.subTest(record=record.id), self.assertRaises(AccessError):
                record.with_user(self.teller_user_1).read(["state"])

    def test_device_user_sees_own_devices_only(self):
        self.ingest(self.rated_flow(0, 1))
        Session = self.env["service.evaluation.session"]
        self.assertEqual(Session.with_user(self.device_user).search([]), self.sessions())
        self.assertFalse(Session.with_user(self.other_device_user).search([]))
        Device = self.env["service.evaluation.device"]
        self.assertEqual(Device.with_user(self.other_device_user).search([]), self.foreign_device)
        with self.assertRaises(AccessError):
            self.device_a1_1.with_user(self.device_user).write({"counter_id": self.counter_a2_1.id})

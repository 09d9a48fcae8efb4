from odoo.tests import new_test_user

from .common import EvaluationCommon


class TestEmployeePublicFields(EvaluationCommon):
    """Odoo's hr requires every field of the public profile to be readable by every
    internal user on hr.employee (its test_self_user_access.testReadOtherEmployee).
    Ours are: computed as the reader, they are empty outside the Service groups."""

    FIELDS = (
        "service_employee_number",
        "service_star_level",
        "service_star_level_ids",
        "service_session_count",
        "service_counter_id",
        "service_outlet_id",
        "service_on_duty",
    )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain_user = new_test_user(cls.env, "eval.plain", groups="base.group_user")
        cls.hr_officer = new_test_user(cls.env, "eval.hr.officer", groups="hr.group_hr_user")
        cls.env["service.evaluation.star.level"].create(
            {
                "employee_id": cls.teller_1.id,
                "company_id": cls.company.id,
                "outlet_id": cls.counter_a1_1.outlet_id.id,
                "period_start": "2025-01-01",
                "period_end": "2025-01-31",
                "star_level": 4,
            }
        )
        cls.teller_1.service_star_level = 4
        cls.env.flush_all()  # hr.employee.public is an SQL view

    def test_every_public_field_reads_as_a_plain_user(self):
        """What Odoo's hr test does, with our fields among the public ones."""
        public_fields = [
            name for name in self.env["hr.employee.public"]._fields
            if name in self.env["hr.employee"]._fields
        ]  # fmt: skip
        self.assertLessEqual(set(self.FIELDS), set(public_fields))
        rows = self.teller_1.with_user(self.plain_user).read(public_fields)
        self.assertEqual(len(rows[0]), len(public_fields))

    def test_outside_the_service_groups_the_values_are_empty(self):
        # Teller 1 logs in at counter A1-1 and serves one customer.
        self.ingest(self.rated_flow(10, 1, teller_number="E-1001"))
        for user in (self.plain_user, self.hr_officer):
            for model in ("hr.employee", "hr.employee.public"):
                with self.subTest(user=user.login, model=model):
                    self.env.invalidate_all()
                    row = self.env[model].with_user(user).browse(self.teller_1.id)
                    values = row.read(list(self.FIELDS))[0]
                    self.assertEqual(values["service_employee_number"], "E-1001")
                    self.assertEqual(values["service_star_level"], 4)
                    self.assertEqual(values["service_star_level_ids"], [])
                    self.assertEqual(values["service_session_count"], 0)
                    self.assertFalse(values["service_counter_id"])
                    self.assertFalse(values["service_on_duty"])
                    on_duty = (
                        self.env[model].with_user(user).search([("service_on_duty", "=", True)])
                    )
                    self.assertFalse(on_duty)

    def test_service_users_still_see_them(self):
        self.ingest(self.rated_flow(10, 1, teller_number="E-1001"))
        self.env.invalidate_all()
        teller = self.env["hr.employee.public"].with_user(self.manager_a).browse(self.teller_1.id)
        self.assertEqual(teller.service_star_level_ids.mapped("star_level"), [4])
        self.assertEqual(teller.service_session_count, 1)
        self.assertEqual(teller.service_counter_id, self.counter_a1_1)

from datetime import date, datetime

from odoo.tests import BaseCase

from ..tools.star_rules import StarThresholds, star_level
from .common import EvaluationCommon


class TestStarRules(BaseCase):
    def test_thresholds(self):
        rules = StarThresholds(min_rated=10, five=98, four=95, three=90)
        cases = [(100, 100, 5), (98, 100, 5), (97, 100, 4), (95, 100, 4), (90, 100, 3),
                 (89, 100, 2), (0, 100, 2), (9, 9, 0), (0, 0, 0)]  # fmt: skip
        for satisfied, rated, expected in cases:
            with self.subTest(satisfied=satisfied, rated=rated):
                self.assertEqual(star_level(satisfied, rated, rules), expected)


class TestStarLevels(EvaluationCommon):
    def _sessions(self, employee, satisfied, dissatisfied, day):
        Session = self.env["service.evaluation.session"]
        vals = {
            "counter_id": self.counter_a1_1.id,
            "outlet_id": self.outlet_a1.id,
            "company_id": self.company.id,
            "employee_id": employee.id,
            "state": "rated",
            "is_rated": True,
            "date_start": datetime.combine(day, datetime.min.time()).replace(hour=3),
        }
        Session.create([{**vals, "is_satisfied": True}] * satisfied)
        Session.create([{**vals, "is_negative": True}] * dissatisfied)

    def test_monthly_levels_and_history(self):
        self.company.service_star_min_rated = 20
        self._sessions(self.teller_1, 49, 1, date(2026, 9, 10))  # 98 %
        self._sessions(self.teller_2, 46, 4, date(2026, 9, 12))  # 92 %
        self._sessions(self.teller_2, 5, 0, date(2026, 10, 3))  # too few in October
        StarLevel = self.env["service.evaluation.star.level"]
        StarLevel._compute_levels(date(2026, 10, 15), companies=self.company)
        StarLevel._compute_levels(date(2026, 9, 15), companies=self.company)
        self.assertEqual(self.teller_1.service_star_level, 5)
        self.assertEqual(self.teller_2.service_star_level, 3)
        history = StarLevel.search([("employee_id", "=", self.teller_2.id)])
        self.assertEqual(
            [(h.period_start, h.star_level, h.rated_count) for h in history],
            [(date(2026, 10, 1), 0, 5), (date(2026, 9, 1), 3, 50)],
        )
        # Idempotent: recomputing a period updates its row.
        StarLevel._compute_levels(date(2026, 9, 1), companies=self.company)
        self.assertEqual(StarLevel.search_count([("employee_id", "=", self.teller_2.id)]), 2)

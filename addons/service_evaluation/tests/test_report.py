from .common import EvaluationCommon


class TestSessionReport(EvaluationCommon):
    def test_rates_and_counts(self):
        # Outlet A1: 4 customers on A1-1 — very satisfied, dissatisfied, never prompted, unrated.
        self.ingest(self.rated_flow(0, 1, teller_number="E-1001"))
        self.ingest(self.rated_flow(300, 4))
        self.ingest([self.event("start", 600), self.event("start", 900), self.event("end", 960)])
        Report = self.env["service.evaluation.session.report"]
        [(count, prompted, rated, satisfied, negative, prompt_rate, satisfaction, score)] = (
            Report._read_group(
                [("outlet_id", "=", self.outlet_a1.id)],
                [],
                ["session_count:sum", "prompted_count:sum", "rated_count:sum",
                 "satisfied_count:sum", "negative_count:sum", "prompt_rate:avg",
                 "satisfaction_rate:avg", "score:avg"],
            )
        )  # fmt: skip
        self.assertEqual((count, prompted, rated, satisfied, negative), (4, 3, 2, 1, 1))
        self.assertAlmostEqual(prompt_rate, 75.0)
        self.assertAlmostEqual(satisfaction, 50.0)
        self.assertAlmostEqual(score, (self.options[1].score + self.options[4].score) / 2)

    def test_managers_see_their_subtree(self):
        self.ingest(self.rated_flow(0, 1))
        self.ingest(self.rated_flow(0, 1, device=self.device_a2_1))
        Report = self.env["service.evaluation.session.report"]
        other = self.env["res.users"].create(
            {"name": "Other Manager", "login": "eval.other.manager",
             "group_ids": [(6, 0, [self.env.ref("service_base.service_base_group_manager").id])]}
        )  # fmt: skip
        self.outlet_a2.manager_ids = [(4, other.id)]
        self.assertEqual(Report.with_user(self.manager_a).search_count([]), 2)
        self.assertEqual(Report.with_user(other).search([]).outlet_id, self.outlet_a2)

from dateutil.relativedelta import relativedelta
from odoo import api, fields, models

from ..tools.star_rules import StarThresholds, satisfaction_rate, star_level


class ServiceEvaluationStarLevel(models.Model):
    """A teller's star level for one period; the history is kept."""

    _name = "service.evaluation.star.level"
    _description = "Teller Star Level"
    _order = "period_start desc, employee_id"

    employee_id = fields.Many2one("hr.employee", required=True, index=True, ondelete="cascade")
    outlet_id = fields.Many2one(
        "service.org.unit",
        index=True,
        help="Where the teller served most rated customers in the period: the level is "
        "shown to that outlet's supervisors and managers.",
    )
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    rated_count = fields.Integer(aggregator="sum")
    satisfied_count = fields.Integer(aggregator="sum")
    satisfaction_rate = fields.Float(aggregator="avg", digits=(5, 2))
    star_level = fields.Integer(aggregator="avg")
    company_id = fields.Many2one("res.company", required=True, index=True)

    _employee_period_uniq = models.UniqueIndex(
        "(employee_id, period_start)", "One star level per teller and period."
    )

    @api.model
    def _period_bounds(self, day, period):
        start = day.replace(day=1)
        if period == "quarter":
            start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
            return start, start + relativedelta(months=3, days=-1)
        return start, start + relativedelta(months=1, days=-1)

    @api.model
    def _compute_levels(self, day=None, companies=None, set_current=True):
        """(Re)compute every teller's level for the period containing `day`.

        With `set_current`, the employees' shown level becomes this period's.
        Idempotent: rerunning a period overwrites its rows. Star levels are facts
        derived from sessions: only this method writes them, through sudo.
        """
        levels_sudo = self.sudo()
        sessions_sudo = self.env["service.evaluation.session"].sudo()
        day = day or fields.Date.context_today(self)
        if companies is None:
            companies = self.env["res.company"].browse(
                company.id for (company,) in sessions_sudo._read_group([], ["company_id"])
            )
        for company in companies:
            period_start, period_end = self._period_bounds(day, company.service_star_period)
            thresholds = StarThresholds(
                company.service_star_min_rated,
                company.service_star_5_rate,
                company.service_star_4_rate,
                company.service_star_3_rate,
            )
            groups = sessions_sudo._read_group(
                [
                    ("company_id", "=", company.id),
                    ("employee_id", "!=", False),
                    ("is_rated", "=", True),
                    ("is_voided", "=", False),
                    ("date_start", ">=", period_start),
                    ("date_start", "<", period_end + relativedelta(days=1)),
                ],
                ["employee_id", "outlet_id", "is_satisfied"],
                ["__count"],
            )
            per_employee, per_outlet = {}, {}
            for employee, outlet, is_satisfied, count in groups:
                rated, satisfied = per_employee.get(employee, (0, 0))
                per_employee[employee] = (rated + count, satisfied + (count if is_satisfied else 0))
                per_outlet.setdefault(employee, {}).setdefault(outlet, 0)
                per_outlet[employee][outlet] += count
            existing = {
                level.employee_id: level
                for level in levels_sudo.search(
                    [("company_id", "=", company.id), ("period_start", "=", period_start)]
                )
            }
            to_create = []
            for employee, (rated, satisfied) in per_employee.items():
                vals = {
                    "rated_count": rated,
                    "satisfied_count": satisfied,
                    "satisfaction_rate": satisfaction_rate(satisfied, rated),
                    "star_level": star_level(satisfied, rated, thresholds),
                    "outlet_id": max(
                        per_outlet[employee].items(), key=lambda item: (item[1], -item[0].id)
                    )[0].id,
                }
                if employee in existing:
                    existing[employee].write(vals)
                else:
                    to_create.append(
                        {
                            **vals,
                            "employee_id": employee.id,
                            "period_start": period_start,
                            "period_end": period_end,
                            "company_id": company.id,
                        }
                    )
                if set_current:
                    employee.sudo().service_star_level = vals["star_level"]
            # A teller whose sessions of the period were all voided has no level left.
            unrated = {"rated_count": 0, "satisfied_count": 0, "satisfaction_rate": 0.0,
                       "star_level": 0}  # fmt: skip
            for employee, level in existing.items():
                if employee not in per_employee:
                    level.write(unrated)
            levels_sudo.create(to_create)
        return True

    @api.model
    def _cron_compute_levels(self):
        # Tellers see the level of the last complete period; the running one is
        # computed for managers to follow.
        today = fields.Date.context_today(self)
        self._compute_levels(today, set_current=False)
        self._compute_levels(today.replace(day=1) - relativedelta(days=1))

from odoo import fields, models
from odoo.tools import SQL

from ..tools.session_replay import SESSION_STATES


class ServiceEvaluationSessionReport(models.Model):
    """Session analysis for managers: the session rows with numeric measures.

    Voided sessions are left out: they count in no figure.

    Booleans cannot be pivot measures, so each becomes a count (0/1, summed) and a
    percentage (100/0, averaged): the average of `satisfaction_rate` over rated rows is
    the satisfaction rate, and of `prompt_rate` over all rows the prompt coverage.
    """

    _name = "service.evaluation.session.report"
    _description = "Service Session Analysis"
    _auto = False
    _order = "date_start desc"
    _rec_name = "date_start"
    _depends = {
        "service.evaluation.session": [
            "date_start", "outlet_id", "counter_id", "employee_id", "business_type_id",
            "state", "company_id", "duration", "score", "is_rated", "is_satisfied",
            "is_negative", "reached_prompt", "is_voided",
        ],
    }  # fmt: skip

    date_start = fields.Datetime(string="Date", readonly=True)
    outlet_id = fields.Many2one("service.org.unit", readonly=True)
    counter_id = fields.Many2one("service.evaluation.counter", readonly=True)
    employee_id = fields.Many2one("hr.employee", string="Teller", readonly=True)
    business_type_id = fields.Many2one(
        "service.evaluation.business.type", string="Business", readonly=True
    )
    state = fields.Selection(SESSION_STATES, readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    session_count = fields.Integer(string="Customers Served", readonly=True, aggregator="sum")
    prompted_count = fields.Integer(string="Prompted", readonly=True, aggregator="sum")
    rated_count = fields.Integer(string="Rated", readonly=True, aggregator="sum")
    satisfied_count = fields.Integer(string="Satisfied", readonly=True, aggregator="sum")
    negative_count = fields.Integer(string="Negative", readonly=True, aggregator="sum")
    prompt_rate = fields.Float(string="Prompt Coverage (%)", readonly=True, aggregator="avg")
    satisfaction_rate = fields.Float(string="Satisfaction (%)", readonly=True, aggregator="avg")
    score = fields.Float(string="Average Score", readonly=True, aggregator="avg")
    duration = fields.Float(string="Service Duration (s)", readonly=True, aggregator="avg")

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT s.id, s.date_start, s.outlet_id, s.counter_id, s.employee_id,
                   s.business_type_id, s.state, s.company_id,
                   1 AS session_count,
                   s.reached_prompt::int AS prompted_count,
                   s.is_rated::int AS rated_count,
                   s.is_satisfied::int AS satisfied_count,
                   s.is_negative::int AS negative_count,
                   CASE WHEN s.reached_prompt THEN 100.0 ELSE 0.0 END AS prompt_rate,
                   CASE WHEN s.is_rated THEN (CASE WHEN s.is_satisfied THEN 100.0 ELSE 0.0 END)
                   END AS satisfaction_rate,
                   CASE WHEN s.is_rated THEN s.score END AS score,
                   CASE WHEN s.date_end IS NOT NULL THEN s.duration END AS duration
              FROM service_evaluation_session s
             WHERE s.state != 'serving' AND s.is_voided IS NOT TRUE
            """
        )

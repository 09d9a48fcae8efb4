"""Star levels gain the outlet that scopes them (19.0.1.2.0).

A level is shown to the supervisors and managers of the outlet where the teller served
most rated customers in the period: computed here for the levels made before.
"""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(
        SQL(
            """UPDATE service_evaluation_star_level l SET outlet_id = best.outlet_id
                 FROM (
                     SELECT DISTINCT ON (l.id) l.id, s.outlet_id
                       FROM service_evaluation_star_level l
                       JOIN service_evaluation_session s
                         ON s.employee_id = l.employee_id AND s.is_rated
                        AND s.date_start >= l.period_start
                        AND s.date_start < l.period_end + 1
                   GROUP BY l.id, s.outlet_id
                   ORDER BY l.id, count(*) DESC, s.outlet_id
                 ) AS best
                WHERE l.id = best.id AND l.outlet_id IS NULL"""
        )
    )

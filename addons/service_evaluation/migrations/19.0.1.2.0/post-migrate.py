"""Star levels gain the outlet that scopes them; alerts replace per-session activities
(19.0.1.2.0).

- A level is shown to the supervisors and managers of the outlet where the teller served
  most rated customers in the period: computed here for the levels made before.
- A dissatisfied customer used to leave one pending activity per session on a
  supervisor (hundreds of them). Each pending one becomes an open alert of its
  assignee, without any new SMS or pop-up, and the assignee keeps one grouped activity
  per outlet (service.evaluation.alert._sync_callback_activities).
"""

from odoo import SUPERUSER_ID, api
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
    _pending_activities_to_alerts(api.Environment(cr, SUPERUSER_ID, {}))


def _pending_activities_to_alerts(env):
    activity_type = env.ref("service_evaluation.mail_activity_type_negative_rating")
    activities = env["mail.activity"].search(
        [("activity_type_id", "=", activity_type.id),
         ("res_model", "=", "service.evaluation.session")]
    )  # fmt: skip
    if not activities:
        return
    sessions = env["service.evaluation.session"].browse(activities.mapped("res_id")).exists()
    pending = {(activity.res_id, activity.user_id.id): activity for activity in activities}
    alerts = env["service.evaluation.alert"].create(
        [
            {
                "session_id": session.id,
                "outlet_id": session.outlet_id.id,
                "company_id": session.company_id.id,
                "date": pending[session.id, user_id].create_date,
                "recipient_id": user_id,
                "recipient_source": "outlet_supervisor",
            }
            for session in sessions
            for (session_id, user_id) in pending
            if session_id == session.id
        ]
    )
    activities.unlink()
    alerts._sync_callback_activities()

"""19.0.1.1.0 adds SLA deadlines: plan those of the work orders still open.

Orders of the previous release have no policy nor deadlines; their deadlines count from
their creation, as for new orders, and the deadline job takes them from there.
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    orders = env["service.dispatch.work.order"].search([("is_open", "=", True)])
    orders._sla_refresh()

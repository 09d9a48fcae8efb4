"""19.0.1.1.0 adds SLA deadlines and stored product labels.

- Orders of the previous release have no policy nor deadlines: those still open get
  them, counted from their creation as for new orders; the deadline job takes them from
  there.
- Appliances get their product's label with one UPDATE per product and company (the
  column was created empty by pre-migrate).
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    orders = env["service.dispatch.work.order"].search([("is_open", "=", True)])
    orders._sla_refresh()

    Appliance = env["service.dispatch.appliance"]
    cr.execute(
        "SELECT DISTINCT product_id, company_id FROM service_dispatch_appliance "
        "WHERE product_label IS NULL"
    )
    for (product_id, company_id), label in Appliance._product_labels(cr.fetchall()).items():
        cr.execute(
            "UPDATE service_dispatch_appliance SET product_label = %s "
            "WHERE product_id = %s AND company_id = %s AND product_label IS NULL",
            [label, product_id, company_id],
        )

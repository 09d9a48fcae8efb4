from odoo import api, models

LOOKUP_SQL = """
SELECT p.id, p.name, p.service_member_tier, p.service_member_number,
       a.id, a.serial_number, a.product_id, a.purchase_date::text, a.warranty_end::text
  FROM res_partner p
  LEFT JOIN service_dispatch_appliance a ON a.partner_id = p.id AND a.active
 WHERE p.phone_sanitized = %s AND p.active
 ORDER BY p.id, a.id
"""


class SqsBenchLookup(models.AbstractModel):
    """The baseline of bench_caller_lookup.py: the caller of an E.164 number and their
    appliances in one hand-written query on the indexed sanitized number, no ORM."""

    _name = "sqs.bench.lookup"
    _description = "Benchmark Caller Lookup"

    @api.model
    @api.readonly
    def sql_lookup(self, phone):
        self.env.cr.execute(LOOKUP_SQL, (phone,))
        return self.env.cr.fetchall()

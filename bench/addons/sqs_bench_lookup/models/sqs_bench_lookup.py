from odoo import api, models

from ..lookup_sql import LOOKUP_SQL


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

from odoo import fields, models


class SqsBenchRow(models.Model):
    """A bare row: plain columns, no computes, no constraints, no tracking."""

    _name = "sqs.bench.row"
    _description = "Benchmark Row"

    name = fields.Char()
    value = fields.Integer()
    moment = fields.Datetime()

from odoo import fields, models


class SqsBenchUnit(models.Model):
    """service.org.unit's shape (chatter, parent store, unique code), without the
    cache mixin: the baseline of bench/bench_cache_import.py."""

    _name = "sqs.bench.unit"
    _description = "Benchmark Unit"
    _inherit = ["mail.thread"]
    _parent_store = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, tracking=True)
    parent_id = fields.Many2one("sqs.bench.unit", index=True, ondelete="restrict")
    parent_path = fields.Char(index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )

    _code_uniq = models.UniqueIndex("(company_id, code)")


class SqsBenchCounter(models.Model):
    """service.evaluation.counter's shape, without the cache mixin."""

    _name = "sqs.bench.counter"
    _description = "Benchmark Counter"
    _inherit = ["mail.thread"]

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, tracking=True)
    outlet_id = fields.Many2one("sqs.bench.unit", required=True, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )

    _code_uniq = models.UniqueIndex("(company_id, code)")

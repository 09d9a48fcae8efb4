from odoo import fields, models


class ServiceEvaluationBusinessType(models.Model):
    """A kind of business done at a counter (业务): deposit, loans, tax filing..."""

    _name = "service.evaluation.business.type"
    _description = "Counter Business Type"
    # The device event path caches the business types each counter serves.
    _inherit = ["service.cache.mixin"]
    _cache_depends = {"device": frozenset({"code", "sequence", "active", "company_id"})}
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )

    _code_company_uniq = models.UniqueIndex(
        "(company_id, code)", "The business type code must be unique per company."
    )

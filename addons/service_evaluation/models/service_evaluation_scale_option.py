from odoo import fields, models


class ServiceEvaluationScaleOption(models.Model):
    """One key of a rating scale: what the customer presses and what it means."""

    _name = "service.evaluation.scale.option"
    _description = "Rating Scale Option"
    _inherit = ["service.cache.mixin"]  # the device event path caches keys per outlet
    _cache_depends = {"device": None}
    _order = "scale_id, sequence, key_code"

    scale_id = fields.Many2one(
        "service.evaluation.scale", required=True, ondelete="cascade", index=True
    )
    key_code = fields.Integer(required=True, help="Keypad key, 1 to 8.")
    name = fields.Char(string="Label", required=True, translate=True)
    score = fields.Float(required=True, help="Score used for averages, e.g. 100 / 80 / 60 / 0.")
    sequence = fields.Integer(default=10)
    is_negative = fields.Boolean(
        string="Negative", help="Alerts the outlet's supervisors and is hidden from tellers."
    )
    is_satisfied = fields.Boolean(
        string="Counts as Satisfied", help="Counts in the satisfaction rate and star levels."
    )
    company_id = fields.Many2one(related="scale_id.company_id", store=True)

    _key_code_range = models.Constraint(
        "CHECK (key_code BETWEEN 1 AND 8)", "A rating key code is between 1 and 8."
    )
    _scale_key_uniq = models.UniqueIndex(
        "(scale_id, key_code)", "Each key appears once in a scale."
    )
    _not_both = models.Constraint(
        "CHECK (NOT (is_negative AND is_satisfied))",
        "An option cannot be both negative and satisfied.",
    )

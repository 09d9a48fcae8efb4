from odoo import fields, models


class ServiceOrgUnit(models.Model):
    _inherit = "service.org.unit"

    counter_ids = fields.One2many("service.evaluation.counter", "outlet_id", string="Counters")
    counter_count = fields.Integer(compute="_compute_counter_count")

    def _compute_counter_count(self):
        counts = dict(
            self.env["service.evaluation.counter"]._read_group(
                [("outlet_id", "in", self.ids)], ["outlet_id"], ["__count"]
            )
        )
        for unit in self:
            unit.counter_count = counts.get(unit, 0)

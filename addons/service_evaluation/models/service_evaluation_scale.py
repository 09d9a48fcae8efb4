from typing import NamedTuple

from odoo import api, fields, models
from odoo.addons.service_base.models.service_cache_mixin import service_ormcache
from odoo.exceptions import ValidationError

MAX_OPTIONS = 8


class KeyOption(NamedTuple):
    """What a key of the rating scale means, as the device ingest caches it."""

    option_id: int
    score: float
    is_satisfied: bool
    is_negative: bool


class ServiceEvaluationScale(models.Model):
    """The keys a customer may press and what each means.

    One scale per company is the default; an outlet may override it (e.g. a hall that
    asks for the reason of a dissatisfaction: 不满意-服务礼仪 / -服务效率 / -业务知识).
    """

    _name = "service.evaluation.scale"
    _description = "Rating Scale"
    _inherit = ["service.cache.mixin"]  # the device event path caches keys per outlet
    _cache_depends = {"device": None}
    _order = "outlet_id desc, id"

    name = fields.Char(required=True, translate=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    outlet_id = fields.Many2one(
        "service.org.unit",
        string="Outlet Override",
        index=True,
        check_company=True,
        help="Leave empty for the company's default scale.",
    )
    option_ids = fields.One2many("service.evaluation.scale.option", "scale_id", copy=True)
    active = fields.Boolean(default=True)

    _company_outlet_uniq = models.UniqueIndex(
        "(company_id, COALESCE(outlet_id, 0)) WHERE active",
        "A company has one default scale, and an outlet at most one override.",
    )

    @api.constrains("option_ids")
    def _check_option_count(self):
        for scale in self:
            if len(scale.option_ids) > MAX_OPTIONS:
                raise ValidationError(
                    self.env._("A rating scale has at most %(max)s options.", max=MAX_OPTIONS)
                )

    @api.model
    def _get_for_outlet(self, outlet):
        """The scale that applies at `outlet`: its own, a parent's, or the company's."""
        scales = self.search([("company_id", "=", outlet.company_id.id)])
        by_outlet = {scale.outlet_id.id: scale for scale in scales}
        for unit_id in reversed([int(part) for part in outlet.parent_path.split("/") if part]):
            if unit_id in by_outlet:
                return by_outlet[unit_id]
        return by_outlet.get(False, self.browse())

    @api.model
    @service_ormcache("outlet_id", group="device")
    def _get_key_options(self, outlet_id):
        """{key_code: KeyOption} at an outlet.

        Cached: every device event needs it. Changes to scales, options or the tree
        clear it (the "device" cache group). The outlet alone decides (its company's
        scale or an override): keying on the current company as well would cost each
        device call a read of its user just to compute `env.company`.
        """
        outlet = self.env["service.org.unit"].sudo().browse(outlet_id)
        scale = self.sudo()._get_for_outlet(outlet)
        return {
            option.key_code: KeyOption(
                option.id, option.score, option.is_satisfied, option.is_negative
            )
            for option in scale.option_ids
        }

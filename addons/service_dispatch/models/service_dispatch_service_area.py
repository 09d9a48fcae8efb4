from odoo import api, fields, models
from odoo.exceptions import ValidationError

# How specific a matching area is: the most specific match ranks an outlet first.
AREA_LEVELS = [
    ("region", "Region"),
    ("city", "City"),
    ("district", "District"),
    ("postcode", "Postcode"),
]


class ServiceDispatchServiceArea(models.Model):
    """An area an outlet covers. Every field set must match the customer's address:
    region (state), city, district, and a postcode prefix; the most specific field set
    is the area's level. An outlet covers the union of its areas."""

    _name = "service.dispatch.service.area"
    _description = "Outlet Service Area"
    _order = "outlet_id, country_id, state_id, city, district, zip_prefix, id"

    outlet_id = fields.Many2one(
        "service.org.unit",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("unit_type", "=", "outlet")],
    )
    country_id = fields.Many2one("res.country", required=True)
    state_id = fields.Many2one(
        "res.country.state", string="Region", domain="[('country_id', '=', country_id)]"
    )
    city = fields.Char()
    district = fields.Char(help="As in the customers' District field.")
    zip_prefix = fields.Char(
        string="Postcode Prefix", help="Covers every postcode starting with these characters."
    )
    level = fields.Selection(AREA_LEVELS, compute="_compute_level", store=True)
    company_id = fields.Many2one(related="outlet_id.company_id", store=True, index=True)

    # The dispatch query matches on lower-cased, trimmed names.
    _match_idx = models.Index("(country_id, state_id, lower(city))")

    @api.depends("state_id", "city", "district", "zip_prefix")
    def _compute_level(self):
        for area in self:
            if area.zip_prefix:
                area.level = "postcode"
            elif area.district:
                area.level = "district"
            elif area.city:
                area.level = "city"
            else:
                area.level = "region" if area.state_id else False

    @api.constrains("state_id", "city", "district", "zip_prefix")
    def _check_not_empty(self):
        for area in self:
            if not area.level:
                raise ValidationError(
                    self.env._(
                        "A service area names at least a region, city, district or postcode."
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._normalized(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._normalized(vals))

    @api.model
    def _normalized(self, vals):
        """Names compare trimmed, postcodes without spaces: what agents type varies."""
        vals = dict(vals)
        for name in ("city", "district"):
            if isinstance(vals.get(name), str):
                vals[name] = vals[name].strip() or False
        if isinstance(vals.get("zip_prefix"), str):
            vals["zip_prefix"] = vals["zip_prefix"].replace(" ", "") or False
        return vals

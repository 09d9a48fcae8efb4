from odoo import fields, models

DISPATCH_STATUSES = [
    ("active", "Taking Work"),
    ("suspended", "Suspended"),
]


class ServiceOrgUnit(models.Model):
    """What dispatch needs to know of an outlet: where it works (service areas, its
    address's coordinates), what it may repair or install (skills), whether it takes
    work at all (suspended outlets are skipped), its technicians, and the working
    hours its deadlines count on."""

    _inherit = "service.org.unit"

    dispatch_status = fields.Selection(
        DISPATCH_STATUSES,
        default="active",
        required=True,
        tracking=True,
        help="A suspended outlet receives no new work orders; those it has stay with it.",
    )
    suspension_reason = fields.Char(tracking=True)
    service_area_ids = fields.One2many(
        "service.dispatch.service.area", "outlet_id", string="Service Areas"
    )
    skill_category_ids = fields.Many2many(
        "product.category",
        "service_org_unit_skill_category_rel",
        "unit_id",
        "category_id",
        string="Skills",
        help="Product categories the outlet may repair or install (their sub-categories "
        "included). An outlet without skills takes every category.",
    )
    technician_ids = fields.One2many(
        "service.dispatch.technician", "outlet_id", string="Technicians"
    )
    resource_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Working Hours",
        check_company=True,
        help="The hours and holidays its work orders' deadlines count on. Empty: the "
        "parent unit's, up to the company's working hours.",
    )
    latitude = fields.Float(related="partner_id.partner_latitude", readonly=False)
    longitude = fields.Float(related="partner_id.partner_longitude", readonly=False)
    open_work_order_count = fields.Integer(
        compute="_compute_open_work_order_count", string="Open Work Orders"
    )

    def _compute_open_work_order_count(self):
        counts = dict(
            self.env["service.dispatch.work.order"]._read_group(
                [("outlet_id", "in", self.ids), ("is_open", "=", True)],
                ["outlet_id"],
                ["__count"],
            )
        )
        for unit in self:
            unit.open_work_order_count = counts.get(unit, 0)

    def _dispatch_calendar(self):
        """The unit's working calendar: its own, else its nearest ancestor's, else its
        company's. Read as superuser: an outlet's people need not see its ancestors."""
        self.ensure_one()
        unit = self.sudo()
        for ancestor in reversed(unit._get_ancestry()):
            if ancestor.resource_calendar_id:
                return ancestor.resource_calendar_id
        return unit.company_id.resource_calendar_id

    def _get_ancestry(self):
        """The unit and its ancestors, root first (from parent_path: no recursion)."""
        self.ensure_one()
        ids = [int(part) for part in (self.parent_path or f"{self.id}/").split("/") if part]
        return self.browse(ids)

from odoo import api, fields, models
from odoo.exceptions import ValidationError

UNIT_TYPES = [
    ("hq", "Headquarters"),
    ("region", "Region"),
    ("branch", "Branch"),
    ("outlet", "Outlet"),
]


class ServiceOrgUnit(models.Model):
    """A node of the service organisation: HQ → regions or branches → outlets.

    The tree is independent of companies (a bank's branches are not companies) and
    may be of any depth. ``parent_path`` makes ``child_of`` a single indexed LIKE,
    which every service addon uses to aggregate figures over a subtree and which the
    record rules use to scope managers to their part of the tree.
    """

    _name = "service.org.unit"
    _description = "Service Organisation Unit"
    _inherit = ["mail.thread", "service.cache.mixin"]
    _parent_store = True
    _parent_name = "parent_id"
    _rec_name = "complete_name"
    _order = "complete_name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(
        required=True,
        tracking=True,
        help="Short code, unique per company; devices and integrations refer to units by it.",
    )
    complete_name = fields.Char(
        compute="_compute_complete_name", store=True, recursive=True, index=True
    )
    unit_type = fields.Selection(
        UNIT_TYPES, string="Type", required=True, default="outlet", tracking=True
    )
    parent_id = fields.Many2one(
        "service.org.unit",
        string="Parent Unit",
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("service.org.unit", "parent_id", string="Sub-units")
    child_count = fields.Integer(compute="_compute_child_count", string="Sub-unit Count")
    partner_id = fields.Many2one(
        "res.partner",
        string="Address",
        help="The unit's address and legal identity.",
        check_company=True,
    )
    street = fields.Char(related="partner_id.street")
    city = fields.Char(related="partner_id.city")
    phone = fields.Char(related="partner_id.phone")
    manager_ids = fields.Many2many(
        "res.users",
        "service_org_unit_manager_rel",
        "unit_id",
        "user_id",
        string="Managers",
        domain=[("share", "=", False)],
        help="Managers see and manage this unit and everything below it.",
    )
    supervisor_ids = fields.Many2many(
        "res.users",
        "service_org_unit_supervisor_rel",
        "unit_id",
        "user_id",
        string="Supervisors",
        domain=[("share", "=", False)],
        help="Supervisors receive this unit's alerts (e.g. a dissatisfied customer) "
        "and see this unit and everything below it.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    color = fields.Integer()
    note = fields.Html()

    _code_company_uniq = models.UniqueIndex(
        "(company_id, code)", "The unit code must be unique per company."
    )

    # ------------------------------------------------------------ computes
    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for unit in self:
            if unit.parent_id:
                unit.complete_name = f"{unit.parent_id.complete_name} / {unit.name}"
            else:
                unit.complete_name = unit.name

    def _compute_child_count(self):
        counts = dict(
            self.env["service.org.unit"]._read_group(
                [("parent_id", "in", self.ids)], ["parent_id"], ["__count"]
            )
        )
        for unit in self:
            unit.child_count = counts.get(unit, 0)

    # ------------------------------------------------------------ constraints
    @api.constrains("parent_id")
    def _check_parent_id(self):
        if self._has_cycle():
            raise ValidationError(self.env._("A unit cannot be placed below itself."))

    # Managers and supervisors define who sees what: the record rules read them
    # through res.users.service_unit_scope_ids, and the rule cache must follow
    # (child_of is expanded at query time: the tree itself needs no clearing). The
    # tree and company decide which scale applies at an outlet (device path).
    _cache_depends = {
        "rules": frozenset({"manager_ids", "supervisor_ids"}),
        "device": frozenset({"parent_id", "company_id"}),
    }

    # ------------------------------------------------------------ actions
    def action_open_children(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Sub-units of %(unit)s", unit=self.name),
            "res_model": "service.org.unit",
            "view_mode": "list,form",
            "domain": [("parent_id", "=", self.id)],
            "context": {"default_parent_id": self.id, "default_company_id": self.company_id.id},
        }

    # ------------------------------------------------------------ web
    @api.model
    def hierarchy_read(self, domain, specification, parent_field, child_field=None, order=None):
        """The Organisation chart of a user who sees a single unit (a supervisor's outlet).

        web_hierarchy shows the parent of a lone unit for context, reading it as the user;
        the record rules open a unit and what lies below it, not its ancestors (whose
        names are in ``complete_name`` already), so that read raised an AccessError. The
        lone unit is then the top of the chart, with its sub-units.
        """
        units = self.search(domain, order=order)
        parent = units[parent_field] if len(units) == 1 else units.browse()
        if not parent or parent.has_access("read"):
            return super().hierarchy_read(domain, specification, parent_field, child_field, order)
        specification.setdefault(parent_field, {"fields": {"display_name": {}}})
        children = self.search([(parent_field, "=", units.id), ("id", "!=", units.id)], order=order)
        return (units + children).web_read(specification)

    # ------------------------------------------------------------ business
    def _get_subtree(self):
        """These units and all their descendants (active ones), as one recordset."""
        return self.search([("id", "child_of", self.ids)])

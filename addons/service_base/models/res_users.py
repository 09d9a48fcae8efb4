from odoo import api, fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    service_managed_unit_ids = fields.Many2many(
        "service.org.unit",
        "service_org_unit_manager_rel",
        "user_id",
        "unit_id",
        string="Managed Service Units",
    )
    service_supervised_unit_ids = fields.Many2many(
        "service.org.unit",
        "service_org_unit_supervisor_rel",
        "user_id",
        "unit_id",
        string="Supervised Service Units",
    )
    service_unit_scope_ids = fields.Many2many(
        "service.org.unit",
        compute="_compute_service_unit_scope_ids",
        compute_sudo=True,
        string="Service Units in Scope",
        help="Units this user manages or supervises. Record rules let them read these "
        "units and their whole subtree.",
    )
    service_unit_managed_scope_ids = fields.Many2many(
        "service.org.unit",
        compute="_compute_service_unit_scope_ids",
        compute_sudo=True,
        string="Service Units Managed",
        help="Units this user manages. Record rules let managers change these units "
        "and their whole subtree.",
    )

    @api.depends("service_managed_unit_ids", "service_supervised_unit_ids")
    @api.depends_context("uid")
    def _compute_service_unit_scope_ids(self):
        # Read through sudo: the record rules evaluate this field, and reading the
        # units as the user would apply those same rules again.
        units_sudo = self.env["service.org.unit"].sudo().with_context(active_test=False)
        for user in self:
            managed = units_sudo.search([("manager_ids", "in", user.ids)])
            supervised = units_sudo.search([("supervisor_ids", "in", user.ids)])
            user.service_unit_managed_scope_ids = managed
            user.service_unit_scope_ids = managed | supervised

    def _service_acts_on(self, units, managed=False):
        """Whether this user may act on `units` as their supervisor or manager.

        Service administrators act everywhere; other users on the units they supervise
        or manage (with `managed`, only manage), and everything below them. Named
        methods that let staff change a few fields of records check this.
        """
        self.ensure_one()
        if self.has_group("service_base.service_base_group_admin"):
            return True
        if managed and not self.has_group("service_base.service_base_group_manager"):
            return False
        roots = self.service_unit_managed_scope_ids if managed else self.service_unit_scope_ids
        scope = self.env["service.org.unit"].sudo().search([("id", "child_of", roots.ids)])
        return not (units.sudo() - scope)

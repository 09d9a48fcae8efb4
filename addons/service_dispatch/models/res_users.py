from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

OUTLET_PORTAL = "service_dispatch.group_dispatch_outlet_portal"


class ResUsers(models.Model):
    _inherit = "res.users"

    service_outlet_id = fields.Many2one(
        "service.org.unit",
        index="btree_not_null",
        domain=[("unit_type", "=", "outlet")],
        help="The outlet this portal user works for (outlet staff, a third party): they "
        "see and handle that outlet's work orders on the portal, and nothing else.",
    )

    @api.constrains("service_outlet_id")
    def _check_service_outlet_id(self):
        for user in self:
            if user.service_outlet_id and user.service_outlet_id.sudo().unit_type != "outlet":
                raise ValidationError(
                    self.env._("%(user)s can only work for an outlet.", user=user.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        users.filtered("service_outlet_id")._service_dispatch_link_outlet_group()
        return users

    def write(self, vals):
        result = super().write(vals)
        if "service_outlet_id" in vals:
            self.filtered("service_outlet_id")._service_dispatch_link_outlet_group()
            # The portal record rules read it and Odoo caches their domains per user.
            self.env.registry.clear_cache()
        return result

    def _service_dispatch_link_outlet_group(self):
        """A portal user given an outlet becomes its outlet staff (the user form hides
        groups of portal users); internal users keep their own roles."""
        portal_users = self.filtered(lambda user: not user._is_internal())
        if portal_users:
            self.env.ref(OUTLET_PORTAL).sudo().write(
                {"user_ids": [Command.link(user.id) for user in portal_users]}
            )

    def _service_dispatch_home_unit(self):
        """The unit a request taken by this user belongs to by default: the highest unit
        they manage or supervise (a call centre's agents supervise the centre's unit)."""
        self.ensure_one()
        # One query (the default of every new request): the units of the scope
        # (service_unit_scope_ids: managed or supervised, archived ones included),
        # the highest first. Their parent_path goes into the cache: the record rules
        # checking the new request expand `child_of` these very units.
        Unit = self.env["service.org.unit"]
        Unit.flush_model(["manager_ids", "supervisor_ids", "parent_path"])
        self.env.cr.execute(
            """SELECT id, parent_path FROM service_org_unit
                WHERE id IN (SELECT unit_id FROM service_org_unit_manager_rel
                              WHERE user_id = %(user)s
                              UNION
                             SELECT unit_id FROM service_org_unit_supervisor_rel
                              WHERE user_id = %(user)s)
             ORDER BY length(coalesce(parent_path, '')), id""",
            {"user": self.id},
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return Unit
        units = Unit.browse([row[0] for row in rows])
        Unit._fields["parent_path"]._insert_cache(units, [row[1] for row in rows])
        return units[:1]

    def _service_dispatch_portal_outlet(self):
        """The outlet this user works for as outlet portal staff; empty for anyone else."""
        self.ensure_one()
        if not self.has_group(OUTLET_PORTAL):
            return self.env["service.org.unit"]
        return self.sudo().service_outlet_id

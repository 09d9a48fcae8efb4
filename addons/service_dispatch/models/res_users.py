from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def _service_dispatch_home_unit(self):
        """The unit a request taken by this user belongs to by default: the highest unit
        they manage or supervise (a call centre's agents supervise the centre's unit)."""
        self.ensure_one()
        units = self.service_unit_scope_ids
        return units.sorted(lambda unit: (len(unit.parent_path or ""), unit.id))[:1]

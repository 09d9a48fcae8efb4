from odoo import fields, models


class ServiceDispatchTechnician(models.Model):
    """A technician of an outlet. Outlets are third parties: technicians are not our
    employees, so not hr.employee; a later slice links them to portal users."""

    _name = "service.dispatch.technician"
    _description = "Outlet Technician"
    _inherit = ["mail.thread"]
    _order = "outlet_id, name, id"

    name = fields.Char(required=True, tracking=True)
    outlet_id = fields.Many2one(
        "service.org.unit",
        required=True,
        index=True,
        domain=[("unit_type", "=", "outlet")],
        tracking=True,
    )
    phone = fields.Char()
    user_id = fields.Many2one("res.users", index="btree_not_null")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(related="outlet_id.company_id", store=True)

from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    service_dispatch_intake_unit_id = fields.Many2one(
        "service.org.unit",
        string="Web Requests Unit",
        check_company=True,
        help="The service unit that receives the requests of the public web form. "
        "Empty: the company's top unit.",
    )

    def _service_dispatch_intake_unit(self):
        """The unit web form requests go to: the configured one, else the top unit."""
        self.ensure_one()
        return self.service_dispatch_intake_unit_id or self.env["service.org.unit"].sudo().search(
            [("parent_id", "=", False), ("company_id", "in", [self.id, False])],
            order="id",
            limit=1,
        )

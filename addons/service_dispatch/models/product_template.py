from odoo import fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    service_warranty_months = fields.Integer(
        string="Warranty (months)",
        help="Length of the manufacturer's warranty from the purchase date. A customer's "
        "appliance of this product gets its warranty end from it (editable there).",
    )

    _service_warranty_months_positive = models.Constraint(
        "CHECK (service_warranty_months >= 0)", "A warranty length cannot be negative."
    )

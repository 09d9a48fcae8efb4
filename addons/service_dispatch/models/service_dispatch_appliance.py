from dateutil.relativedelta import relativedelta
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ServiceDispatchAppliance(models.Model):
    """One appliance a customer owns: the product, its serial number, its warranty.

    A serial number belongs to one product and one owner at a time; handing the
    appliance to someone else keeps the previous ownerships in `ownership_ids`.
    """

    _name = "service.dispatch.appliance"
    _description = "Customer Appliance"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "purchase_date desc, id desc"
    _rec_names_search = ["serial_number", "product_id", "partner_id"]
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Owner",
        required=True,
        index=True,
        tracking=True,
        ondelete="restrict",
    )
    product_id = fields.Many2one(
        "product.product", required=True, index=True, tracking=True, ondelete="restrict"
    )
    product_label = fields.Char(
        string="Product Name",
        compute="_compute_product_label",
        store=True,
        help="The product's name with its internal reference, in the company's language, "
        "kept with the appliance: a caller's appliance list shows it without reading "
        "the product catalogue.",
    )
    product_category_id = fields.Many2one(
        related="product_id.categ_id", string="Product Category", store=True
    )
    serial_number = fields.Char(
        required=True,
        tracking=True,
        help="The serial number or barcode on the appliance's rating plate.",
    )
    purchase_date = fields.Date(tracking=True)
    purchase_place = fields.Char(help="Shop or website where the customer bought it.")
    warranty_end = fields.Date(
        compute="_compute_warranty_end",
        store=True,
        readonly=False,
        tracking=True,
        help="Computed from the purchase date and the product's warranty length; may be "
        "changed (an extended warranty, a goodwill gesture).",
    )
    is_under_warranty = fields.Boolean(
        compute="_compute_is_under_warranty", search="_search_is_under_warranty"
    )
    address_id = fields.Many2one(
        "res.partner",
        string="Installation Address",
        help="Where the appliance is installed: the owner, or one of their addresses.",
    )
    ownership_ids = fields.One2many(
        "service.dispatch.appliance.ownership", "appliance_id", string="Ownership History"
    )
    request_ids = fields.One2many("service.dispatch.request", "appliance_id")
    request_count = fields.Integer(compute="_compute_request_count")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)
    note = fields.Text()

    _serial_product_uniq = models.UniqueIndex(
        "(product_id, serial_number)",
        "This serial number is already registered for this product: find its owner "
        "with the serial number search and change the owner there.",
    )
    _serial_idx = models.Index("(serial_number)")

    # ------------------------------------------------------------ computes
    @api.depends("product_label", "serial_number")
    def _compute_display_name(self):
        for appliance in self:
            appliance.display_name = (
                f"{appliance.product_label or ''} ({appliance.serial_number or '-'})"
            )

    @api.depends(
        "product_id.name",
        "product_id.default_code",
        "product_id.product_template_attribute_value_ids",
        "company_id",
    )
    def _compute_product_label(self):
        labels = self._product_labels({(a.product_id.id, a.company_id.id) for a in self})
        for appliance in self:
            key = (appliance.product_id.id, appliance.company_id.id)
            appliance.product_label = labels.get(key) or False

    @api.model
    def _product_labels(self, pairs):
        """{(product id, company id): the product's display name in the company's language}
        (a plain context: no customer- or supplier-specific names)."""
        companies = self.env["res.company"].sudo().browse({c for _p, c in pairs if c})
        langs = {company.id: company.partner_id.lang for company in companies}
        Product = self.env["product.product"].sudo()
        return {
            (product_id, company_id): Product.with_env(
                Product.env(
                    context={"lang": langs.get(company_id) or "en_US", "active_test": False}
                )
            )
            .browse(product_id)
            .display_name
            for product_id, company_id in pairs
            if product_id
        }

    @api.depends("purchase_date", "product_id.service_warranty_months")
    def _compute_warranty_end(self):
        for appliance in self:
            months = appliance.product_id.service_warranty_months
            if appliance.purchase_date and months:
                appliance.warranty_end = appliance.purchase_date + relativedelta(months=months)
            else:
                appliance.warranty_end = False

    @api.depends("warranty_end")
    def _compute_is_under_warranty(self):
        today = fields.Date.context_today(self)
        for appliance in self:
            appliance.is_under_warranty = bool(
                appliance.warranty_end and appliance.warranty_end >= today
            )

    def _search_is_under_warranty(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        today = fields.Date.context_today(self)
        under = [("warranty_end", ">=", today)]
        wanted = True in value
        if operator == "not in":
            wanted = not wanted
        return (
            under if wanted else ["|", ("warranty_end", "=", False), ("warranty_end", "<", today)]
        )

    def _compute_request_count(self):
        counts = dict(
            self.env["service.dispatch.request"]._read_group(
                [("appliance_id", "in", self.ids)], ["appliance_id"], ["__count"]
            )
        )
        for appliance in self:
            appliance.request_count = counts.get(appliance, 0)

    # ------------------------------------------------------------ constraints
    @api.constrains("serial_number")
    def _check_serial_number(self):
        for appliance in self:
            if not (appliance.serial_number or "").strip():
                raise ValidationError(self.env._("An appliance needs its serial number."))

    # ------------------------------------------------------------ onchange
    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        if self.partner_id and (
            not self.address_id or self.address_id.commercial_partner_id != self.partner_id
        ):
            self.address_id = self.partner_id

    # ------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("serial_number"):
                vals["serial_number"] = vals["serial_number"].strip()
            if vals.get("partner_id") and not vals.get("address_id"):
                vals["address_id"] = vals["partner_id"]
        appliances = super().create(vals_list)
        appliances._open_ownership()
        return appliances

    def write(self, vals):
        if vals.get("serial_number"):
            vals["serial_number"] = vals["serial_number"].strip()
        changed_owner = self.browse()
        if "partner_id" in vals:
            changed_owner = self.filtered(lambda a: a.partner_id.id != vals["partner_id"])
            changed_owner._close_ownership()
        result = super().write(vals)
        changed_owner._open_ownership()
        return result

    # ------------------------------------------------------------ actions
    def action_open_requests(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Service Requests"),
            "res_model": "service.dispatch.request",
            "view_mode": "list,form",
            "domain": [("appliance_id", "=", self.id)],
            "context": {"default_appliance_id": self.id, "default_partner_id": self.partner_id.id},
        }

    # ------------------------------------------------------------ ownership
    def _open_ownership(self):
        """Ownerships are facts written here only (sudo): no user writes them."""
        self.env["service.dispatch.appliance.ownership"].sudo().create(
            [
                {"appliance_id": appliance.id, "partner_id": appliance.partner_id.id}
                for appliance in self
            ]
        )

    def _close_ownership(self):
        current = (
            self.env["service.dispatch.appliance.ownership"]
            .sudo()
            .search([("appliance_id", "in", self.ids), ("date_end", "=", False)])
        )
        current.write({"date_end": fields.Datetime.now()})

    # ------------------------------------------------------------ business
    def _service_card(self):
        """What the intake screen and integrators show of an appliance."""
        self.ensure_one()
        return {
            "id": self.id,
            "product": self.product_label,
            "product_id": self.product_id.id,
            "serial_number": self.serial_number,
            "purchase_date": self.purchase_date or False,
            "warranty_end": self.warranty_end or False,
            "is_under_warranty": self.is_under_warranty,
            "owner_id": self.partner_id.id,
            "owner": self.partner_id.display_name,
        }

    @api.model
    @api.readonly
    def lookup_serial(self, serial_number):
        """The appliances (of any product) whose serial number is exactly the one scanned
        or typed at intake, with their current owner. Empty when none is registered."""
        serial_number = (serial_number or "").strip()
        if not serial_number:
            raise ValidationError(self.env._("Scan or type a serial number."))
        appliances = self.search([("serial_number", "=", serial_number)])
        return [appliance._service_card() for appliance in appliances]

from odoo import api, fields, models

MEMBER_TIERS = [
    ("standard", "Standard"),
    ("silver", "Silver"),
    ("gold", "Gold"),
    ("platinum", "Platinum"),
]


class ResPartner(models.Model):
    """Customers of the service centre are contacts; their numbers are Odoo's own.

    phone_validation's `mail.thread.phone` keeps `phone_sanitized` (E.164). A number
    typed without a country code is read in the company's service phone country
    (service_base), and the sanitized column is indexed so that a ringing number finds
    its caller with one index lookup.
    """

    _inherit = "res.partner"

    phone_sanitized = fields.Char(index="btree_not_null")
    service_member_tier = fields.Selection(
        MEMBER_TIERS,
        string="Member Tier",
        tracking=True,
        help="Empty for customers who are not members of the loyalty programme.",
    )
    service_is_member = fields.Boolean(
        string="Member", compute="_compute_service_is_member", store=True
    )
    service_member_number = fields.Char(string="Member Number", copy=False, tracking=True)
    service_district = fields.Char(
        string="District",
        help="The district (区/县) of the address: outlets' service areas name it.",
    )
    service_appliance_ids = fields.One2many(
        "service.dispatch.appliance", "partner_id", string="Appliances"
    )
    service_appliance_count = fields.Integer(
        compute="_compute_service_counts", string="Appliance Count"
    )
    service_request_ids = fields.One2many(
        "service.dispatch.request", "partner_id", string="Service Requests"
    )
    service_request_count = fields.Integer(compute="_compute_service_counts")
    service_work_order_count = fields.Integer(
        compute="_compute_service_counts", string="Work Order Count"
    )

    _service_member_number_uniq = models.UniqueIndex(
        "(service_member_number) WHERE service_member_number IS NOT NULL",
        "This member number is already given to another customer.",
    )

    # ------------------------------------------------------------ computes
    @api.depends("service_member_tier")
    def _compute_service_is_member(self):
        for partner in self:
            partner.service_is_member = bool(partner.service_member_tier)

    def _compute_service_counts(self):
        counts = {}
        for model, key in (
            ("service.dispatch.appliance", "service_appliance_count"),
            ("service.dispatch.request", "service_request_count"),
            ("service.dispatch.work.order", "service_work_order_count"),
        ):
            Model = self.env[model]
            if not Model.has_access("read"):
                counts[key] = {}
                continue
            counts[key] = dict(
                Model._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
            )
        for partner in self:
            for key, by_partner in counts.items():
                partner[key] = by_partner.get(partner, 0)

    # ------------------------------------------------------------ phone
    def _phone_get_country(self):
        """Numbers of contacts without a country are read in the company's service
        phone country (service_base), not in whatever country the current company has."""
        countries = super()._phone_get_country()
        for partner in self:
            if partner.id not in countries:
                company = partner.company_id or self.env.company
                country = company._get_service_phone_country()
                if country:
                    countries[partner.id] = country
        return countries

    # ------------------------------------------------------------ actions
    def action_service_open_appliances(self):
        self.ensure_one()
        return self._service_open("service.dispatch.appliance", self.env._("Appliances"))

    def action_service_open_requests(self):
        self.ensure_one()
        return self._service_open("service.dispatch.request", self.env._("Service Requests"))

    def action_service_open_work_orders(self):
        self.ensure_one()
        return self._service_open("service.dispatch.work.order", self.env._("Work Orders"))

    def _service_open(self, model, name):
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "list,form",
            "domain": [("partner_id", "=", self.id)],
            "context": {"default_partner_id": self.id},
        }

    # ------------------------------------------------------------ business
    @api.model
    @api.readonly
    def service_lookup_caller(self, phone):
        """Who is calling from `phone`, with what the agent needs to see at once.

        The number is read in the company's service phone country and matched exactly
        on the sanitized E.164 number (indexed). Several contacts may share a number (a
        household): members first. Returns::

            {"phone": "+8613800138000",
             "customers": [{"id", "name", "is_member", "member_tier", "member_number",
                            "appliances": [...], "open_requests": [...],
                            "work_orders": [...]}]}

        A malformed number raises a ValidationError naming it; an unknown one returns
        no customers. What the user may not read (record rules) is left out.
        """
        # A number sent as a JSON number (or null) is read as text: a clear error, not a 500.
        e164 = self.env.company._service_phone_e164(str(phone or ""))
        partners = self.search([("phone_sanitized", "=", e164)], order="service_is_member desc, id")
        return {
            "phone": e164,
            "customers": [partner._service_caller_card() for partner in partners],
        }

    def _service_caller_card(self):
        self.ensure_one()
        Appliance = self.env["service.dispatch.appliance"]
        Request = self.env["service.dispatch.request"]
        WorkOrder = self.env["service.dispatch.work.order"]
        card = {
            "id": self.id,
            "name": self.display_name,
            "is_member": self.service_is_member,
            "member_tier": self.service_member_tier or False,
            "member_number": self.service_member_number or False,
            "appliances": [],
            "open_requests": [],
            "work_orders": [],
        }
        if Appliance.has_access("read"):
            card["appliances"] = [
                appliance._service_card()
                for appliance in Appliance.search([("partner_id", "=", self.id)])
            ]
        if Request.has_access("read"):
            card["open_requests"] = [
                request._service_card()
                for request in Request.search(
                    [("partner_id", "=", self.id), ("state", "in", ["open", "in_progress"])]
                )
            ]
        if WorkOrder.has_access("read"):
            card["work_orders"] = [
                order._service_card()
                for order in WorkOrder.search([("partner_id", "=", self.id)], limit=20)
            ]
        return card

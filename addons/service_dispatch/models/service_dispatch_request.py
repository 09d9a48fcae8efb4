import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import html2plaintext, json_default
from odoo.tools.sql import escape_psql

from .service_dispatch_request_type import PRIORITIES
from .service_dispatch_work_order import DISPATCHER

REQUEST_STATES = [
    ("open", "Open"),
    ("in_progress", "In Progress"),
    ("closed", "Closed"),
    ("cancelled", "Cancelled"),
]
CHANNELS = [
    ("phone", "Phone"),
    ("email", "E-mail"),
    ("web_form", "Web Form"),
    ("portal", "Portal"),
    ("counter_rating", "Counter Rating"),
]
AGENT = "service_dispatch.group_dispatch_agent"
# Written by the named methods only (sudo): the trail of a request is not a form field.
PROTECTED_FIELDS = frozenset({"state", "outcome", "date_closed", "closed_by_id"})


class ServiceDispatchRequest(models.Model):
    """A service request (受理单): what a customer asked for, through which channel,
    taken by whom, and what came of it."""

    _name = "service.dispatch.request"
    _description = "Service Request"
    _inherit = ["mail.thread", "mail.activity.mixin", "portal.mixin"]
    _order = "priority desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference", required=True, readonly=True, copy=False, default="/", index=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True
    )
    phone = fields.Char(string="Caller Number", help="The number the customer called from (E.164).")
    appliance_id = fields.Many2one(
        "service.dispatch.appliance",
        index="btree_not_null",
        tracking=True,
        domain="[('partner_id', '=', partner_id)]",
    )
    product_id = fields.Many2one(related="appliance_id.product_id")
    type_id = fields.Many2one(
        "service.dispatch.request.type",
        string="Request Type",
        required=True,
        tracking=True,
        ondelete="restrict",
    )
    path = fields.Selection(related="type_id.path")
    channel = fields.Selection(CHANNELS, required=True, default="phone", tracking=True)
    description = fields.Text()
    priority = fields.Selection(PRIORITIES, default="0", tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="Taken By",
        default=lambda self: self.env.user,
        index=True,
        tracking=True,
    )
    unit_id = fields.Many2one(
        "service.org.unit",
        string="Service Unit",
        required=True,
        index=True,
        tracking=True,
        default=lambda self: self.env.user._service_dispatch_home_unit(),
        help="The service centre responsible for the request; its managers and "
        "supervisors (and those above) see it.",
    )
    state = fields.Selection(
        REQUEST_STATES, default="open", required=True, index=True, tracking=True, readonly=True
    )
    outcome = fields.Text(readonly=True, tracking=True)
    date_closed = fields.Datetime(readonly=True)
    closed_by_id = fields.Many2one("res.users", readonly=True)
    work_order_ids = fields.One2many("service.dispatch.work.order", "request_id")
    work_order_count = fields.Integer(compute="_compute_work_order_count")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    color = fields.Integer()

    # ------------------------------------------------------------ computes
    def _compute_work_order_count(self):
        counts = dict(
            self.env["service.dispatch.work.order"]._read_group(
                [("request_id", "in", self.ids)], ["request_id"], ["__count"]
            )
        )
        for request in self:
            request.work_order_count = counts.get(request, 0)

    # ------------------------------------------------------------ constraints
    @api.constrains("appliance_id", "partner_id")
    def _check_appliance_owner(self):
        for request in self:
            if request.appliance_id and request.appliance_id.partner_id != request.partner_id:
                raise ValidationError(
                    self.env._(
                        "Appliance %(appliance)s belongs to %(owner)s, not to %(customer)s.",
                        appliance=request.appliance_id.display_name,
                        owner=request.appliance_id.partner_id.display_name,
                        customer=request.partner_id.display_name,
                    )
                )

    # ------------------------------------------------------------ onchange
    @api.onchange("type_id")
    def _onchange_type_id(self):
        if self.type_id:
            self.priority = self.type_id.default_priority

    # ------------------------------------------------------------ CRUD
    def _creation_message(self):
        # The model's label without reading ir.model.
        return self.env._("Service Request created")

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                if PROTECTED_FIELDS.intersection(vals):
                    raise AccessError(
                        self.env._("A new request is open: close it with its button.")
                    )
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["service.dispatch.work.order"]._next_reference(
                    "service.dispatch.request"
                )
            # The intake screen gives the number it already read (E.164): not parsed twice.
            if vals.get("phone") and not self.env.context.get("service_dispatch_phone_e164"):
                vals["phone"] = self.env.company._service_phone_e164(vals["phone"])
            if "priority" not in vals and vals.get("type_id"):
                request_type = self.env["service.dispatch.request.type"].browse(vals["type_id"])
                vals["priority"] = request_type.default_priority
        requests = (
            super(ServiceDispatchRequest, self.with_context(service_dispatch_request_create=True))
            .create(vals_list)
            .with_env(self.env)
        )
        # Types creating their work order at once dispatch it at once to the best
        # outlet, when one covers the address (else it waits for a dispatcher).
        for request_type in requests.type_id.filtered("auto_work_order"):
            requests.filtered(lambda r, t=request_type: r.type_id == t)._create_work_orders(
                dispatch=True,
                note=self.env._(
                    "Dispatched at once to the best candidate (request type %(type)s).",
                    type=request_type.name,
                ),
            )
        return requests

    @api.model
    def _create_in_progress(self, vals_list):
        """Create requests whose work order the caller creates at once (the intake
        screen): they are inserted in progress, the state their work order gives them,
        so the new rows are not updated again. The user's create access (rights and
        record rules) is checked as create() checks it."""
        self.check_access("create")
        requests = self.sudo().create([dict(vals, state="in_progress") for vals in vals_list])
        requests = requests.with_env(self.env)
        requests.check_access("create")
        return requests

    def write(self, vals):
        if not self.env.su and PROTECTED_FIELDS.intersection(vals):
            raise AccessError(
                self.env._(
                    "The state and outcome of a request change through its buttons "
                    "(create work order, close with outcome, cancel)."
                )
            )
        if vals.get("phone"):
            vals["phone"] = self.env.company._service_phone_e164(vals["phone"])
        return super().write(vals)

    def _message_auto_subscribe(self, updated_values, followers_existing_policy="skip"):
        """At creation by an active internal user who takes the request themselves, the
        creator has just been subscribed by mail.thread's create with the default
        subtypes, as the taker would be: no follower lookup for the same person, when no
        other tracked user field or parent subtype adds anyone."""
        user = self.env.user
        if (
            self.env.context.get("service_dispatch_request_create")
            and not self.env.context.get("mail_create_nosubscribe")
            and user.active
            and not user.share
            and updated_values.get("user_id") in (None, False, user.id)
            and not any(
                updated_values.get(name)
                for name, field in self._fields.items()
                if name != "user_id"
                and field.type == "many2one"
                and field.comodel_name == "res.users"
                and getattr(field, "tracking", False)
            )
            and not self.env["mail.message.subtype"]._get_auto_subscription_subtypes(self._name)[4]
        ):
            return True
        return super()._message_auto_subscribe(
            updated_values, followers_existing_policy=followers_existing_policy
        )

    # ------------------------------------------------------------ mail gateway
    @api.model
    def message_new(self, msg_dict, custom_values=None):
        """An e-mail to the service alias becomes a request in the same queue.

        The sender is found among the contacts by e-mail address (or created); the
        request takes the channel "e-mail", the e-mail's text as description, and the
        alias defaults (`custom_values`) for its type and unit, else a consultation at
        the top unit of the company: an agent reads it and re-types it if needed.
        """
        values = dict(custom_values or {})
        if not values.get("partner_id"):
            partner = self.env["mail.thread"]._partner_find_from_emails_single(
                [msg_dict.get("email_from") or ""], no_create=False
            )
            if partner:
                values["partner_id"] = partner.id
        if not values.get("type_id"):
            request_type = self.env.ref(
                "service_dispatch.request_type_consultation", raise_if_not_found=False
            ) or self.env["service.dispatch.request.type"].search([], limit=1)
            values["type_id"] = request_type.id
        if not values.get("unit_id"):
            values["unit_id"] = (
                self.env["service.org.unit"]
                .search(
                    [("parent_id", "=", False), ("company_id", "=", self.env.company.id)], limit=1
                )
                .id
            )
        subject = (msg_dict.get("subject") or "").strip()
        body = html2plaintext(msg_dict.get("body") or "").strip()
        values.update(
            {
                "name": "/",  # the sequence, not the subject mail.thread would use
                "channel": "email",
                "user_id": False,
                "description": "\n\n".join(part for part in (subject, body) if part),
            }
        )
        return super().message_new(msg_dict, custom_values=values)

    # ------------------------------------------------------------ actions
    def action_create_work_order(self, dispatch=False):
        """Turn repair and installation requests into work orders (one each), ready to
        dispatch. For agents who may change the request. With `dispatch` (dispatchers
        only), each order is dispatched at once to its best outlet when one covers its
        address (see service.dispatch.work.order._create_dispatched)."""
        self._check_agent()
        if dispatch and not self.env.user.has_group(DISPATCHER):
            raise AccessError(self.env._("Only dispatchers may dispatch work orders."))
        for request in self:
            if request.type_id.path != "work_order":
                raise UserError(
                    self.env._(
                        "%(request)s is a %(type)s: it does not lead to a work order.",
                        request=request.name,
                        type=request.type_id.name,
                    )
                )
            if request.state not in ("open", "in_progress"):
                raise UserError(self.env._("%(request)s is already closed.", request=request.name))
        orders = self._create_work_orders(dispatch=dispatch)
        if dispatch:
            # the dispatcher's scope, as the Dispatch button checks it
            orders.filtered("outlet_id").check_access("write")
        if len(orders) == 1:
            return orders.get_formview_action()
        return True

    def action_close(self, outcome):
        """Close requests answered at intake (a consultation, a praise) with what the
        customer was told or what was recorded."""
        self._check_agent()
        outcome = (outcome or "").strip()
        if not outcome:
            raise UserError(self.env._("Say what the outcome is to close a request."))
        for request in self:
            if request.state not in ("open", "in_progress"):
                raise UserError(self.env._("%(request)s is already closed.", request=request.name))
            if request.type_id.path == "work_order" and request.work_order_ids.filtered(
                lambda order: order.state not in ("closed", "cancelled")
            ):
                raise UserError(
                    self.env._(
                        "%(request)s has a work order in progress: it closes with it.",
                        request=request.name,
                    )
                )
        self.sudo()._close(outcome)
        return True

    def action_cancel(self, reason):
        """Cancel requests taken by mistake (a duplicate, a wrong number)."""
        self._check_agent()
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Give a reason to cancel a request."))
        if self.work_order_ids.filtered(lambda order: order.state not in ("closed", "cancelled")):
            raise UserError(self.env._("Cancel the request's open work orders first."))
        self.sudo().write(
            {
                "state": "cancelled",
                "outcome": reason,
                "date_closed": fields.Datetime.now(),
                "closed_by_id": self.env.uid,
            }
        )
        return True

    def action_open_close_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close with Outcome"),
            "res_model": "service.dispatch.request.close",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    def action_open_work_orders(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Work Orders"),
            "res_model": "service.dispatch.work.order",
            "view_mode": "list,form",
            "domain": [("request_id", "=", self.id)],
        }

    # ------------------------------------------------------------ portal
    # Customers follow and add to their own requests on /my/service-requests; outlet
    # staff record jobs from their hotline on /my/work-orders/new (controllers/portal.py).
    def _compute_access_url(self):
        for request in self:
            request.access_url = f"/my/service-requests/{request.id}"

    def _mail_get_operation_for_mail_message_operation(self, message_operation):
        """Portal users post on the requests they may read (the portal chatter)."""
        operations = super()._mail_get_operation_for_mail_message_operation(message_operation)
        if message_operation == "create" and self.env.user.share:
            operations = dict.fromkeys(operations, "read")
        return operations

    @api.model
    def _portal_create_for_outlet(self, values):
        """A customer called the outlet's own hotline: record the request at the outlet
        (channel portal) and its work order dispatched to the outlet, for outlet portal
        staff. `values`: customer_name, phone (required), street, city, product_id and
        serial_number (the appliance, found or registered), type_id (a repair or an
        installation), description. The customer is found by number as at intake
        (res.partner.service_lookup_caller), else created. The parent centre and HQ
        see the request and the order through their subtree rules. Returns the request.
        """
        outlet = self.env.user._service_dispatch_portal_outlet()
        if not outlet:
            raise AccessError(
                self.env._("Only an outlet's portal staff record jobs for their outlet.")
            )
        if outlet.dispatch_status == "suspended":
            raise UserError(
                self.env._(
                    "%(outlet)s is suspended and takes no new work orders: the customer's "
                    "service centre takes the call.",
                    outlet=outlet.name,
                )
            )
        request_type = self._portal_request_type(values, work_order_only=True)
        description = self._portal_description(values)
        phone = (values.get("phone") or "").strip()
        if not phone:
            raise UserError(self.env._("Type the number the customer called from."))
        customer = self._portal_outlet_customer(values, phone)
        appliance = self._portal_outlet_appliance(values, customer)
        request_sudo = self.sudo().create(
            {
                "partner_id": customer.id,
                "appliance_id": appliance.id,
                "type_id": request_type.id,
                "channel": "portal",
                "phone": phone,
                "description": description,
                "unit_id": outlet.id,
                "user_id": self.env.uid,
                "company_id": outlet.company_id.id,
            }
        )
        orders = request_sudo.work_order_ids or request_sudo._create_work_orders()
        orders._portal_dispatch_to_outlet(outlet)
        return request_sudo.sudo(False)

    @api.model
    def _portal_create_for_customer(self, values):
        """A portal customer's own request (channel portal): `values` type_id,
        appliance_id (one of theirs, optional), description. It goes to the company's
        intake unit, like web form requests; the customer follows it. Returns it."""
        user = self.env.user
        if not user.share or user._is_public():
            raise AccessError(self.env._("Sign in to the portal to send a service request."))
        partner = user.partner_id
        request_type = self._portal_request_type(values)
        description = self._portal_description(values)
        appliance = self.env["service.dispatch.appliance"]
        if values.get("appliance_id"):
            appliance = appliance.sudo().browse(int(values["appliance_id"])).exists()
            if appliance.partner_id != partner:
                raise UserError(self.env._("Choose one of your appliances."))
        # Portal requests land where web form requests do (Settings: intake unit).
        unit = user.company_id.sudo()._service_dispatch_intake_unit()
        if not unit:
            raise UserError(self.env._("The service centre takes no portal requests yet."))
        request_sudo = self.sudo().create(
            {
                "partner_id": partner.id,
                "appliance_id": appliance.id,
                "type_id": request_type.id,
                "channel": "portal",
                "description": description,
                "unit_id": unit.id,
                "user_id": False,
                "company_id": unit.company_id.id,
            }
        )
        request_sudo.message_subscribe(partner_ids=partner.ids)
        return request_sudo.sudo(False)

    @api.model
    def _portal_request_types(self, work_order_only=False):
        """The request types a portal form offers (sudo: portal users do not read them)."""
        domain = [("company_id", "in", [False, self.env.company.id])]
        if work_order_only:
            domain.append(("path", "=", "work_order"))
        return self.env["service.dispatch.request.type"].sudo().search(domain)

    @api.model
    def _portal_request_type(self, values, work_order_only=False):
        type_id = values.get("type_id")
        request_type = self._portal_request_types(work_order_only).filtered(
            lambda t: str(t.id) == str(type_id)
        )
        if not request_type:
            raise UserError(self.env._("Choose what the customer needs (the request type)."))
        return request_type

    @api.model
    def _portal_description(self, values):
        description = (values.get("description") or "").strip()
        if not description:
            raise UserError(self.env._("Describe what the customer needs."))
        return description

    @api.model
    def _portal_outlet_customer(self, values, phone):
        """The caller found by number (members first; the one of that name when several
        share it), or a new customer with that number (sudo)."""
        Partner = self.env["res.partner"].sudo()
        name = (values.get("customer_name") or "").strip()
        callers = Partner.service_lookup_caller(phone)["customers"]
        found = [c for c in callers if name and c["name"].strip().lower() == name.lower()]
        if found or (callers and not name):
            return Partner.browse((found or callers)[0]["id"])
        if not name:
            raise UserError(self.env._("Type the customer's name: the number is not known yet."))
        return Partner.create(
            {
                "name": name,
                "phone": phone,
                "street": (values.get("street") or "").strip() or False,
                "city": (values.get("city") or "").strip() or False,
            }
        )

    @api.model
    def _portal_outlet_appliance(self, values, customer):
        """The customer's appliance of that product and serial number, registered now if
        it is new (sudo); none when neither is given."""
        Appliance = self.env["service.dispatch.appliance"].sudo()
        product_id = values.get("product_id")
        serial = (values.get("serial_number") or "").strip()
        if not product_id and not serial:
            return Appliance
        product = self.env["product.product"].sudo().browse(int(product_id or 0)).exists()
        if not product or not serial:
            raise UserError(self.env._("Give both the appliance's product and its serial number."))
        appliance = Appliance.search(
            [("product_id", "=", product.id), ("serial_number", "=", serial)], limit=1
        )
        if appliance and appliance.partner_id != customer:
            raise UserError(
                self.env._(
                    "Serial number %(serial)s is registered to another customer: the service "
                    "centre can check its owner.",
                    serial=serial,
                )
            )
        return appliance or Appliance.create(
            {"partner_id": customer.id, "product_id": product.id, "serial_number": serial}
        )

    # ------------------------------------------------------------ business
    def _check_agent(self):
        """Agents change the requests their record rules let them write."""
        if not self.env.user.has_group(AGENT):
            raise AccessError(self.env._("Only service agents may change service requests."))
        self.check_access("write")

    def _create_work_orders(self, dispatch=False, note=None):
        """Work orders are created here (sudo) from what the request says: agents may
        create them this way without the right to create arbitrary work orders. With
        `dispatch`, each is dispatched at once to its best outlet if one covers it (the
        caller checked who may), with `note` in its trail."""
        WorkOrder = self.env["service.dispatch.work.order"].sudo()
        vals_list = [request._prepare_work_order_vals() for request in self]
        if dispatch:
            orders = WorkOrder._create_dispatched(vals_list, note)
        else:
            orders = WorkOrder.create(vals_list)
        self.filtered(lambda r: r.state == "open").sudo().write({"state": "in_progress"})
        return orders.sudo(False)

    def _prepare_work_order_vals(self):
        self.ensure_one()
        return {
            "request_id": self.id,
            "partner_id": self.partner_id.id,
            "appliance_id": self.appliance_id.id,
            "address_id": (self.appliance_id.address_id or self.partner_id).id,
            "service_type": self.type_id.service_type or "repair",
            "description": self.description,
            "company_id": self.company_id.id,
        }

    def _close(self, outcome):
        self.write(
            {
                "state": "closed",
                "outcome": outcome,
                "date_closed": fields.Datetime.now(),
                "closed_by_id": self.env.uid,
            }
        )

    def _service_card(self):
        self.ensure_one()
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type_id.name,
            "type_code": self.type_id.code,
            "state": self.state,
            "channel": self.channel,
            "date": self.create_date,
            "appliance_id": self.appliance_id.id,
            "description": self.description or "",
        }

    # ------------------------------------------------------------ integration API
    # Public, stable calls for telephony systems (docs/integration.md, "Call centre").
    # They take and return plain JSON values; bad input is a UserError (or one of its
    # subclasses) with a message for the agent, never a server error.
    @api.model
    def service_create_from_call(self, values):
        """Record the request of a call, as an agent would at intake; returns what was
        recorded::

            {"request": <request card>, "customer": {"id", "name", "is_new"},
             "appliance": <appliance card> | False, "work_order": <status> | False}

        `values` (a dict): `phone` (required), `request_type` (a type's code, e.g.
        REPAIR, required), `customer_id` (one of the callers of `phone`; default: the
        first of `service_lookup_caller`), `customer_name` (required when nobody calls
        from `phone`: the customer is created), `product_code` (a product's internal
        reference or barcode), `serial_number` (the appliance: registered to the
        customer when unknown, with `product_code`), `description`, `priority` ("0",
        "1", "2"; default: the type's), `unit_code` (the service unit taking it;
        default: the caller's own), `create_work_order` (also create the work order of
        a repair now; types that create theirs at once always do).
        """
        if not isinstance(values, dict):
            raise UserError(self.env._("Give the call's values as an object (a dict)."))
        unknown = set(values) - CALL_VALUES
        if unknown:
            raise UserError(
                self.env._(
                    "Unknown values: %(unknown)s. A call takes %(known)s.",
                    unknown=", ".join(sorted(map(str, unknown))),
                    known=", ".join(sorted(CALL_VALUES)),
                )
            )
        if not self.env.user.has_group(AGENT):
            raise AccessError(self.env._("Only service agents may record service requests."))
        request_type = self._service_call_type(values.get("request_type"))
        partner, is_new, e164 = self._service_call_customer(values)
        appliance = self._service_call_appliance(
            partner, values.get("product_code"), values.get("serial_number")
        )
        vals = {
            "partner_id": partner.id,
            "appliance_id": appliance.id,
            "type_id": request_type.id,
            "channel": "phone",
            "phone": e164,
            "description": _call_text(values.get("description")) or False,
            "unit_id": self._service_call_unit(values.get("unit_code")).id,
        }
        priority = values.get("priority")
        if priority not in (None, False, ""):
            if str(priority) not in dict(PRIORITIES):
                raise UserError(
                    self.env._(
                        "Priority is one of %(priorities)s.",
                        priorities=", ".join(dict(PRIORITIES)),
                    )
                )
            vals["priority"] = str(priority)
        request = self.create(vals)
        if values.get("create_work_order") and not request.work_order_ids:
            request.action_create_work_order()
        order = request.work_order_ids[:1]
        return _jsonable(
            {
                "request": request._service_card(),
                "customer": {"id": partner.id, "name": partner.display_name, "is_new": is_new},
                "appliance": appliance._service_card() if appliance else False,
                "work_order": order._service_status() if order else False,
            }
        )

    @api.model
    def _service_call_type(self, code):
        code = _call_text(code)
        request_type = code and self.env["service.dispatch.request.type"].search(
            [("code", "=ilike", escape_psql(code))], limit=1
        )
        if not request_type:
            codes = self.env["service.dispatch.request.type"].search([], limit=50).mapped("code")
            raise UserError(
                self.env._(
                    "Unknown request type %(code)s: use one of %(codes)s.",
                    code=code or "-",
                    codes=", ".join(codes),
                )
            )
        return request_type

    @api.model
    def _service_call_customer(self, values):
        """The caller: one of the customers of the number, or a new one."""
        phone = str(values.get("phone") or "").strip()
        if not phone:
            raise ValidationError(self.env._("Give the number the customer calls from."))
        e164 = self.env.company._service_phone_e164(phone)
        Partner = self.env["res.partner"]
        callers = Partner.search(
            [("phone_sanitized", "=", e164)], order="service_is_member desc, id"
        )
        if values.get("customer_id"):
            partner = callers.filtered(lambda p: p.id == values["customer_id"])
            if not partner:
                raise UserError(
                    self.env._(
                        "Customer %(customer)s does not call from %(phone)s.",
                        customer=values["customer_id"],
                        phone=e164,
                    )
                )
            return partner, False, e164
        if callers:
            return callers[0], False, e164
        name = _call_text(values.get("customer_name"))
        if not name:
            raise UserError(
                self.env._(
                    "Nobody calls from %(phone)s: give the customer's name to create them.",
                    phone=e164,
                )
            )
        return Partner.create({"name": name, "phone": e164}), True, e164

    @api.model
    def _service_call_appliance(self, partner, product_code, serial_number):
        """The appliance the call is about: found by serial number (and product), or
        registered to the caller; none when neither is given."""
        Appliance = self.env["service.dispatch.appliance"]
        product = self.env["product.product"]
        product_code = _call_text(product_code)
        serial = _call_text(serial_number)
        if product_code:
            product = product.search(
                ["|", ("default_code", "=", product_code), ("barcode", "=", product_code)]
            )
            if len(product) != 1:
                raise UserError(
                    self.env._(
                        "No product has the internal reference or barcode %(code)s.",
                        code=product_code,
                    )
                    if not product
                    else self.env._(
                        "Several products have the reference %(code)s: use the barcode.",
                        code=product_code,
                    )
                )
        if not serial:
            if not product:
                return Appliance
            owned = Appliance.search(
                [("partner_id", "=", partner.id), ("product_id", "=", product.id)]
            )
            if len(owned) != 1:
                raise UserError(
                    self.env._(
                        "Give the serial number of the customer's %(product)s.",
                        product=product.display_name,
                    )
                )
            return owned
        domain = [("serial_number", "=", serial)]
        if product:
            domain.append(("product_id", "=", product.id))
        appliance = Appliance.search(domain)
        if len(appliance) > 1:
            raise UserError(
                self.env._(
                    "Serial number %(serial)s is registered for several products: "
                    "give the product's code.",
                    serial=serial,
                )
            )
        if appliance:
            if appliance.partner_id != partner:
                raise UserError(
                    self.env._(
                        "Appliance %(appliance)s is registered to another customer: "
                        "an agent changes its owner at intake.",
                        appliance=appliance.display_name,
                    )
                )
            return appliance
        if not product:
            raise UserError(
                self.env._(
                    "Serial number %(serial)s is not registered: give the product's code "
                    "to register the appliance.",
                    serial=serial,
                )
            )
        return Appliance.create(
            {"partner_id": partner.id, "product_id": product.id, "serial_number": serial}
        )

    @api.model
    def _service_call_unit(self, code):
        code = _call_text(code)
        if code:
            unit = self.env["service.org.unit"].search([("code", "=", code)], limit=1)
            if not unit:
                raise UserError(
                    self.env._("No service unit of yours has the code %(code)s.", code=code)
                )
            return unit
        unit = self.env.user._service_dispatch_home_unit()
        if not unit:
            raise UserError(
                self.env._(
                    "%(user)s belongs to no service unit: give the unit_code of the unit "
                    "taking the call.",
                    user=self.env.user.name,
                )
            )
        return unit


# The values service_create_from_call takes.
CALL_VALUES = frozenset(
    {
        "phone",
        "request_type",
        "customer_id",
        "customer_name",
        "product_code",
        "serial_number",
        "description",
        "priority",
        "unit_code",
        "create_work_order",
    }
)


def _call_text(value):
    """A text value of a call, stripped; "" for anything else (None, numbers...)."""
    return value.strip() if isinstance(value, str) else ""


def _jsonable(value):
    """`value` as plain JSON (datetimes as UTC "YYYY-MM-DD HH:MM:SS" strings), as both
    JSON-2 and XML-RPC send it."""
    return json.loads(json.dumps(value, default=json_default))

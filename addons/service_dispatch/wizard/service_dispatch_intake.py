from odoo import Command, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from ..models.service_dispatch_request_type import PRIORITIES
from ..models.service_dispatch_work_order import DISPATCHER

COMPLAINT_TYPE = "service_dispatch.request_type_complaint"
PAST_WORK_ORDERS = 20  # as res.partner._service_caller_card
# What the screen shows of a caller, fetched with the lookup (display name, member status)
CALLER_FIELDS = ["name", "complete_name", "company_name", "type", "parent_id",
                 "service_member_tier", "service_member_number", "service_is_member"]  # fmt: skip
# The caller's history on the screen: field name -> key of _caller_history()
HISTORY_FIELDS = {
    "appliance_ids": "appliances",
    "open_request_ids": "open_requests",
    "work_order_ids": "work_orders",
    "complaint_ids": "complaints",
}
# What a typed number changes on the screen besides the history lists: the fields the
# number's fast path (_onchange_caller_number) computes, as the generic onchange would.
NUMBER_FIELDS = ("phone_e164", "phone_error", "partner_id", "caller_count", "member_tier",
                 "member_number", "is_unknown_caller", "display_name", "appliance_id")  # fmt: skip


class ServiceDispatchIntake(models.TransientModel):
    """The agent's one screen for a call (来电受理).

    The caller's number (typed, or given by the telephony system through
    `/service_dispatch/intake?phone=`) or a scanned serial number finds the customer;
    the screen then shows their member status, appliances, open requests, past work
    orders and complaints, read as the agent (record rules apply). An unknown number
    gets a quick-create of the customer and their appliance; then the request is
    recorded (and its work order created, or it is closed with its outcome) here.
    """

    _name = "service.dispatch.intake"
    _description = "Call Intake"
    _rec_name = "phone"

    # ------------------------------------------------------------ lookup
    phone = fields.Char(string="Caller Number")
    phone_e164 = fields.Char(string="Number", compute="_compute_phone_e164")
    phone_error = fields.Char(compute="_compute_phone_e164")
    serial_number = fields.Char(help="Scan or type a serial number to find its owner.")
    serial_error = fields.Char(readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        compute="_compute_partner_id",
        compute_sudo=False,
        store=True,
        readonly=False,
    )
    caller_count = fields.Integer(compute="_compute_partner_id", store=True, compute_sudo=False)
    member_tier = fields.Selection(related="partner_id.service_member_tier")
    member_number = fields.Char(related="partner_id.service_member_number")
    is_unknown_caller = fields.Boolean(compute="_compute_is_unknown_caller")

    # ------------------------------------------------------------ history (as the agent)
    appliance_ids = fields.Many2many(
        "service.dispatch.appliance", compute="_compute_history", string="Appliances"
    )
    open_request_ids = fields.Many2many("service.dispatch.request", compute="_compute_history")
    work_order_ids = fields.Many2many(
        "service.dispatch.work.order", compute="_compute_history", string="Past Work Orders"
    )
    complaint_ids = fields.Many2many(
        "service.dispatch.request",
        compute="_compute_history",
        string="Past Complaints",
    )

    # ------------------------------------------------------------ quick-create
    new_name = fields.Char(string="Customer Name")
    new_street = fields.Char(string="Street")
    new_city = fields.Char(string="City")
    new_district = fields.Char(string="District")
    new_zip = fields.Char(string="ZIP")
    new_state_id = fields.Many2one("res.country.state", string="Region")
    new_product_id = fields.Many2one("product.product", string="Product")
    new_serial_number = fields.Char(string="Appliance Serial Number")
    new_purchase_date = fields.Date(string="Purchase Date")

    # ------------------------------------------------------------ new request
    appliance_id = fields.Many2one(
        "service.dispatch.appliance",
        domain="[('partner_id', '=', partner_id)]",
    )
    type_id = fields.Many2one("service.dispatch.request.type", string="Request Type")
    path = fields.Selection(related="type_id.path")
    priority = fields.Selection(PRIORITIES, default="0")
    description = fields.Text()
    outcome = fields.Text(help="What the customer was told (consultation) or what was recorded.")
    request_id = fields.Many2one(
        "service.dispatch.request", string="Recorded Request", readonly=True
    )
    request_state = fields.Selection(related="request_id.state", string="Request Status")
    request_work_order_ids = fields.One2many(
        related="request_id.work_order_ids", string="Work Order of the Request"
    )

    # ------------------------------------------------------------ computes
    @api.depends("phone")
    def _compute_phone_e164(self):
        for intake in self:
            intake.phone_e164 = intake.phone_error = False
            if intake.phone and intake.phone.strip():
                try:
                    intake.phone_e164 = self.env.company._service_phone_e164(intake.phone)
                except ValidationError as error:
                    intake.phone_error = error.args[0]

    @api.depends("phone")
    def _compute_partner_id(self):
        Partner = self.env["res.partner"]
        for intake in self:
            callers = Partner.browse()
            if intake.phone_e164:
                callers = intake._find_callers(intake.phone_e164)
            intake.caller_count = len(callers)
            if callers or intake.phone_e164:
                intake.partner_id = callers[:1]

    @api.depends("phone_e164", "partner_id")
    def _compute_is_unknown_caller(self):
        for intake in self:
            intake.is_unknown_caller = bool(intake.phone_e164 and not intake.partner_id)

    @api.depends("partner_id")
    def _compute_history(self):
        for intake in self:
            history = intake._caller_history(intake.partner_id)
            intake.appliance_ids = history["appliances"]
            intake.open_request_ids = history["open_requests"]
            intake.work_order_ids = history["work_orders"]
            intake.complaint_ids = history["complaints"]

    # ------------------------------------------------------------ onchange
    @api.readonly
    def onchange(self, values, field_names, fields_spec):
        """The screen's onchange, with the caller's history read in one batch.

        Read-only (`api.readonly`): it writes nothing (the screen is saved by its
        buttons), so the web client's call is served on the read-only cursor the request
        starts with instead of opening a read/write one (should anything write, Odoo
        retries the call on a read/write cursor).

        The generic onchange snapshots every line of the four history lists as a new
        record, then reads and compares each line against its stored record, one by
        one: most of the time of a lookup. Here the history lists are left out of the
        generic pass (they only depend on the customer) and, when the customer changes,
        each list is read with its columns at once (`web_read` of the searched lines,
        as the agent) and returned as the same commands: unlink the lines the screen
        had, link the new ones with their values.
        """
        history_spec = {name: fields_spec[name] for name in HISTORY_FIELDS if name in fields_spec}
        if not history_spec or not set(field_names or ()) - set(history_spec):
            return super().onchange(values, field_names, fields_spec)
        self._warm_lookup_cache()
        shown = {name: self._onchange_line_ids(values.get(name)) for name in history_spec}
        values = {name: value for name, value in values.items() if name not in history_spec}
        other_spec = {name: spec for name, spec in fields_spec.items() if name not in history_spec}
        result = None
        if list(field_names) == ["phone"]:
            result = self._onchange_caller_number(values, other_spec)
        if result is None:
            result = super().onchange(values, field_names, other_spec)
        changed = result.get("value", {})
        if "partner_id" in changed:
            partner = changed["partner_id"]
        elif "partner_id" in field_names or (not field_names and values.get("partner_id")):
            partner = values["partner_id"]  # chosen by hand, or a default
        else:
            return result  # the same customer, so the same history
        if isinstance(partner, dict):
            partner = partner.get("id")
        columns = {
            HISTORY_FIELDS[name]: list(spec.get("fields") or ())
            for name, spec in history_spec.items()
        }
        history = self._caller_history(self.env["res.partner"].browse(partner or ()), columns)
        for name, spec in history_spec.items():
            lines = history[HISTORY_FIELDS[name]]
            if "context" in spec:
                lines = lines.with_context(**spec["context"])
            rows = self._history_rows(lines, spec.get("fields") or {})
            commands = [Command.unlink(line_id) for line_id in shown[name] - set(lines.ids)]
            commands += [
                (Command.UPDATE if row["id"] in shown[name] else Command.LINK, row["id"], row)
                for row in rows
            ]
            if commands:
                changed[name] = commands
        result["value"] = changed
        return result

    def _onchange_caller_number(self, values, fields_spec):
        """The onchange of a typed number on a new screen, without the generic machinery.

        The generic onchange makes a new record of the ~30 values the screen sends,
        snapshots them all, recomputes and compares them field by field: about as long as
        the lookup itself. A typed number changes only the fields of NUMBER_FIELDS (as
        `_caller_number_fast_path_ok` checks on the registry); this computes them as their
        computes and `_onchange_partner_id` do, compares each with the value the screen
        sent (converted as the generic snapshot converts it) and returns the changed ones
        formatted as `web_read` formats them: the same result as the generic path (a test
        compares both). Returns None when the generic path must run: a saved screen, a
        blank or invalid number, values or a spec of another shape.
        """
        if self or not self.env.context.get("recursive_onchanges", True):
            return None
        phone = values.get("phone")
        if not (isinstance(phone, str) and phone.strip()) or not self._caller_number_fast_path_ok():
            return None
        fields = self._fields
        shown = [name for name in fields_spec if name in NUMBER_FIELDS]
        required = {*shown, "appliance_id"} - {"display_name"}
        if "partner_id" not in fields_spec or any(name not in values for name in required):
            return None
        for name in shown:
            spec = fields_spec[name]
            if fields[name].type == "many2one" and set(spec.get("fields") or ()) - {"display_name"}:
                return None
        try:
            e164 = self.env.company._service_phone_e164(phone)
        except ValidationError:
            return None  # the generic path shows the error

        # as the generic onchange does before anything
        self.env.flush_all()
        self.check_access("create")

        def sent(name):  # the value the screen sent, as the generic snapshot reads it
            field = fields[name]
            return field.convert_to_record(
                field.convert_to_cache(values[name], self, validate=False), self
            )

        callers = self._find_callers(e164)
        partner = callers[:1]
        old = {name: sent(name) for name in required}
        new = {
            "phone_e164": e164,
            "phone_error": False,
            "partner_id": partner,
            "caller_count": len(callers),
            "member_tier": partner.service_member_tier,
            "member_number": partner.service_member_number,
            "is_unknown_caller": not partner,
            "appliance_id": old["appliance_id"],
        }
        # _onchange_partner_id, run by the generic path when the customer changed
        appliance = old["appliance_id"]
        if old["partner_id"] != partner and appliance and appliance.partner_id != partner:
            new["appliance_id"] = appliance.browse()
        if "display_name" in shown:  # the number as its display name (checked)
            display_name = fields[self._rec_name].convert_to_display_name
            old["display_name"] = (
                sent("display_name") if "display_name" in values else display_name(False, self)
            )
            new["display_name"] = display_name(phone, self)

        changed = {}
        for name in shown:
            if old[name] == new[name]:
                continue
            field, spec, value = fields[name], fields_spec[name], new[name]
            if field.type != "many2one":
                changed[name] = field.convert_to_read(value, self, use_display_name=False)
            elif not value:
                changed[name] = False
            elif "fields" not in spec:
                changed[name] = value.id
            else:
                changed[name] = {"id": value.id}
                if "display_name" in spec["fields"]:
                    value = value.with_context(**spec.get("context") or {})
                    changed[name]["display_name"] = value.sudo().display_name
        return {"value": changed}

    @api.model
    @tools.ormcache()
    def _caller_number_fast_path_ok(self):
        """Whether `_onchange_caller_number` computes all that a typed number changes:
        the fields of this model depending on the number, the customer or the appliance
        are those of NUMBER_FIELDS and the history lists, the only onchange method among
        them is `_onchange_partner_id` (this one), and the display name is the number
        (Odoo's own compute on `_rec_name`). Another module adding a field or an onchange
        there, or computing the display name otherwise, sends the number through the
        generic path again."""
        fields = self._fields
        known = {*NUMBER_FIELDS, *HISTORY_FIELDS}
        dependents = {
            field.name
            for name in ("phone", "partner_id", "appliance_id")
            for field in self.pool.get_dependent_fields(fields[name])
            if field.model_name == self._name
        }
        onchanges = {
            name: list(methods)
            for name, methods in self._onchange_methods.items()
            if methods and name in known | {"phone"}
        }
        display_name = fields["display_name"]
        return (
            dependents <= known
            and onchanges == {"partner_id": [ServiceDispatchIntake._onchange_partner_id]}
            and self._rec_name == "phone"
            and tuple(self.pool.field_depends[display_name]) == ("phone",)
            and not self.pool.field_depends_context[display_name]
            and type(self)._compute_display_name is models.BaseModel._compute_display_name
        )

    @api.model
    def _warm_lookup_cache(self):
        """Fill the cache, in one query, with what the lookup's record rules and columns
        read of small tables, instead of a query each (whole rows for the units):

        - the `parent_path` of the user's companies (the contacts' multi-company rule,
          `company_id parent_of company_ids`) and of the organisation units the history
          rules expand with `child_of` (the units in their domains, as the rules are
          cached for the user: `res.users.service_unit_scope_ids`);
        - the names of the request types (a handful), the display name of a request's
          type on the screen.

        Values already in cache are kept (`_insert_cache`); nothing is checked or
        filtered here: the searches apply the rules as before, these values only save
        the queries their expansion and display would make.
        """
        Unit = self.env["service.org.unit"].sudo().with_context(active_test=False)
        unit_ids = set()
        for model_name in ("service.dispatch.request", "service.dispatch.work.order"):
            unit_ids.update(self._rule_unit_ids(model_name))
        Company = self.env.companies.sudo()
        Type = self.env["service.dispatch.request.type"].sudo().with_context(active_test=False)
        lang = self.env.lang or "en_US"
        self.env.cr.execute(
            SQL(
                """SELECT 'company', id, parent_path FROM res_company WHERE id = ANY(%(companies)s)
                   UNION ALL
                   SELECT 'unit', id, parent_path FROM service_org_unit WHERE id = ANY(%(units)s)
                   UNION ALL
                   SELECT 'type', id, COALESCE(name->>%(lang)s, name->>'en_US')
                     FROM service_dispatch_request_type""",
                companies=list(Company.ids),
                units=sorted(unit_ids),
                lang=lang,
            )
        )
        rows = {"company": [], "unit": [], "type": []}
        for kind, record_id, value in self.env.cr.fetchall():
            rows[kind].append((record_id, value))
        for model, field_name, kind in (
            (Company, "parent_path", "company"),
            (Unit, "parent_path", "unit"),
            (Type, "name", "type"),
        ):
            if rows[kind]:
                ids, values = zip(*rows[kind], strict=True)
                model._fields[field_name]._insert_cache(model.browse(ids), values)

    @api.model
    @tools.ormcache(
        "self.env.uid",
        "self.env.su",
        "model_name",
        "tuple(self.env['ir.rule']._compute_domain_context_values())",
    )
    def _rule_unit_ids(self, model_name):
        """The organisation units the user's read rules on `model_name` expand with
        `child_of` or `parent_of` (through `any` sub-domains too). Cached as the rules'
        domain is (ir.rule._compute_domain: same key, same registry cache, cleared with
        it when the rules or who manages or supervises what change)."""
        unit_ids = set()

        def collect(model_name, domain):
            for condition in domain.iter_conditions():
                comodel_name, path = model_name, condition.field_expr.split(".")
                for name in path:
                    field = self.env[comodel_name]._fields.get(name)
                    comodel_name = field and field.comodel_name
                    if not comodel_name:
                        break
                if not comodel_name:
                    continue
                if condition.operator in ("any", "not any", "any!", "not any!"):
                    collect(comodel_name, Domain(condition.value))
                elif condition.operator in ("child_of", "parent_of") and (
                    comodel_name == "service.org.unit"
                ):
                    values = condition.value
                    values = [values] if isinstance(values, int) else values
                    unit_ids.update(v for v in values if isinstance(v, int))

        collect(model_name, self.env["ir.rule"]._compute_domain(model_name, "read"))
        return frozenset(unit_ids)

    @api.model
    def _onchange_line_ids(self, commands):
        """Ids of the lines of an x2many value as the client sends it (commands)."""
        ids = set()
        for command in commands or ():
            if command[0] in (Command.LINK, Command.UPDATE):
                ids.add(command[1])
            elif command[0] == Command.SET:
                ids.update(command[2])
        return ids

    @api.model
    def _history_rows(self, lines, spec):
        """`lines.web_read(spec)` for lines just searched (and fetched) as the user: their
        record rules were applied by the search, so the values are formatted from what it
        fetched instead of checking each line's rules again; many2ones with their display
        name (read as web_read does). Any other spec goes through web_read."""
        if not lines:
            return []
        fields = lines._fields
        simple = all(
            name in fields
            and (
                fields[name].type not in ("many2one", "one2many", "many2many", "properties")
                or (
                    fields[name].type == "many2one"
                    and set(sub.get("fields", {})) <= {"display_name"}
                )
            )
            for name, sub in spec.items()
        )
        if not simple:
            return lines.web_read(spec)
        lines.browse()._determine_fields_to_fetch(list(spec))  # field access, as read() does
        rows = lines._read_format(list(spec), load=None)
        for name, sub in spec.items():
            if fields[name].type != "many2one" or "fields" not in sub:
                continue
            targets = lines[name]
            if "context" in sub:
                targets = targets.with_context(**sub["context"])
            names = {target.id: target.display_name for target in targets.sudo()}
            for row in rows:
                if row[name]:
                    row[name] = {"id": row[name], "display_name": names[row[name]]}
                    if "display_name" not in sub["fields"]:
                        del row[name]["display_name"]
        return rows

    @api.onchange("serial_number")
    def _onchange_serial_number(self):
        """A scanned serial number finds its owner (and preselects the appliance)."""
        self.serial_error = False
        serial = (self.serial_number or "").strip()
        if not serial:
            return
        appliance = self._find_appliance(serial)
        if not appliance:
            self.serial_error = self.env._("No appliance with serial number %s.", serial)
            return
        self.partner_id = appliance.partner_id
        self.appliance_id = appliance

    @api.onchange("type_id")
    def _onchange_type_id(self):
        if self.type_id:
            self.priority = self.type_id.default_priority

    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        if self.appliance_id and self.appliance_id.partner_id != self.partner_id:
            self.appliance_id = False

    # ------------------------------------------------------------ actions
    def action_create_customer(self):
        """Quick-create of an unknown caller and their appliance, then back to the screen."""
        self.ensure_one()
        if self.partner_id:
            raise UserError(self.env._("The caller is already a known customer."))
        if not self.phone_e164:
            raise UserError(self.phone_error or self.env._("Type the caller's number first."))
        if not (self.new_name or "").strip():
            raise UserError(self.env._("Give the customer's name."))
        if bool(self.new_product_id) != bool((self.new_serial_number or "").strip()):
            raise UserError(
                self.env._("To register the appliance, give both its product and serial number.")
            )
        partner = self.env["res.partner"].create(self._prepare_partner_vals())
        appliance = self.env["service.dispatch.appliance"]
        if self.new_product_id:
            appliance = appliance.create(
                {
                    "partner_id": partner.id,
                    "product_id": self.new_product_id.id,
                    "serial_number": self.new_serial_number,
                    "purchase_date": self.new_purchase_date,
                }
            )
        self.write({"partner_id": partner.id, "appliance_id": appliance.id})
        return True

    def action_record_request(self, dispatch=False):
        """Record the caller's request (channel phone, taken by the agent); a work order
        request gets its work order (with `dispatch`, dispatched at once to the best
        outlet covering the address), a request closed at intake is closed with the
        outcome."""
        self.ensure_one()
        if not self.partner_id:
            raise UserError(self.env._("Find or create the customer first."))
        if not self.type_id:
            raise UserError(self.env._("Choose the request type."))
        if self.type_id.path == "close_at_intake" and not (self.outcome or "").strip():
            raise UserError(
                self.env._("A %(type)s is closed at intake: say what its outcome is.",
                           type=self.type_id.name)
            )  # fmt: skip
        # The number is the screen's E.164 reading: the request does not parse it again.
        Request = self.env["service.dispatch.request"].with_context(
            service_dispatch_phone_e164=True
        )
        if self.type_id.path == "work_order":
            # in progress from the start: its work order is created just below
            request = Request._create_in_progress([self._prepare_request_vals()])
        else:
            request = Request.create(self._prepare_request_vals())
        request = request.with_env(self.env)
        if request.type_id.path == "work_order" and not request.work_order_ids:
            request.action_create_work_order(dispatch=dispatch)
        elif request.type_id.path == "close_at_intake":
            request.action_close(self.outcome)
        self.request_id = request
        return True

    def action_record_and_dispatch(self):
        """Record & Dispatch (dispatchers): the request, its work order, and the order
        dispatched to the best outlet covering the address, in one click; without such
        an outlet the order waits for the Dispatch dialog."""
        if not self.env.user.has_group(DISPATCHER):
            raise AccessError(self.env._("Only dispatchers may dispatch work orders."))
        return self.action_record_request(dispatch=True)

    def action_new_call(self):
        """A blank screen for the next call."""
        return self.create({})._form_action()

    # ------------------------------------------------------------ business
    def _find_callers(self, e164):
        """The customers calling from `e164` that the user may read, members first."""
        # The multi-company rule of contacts (`company_id parent_of` the user's companies)
        # reads the companies' parent_path: fetch that column alone, not the whole rows.
        self.env.companies.sudo().fetch(["parent_path"])
        return self.env["res.partner"].search_fetch(
            [("phone_sanitized", "=", e164)],
            CALLER_FIELDS,
            order="service_is_member desc, id",
        )

    def _find_appliance(self, serial):
        return self.env["service.dispatch.appliance"].search(
            [("serial_number", "=", serial)], limit=1
        )

    @api.model
    def _caller_history(self, partner, columns=None):
        """What the agent sees of `partner`: appliances, open requests, past work orders,
        past complaints. Searched as the current user, so record rules apply; each list
        is fetched with its columns (`columns`: list key -> field names, to add to those
        of the screen) in its search query."""
        columns = columns or {}

        def with_columns(model, key, names):
            return [
                name
                for name in dict.fromkeys([*names, *columns.get(key, ())])
                if name in model._fields and model._fields[name].store
            ]

        Appliance = self.env["service.dispatch.appliance"]
        Request = self.env["service.dispatch.request"]
        WorkOrder = self.env["service.dispatch.work.order"]
        history = {
            "appliances": Appliance,
            "open_requests": Request,
            "work_orders": WorkOrder,
            "complaints": Request,
        }
        if not partner:
            return history
        partner_domain = [("partner_id", "=", partner.id)]
        # search_fetch: each list in one query, with the columns the screen shows.
        if Appliance.has_access("read"):
            history["appliances"] = Appliance.search_fetch(
                partner_domain,
                with_columns(
                    Appliance,
                    "appliances",
                    ["product_label", "serial_number", "purchase_date", "warranty_end"],
                ),
            )
        if Request.has_access("read"):
            requests = Request.search_fetch(
                partner_domain,
                with_columns(
                    Request,
                    "open_requests",
                    [
                        "name",
                        "create_date",
                        "type_id",
                        "appliance_id",
                        "state",
                        "description",
                        *columns.get("complaints", ()),
                    ],
                ),
                order="id desc",
            )
            # the id of the complaint type (cached), not its record: no query per call
            complaint_id = self.env["ir.model.data"]._xmlid_to_res_id(
                COMPLAINT_TYPE, raise_if_not_found=False
            )
            history["open_requests"] = requests.filtered(
                lambda r: r.state in ("open", "in_progress")
            )
            history["complaints"] = requests.filtered(lambda r: r.type_id.id == complaint_id)
        if WorkOrder.has_access("read"):
            history["work_orders"] = WorkOrder.search_fetch(
                partner_domain,
                with_columns(
                    WorkOrder,
                    "work_orders",
                    ["name", "create_date", "service_type", "appliance_id", "state"],
                ),
                order="id desc",
                limit=PAST_WORK_ORDERS,
            )
        return history

    def _prepare_partner_vals(self):
        self.ensure_one()
        return {
            "name": self.new_name.strip(),
            "phone": self.phone_e164,
            "street": self.new_street,
            "city": self.new_city,
            "service_district": self.new_district,
            "zip": self.new_zip,
            "state_id": self.new_state_id.id,
            "country_id": (self.new_state_id.country_id or self.env.company.country_id).id,
        }

    def _prepare_request_vals(self):
        self.ensure_one()
        return {
            "partner_id": self.partner_id.id,
            "appliance_id": self.appliance_id.id,
            "type_id": self.type_id.id,
            "priority": self.priority or self.type_id.default_priority,
            "description": self.description,
            "channel": "phone",
            "phone": self.phone_e164 or False,
            "user_id": self.env.uid,
        }

    def _form_action(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_dispatch.service_dispatch_intake_action"
        )
        action["res_id"] = self.id
        return action

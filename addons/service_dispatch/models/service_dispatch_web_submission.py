from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, email_normalize

# The request types a customer may choose on the public web form.
WEB_REQUEST_TYPES = (
    "service_dispatch.request_type_repair",
    "service_dispatch.request_type_installation",
    "service_dispatch.request_type_consultation",
)
WEB_FIELDS = ("name", "phone", "email", "product", "serial_number", "description", "type_id")
RATE_LIMIT_PARAM = "service_dispatch.web_form_rate_limit"
RATE_MINUTES_PARAM = "service_dispatch.web_form_rate_minutes"
KEEP_DAYS = 7
ADVISORY_LOCK_KEY = 130013  # namespace of pg_advisory_xact_lock(key, hashtext(ip))


class ServiceDispatchWebSubmission(models.Model):
    """One submission of the public web form (/service/request), by client address.

    The log is the rate limit: it lives in the database, so every worker counts the
    same submissions. Written by `_submit` only (sudo); kept a week.
    """

    _name = "service.dispatch.web.submission"
    _description = "Web Form Submission"
    _order = "id desc"

    ip = fields.Char(string="Client Address", required=True, readonly=True)
    state = fields.Selection(
        [("accepted", "Accepted"), ("invalid", "Invalid"), ("spam", "Spam (honeypot)")],
        required=True,
        readonly=True,
    )
    request_id = fields.Many2one("service.dispatch.request", readonly=True, ondelete="set null")

    _ip_date_idx = models.Index("(ip, create_date)")

    # ------------------------------------------------------------ business
    @api.model
    def _web_request_types(self):
        types = self.env["service.dispatch.request.type"]
        for xmlid in WEB_REQUEST_TYPES:
            types |= self.env.ref(xmlid, raise_if_not_found=False) or types.browse()
        return types.filtered("active")

    @api.model
    def _rate_limit(self):
        params = self.env["ir.config_parameter"].sudo()
        limit = int(params.get_param(RATE_LIMIT_PARAM, 5))
        minutes = int(params.get_param(RATE_MINUTES_PARAM, 10))
        return limit, minutes

    @api.model
    def _is_rate_limited(self, ip):
        """Whether `ip` has used up its submissions of the period. Serialised per address
        (transaction advisory lock) so concurrent workers cannot both take the last one."""
        limit, minutes = self._rate_limit()
        self.env.cr.execute(
            SQL("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", ADVISORY_LOCK_KEY, ip)
        )
        self.flush_model()
        since = fields.Datetime.now() - timedelta(minutes=minutes)
        return self.sudo().search_count([("ip", "=", ip), ("create_date", ">", since)]) >= limit

    @api.model
    def _submit(self, values, ip, honeypot=False):
        """Record a web form submission from `ip`. Returns ``(status, errors, request)``:

        - ``limited``: over the rate limit, nothing recorded;
        - ``spam``: the honeypot was filled: logged, answered as accepted, no request;
        - ``invalid``: ``errors`` maps field names to messages, no request;
        - ``accepted``: the request (channel web form) of the customer found by their
          sanitized number, or created.
        """
        Request = self.env["service.dispatch.request"]
        if self._is_rate_limited(ip):
            return "limited", {}, Request
        if honeypot:
            self.sudo().create({"ip": ip, "state": "spam"})
            return "spam", {}, Request
        vals, errors = self._validate(values)
        if errors:
            self.sudo().create({"ip": ip, "state": "invalid"})
            return "invalid", errors, Request
        request = self._create_request(vals)
        self.sudo().create({"ip": ip, "state": "accepted", "request_id": request.id})
        return "accepted", {}, request

    @api.model
    def _validate(self, values):
        """Cleaned values of the form and the errors by field (translated)."""
        vals = {key: (values.get(key) or "").strip() for key in WEB_FIELDS}
        errors = {}
        if not vals["name"]:
            errors["name"] = self.env._("Please give your name.")
        if not vals["phone"]:
            errors["phone"] = self.env._("Please give a phone number we can call you back on.")
        else:
            try:
                vals["phone"] = self.env.company._service_phone_e164(vals["phone"])
            except ValidationError:
                errors["phone"] = self.env._(
                    "%(number)s is not a valid phone number.", number=vals["phone"]
                )
        if vals["email"]:
            normalized = email_normalize(vals["email"])
            if not normalized:
                errors["email"] = self.env._(
                    "%(email)s is not a valid e-mail address.", email=vals["email"]
                )
            vals["email"] = normalized
        if not vals["description"]:
            errors["description"] = self.env._("Please describe what you need.")
        request_type = self._web_request_types().filtered(lambda t: str(t.id) == vals["type_id"])
        if not request_type:
            errors["type_id"] = self.env._("Please choose what you need.")
        vals["type_id"] = request_type
        return vals, errors

    @api.model
    def _create_request(self, vals):
        """The request of a validated submission (sudo: the visitor is the public user)."""
        env = self.sudo().env
        partner = env["res.partner"].search(
            [("phone_sanitized", "=", vals["phone"])], order="service_is_member desc, id", limit=1
        )
        if not partner:
            partner = env["res.partner"].create(
                {"name": vals["name"], "phone": vals["phone"], "email": vals["email"] or False}
            )
        appliance = env["service.dispatch.appliance"]
        if vals["serial_number"]:
            appliance = appliance.search(
                [("serial_number", "=", vals["serial_number"]), ("partner_id", "=", partner.id)],
                limit=1,
            )
        details = [vals["description"]]
        if vals["name"] != partner.name:
            details.append(self.env._("Name given: %(name)s", name=vals["name"]))
        if vals["product"]:
            details.append(self.env._("Product: %(product)s", product=vals["product"]))
        if vals["serial_number"] and not appliance:
            details.append(self.env._("Serial number: %(serial)s", serial=vals["serial_number"]))
        company = self.env.company
        return env["service.dispatch.request"].create(
            {
                "partner_id": partner.id,
                "appliance_id": appliance.id,
                "type_id": vals["type_id"].id,
                "channel": "web_form",
                "phone": vals["phone"],
                "description": "\n\n".join(details),
                "user_id": False,
                "unit_id": company._service_dispatch_intake_unit().id,
                "company_id": company.id,
            }
        )

    @api.autovacuum
    def _gc_old_submissions(self):
        limit = fields.Datetime.now() - timedelta(days=KEEP_DAYS)
        self.sudo().search([("create_date", "<", limit)]).unlink()

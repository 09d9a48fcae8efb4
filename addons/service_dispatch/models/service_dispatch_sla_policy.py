from odoo import api, fields, models

from .service_dispatch_request_type import PRIORITIES


class ServiceDispatchSlaPolicy(models.Model):
    """How long a work order may take, per request type and priority: working hours to
    accept, to be on site and to finish, counted from the order's creation on the
    working calendar of its outlet (of its service unit until it is dispatched),
    holidays excluded. The most specific policy applies (type and priority, then type,
    then priority, then the catch-all), the lowest sequence first among equals."""

    _name = "service.dispatch.sla.policy"
    _description = "SLA Policy"
    # The SLA engine caches the terms matched per type, priority and company
    # (service.dispatch.work.order._sla_terms).
    _inherit = ["service.cache.mixin"]
    _cache_depends = {"sla": None}
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    type_id = fields.Many2one(
        "service.dispatch.request.type",
        string="Request Type",
        ondelete="cascade",
        check_company=True,
        help="Empty: any request type.",
    )
    priority = fields.Selection(PRIORITIES, help="Empty: any priority.")
    hours_accept = fields.Float(
        string="Hours to Accept",
        help="Working hours from the order's creation until the outlet accepts it. 0: no deadline.",
    )
    hours_on_site = fields.Float(
        string="Hours to Be on Site",
        help="Working hours from the order's creation until the technician is on site.",
    )
    hours_done = fields.Float(
        string="Hours to Finish",
        help="Working hours from the order's creation until the job is done.",
    )
    warning_percent = fields.Float(
        string="Warning at (%)",
        default=80.0,
        help="Warn the people responsible when this share of the current deadline's "
        "working hours has passed.",
    )
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one("res.company", index=True, help="Empty: every company.")
    active = fields.Boolean(default=True)

    _hours_positive = models.Constraint(
        "CHECK (hours_accept >= 0 AND hours_on_site >= 0 AND hours_done >= 0)",
        "An SLA policy's hours cannot be negative.",
    )
    _warning_percent_range = models.Constraint(
        "CHECK (warning_percent > 0 AND warning_percent <= 100)",
        "The warning falls between 0 and 100 % of the deadline.",
    )

    @api.model
    def _match(self, request_type, priority, company):
        """The policy of an order of `request_type`, `priority` and `company` (or an
        empty recordset): the most specific active one."""
        candidates = self.sudo().search(
            [
                ("type_id", "in", [request_type.id, False]),
                ("priority", "in", [priority, False]),
                ("company_id", "in", [company.id, False]),
            ]
        )
        return self._most_specific(candidates)

    @api.model
    def _most_specific(self, candidates):
        if not candidates:
            return candidates
        return max(
            candidates,
            key=lambda p: (bool(p.type_id), bool(p.priority), bool(p.company_id), -p.sequence),
        )

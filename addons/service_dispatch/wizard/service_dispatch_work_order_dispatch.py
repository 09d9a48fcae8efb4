from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..models.service_dispatch_service_area import AREA_LEVELS


class ServiceDispatchWorkOrderDispatch(models.TransientModel):
    """The Dispatch dialog: the ranked candidates with the reason of each, the top one
    preselected. Choosing another outlet than the top candidate needs a reason, kept in
    the step log and the chatter. The work order's action_dispatch checks who may."""

    _name = "service.dispatch.work.order.dispatch"
    _description = "Dispatch Work Order"

    work_order_id = fields.Many2one("service.dispatch.work.order", required=True)
    unit_id = fields.Many2one(related="work_order_id.unit_id")
    line_ids = fields.One2many(
        "service.dispatch.work.order.dispatch.line", "wizard_id", string="Candidates"
    )
    top_outlet_id = fields.Many2one(
        "service.org.unit",
        string="Top Candidate",
        readonly=True,
        help="The best ranked outlet covering the address.",
    )
    outlet_id = fields.Many2one(
        "service.org.unit", required=True, domain=[("unit_type", "=", "outlet")]
    )
    technician_id = fields.Many2one(
        "service.dispatch.technician", domain="[('outlet_id', '=', outlet_id)]"
    )
    is_override = fields.Boolean(compute="_compute_is_override")
    override_reason = fields.Text(help="Why the order does not go to the top candidate.")
    note = fields.Text()

    @api.depends("outlet_id", "top_outlet_id")
    def _compute_is_override(self):
        for wizard in self:
            wizard.is_override = bool(
                wizard.top_outlet_id and wizard.outlet_id != wizard.top_outlet_id
            )

    @api.onchange("outlet_id")
    def _onchange_outlet_id(self):
        if self.technician_id.outlet_id != self.outlet_id:
            self.technician_id = False

    @api.model
    def default_get(self, fields):
        values = super().default_get(fields)
        order = self.env["service.dispatch.work.order"].browse(values.get("work_order_id"))
        if not order or "line_ids" not in fields:
            return values
        candidates = order._dispatch_candidates()
        values["line_ids"] = [
            Command.create(
                {
                    key: candidate[key]
                    for key in ("rank", "outlet_id", "level", "distance_km", "workload", "reason")
                }
            )
            for candidate in candidates
        ]
        if candidates:
            values.setdefault("outlet_id", candidates[0]["outlet_id"])
            if candidates[0]["level"]:
                values["top_outlet_id"] = candidates[0]["outlet_id"]
        return values

    def action_confirm(self):
        self.ensure_one()
        note = (self.note or "").strip()
        if self.is_override:
            reason = (self.override_reason or "").strip()
            if not reason:
                raise UserError(
                    self.env._(
                        "%(outlet)s is the top candidate: say why the order goes elsewhere.",
                        outlet=self.top_outlet_id.sudo().display_name,
                    )
                )
            override = self.env._(
                "Override of %(outlet)s: %(reason)s",
                outlet=self.top_outlet_id.sudo().display_name,
                reason=reason,
            )
            note = f"{override}\n{note}" if note else override
        self.work_order_id.action_dispatch(self.outlet_id.id, self.technician_id.id, note)
        return {"type": "ir.actions.act_window_close"}

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Dispatch %(order)s", order=self.work_order_id.name),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class ServiceDispatchWorkOrderDispatchLine(models.TransientModel):
    """A ranked candidate of the Dispatch dialog."""

    _name = "service.dispatch.work.order.dispatch.line"
    _description = "Dispatch Candidate"
    _order = "rank"

    wizard_id = fields.Many2one(
        "service.dispatch.work.order.dispatch", required=True, ondelete="cascade"
    )
    rank = fields.Integer()
    outlet_id = fields.Many2one("service.org.unit", required=True)
    level = fields.Selection(AREA_LEVELS, string="Coverage")
    distance_km = fields.Float(string="Distance (km)", digits=(16, 1))
    workload = fields.Integer(string="Open Orders")
    reason = fields.Char()

    def action_choose(self):
        """Choose this candidate in the dialog."""
        self.ensure_one()
        self.wizard_id.outlet_id = self.outlet_id
        self.wizard_id._onchange_outlet_id()
        return self.wizard_id._reopen()

import base64
import binascii

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import work_order_flow
from ..tools.work_order_flow import OPEN_STATES, STEPS_NEEDING_NOTE, WORK_ORDER_STATES
from .service_dispatch_request_type import SERVICE_TYPES

DISPATCHER = "service_dispatch.group_dispatch_dispatcher"
AGENT = "service_dispatch.group_dispatch_agent"
# Written by the step methods only (sudo): the status trail is not a form field.
PROTECTED_FIELDS = frozenset(
    {
        "state",
        "outlet_id",
        "technician_id",
        "customer_signature",
        "signed_by",
        "signed_on",
        "date_dispatched",
        "date_accepted",
        "date_on_site",
        "date_done",
        "date_feedback",
        "refuse_reason",
        "cancel_reason",
        "work_summary",
        "feedback_rating",
        "feedback_comment",
        "step_ids",
    }
)
# The date each step stamps on the order.
STEP_DATES = {
    "dispatch": "date_dispatched",
    "accept": "date_accepted",
    "on_site": "date_on_site",
    "done": "date_done",
    "feedback": "date_feedback",
}
FEEDBACK_RATINGS = [
    ("1", "Very Dissatisfied"),
    ("2", "Dissatisfied"),
    ("3", "Neutral"),
    ("4", "Satisfied"),
    ("5", "Very Satisfied"),
]


class ServiceDispatchWorkOrder(models.Model):
    """A work order (派工单): a repair or installation job sent to an outlet.

    Its trail is dispatched → accepted → on site → done → feedback recorded, or refused
    by the outlet (back to dispatch) or cancelled (tools/work_order_flow.py). Each step
    is a named method that checks who may take it, stamps its date, and writes a step
    log line (time, author, outlet, note); the chatter shows the state changes. Rights
    and record rules guard the rest: `write` refuses the trail's fields to anyone but
    those methods.
    """

    _name = "service.dispatch.work.order"
    _description = "Work Order"
    _inherit = ["mail.thread", "mail.activity.mixin", "portal.mixin"]
    _order = "priority desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference", required=True, readonly=True, copy=False, default="/", index=True
    )
    request_id = fields.Many2one(
        "service.dispatch.request",
        string="Service Request",
        required=True,
        index=True,
        ondelete="restrict",
    )
    unit_id = fields.Many2one(
        related="request_id.unit_id",
        store=True,
        index=True,
        string="Service Unit",
        help="The service centre that took the request and dispatches its work orders.",
    )
    priority = fields.Selection(related="request_id.priority", store=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True)
    appliance_id = fields.Many2one("service.dispatch.appliance", index="btree_not_null")
    product_id = fields.Many2one(related="appliance_id.product_id", store=True)
    address_id = fields.Many2one(
        "res.partner",
        string="Service Address",
        help="Where the technician goes: the appliance's installation address.",
    )
    service_type = fields.Selection(SERVICE_TYPES, required=True, default="repair")
    description = fields.Text()
    outlet_id = fields.Many2one(
        "service.org.unit",
        index="btree_not_null",
        domain=[("unit_type", "=", "outlet")],
        tracking=True,
        readonly=True,
    )
    technician_id = fields.Many2one(
        "service.dispatch.technician", tracking=True, readonly=True, index="btree_not_null"
    )
    state = fields.Selection(
        WORK_ORDER_STATES,
        default="new",
        required=True,
        index=True,
        tracking=True,
        readonly=True,
        group_expand=True,
    )
    date_dispatched = fields.Datetime(readonly=True)
    date_accepted = fields.Datetime(readonly=True)
    date_on_site = fields.Datetime(readonly=True)
    date_done = fields.Datetime(readonly=True)
    date_feedback = fields.Datetime(readonly=True)
    refuse_reason = fields.Text(string="Last Refusal Reason", readonly=True)
    refuse_count = fields.Integer(compute="_compute_refuse_count", store=True)
    cancel_reason = fields.Text(readonly=True)
    work_summary = fields.Text(string="Work Done", readonly=True)
    feedback_rating = fields.Selection(FEEDBACK_RATINGS, string="Customer Rating", readonly=True)
    feedback_comment = fields.Text(string="Customer Feedback", readonly=True)
    step_ids = fields.One2many(
        "service.dispatch.work.order.step", "work_order_id", string="Status Trail", readonly=True
    )
    is_open = fields.Boolean(compute="_compute_is_open", search="_search_is_open")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    color = fields.Integer()

    # ------------------------------------------------------------ computes
    @api.depends("step_ids.step")
    def _compute_refuse_count(self):
        for order in self:
            order.refuse_count = len(order.step_ids.filtered(lambda s: s.step == "refuse"))

    @api.depends("state")
    def _compute_is_open(self):
        for order in self:
            order.is_open = order.state in OPEN_STATES

    def _search_is_open(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        wanted = (True in value) == (operator == "in")
        return [("state", "in" if wanted else "not in", list(OPEN_STATES))]

    # ------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                if PROTECTED_FIELDS.intersection(vals):
                    raise AccessError(
                        self.env._("A new work order is to dispatch: use its Dispatch button.")
                    )
        Request = self.env["service.dispatch.request"]
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("service.dispatch.work.order")
            if vals.get("request_id") and not vals.get("partner_id"):
                vals["partner_id"] = Request.browse(vals["request_id"]).partner_id.id
        orders = super().create(vals_list)
        orders._log_step("create", False, "new")
        return orders

    def write(self, vals):
        if not self.env.su and PROTECTED_FIELDS.intersection(vals):
            raise AccessError(
                self.env._(
                    "A work order's outlet, technician and status change through its steps "
                    "(dispatch, accept, refuse, on site, done, feedback, cancel)."
                )
            )
        return super().write(vals)

    # ------------------------------------------------------------ steps
    def action_dispatch(self, outlet_id, technician_id=False, note=None):
        """Send the orders to an outlet (dispatchers, within their scope). A refused
        order comes back here; the outlet's parent centre follows the order."""
        self._check_dispatcher()
        outlet = self.env["service.org.unit"].browse(outlet_id).exists()
        if not outlet or outlet.unit_type != "outlet":
            raise UserError(self.env._("Dispatch a work order to an outlet."))
        values = {"outlet_id": outlet.id, "technician_id": False}
        if technician_id:
            values["technician_id"] = self._checked_technician(technician_id, outlet).id
        self._run_step("dispatch", note, values)
        parent_partners = outlet.sudo().parent_id.manager_ids.partner_id
        if parent_partners:
            for order in self:
                order.sudo().message_subscribe(partner_ids=parent_partners.ids)
        return True

    def action_accept(self, technician_id=False, note=None):
        """The outlet takes the job, optionally naming the technician."""
        self._check_outlet_actor()
        values = {}
        if technician_id:
            self.ensure_one()
            values["technician_id"] = self._checked_technician(technician_id, self.outlet_id).id
        self._run_step("accept", note, values)
        return True

    def action_refuse(self, reason):
        """The outlet cannot take the job: back to dispatch, with the reason."""
        self._check_outlet_actor()
        self._run_step(
            "refuse", reason, {"outlet_id": False, "technician_id": False, "refuse_reason": reason}
        )
        return True

    def action_on_site(self, note=None):
        self._check_outlet_actor()
        self._run_step("on_site", note)
        return True

    def action_done(self, work_summary=None):
        """The job is finished; `work_summary` says what was done."""
        self._check_outlet_actor()
        self._run_step("done", work_summary, {"work_summary": work_summary or False})
        return True

    def action_record_feedback(self, rating, comment=None):
        """What the customer said after the job (an agent's callback, or the outlet):
        closes the order, and its request when no other order of it is open."""
        self._check_feedback_actor()
        if rating not in dict(FEEDBACK_RATINGS):
            raise UserError(
                self.env._(
                    "The customer's rating is one of %(ratings)s.",
                    ratings=", ".join(dict(FEEDBACK_RATINGS)),
                )
            )
        self._run_step(
            "feedback", comment, {"feedback_rating": rating, "feedback_comment": comment or False}
        )
        requests = self.sudo().request_id.filtered(
            lambda r: (
                r.state == "in_progress"
                and all(order.state in ("closed", "cancelled") for order in r.work_order_ids)
            )
        )
        for request in requests:
            request._close(self.env._("Work order completed, customer feedback recorded."))
        return True

    def action_cancel(self, reason):
        self._check_dispatcher()
        self._run_step("cancel", reason, {"cancel_reason": reason})
        return True

    def action_open_transition(self):
        """Open the dialog of the step named in the context (`transition_step`)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self._step_labels()[self.env.context["transition_step"]],
            "res_model": "service.dispatch.work.order.transition",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_work_order_id": self.id,
                "default_step": self.env.context["transition_step"],
            },
        }

    # ------------------------------------------------------------ checks
    def _check_dispatcher(self):
        if not self.env.user.has_group(DISPATCHER):
            raise AccessError(self.env._("Only dispatchers may dispatch or cancel work orders."))
        self.check_access("write")

    def _check_outlet_actor(self):
        """The outlet's supervisors and managers (and everyone above them in the tree),
        or a dispatcher recording what the outlet said on the phone."""
        self.check_access("read")
        user = self.env.user
        if user.has_group(DISPATCHER) and self.has_access("write"):
            return
        for order in self:
            if not order.outlet_id or not (
                user._service_acts_on(order.outlet_id)
                or user._service_dispatch_portal_outlet() == order.outlet_id
            ):
                raise AccessError(
                    self.env._(
                        "Only the people of the outlet the work order is dispatched to may "
                        "accept, refuse or complete %(order)s.",
                        order=order.name,
                    )
                )

    def _check_feedback_actor(self):
        self.check_access("read")
        if self.env.user.has_group(AGENT):
            return
        self._check_outlet_actor()

    def _checked_technician(self, technician_id, outlet):
        technician = self.env["service.dispatch.technician"].sudo().browse(technician_id).exists()
        if not technician or technician.outlet_id != outlet:
            raise UserError(
                self.env._(
                    "The technician must belong to outlet %(outlet)s.", outlet=outlet.display_name
                )
            )
        return technician

    # ------------------------------------------------------------ trail
    def _run_step(self, step, note=None, values=None):
        """Take `step` on every order: check the trail allows it, write the new state,
        its date and `values` (sudo, the caller checked who may), log the step."""
        note = (note or "").strip() or False
        if step in STEPS_NEEDING_NOTE and not note:
            raise UserError(self.env._("Give a reason to refuse or cancel a work order."))
        labels = dict(self._fields["state"]._description_selection(self.env))
        step_labels = self._step_labels()
        now = fields.Datetime.now()
        for order in self:
            try:
                target = work_order_flow.next_state(step, order.state)
            except work_order_flow.TransitionError:
                raise UserError(
                    self.env._(
                        "%(order)s is %(state)s: it cannot be %(step)s.",
                        order=order.name,
                        state=labels[order.state],
                        step=step_labels[step].lower(),
                    )
                ) from None
            previous = order.state
            # The outlet that refused is logged, before the refusal clears it.
            outlet = order.outlet_id
            vals = dict(values or {}, state=target)
            if step in STEP_DATES:
                vals[STEP_DATES[step]] = now
            order.sudo().write(vals)
            order._log_step(step, previous, target, note=note, outlet=outlet or order.outlet_id)

    def _log_step(self, step, state_from, state_to, note=False, outlet=None):
        self.env["service.dispatch.work.order.step"].sudo().create(
            [
                {
                    "work_order_id": order.id,
                    "step": step,
                    "state_from": state_from,
                    "state_to": state_to,
                    "user_id": self.env.uid,
                    "outlet_id": (outlet or order.outlet_id).id,
                    "technician_id": order.technician_id.id,
                    "note": note,
                }
                for order in self
            ]
        )
        if note and step != "create":
            for order in self:
                order.sudo().message_post(
                    body=self.env._(
                        "%(step)s: %(note)s", step=self._step_labels()[step], note=note
                    ),
                    author_id=self.env.user.partner_id.id,
                )

    def _step_labels(self):
        """The steps' labels in the user's language."""
        Step = self.env["service.dispatch.work.order.step"]
        return dict(Step._fields["step"]._description_selection(self.env))

    # ------------------------------------------------------------ portal
    # Outlet staff on the portal (controllers/portal.py): /my/work-orders/<id>; the step
    # methods above accept them for their outlet (_check_outlet_actor).
    customer_signature = fields.Binary(copy=False, attachment=True, readonly=True)
    signed_by = fields.Char(copy=False, readonly=True)
    signed_on = fields.Datetime(copy=False, readonly=True)

    def _compute_access_url(self):
        for order in self:
            order.access_url = f"/my/work-orders/{order.id}"

    def action_portal_sign(self, name, signature):
        """The customer signs for the job on the outlet's phone (Odoo's portal signature):
        `signature` is the base64 PNG, `name` who signed. The outlet's people only, once
        the technician is on site or done."""
        self.ensure_one()
        self._check_outlet_actor()
        name = (name or "").strip()
        if self.state not in ("on_site", "done"):
            raise UserError(
                self.env._("The customer signs once the technician is on site or done.")
            )
        if self.customer_signature:
            raise UserError(self.env._("%(order)s is already signed.", order=self.name))
        if not name or not signature:
            raise UserError(self.env._("The customer's name and signature are both needed."))
        try:
            base64.b64decode(signature, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise UserError(self.env._("The signature could not be read: sign again.")) from None
        self.sudo().write(
            {"customer_signature": signature, "signed_by": name, "signed_on": fields.Datetime.now()}
        )
        self.sudo().message_post(
            body=self.env._("Signed by the customer: %(name)s", name=name),
            author_id=self.env.user.partner_id.id,
        )
        return True

    def _portal_dispatch_to_outlet(self, outlet):
        """Orders an outlet records from its own hotline go to that outlet (sudo: the
        caller, _portal_create_for_outlet, checked the user works for it); its parent
        centre follows them as after any dispatch."""
        self.sudo()._run_step("dispatch", None, {"outlet_id": outlet.id, "technician_id": False})
        parent_partners = outlet.sudo().parent_id.manager_ids.partner_id
        if parent_partners:
            for order in self:
                order.sudo().message_subscribe(partner_ids=parent_partners.ids)

    # ------------------------------------------------------------ business
    def _service_card(self):
        self.ensure_one()
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "service_type": self.service_type,
            "request_id": self.request_id.id,
            "appliance_id": self.appliance_id.id,
            "outlet": self.outlet_id.sudo().display_name or False,
            "date": self.create_date,
            "date_done": self.date_done or False,
        }

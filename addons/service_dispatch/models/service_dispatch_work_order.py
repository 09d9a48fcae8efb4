import base64
import binascii
import json
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz
from odoo import api, fields, models, tools
from odoo.addons.service_base.models.service_cache_mixin import service_ormcache
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.tools import SQL, format_datetime, json_default

from ..tools import dispatch_ranking, sla_clock, work_order_flow
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
        "refuse_count",
        "refuse_reason",
        "cancel_reason",
        "work_summary",
        "feedback_rating",
        "feedback_comment",
        "step_ids",
    }
)
# Written by the SLA engine only (`_sla_refresh` at creation and stage changes, the
# scheduled `_cron_check_sla`), as superuser.
SLA_FIELDS = frozenset(
    {
        "sla_policy_id",
        "sla_calendar_id",
        "sla_deadline_accept",
        "sla_deadline_on_site",
        "sla_deadline_done",
        "sla_deadline_kind",
        "sla_deadline",
        "sla_date_warning",
        "sla_warned",
        "sla_status",
        "escalation_level",
        "sla_next_check",
        "escalation_ids",
    }
)
PROTECTED_FIELDS |= SLA_FIELDS
# A change of these fields moves the order's deadlines.
SLA_TRIGGERS = frozenset({"state", "outlet_id"})
# The date each step stamps on the order.
STEP_DATES = {
    "dispatch": "date_dispatched",
    "accept": "date_accepted",
    "on_site": "date_on_site",
    "done": "date_done",
    "feedback": "date_feedback",
}
# The widest window a deadline is looked for in (days): beyond it, no deadline.
MAX_PLAN_DAYS = 1344
FEEDBACK_RATINGS = [
    ("1", "Very Dissatisfied"),
    ("2", "Dissatisfied"),
    ("3", "Neutral"),
    ("4", "Satisfied"),
    ("5", "Very Satisfied"),
]

# The function of the best outlet's ranking (see init)
RANKING_FUNCTION = "service_dispatch_rank_covered_outlets"
# What the SLA job reads of a due order (one query with the due search).
SLA_JOB_FIELDS = [
    "sla_deadline",
    "sla_deadline_kind",
    "sla_date_warning",
    "sla_warned",
    "sla_status",
    "escalation_level",
    "outlet_id",
    "unit_id",
    "company_id",
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
    # The stored related fields are computed before the order's insert (precompute): no
    # UPDATE of the new row at the next flush.
    unit_id = fields.Many2one(
        related="request_id.unit_id",
        store=True,
        precompute=True,
        index=True,
        string="Service Unit",
        help="The service centre that took the request and dispatches its work orders.",
    )
    priority = fields.Selection(related="request_id.priority", store=True, precompute=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True)
    appliance_id = fields.Many2one("service.dispatch.appliance", index="btree_not_null")
    product_id = fields.Many2one(related="appliance_id.product_id", store=True, precompute=True)
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
    # Counted by the refuse step itself (_run_step), not recomputed from the trail each
    # time a step line is added.
    refuse_count = fields.Integer(readonly=True, copy=False)
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

    # SLA (written by the engine only: see the SLA section below)
    sla_policy_id = fields.Many2one(
        "service.dispatch.sla.policy", string="SLA Policy", readonly=True
    )
    sla_calendar_id = fields.Many2one(
        "resource.calendar",
        string="SLA Calendar",
        readonly=True,
        help="The working calendar the deadlines were planned on.",
    )
    sla_deadline_accept = fields.Datetime(string="Accept by", readonly=True)
    sla_deadline_on_site = fields.Datetime(string="On Site by", readonly=True)
    sla_deadline_done = fields.Datetime(string="Finish by", readonly=True)
    sla_deadline_kind = fields.Selection(
        sla_clock.DEADLINE_KINDS, string="Current Deadline to", readonly=True
    )
    sla_deadline = fields.Datetime(
        string="Deadline", readonly=True, help="The deadline of the order's current stage."
    )
    sla_date_warning = fields.Datetime(string="Warning at", readonly=True)
    sla_warned = fields.Boolean(string="Warning Sent", readonly=True)
    sla_status = fields.Selection(
        sla_clock.SLA_STATUSES, string="SLA Status", readonly=True, index=True
    )
    escalation_level = fields.Integer(
        readonly=True, help="How many levels of the escalation ladder were told."
    )
    sla_next_check = fields.Datetime(
        string="Next SLA Check",
        readonly=True,
        index="btree_not_null",
        copy=False,
        help="When the SLA job looks at the order next (warning, deadline, escalation); "
        "empty when nothing is pending.",
    )
    escalation_ids = fields.One2many(
        "service.dispatch.escalation", "work_order_id", string="Escalations", readonly=True
    )

    # The open workload of each outlet (the dispatch ranking) counts from this index alone.
    _open_by_outlet_idx = models.Index(
        "(outlet_id) WHERE state IN ('new', 'dispatched', 'refused', 'accepted', 'on_site')"
    )

    # ------------------------------------------------------------ computes
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
    def _creation_message(self):
        # The model's label without reading ir.model.
        return self.env._("Work Order created")

    @api.model
    def _next_reference(self, code):
        """`ir.sequence.next_by_code(code)` in one query for a standard sequence without
        date ranges (the number drawn with the sequence found; its prefix and suffix
        interpolated by ir.sequence itself); other sequences through next_by_code."""
        Sequence = self.env["ir.sequence"]
        Sequence.browse().check_access("read")
        Sequence.flush_model()
        self.env.cr.execute(
            """SELECT name, prefix, suffix, padding,
                      CASE WHEN implementation = 'standard' AND use_date_range IS NOT TRUE
                           THEN nextval(format('ir_sequence_%%s', CASE WHEN id < 1000
                                THEN lpad(id::text, 3, '0') ELSE id::text END)::regclass)
                      END
                 FROM ir_sequence
                WHERE code = %s AND active AND (company_id = %s OR company_id IS NULL)
             ORDER BY company_id, id
                LIMIT 1""",
            (code, self.env.company.id),
        )
        row = self.env.cr.fetchone()
        if not row or row[4] is None:
            return Sequence.next_by_code(code)
        name, prefix, suffix, padding, number = row
        draft = Sequence.new({"name": name, "prefix": prefix, "suffix": suffix, "padding": padding})
        return draft.get_next_char(number)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                if PROTECTED_FIELDS.intersection(vals):
                    raise AccessError(
                        self.env._("A new work order is to dispatch: use its Dispatch button.")
                    )
        Request = self.env["service.dispatch.request"]
        vals_list = [dict(vals) for vals in vals_list]  # the SLA values go in: the caller's stay
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self._next_reference("service.dispatch.work.order")
            if vals.get("request_id") and not vals.get("partner_id"):
                vals["partner_id"] = Request.browse(vals["request_id"]).partner_id.id
        # The deadlines go in with the order (no second write): planned from its creation.
        self._sla_prepare_create(vals_list)
        # No creation message and no creator following the order: its trail's "create"
        # line says who created it and when, its request's chatter says so too and the
        # request's taker follows the request; the order's chatter shows the steps.
        quiet = self.with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
        orders = super(ServiceDispatchWorkOrder, quiet).create(vals_list).with_env(self.env)
        # Orders inserted dispatched (_create_dispatched) get their dispatch line in the
        # same batch as the create lines.
        dispatched = orders.filtered(lambda order: order.state == "dispatched")
        note = (dispatched and self.env.context.get("service_dispatch_note")) or False
        self.env["service.dispatch.work.order.step"].sudo().create(
            orders._step_values("create", False, "new")
            + dispatched._step_values("dispatch", "new", "dispatched", note)
        )
        if note:
            dispatched._post_step_note("dispatch", note)
        return orders

    @api.model
    def _create_dispatched(self, vals_list, note=None):
        """Create orders each dispatched at once to its top candidate when an outlet
        covers its address (the others wait for a dispatcher, as create() leaves them).
        Called as superuser, by callers that checked who may (the intake screen's
        Record & Dispatch, request types dispatching at once).

        The outlet is ranked from the values, before the insert: the order is inserted
        dispatched (no second write), its deadlines planned on the outlet's calendar,
        its trail's create and dispatch lines logged together (with `note`); then, as
        after any dispatch, the outlet's parent centre follows it and is notified."""
        now = fields.Datetime.now()
        vals_list = [dict(vals) for vals in vals_list]
        for vals in vals_list:
            outlet = self._best_outlet_for(self._dispatch_target_values(vals))
            if outlet:
                vals.update(outlet_id=outlet.id, state="dispatched", date_dispatched=now)
        creator = self.with_context(service_dispatch_note=(note or "").strip() or False)
        orders = creator.create(vals_list).with_env(self.env)
        dispatched = orders.filtered("outlet_id")
        for outlet in dispatched.outlet_id:
            to_outlet = dispatched.filtered(lambda order, outlet=outlet: order.outlet_id == outlet)
            to_outlet._notify_centre(outlet, new_orders=True)
        return orders

    def write(self, vals):
        if not self.env.su and PROTECTED_FIELDS.intersection(vals):
            raise AccessError(
                self.env._(
                    "A work order's outlet, technician and status change through its steps "
                    "(dispatch, accept, refuse, on site, done, feedback, cancel)."
                )
            )
        result = super().write(vals)
        if SLA_TRIGGERS.intersection(vals):
            self._sla_refresh(keep_plan=True)
        return result

    # ------------------------------------------------------------ steps
    def action_dispatch(self, outlet_id, technician_id=False, note=None):
        """Send the orders to an outlet (dispatchers, within their scope). A refused
        order comes back here; the outlet's parent centre follows the order and is
        notified."""
        self._check_dispatcher()
        outlet = self.env["service.org.unit"].browse(outlet_id).exists()
        if not outlet or outlet.unit_type != "outlet":
            raise UserError(self.env._("Dispatch a work order to an outlet."))
        technician = False
        if technician_id:
            technician = self._checked_technician(technician_id, outlet)
        self._dispatch_to(outlet, technician, note)
        return True

    def action_dispatch_best(self, note=None):
        """Dispatch each order to its top candidate: the best ranked outlet covering its
        address (dispatchers, within their scope; for request types that dispatch at
        once and for integrators). UserError when no outlet covers an order."""
        self._check_dispatcher()
        for order in self:
            # Ranked as superuser: the dispatcher check above is the gate (the order is
            # in the dispatcher's scope for writing, hence for reading).
            outlet = order.sudo()._best_outlet().with_env(self.env)
            if not outlet:
                raise UserError(
                    self.env._(
                        "No outlet taking work covers the address of %(order)s: choose one "
                        "with the Dispatch button.",
                        order=order.name,
                    )
                )
            order._dispatch_to(outlet, note=note)
        return True

    def action_open_dispatch(self):
        """The Dispatch dialog: the ranked candidates, the first preselected."""
        self.ensure_one()
        self._check_dispatcher()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Dispatch %(order)s", order=self.name),
            "res_model": "service.dispatch.work.order.dispatch",
            "view_mode": "form",
            "target": "new",
            "context": {"default_work_order_id": self.id},
        }

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
            if step == "refuse":
                vals["refuse_count"] = order.refuse_count + 1
            if step in STEP_DATES:
                vals[STEP_DATES[step]] = now
            order.sudo().write(vals)
            order._log_step(step, previous, target, note=note, outlet=outlet or order.outlet_id)

    def _log_step(self, step, state_from, state_to, note=False, outlet=None):
        self.env["service.dispatch.work.order.step"].sudo().create(
            self._step_values(step, state_from, state_to, note, outlet)
        )
        if note and step != "create":
            self._post_step_note(step, note)

    def _step_values(self, step, state_from, state_to, note=False, outlet=None):
        """The trail lines of `step` on these orders (create values)."""
        return [
            {
                "work_order_id": order.id,
                "step": step,
                "state_from": state_from,
                "state_to": state_to,
                "user_id": self.env.uid,
                "outlet_id": (outlet or order.outlet_id).id,
                "technician_id": order.technician_id.id,
                "note": note,
                # stored with the line (a related field otherwise recomputed at flush)
                "company_id": order.company_id.id,
            }
            for order in self
        ]

    def _post_step_note(self, step, note):
        """The note of a step in the orders' chatter."""
        for order in self:
            order.sudo().message_post(
                body=self.env._("%(step)s: %(note)s", step=self._step_labels()[step], note=note),
                author_id=self.env.user.partner_id.id,
            )

    def _step_labels(self):
        """The steps' labels in the user's language."""
        Step = self.env["service.dispatch.work.order.step"]
        return dict(Step._fields["step"]._description_selection(self.env))

    # ------------------------------------------------------------ dispatch choice
    def get_dispatch_candidates(self, limit=10):
        """The outlets this order may go to, best first (see _dispatch_candidates); for
        the Dispatch dialog, integrators and RPC clients."""
        return self._dispatch_candidates(limit=limit)

    def _dispatch_candidates(self, limit=10, covered_only=False, reasons=True):
        """Rank the outlets that may take this order, in one query.

        Candidates: the company's active outlets taking work (not suspended) in the
        subtree of the order's service unit, with the skill for the appliance's product
        category (a skill covers its sub-categories; no skills: every category). Ranked
        by the most specific service area covering the address (postcode > district >
        city > region; outlets covering nothing come last), then by distance (when the
        address and the outlet have coordinates), then by open workload, then id.

        The caller must be an agent who reads the order; outlets are ranked as
        superuser (a dispatcher need not read every outlet). Returns dicts: rank,
        outlet_id, outlet_name, level (False: not covered), area_id, distance_km (False:
        unknown), workload, reason. `covered_only`: the outlets covering the address
        only (the best one's choice), their workload alone counted. Without `reasons`,
        no reason is given (nor are the areas read).
        """
        self.ensure_one()
        if not self.env.su:
            if not self.env.user.has_group(AGENT):
                raise AccessError(self.env._("Only agents and dispatchers rank outlets."))
            self.check_access("read")
        return self._rank_outlets(self._dispatch_target(), limit, covered_only, reasons)

    def _dispatch_target(self):
        """What the ranking reads of the order: see _dispatch_target_values."""
        self.ensure_one()
        return {
            "company": self.company_id.id,
            "unit": self.unit_id.id,
            "address": (self.address_id or self.partner_id).id,
            "product": self.product_id.id or None,
        }

    @api.model
    def _dispatch_target_values(self, vals):
        """The ranking's target of an order about to be created from `vals` (as
        _prepare_work_order_vals of its request gives them): its company, service unit
        (its request's), address (the service address, else the customer) and product
        (the appliance's)."""
        request = self.env["service.dispatch.request"].browse(vals["request_id"])
        appliance = self.env["service.dispatch.appliance"].browse(vals.get("appliance_id"))
        return {
            "company": vals.get("company_id") or self.env.company.id,
            "unit": request.unit_id.id,
            "address": vals.get("address_id") or vals.get("partner_id"),
            "product": appliance.product_id.id or None,
        }

    @api.model
    def _rank_outlets(self, target, limit=10, covered_only=False, reasons=True):
        """The ranking of _dispatch_candidates for a `target` (_dispatch_target)."""
        self.env.flush_all()
        self.env.cr.execute(self._dispatch_candidates_query(target, limit, covered_only))
        rows = self.env.cr.dictfetchall()
        if not reasons:
            return [
                {
                    "rank": rank,
                    "outlet_id": row["id"],
                    "outlet_name": row["name"],
                    "level": row["level_rank"] and dispatch_ranking.LEVELS[row["level_rank"] - 1],
                    "area_id": row["area_id"] or False,
                    "distance_km": round(row["distance_km"], 2)
                    if row["distance_km"] is not None
                    else False,
                    "workload": row["workload"],
                }
                for rank, row in enumerate(rows, 1)
            ]
        areas = (
            self.env["service.dispatch.service.area"]
            .sudo()
            .browse([row["area_id"] for row in rows if row["area_id"]])
        )
        areas.fetch(["level", "state_id", "city", "district", "zip_prefix"])
        candidates = []
        for rank, row in enumerate(rows, 1):
            area = areas.browse(row["area_id"])
            distance = row["distance_km"]
            candidate = {
                "rank": rank,
                "outlet_id": row["id"],
                "outlet_name": row["name"],
                "level": area.level or False,
                "area_id": area.id or False,
                "distance_km": round(distance, 2) if distance is not None else False,
                "workload": row["workload"],
            }
            candidate["reason"] = self._dispatch_reason(candidate, area)
            candidates.append(candidate)
        return candidates

    @api.model
    def _dispatch_candidates_query(self, target, limit, covered_only=False):
        """The ranking query (see _dispatch_candidates) of `target` (_dispatch_target).
        Unknown coordinates are 0/0; names compare lower-cased and trimmed, postcodes by
        prefix without spaces. `covered_only` (the best outlet's choice): the outlets and
        their most specific covering area in one join, the workload counted for those
        alone, through the function `init` creates from the same query."""
        if covered_only:
            return SQL(
                "SELECT * FROM %s(%s, %s, %s, %s, %s)",
                SQL.identifier(RANKING_FUNCTION),
                target["company"],
                target["unit"],
                target["address"],
                target["product"],
                limit,
            )
        return SQL(_RANKING_TARGET + _RANKING_ALL, **self._ranking_params(target, limit))

    @api.model
    def _ranking_params(self, target, limit):
        return {
            **target,
            "levels": list(dispatch_ranking.LEVELS),
            # a literal list: the partial index of open orders by outlet applies
            "open_states": tuple(sorted(OPEN_STATES)),
            "radius": dispatch_ranking.EARTH_RADIUS_KM,
            "limit": limit,
        }

    def init(self):
        """The best outlet's ranking, on the path of every dispatch, runs in a plpgsql
        function: each connection plans it once and keeps its plan (planning the query
        takes longer than running it, ~1.5 ms against ~0.4 ms). Recreated from the
        query at every install and update."""
        result = super().init()
        arguments = {name: SQL(f"p_{name}") for name in ("company", "unit", "address", "product")}
        query = SQL(
            _RANKING_TARGET + _RANKING_COVERED,
            **self._ranking_params(arguments, SQL("p_limit")),
        )
        body = self.env.cr.mogrify(query.code, query.params).decode()
        function = SQL.identifier(RANKING_FUNCTION)
        self.env.cr.execute(SQL("DROP FUNCTION IF EXISTS %s(int, int, int, int, int)", function))
        self.env.cr.execute(
            SQL(
                """CREATE FUNCTION %s(
                       p_company int, p_unit int, p_address int, p_product int, p_limit int)
                   RETURNS TABLE (id int, name varchar, area_id int, level_rank int,
                                  workload bigint, distance_km float8, parent_path varchar)
                   LANGUAGE plpgsql STABLE
                   SET plan_cache_mode = force_generic_plan
                   AS %s""",
                function,
                f"#variable_conflict use_column\nBEGIN\nRETURN QUERY {body};\nEND",
            )
        )
        return result

    def _dispatch_reason(self, candidate, area):
        """Why a candidate ranks where it does, in the user's language."""
        if area:
            coverage = {
                "postcode": lambda: self.env._("Covers postcode %(area)s", area=area.zip_prefix),
                "district": lambda: self.env._("Covers district %(area)s", area=area.district),
                "city": lambda: self.env._("Covers city %(area)s", area=area.city),
                "region": lambda: self.env._("Covers region %(area)s", area=area.state_id.name),
            }[area.level]()
        else:
            coverage = self.env._("Outside its service areas")
        distance = candidate["distance_km"]
        workload = candidate["workload"]
        return dispatch_ranking.join_reason(
            [
                coverage,
                self.env._("%(distance)s km", distance=f"{distance:.1f}")
                if distance is not False
                else "",
                self.env._("1 open order")
                if workload == 1
                else self.env._("%(count)s open orders", count=workload),
            ]
        )

    def _best_outlet(self):
        """The top candidate: the best ranked outlet covering the address, if any."""
        self.ensure_one()
        return self._best_outlet_for(self._dispatch_target())

    @api.model
    def _best_outlet_for(self, target):
        """The best ranked outlet covering `target` (_dispatch_target), if any; read
        with its ancestors in one query (its calendar and centre are read next)."""
        self.env.flush_all()
        self.env.cr.execute(self._dispatch_candidates_query(target, 1, covered_only=True))
        row = self.env.cr.dictfetchone()
        Unit = self.env["service.org.unit"]
        if not row or not row["level_rank"]:
            return Unit
        ancestry = [int(part) for part in row["parent_path"].split("/") if part]
        Unit.sudo().browse(ancestry).fetch()
        return Unit.browse(row["id"])

    def _dispatch_to(self, outlet, technician=False, note=None):
        """Take the dispatch step to `outlet` (the caller checked who may): the trail,
        and the outlet's parent centre (its managers and supervisors) follows the order
        and is notified, one message per order."""
        values = {"outlet_id": outlet.id, "technician_id": technician.id if technician else False}
        self._run_step("dispatch", note, values)
        self._notify_centre(outlet)

    def _notify_centre(self, outlet, new_orders=False):
        """The parent centre of `outlet` the orders were just dispatched to (its active
        managers and supervisors) follows them and gets a note on each, with an inbox
        notification. `new_orders`: the orders were just created, so nobody follows
        them yet."""
        centre = outlet.sudo().parent_id
        people = dict(self._centre_people(centre.id)) if centre else {}
        if not people:
            return
        partners = self.env["res.partner"].browse(sorted(people))
        orders = self.sudo()
        # The orders each already follows (a refused order dispatched again, a manual
        # follower): one query, unless the orders are new.
        followed = defaultdict(set)
        if not new_orders:
            for follower in (
                self.env["mail.followers"]
                .sudo()
                .search_fetch(
                    [
                        ("res_model", "=", self._name),
                        ("res_id", "in", orders.ids),
                        ("partner_id", "in", partners.ids),
                    ],
                    ["res_id", "partner_id"],
                )
            ):
                followed[follower.partner_id.id].add(follower.res_id)
        # The centre follows the orders (one insert per set of new followers) and gets one
        # note per order with an inbox notification to each of its people (as the SLA
        # warnings): no e-mail is rendered or sent while the dispatcher waits.
        new_followers = defaultdict(list)  # partners -> orders they do not follow yet
        for order_id in orders.ids:
            missing = tuple(pid for pid in partners.ids if order_id not in followed[pid])
            if missing:
                new_followers[missing].append(order_id)
        for partner_ids, order_ids in new_followers.items():
            self.env["mail.followers"].sudo()._insert_followers(
                self._name,
                order_ids,
                list(partner_ids),
                customer_ids=[pid for pid in partner_ids if people[pid]],
                check_existing=False,
            )
        bodies = {
            order.id: self.env._(
                "%(order)s dispatched to %(outlet)s (%(centre)s).",
                order=order.name,
                outlet=outlet.display_name,
                centre=centre.display_name,
            )
            for order in orders
        }
        orders._log_inbox_notes(
            bodies,
            dict.fromkeys(orders.ids, partners),
            author_id=self.env.user.partner_id.id,
            message_type="comment",
        )

    @api.model
    @tools.ormcache("centre_id")
    def _centre_people(self, centre_id):
        """((partner id, is a portal user), ...) of the active managers and supervisors
        of a unit: who hears of its outlets' dispatches. In Odoo's registry cache, which
        a change of who manages or supervises a unit clears (service.org.unit, cache
        group "rules"), as do a user's new groups or archiving (res.users)."""
        self.env["service.org.unit"].flush_model(["manager_ids", "supervisor_ids"])
        self.env["res.users"].flush_model(["active", "share", "partner_id"])
        self.env.cr.execute(
            """SELECT u.partner_id, bool_or(u.share)
                 FROM res_users u
                WHERE u.active AND u.id IN (
                      SELECT user_id FROM service_org_unit_manager_rel WHERE unit_id = %(unit)s
                       UNION
                      SELECT user_id FROM service_org_unit_supervisor_rel WHERE unit_id = %(unit)s)
             GROUP BY u.partner_id
             ORDER BY u.partner_id""",
            {"unit": centre_id},
        )
        return tuple(self.env.cr.fetchall())

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
        self.sudo()._dispatch_to(outlet)

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

    # ------------------------------------------------------------ SLA
    def _sla_calendar(self):
        """The calendar the deadlines count on: the outlet's once dispatched, else the
        service unit's (each falls back to its ancestors', then the company's)."""
        self.ensure_one()
        unit = self.outlet_id or self.unit_id
        return unit._dispatch_calendar() if unit else self.company_id.resource_calendar_id

    @api.model
    def _sla_plan(self, calendar, start, hours_list):
        """The moments `hours_list` working hours after `start` on `calendar` (global
        leaves, i.e. public holidays, excluded); wall-clock hours without a calendar."""
        if not calendar:
            return [start + timedelta(hours=hours) for hours in hours_list]
        # A window about the size of the longest deadline (8 working hours a day, 5 days
        # a week, and a few days' margin for holidays), widened when it falls short: the
        # calendar's intervals are the same over a shorter window, only fewer.
        days = max(7, int(max(hours_list, default=0) / 8 * 7 / 5) + 3)
        while True:
            pairs = [
                (max(a, start), b)
                for a, b in self._sla_work_pairs(calendar.id, start.date(), days)
                if b > start
            ]
            moments = sla_clock.plan(pairs, hours_list)
            if all(moments) or days >= MAX_PLAN_DAYS:
                return [m and m.replace(microsecond=0) for m in moments]
            days = min(days * 4, MAX_PLAN_DAYS)

    @api.model
    @service_ormcache("calendar_id", "day", "days", group="sla")
    def _sla_work_pairs(self, calendar_id, day, days):
        """The working intervals of a calendar (naive UTC pairs, in order) from the start
        of `day` (UTC) over `days` + 1 days, global leaves excluded. Cached until a
        calendar, attendance or leave changes (cache group "sla")."""
        calendar = self.env["resource.calendar"].sudo().browse(calendar_id)
        begin = pytz.utc.localize(datetime.combine(day, time.min))
        intervals = calendar._work_intervals_batch(begin, begin + timedelta(days=days + 1))[False]
        return tuple(
            (
                a.astimezone(pytz.utc).replace(tzinfo=None),
                b.astimezone(pytz.utc).replace(tzinfo=None),
            )
            for a, b, _meta in intervals
        )

    @api.model
    def _sla_prepare_create(self, vals_list):
        """Add the SLA values of new orders to their create values (`vals_list`): the
        policy of their request, the three deadlines planned from their creation (the
        transaction's time, their create_date) on their calendar, the current one."""
        Request = self.env["service.dispatch.request"].sudo()
        Unit = self.env["service.org.unit"].sudo()
        now = fields.Datetime.now()
        ladders = {}
        for vals in vals_list:
            request = Request.browse(vals.get("request_id"))
            if not request:
                continue
            company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
            terms = self._sla_terms(request.type_id.id, request.priority, company.id)
            unit = Unit.browse(vals.get("outlet_id")) or request.unit_id
            calendar = unit._dispatch_calendar() if unit else company.resource_calendar_id
            start = vals.get("create_date") or self.env.cr.now()

            def delays(company=company):
                # the ladder is read only for a deadline already past
                if not ladders:
                    ladders.update(self._sla_ladders())
                return ladders.get(company.id, {}).get("delays", [])

            vals.update(
                self._sla_values(terms, calendar, start, vals.get("state", "new"), now, delays)
            )

    @api.model
    @service_ormcache("type_id", "priority", "company_id", group="sla")
    def _sla_terms(self, type_id, priority, company_id):
        """The terms (sla_clock.SlaTerms) of the policy of an order of this request type,
        priority and company (service.dispatch.sla.policy._match), or None. Cached until
        a policy changes (cache group "sla")."""
        policy = self.env["service.dispatch.sla.policy"]._match(
            self.env["service.dispatch.request.type"].browse(type_id),
            priority,
            self.env["res.company"].browse(company_id),
        )
        if not policy:
            return None
        return sla_clock.SlaTerms(
            policy.id,
            policy.hours_accept,
            policy.hours_on_site,
            policy.hours_done,
            policy.warning_percent,
        )

    def _sla_values(self, terms, calendar, start, state, now, delays, previous=None):
        """The SLA values of an order under `terms` (_sla_terms: its policy's, or None)
        created at `start` on `calendar`, in `state`: its three deadlines, the current
        one (of the state) with its warning, status and next check. `previous` (the
        order) keeps the warning and ladder level when its current deadline stays the
        same."""
        kinds = [kind for kind, _label in sla_clock.DEADLINE_KINDS]
        vals = {
            "sla_policy_id": terms.policy_id if terms else False,
            "sla_calendar_id": calendar.id if calendar else False,
        }
        deadlines, warnings = {}, {}
        if terms:
            hours = [terms.hours_accept, terms.hours_on_site, terms.hours_done]
            share = terms.warning_percent / 100
            moments = self._sla_plan(calendar, start, hours + [h * share for h in hours])
            for index, kind in enumerate(kinds):
                deadlines[kind] = (hours[index] and moments[index]) or False
                warnings[kind] = (hours[index] and moments[index + 3]) or False
        for kind in kinds:
            vals[f"sla_deadline_{kind}"] = deadlines.get(kind, False)
        kind = sla_clock.DEADLINE_BY_STATE.get(state)
        kind = kind if deadlines.get(kind) else False
        deadline, warning = deadlines.get(kind, False), warnings.get(kind, False)
        same = previous is not None and kind and kind == previous.sla_deadline_kind
        warned = same and previous.sla_warned
        level = previous.escalation_level if same else 0
        if callable(delays):  # the ladder counts only past the deadline
            delays = delays() if deadline and now >= deadline else []
        check = sla_clock.next_check(now, warning, deadline, warned, level, delays)
        vals.update(
            sla_deadline_kind=kind or False,
            sla_deadline=deadline,
            sla_date_warning=warning,
            sla_warned=bool(warned),
            escalation_level=level,
            sla_status=sla_clock.status(now, warning, deadline),
            sla_next_check=check or False,
        )
        return vals

    def _sla_refresh(self, keep_plan=False):
        """Match each order's policy, plan its three deadlines from its creation on its
        calendar, and set the current one (of its stage), its warning time, status and
        next check. A new current deadline starts its warning and ladder afresh. With
        `keep_plan` (a stage change), an order whose calendar and current deadline stay
        the same (e.g. dispatched to an outlet on the calendar of its service unit) keeps
        its policy and plan: only its status is updated."""
        now = fields.Datetime.now()
        ladders = None
        for order in self.sudo():
            calendar = order._sla_calendar()
            kind = sla_clock.DEADLINE_BY_STATE.get(order.state)
            if (
                keep_plan
                and order.sla_calendar_id
                and calendar == order.sla_calendar_id
                and order.sla_deadline_kind
                and kind == order.sla_deadline_kind
            ):
                # The same deadline on the same calendar (the policy is the one matched
                # for the order's type and priority, which a stage does not change).
                status = sla_clock.status(now, order.sla_date_warning, order.sla_deadline)
                if status != order.sla_status:
                    order.write({"sla_status": status})
                continue
            terms = self._sla_terms(
                order.request_id.type_id.id, order.priority, order.company_id.id
            )
            if ladders is None:
                ladders = self._sla_ladders()
            delays = ladders.get(order.company_id.id, {}).get("delays", [])
            order.write(
                self._sla_values(
                    terms, calendar, order.create_date, order.state, now, delays, order
                )
            )

    @api.model
    def _sla_ladders(self):
        """{company id: {"levels": [level, ...], "delays": [hours, ...]}} of every
        company's active escalation ladder, in order."""
        ladders = {}
        # One query for the levels with what the SLA engine reads of them.
        for level in (
            self.env["service.dispatch.escalation.level"]
            .sudo()
            .search_fetch([("active", "=", True)], ["company_id", "delay_hours", "levels_up"])
        ):
            ladder = ladders.setdefault(level.company_id.id, {"levels": [], "delays": []})
            ladder["levels"].append(level)
            ladder["delays"].append(level.delay_hours)
        return ladders

    @api.model
    def _cron_check_sla(self, batch_size=1000):
        """The SLA job: the orders whose next check has come (an index range on
        `sla_next_check`, nothing else is read), by batches: warnings, overdue status,
        escalations level by level. Run as a scheduled action, it commits each batch
        and stops when its time is up (the rest waits for the next run)."""
        now = fields.Datetime.now()
        orders_sudo = self.sudo()
        due = [("sla_next_check", "<=", now)]
        Cron = self.env["ir.cron"]
        in_cron = bool(self.env.context.get("ir_cron_progress_id"))
        if in_cron:
            Cron._commit_progress(remaining=orders_sudo.search_count(due))
        processed = 0
        while True:
            batch = orders_sudo.search_fetch(
                due, SLA_JOB_FIELDS, order="sla_next_check, id", limit=batch_size
            )
            if not batch:
                break
            batch._sla_advance(now)
            processed += len(batch)
            if in_cron and Cron._commit_progress(len(batch)) <= 0:
                break
        return processed

    def _sla_advance(self, now):
        """Apply what is due at `now` to these orders (sudo): the warning, the status,
        the ladder levels whose delay has passed; log and tell each in one go."""
        orders = self.sudo()
        ladders = self._sla_ladders()
        Unit = self.env["service.org.unit"].sudo()
        bases = orders.outlet_id | orders.unit_id
        ancestry = {
            unit.id: [int(p) for p in (unit.parent_path or "").split("/") if p] for unit in bases
        }
        units = Unit.browse({uid for ids in ancestry.values() for uid in ids})
        units.fetch(["manager_ids", "supervisor_ids", "name"])
        kind_labels = dict(self._fields["sla_deadline_kind"]._description_selection(self.env))
        logs, bodies, told = [], {}, {}
        for order in orders:
            ladder = ladders.get(order.company_id.id, {"levels": [], "delays": []})
            progress = sla_clock.advance(
                now,
                order.sla_date_warning,
                order.sla_deadline,
                order.sla_warned,
                order.escalation_level,
                ladder["delays"],
            )
            base = order.outlet_id or order.unit_id
            kind_label = kind_labels.get(order.sla_deadline_kind, "")
            deadline_text = (
                format_datetime(self.env, order.sla_deadline) if order.sla_deadline else ""
            )
            lines, users = [], self.env["res.users"]
            entry = {
                "work_order_id": order.id,
                "deadline_kind": order.sla_deadline_kind,
                "deadline": order.sla_deadline,
                "date": now,
            }
            if progress.warn:
                recipients = base.manager_ids | base.supervisor_ids
                users |= recipients
                logs.append(dict(entry, kind="warning", unit_id=base.id, user_ids=recipients.ids))
                lines.append(
                    self.env._(
                        "SLA warning: the deadline to %(kind)s (%(deadline)s) is near; "
                        "%(unit)s is told.",
                        kind=kind_label.lower(),
                        deadline=deadline_text,
                        unit=base.name,
                    )
                )
            for index in progress.levels:
                level = ladder["levels"][index]
                unit = Unit.browse(sla_clock.unit_up(ancestry[base.id], level.levels_up))
                recipients = unit.manager_ids | unit.supervisor_ids | level.user_ids
                users |= recipients
                logs.append(
                    dict(
                        entry,
                        kind="escalation",
                        level_id=level.id,
                        unit_id=unit.id,
                        user_ids=recipients.ids,
                    )
                )
                lines.append(
                    self.env._(
                        "Overdue: the deadline to %(kind)s (%(deadline)s) has passed; "
                        "escalated to %(unit)s (%(level)s).",
                        kind=kind_label.lower(),
                        deadline=deadline_text,
                        unit=unit.name,
                        level=level.name,
                    )
                )
            if lines:
                bodies[order.id] = "\n".join(lines)
                told[order.id] = users.partner_id
            vals = {"sla_next_check": progress.next_check or False}
            if progress.status != order.sla_status:
                vals["sla_status"] = progress.status
            if progress.warn:
                vals["sla_warned"] = True
            if progress.level != order.escalation_level:
                vals["escalation_level"] = progress.level
            order.write(vals)
        if logs:
            self.env["service.dispatch.escalation"].sudo().create(logs)
        if bodies:
            orders.browse(list(bodies))._log_inbox_notes(bodies, told)

    def _log_inbox_notes(self, bodies, partners, **log_values):
        """One chatter note per order ({order id: text}) in one batch, and an inbox
        notification of it to each of its `partners` ({order id: res.partner}): the
        dispatch notice to the centre and the SLA warnings and escalations."""
        messages = self._message_log_batch(bodies, **log_values)
        # one message per order, in the orders' order: no need to read them back
        self.env["mail.notification"].sudo().create(
            [
                {
                    "mail_message_id": message.id,
                    "res_partner_id": partner.id,
                    "notification_type": "inbox",
                    "notification_status": "sent",
                    "author_id": message.author_id.id,
                }
                for order, message in zip(self, messages, strict=True)
                for partner in partners.get(order.id, ())
            ]
        )

    # ------------------------------------------------------------ integration API
    # Public, stable calls for telephony systems (docs/integration.md, "Call centre").
    @api.model
    @api.readonly
    def service_get_status(self, reference):
        """Where a work order stands: `reference` is its reference (WO2026000042) or
        its id. Returns plain JSON (see `_service_status`).

        A work order that does not exist, or that the user may not read (record rules),
        raises a MissingError; a user without access to work orders an AccessError.
        """
        if isinstance(reference, int) and not isinstance(reference, bool):
            domain = [("id", "=", reference)]
        elif isinstance(reference, str) and reference.strip():
            domain = [("name", "=", reference.strip())]
        else:
            raise UserError(
                self.env._("Give the work order's reference (e.g. WO2026000042) or its id.")
            )
        order = self.search(domain, limit=1)
        if not order:
            raise MissingError(
                self.env._(
                    "No work order %(reference)s, or you may not read it.", reference=reference
                )
            )
        return order._service_status()

    def _service_status(self):
        """The status of one work order as plain JSON: what integrators read."""
        self.ensure_one()
        order = self.sudo()  # the caller may read the order: its names come with it
        labels = dict(self._fields["state"]._description_selection(self.env))
        outlet = order.outlet_id
        appliance = order.appliance_id
        status = {
            "id": order.id,
            "name": order.name,
            "state": order.state,
            "state_label": labels[order.state],
            "is_open": order.state in OPEN_STATES,
            "service_type": order.service_type,
            "priority": order.priority or "0",
            "request": {
                "id": order.request_id.id,
                "name": order.request_id.name,
                "state": order.request_id.state,
            },
            "customer": {"id": order.partner_id.id, "name": order.partner_id.display_name},
            "appliance": {
                "id": appliance.id,
                "product": appliance.product_id.display_name,
                "serial_number": appliance.serial_number,
            }
            if appliance
            else False,
            "outlet": {"id": outlet.id, "code": outlet.code or False, "name": outlet.name}
            if outlet
            else False,
            "technician": order.technician_id.name or False,
            "dates": {
                "created": order.create_date,
                # date_dispatched -> "dispatched", ...: when each step was last taken
                **{field[5:]: order[field] or False for field in STEP_DATES.values()},
            },
            "refuse_count": order.refuse_count,
            "refuse_reason": order.refuse_reason or False,
            "cancel_reason": order.cancel_reason or False,
            "feedback_rating": order.feedback_rating or False,
            "sla": {
                "policy": order.sla_policy_id.name or False,
                "deadline_kind": order.sla_deadline_kind or False,
                "deadline": order.sla_deadline or False,
                "status": order.sla_status or False,
                "escalation_level": order.escalation_level,
                "deadlines": {
                    kind: order[f"sla_deadline_{kind}"] or False
                    for kind, _label in sla_clock.DEADLINE_KINDS
                },
            },
            "steps": [
                {
                    "step": step.step,
                    "state_from": step.state_from or False,
                    "state_to": step.state_to,
                    "date": step.date,
                    "user": step.user_id.name,
                    "outlet": step.outlet_id.name or False,
                    "note": step.note or False,
                }
                for step in order.step_ids.sorted(lambda s: (s.date, s.id))
            ],
        }
        return json.loads(json.dumps(status, default=json_default))


# The conditions both ranking variants below share: an outlet (of the order's company,
# below its service unit) taking work, with the skill for the product (a skill covers
# its sub-categories; no skills: every category) ...
_OUTLET_TAKES_THE_JOB = """unit.unit_type = 'outlet'
       AND unit.active
       AND unit.dispatch_status = 'active'
       AND (target.categ_path IS NULL
            OR NOT EXISTS (SELECT FROM service_org_unit_skill_category_rel skill
                            WHERE skill.unit_id = unit.id)
            OR EXISTS (SELECT FROM service_org_unit_skill_category_rel skill
                         JOIN product_category categ ON categ.id = skill.category_id
                        WHERE skill.unit_id = unit.id
                          AND target.categ_path LIKE categ.parent_path || '%%'))"""
# ... and a service area covering the address.
_AREA_COVERS_THE_ADDRESS = """(target.country_id IS NULL OR area.country_id = target.country_id)
       AND (area.state_id IS NULL OR area.state_id = target.state_id)
       AND (area.city IS NULL OR lower(trim(area.city)) = target.city)
       AND (area.district IS NULL OR lower(trim(area.district)) = target.district)
       AND (area.zip_prefix IS NULL
            OR left(target.zip, length(area.zip_prefix)) = upper(area.zip_prefix))"""
# The ranking query (service.dispatch.work.order._dispatch_candidates_query): the
# order's address, product category and service unit ...
_RANKING_TARGET = """
WITH target AS (
    SELECT wo.company_id,
           unit.parent_path AS unit_path,
           categ.parent_path AS categ_path,
           coalesce(addr.country_id, state.country_id) AS country_id,
           addr.state_id,
           nullif(lower(trim(addr.city)), '') AS city,
           nullif(lower(trim(addr.service_district)), '') AS district,
           nullif(upper(replace(addr.zip, ' ', '')), '') AS zip,
           CASE WHEN coalesce(addr.partner_latitude, 0) <> 0
                  OR coalesce(addr.partner_longitude, 0) <> 0
                THEN radians(addr.partner_latitude::float8) END AS phi,
           radians(coalesce(addr.partner_longitude, 0)::float8) AS lambda
      FROM (VALUES (%(company)s::int, %(unit)s::int, %(address)s::int, %(product)s::int))
           AS wo (company_id, unit_id, address_id, product_id)
      JOIN service_org_unit unit ON unit.id = wo.unit_id
      JOIN res_partner addr ON addr.id = wo.address_id
 LEFT JOIN res_country_state state ON state.id = addr.state_id
 LEFT JOIN product_product product ON product.id = wo.product_id
 LEFT JOIN product_template tmpl ON tmpl.id = product.product_tmpl_id
 LEFT JOIN product_category categ ON categ.id = tmpl.categ_id
"""
# ... every outlet of the unit's subtree, covering the address or not ...
_RANKING_ALL = (
    """), outlet AS (
    SELECT unit.id, unit.name,
           CASE WHEN coalesce(partner.partner_latitude, 0) <> 0
                  OR coalesce(partner.partner_longitude, 0) <> 0
                THEN radians(partner.partner_latitude::float8) END AS phi,
           radians(coalesce(partner.partner_longitude, 0)::float8) AS lambda
      FROM target
      JOIN service_org_unit unit
        ON unit.company_id = target.company_id
       AND unit.parent_path LIKE target.unit_path || '%%'
       AND """
    + _OUTLET_TAKES_THE_JOB
    + """
 LEFT JOIN res_partner partner ON partner.id = unit.partner_id
), coverage AS (
    SELECT DISTINCT ON (area.outlet_id)
           area.outlet_id, area.id AS area_id,
           array_position(%(levels)s::varchar[], area.level) AS level_rank
      FROM target
      JOIN service_dispatch_service_area area
        ON area.outlet_id IN (SELECT id FROM outlet)
     WHERE """
    + _AREA_COVERS_THE_ADDRESS
    + """
  ORDER BY area.outlet_id, level_rank DESC, area.id
), workload AS (
    SELECT wo.outlet_id, count(*) AS open_count
      FROM service_dispatch_work_order wo
     WHERE wo.outlet_id IN (SELECT id FROM outlet)
       AND wo.state IN %(open_states)s
  GROUP BY wo.outlet_id
), ranked AS (
    SELECT outlet.id, outlet.name, coverage.area_id, coverage.level_rank,
           coalesce(workload.open_count, 0) AS workload,
           CASE WHEN target.phi IS NOT NULL AND outlet.phi IS NOT NULL THEN
                2 * %(radius)s * asin(least(1, sqrt(
                    power(sin((outlet.phi - target.phi) / 2), 2)
                    + cos(target.phi) * cos(outlet.phi)
                      * power(sin((outlet.lambda - target.lambda) / 2), 2))))
           END AS distance_km
      FROM outlet
CROSS JOIN target
 LEFT JOIN coverage ON coverage.outlet_id = outlet.id
 LEFT JOIN workload ON workload.outlet_id = outlet.id
     WHERE TRUE
)
SELECT id, name, area_id, level_rank, workload, distance_km
  FROM ranked
 ORDER BY level_rank DESC NULLS LAST, distance_km ASC NULLS LAST, workload ASC, id
 LIMIT %(limit)s
"""
)
# ... or the outlets covering it only, with their most specific area.
_RANKING_COVERED = (
    """), covered AS (
    SELECT DISTINCT ON (unit.id)
           unit.id, unit.name, unit.partner_id, unit.parent_path, area.id AS area_id,
           array_position(%(levels)s::varchar[], area.level) AS level_rank
      FROM target
      JOIN service_org_unit unit
        ON unit.company_id = target.company_id
       AND unit.parent_path LIKE target.unit_path || '%%'
       AND """
    + _OUTLET_TAKES_THE_JOB
    + """
      JOIN service_dispatch_service_area area
        ON area.outlet_id = unit.id
       AND """
    + _AREA_COVERS_THE_ADDRESS
    + """
  ORDER BY unit.id, level_rank DESC, area.id
), ranked AS (
    SELECT covered.id, covered.name, covered.area_id, covered.level_rank, covered.parent_path,
           (SELECT count(*) FROM service_dispatch_work_order wo
             WHERE wo.outlet_id = covered.id AND wo.state IN %(open_states)s) AS workload,
           CASE WHEN target.phi IS NOT NULL
                 AND (coalesce(partner.partner_latitude, 0) <> 0
                      OR coalesce(partner.partner_longitude, 0) <> 0) THEN
                2 * %(radius)s * asin(least(1, sqrt(
                    power(sin((radians(partner.partner_latitude::float8) - target.phi) / 2), 2)
                    + cos(target.phi) * cos(radians(partner.partner_latitude::float8))
                      * power(sin((radians(coalesce(partner.partner_longitude, 0)::float8)
                                   - target.lambda) / 2), 2))))
           END AS distance_km
      FROM covered
CROSS JOIN target
 LEFT JOIN res_partner partner ON partner.id = covered.partner_id
)
SELECT id, name, area_id, level_rank, workload, distance_km, parent_path
  FROM ranked
 ORDER BY level_rank DESC NULLS LAST, distance_km ASC NULLS LAST, workload ASC, id
 LIMIT %(limit)s
"""
)

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError


class ServiceEvaluationShift(models.Model):
    """A teller on duty at a counter (上柜), from a keypad login or the web client.

    Shifts are facts: keypad shifts are written by the ingest, web shifts by the
    named methods `service.evaluation.counter.action_start_shift` and
    `action_end_shift`; nobody writes them through `write`. A manager corrects one
    through `action_correct` (the correction wizard), with a reason in the chatter.
    A teller is on duty at one counter at a time: starting a shift anywhere ends the
    teller's open one (a partial unique index makes two open shifts impossible).
    """

    _name = "service.evaluation.shift"
    _description = "Counter Shift"
    # Device replies show the teller on duty at each counter, cached.
    _inherit = ["mail.thread", "service.cache.mixin"]
    _cache_depends = {"tellers": frozenset({"employee_id", "counter_id", "date_start", "date_end"})}
    _order = "date_start desc, id desc"
    _check_company_auto = True

    employee_id = fields.Many2one("hr.employee", required=True, index=True, check_company=True)
    counter_id = fields.Many2one(
        "service.evaluation.counter", required=True, index=True, check_company=True
    )
    outlet_id = fields.Many2one(related="counter_id.outlet_id", store=True, index=True)
    date_start = fields.Datetime(required=True, default=fields.Datetime.now, tracking=True)
    date_end = fields.Datetime(tracking=True)
    duration_hours = fields.Float(
        compute="_compute_duration_hours", store=True, aggregator="sum", string="On-duty Hours"
    )
    source = fields.Selection(
        [("device", "Keypad"), ("web", "Web Client")], required=True, default="web"
    )
    login_event_id = fields.Many2one("service.evaluation.event", index="btree_not_null")
    is_corrected = fields.Boolean(
        string="Corrected",
        readonly=True,
        help="A manager corrected the times: keypad replays no longer change them.",
    )
    company_id = fields.Many2one(related="counter_id.company_id", store=True)

    # Who is on duty at a counter is asked on every device call: only the few open
    # shifts are indexed, so the answer does not depend on the years of history.
    _open_counter_idx = models.Index(
        "(counter_id, date_start DESC, id DESC) WHERE date_end IS NULL"
    )
    _login_event_uniq = models.UniqueIndex(
        "(login_event_id) WHERE login_event_id IS NOT NULL", "One shift per login event."
    )
    _open_employee_uniq = models.UniqueIndex(
        "(employee_id) WHERE date_end IS NULL", "A teller is on duty at one counter at a time."
    )

    @api.depends("date_start", "date_end")
    def _compute_duration_hours(self):
        for shift in self:
            if shift.date_start and shift.date_end:
                shift.duration_hours = (shift.date_end - shift.date_start).total_seconds() / 3600
            else:
                shift.duration_hours = 0.0

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for shift in self:
            if shift.date_end and shift.date_end < shift.date_start:
                raise ValidationError(self.env._("A shift cannot end before it starts."))

    # ------------------------------------------------------------ actions
    def action_end_shift(self):
        """End open shifts: a teller their own, supervisors and managers their subtree's."""
        self.check_access("read")
        user = self.env.user
        for shift in self.sudo():
            if shift.employee_id.user_id != user and not user._service_acts_on(shift.outlet_id):
                raise AccessError(
                    self.env._(
                        "Only %(teller)s or the outlet's supervisors and managers may end "
                        "this shift.",
                        teller=shift.employee_id.name,
                    )
                )
        self.sudo().filtered(lambda shift: not shift.date_end).date_end = fields.Datetime.now()
        return True

    def action_open_correction(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Correct Shift"),
            "res_model": "service.evaluation.shift.correction",
            "view_mode": "form",
            "target": "new",
            "context": {"default_shift_id": self.id},
        }

    def action_correct(self, date_start, date_end, reason):
        """Correct a shift's times; managers of its outlet and administrators only.

        The reason is mandatory and posted in the shift's chatter with the old and new
        times (tracking), under the corrector's name. A corrected keypad shift is no
        longer changed by replays of the keypad's events.
        """
        self.ensure_one()
        self.check_access("read")
        if not self.env.user._service_acts_on(self.sudo().outlet_id, managed=True):
            raise AccessError(self.env._("Only the managers of the outlet may correct its shifts."))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(self.env._("Give a reason for the correction."))
        shift_sudo = self.sudo()
        if not date_end and shift_sudo._other_open_shifts(date_start):
            raise UserError(
                self.env._(
                    "%(teller)s is on duty elsewhere: this shift must end.",
                    teller=shift_sudo.employee_id.name,
                )
            )
        shift_sudo.write(
            {"date_start": date_start, "date_end": date_end or False, "is_corrected": True}
        )
        shift_sudo.message_post(
            body=self.env._("Shift corrected: %(reason)s", reason=reason),
            subtype_xmlid="mail.mt_note",
        )
        return True

    # ------------------------------------------------------------ business
    def _other_open_shifts(self, since=None):
        """The employee's open shifts other than this one (started at or before `since`)."""
        domain = [
            ("employee_id", "=", self.employee_id.id),
            ("date_end", "=", False),
            ("id", "!=", self.id),
        ]
        if since:
            domain.append(("date_start", "<=", since))
        return self.sudo().search(domain)

    @api.model
    def _end_open_shifts(self, employees, at, keep=None):
        """End the open shifts of `employees` that started by `at` (but `keep`), at `at`.

        Flushed at once: the open-shift unique index is checked by the next insert.
        """
        open_shifts = self.sudo().search(
            [("employee_id", "in", employees.ids), ("date_end", "=", False),
             ("date_start", "<=", at), ("id", "not in", keep.ids if keep else [])]
        )  # fmt: skip
        if open_shifts:
            open_shifts.date_end = at
            open_shifts.flush_recordset(["date_end"])
        return open_shifts

from odoo import fields, models


class ServiceDispatchEscalationLevel(models.Model):
    """One rung of a company's escalation ladder. Once a work order's current deadline
    has passed, each level in turn is told, `delay_hours` wall-clock hours after the
    deadline: the managers and supervisors of the unit `levels_up` above the order's
    outlet (its service unit while it is not dispatched), and the extra users.

    Delays are wall-clock hours on purpose: the deadline already counts working hours
    (holidays excluded); how long a breach has lasted is elapsed time, and the people
    up the tree are told of it even when the outlet is closed."""

    _name = "service.dispatch.escalation.level"
    _description = "Escalation Level"
    _order = "company_id, sequence, delay_hours, id"

    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    levels_up = fields.Integer(
        default=1,
        required=True,
        help="Which unit is told, counted up the organisation tree from the outlet: 0 = "
        "the outlet itself, 1 = its service centre (parent), 2 = the region, 3 = HQ. "
        "A tree less deep stops at its root.",
    )
    delay_hours = fields.Float(
        string="Delay (hours)",
        required=True,
        help="Wall-clock hours after the deadline when this level is told.",
    )
    user_ids = fields.Many2many(
        "res.users",
        "service_dispatch_escalation_level_user_rel",
        "level_id",
        "user_id",
        string="Extra Recipients",
        help="Told as well as the unit's managers and supervisors.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)

    _levels_up_positive = models.Constraint(
        "CHECK (levels_up >= 0)", "An escalation level goes up the tree, not down."
    )
    _delay_positive = models.Constraint(
        "CHECK (delay_hours >= 0)", "An escalation comes after the deadline."
    )

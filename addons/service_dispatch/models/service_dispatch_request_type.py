from odoo import api, fields, models
from odoo.exceptions import ValidationError

# What happens to a request of a type once it is taken.
REQUEST_PATHS = [
    ("work_order", "Work order"),
    ("close_at_intake", "Closed at intake"),
    ("follow_up", "Follow-up"),
]
SERVICE_TYPES = [
    ("repair", "Repair"),
    ("installation", "Installation"),
]
PRIORITIES = [
    ("0", "Normal"),
    ("1", "Urgent"),
    ("2", "Very Urgent"),
]


class ServiceDispatchRequestType(models.Model):
    """Repair, installation, consultation, complaint, praise... and the path each takes.

    - work order: the request becomes a work order (one click, or at once when
      `auto_work_order` is set), closed when the work order's feedback is recorded;
    - closed at intake: the agent answers and closes it with an outcome;
    - follow-up: stays open for someone to handle (complaints: governance is a later
      addon's part).
    """

    _name = "service.dispatch.request.type"
    _description = "Service Request Type"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Short code integrators use, e.g. REPAIR.")
    path = fields.Selection(REQUEST_PATHS, required=True, default="work_order")
    service_type = fields.Selection(
        SERVICE_TYPES,
        help="The service the work order asks the outlet for (work order path only).",
    )
    auto_work_order = fields.Boolean(
        string="Create Work Order at Once",
        help="Create the work order as soon as the request is saved.",
    )
    default_priority = fields.Selection(PRIORITIES, default="0", required=True)
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True)

    _code_uniq = models.UniqueIndex("(code)", "The request type code must be unique.")

    @api.constrains("path", "service_type", "auto_work_order")
    def _check_path(self):
        for request_type in self:
            if request_type.path == "work_order" and not request_type.service_type:
                raise ValidationError(
                    self.env._(
                        "Request type %(type)s creates work orders: choose its service type.",
                        type=request_type.name,
                    )
                )
            if request_type.auto_work_order and request_type.path != "work_order":
                raise ValidationError(
                    self.env._(
                        "Only a request type on the work order path may create work orders.",
                    )
                )

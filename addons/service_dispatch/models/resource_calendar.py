from odoo import models


class ResourceCalendar(models.Model):
    _name = "resource.calendar"
    # The SLA clock caches the working intervals of each calendar
    # (service.dispatch.work.order._sla_work_pairs): a change to a calendar
    # plans afresh.
    _inherit = ["resource.calendar", "service.cache.mixin"]
    _cache_depends = {"sla": None}

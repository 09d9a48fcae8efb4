from odoo import models


class ResourceCalendarLeaves(models.Model):
    _name = "resource.calendar.leaves"
    # The SLA clock caches the working intervals of each calendar
    # (service.dispatch.work.order._sla_work_pairs): a change to its leaves (holidays)
    # plans afresh.
    _inherit = ["resource.calendar.leaves", "service.cache.mixin"]
    _cache_depends = {"sla": None}

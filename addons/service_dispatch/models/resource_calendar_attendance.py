from odoo import models


class ResourceCalendarAttendance(models.Model):
    _name = "resource.calendar.attendance"
    # The SLA clock caches the working intervals of each calendar
    # (service.dispatch.work.order._sla_work_pairs): a change to its working hours
    # plans afresh.
    _inherit = ["resource.calendar.attendance", "service.cache.mixin"]
    _cache_depends = {"sla": None}

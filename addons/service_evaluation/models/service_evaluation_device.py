from datetime import timedelta

from odoo import api, fields, models
from odoo.addons.service_base.models.service_cache_mixin import service_ormcache

from .event_batch import DeviceInfo

# A device that has not been heard from for this long is shown offline.
OFFLINE_AFTER = timedelta(minutes=3)


class ServiceEvaluationDevice(models.Model):
    """A rating keypad (评价器) registered by serial number and bound to one counter.

    `device_user_id` is the technical user whose API key posts this device's events:
    a key may only post for the devices of its own user.
    """

    _name = "service.evaluation.device"
    _description = "Rating Keypad"
    # The device event path caches each device user's keypads, with what it validates.
    _inherit = ["mail.thread", "service.cache.mixin"]
    _cache_depends = {
        "device": frozenset({
            "serial_number", "device_user_id", "company_id", "active", "counter_id", "source",
            "firmware_version", "key_count",
        })
    }  # fmt: skip
    _order = "serial_number"
    _rec_name = "serial_number"
    _check_company_auto = True

    serial_number = fields.Char(required=True, tracking=True)
    counter_id = fields.Many2one(
        "service.evaluation.counter", index=True, check_company=True, tracking=True
    )
    outlet_id = fields.Many2one(related="counter_id.outlet_id", store=True, index=True)
    source = fields.Selection(
        [("keypad", "Keypad"), ("kiosk", "Kiosk")], required=True, default="keypad"
    )
    device_user_id = fields.Many2one(
        "res.users",
        required=True,
        index=True,
        domain=[("share", "=", False)],
        help="Technical user in the Service Device group whose API key posts these events.",
    )
    firmware_version = fields.Char(readonly=True)
    key_count = fields.Integer(readonly=True)
    last_seen = fields.Datetime(readonly=True)
    is_online = fields.Boolean(compute="_compute_is_online", string="Online")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True, tracking=True)

    _serial_uniq = models.UniqueIndex(
        "(serial_number)", "This serial number is already registered."
    )

    @api.model
    @service_ormcache("self.env.uid", "tuple(self.env.companies.ids)", group="device")
    def _get_ingest_devices(self):
        """{serial number: DeviceInfo} of the keypads this user may post events for.

        The record rules decide which (a device user's own keypads). Cached because
        every device call needs it; cleared when a keypad, its counter or a business
        type changes what the ingest validates against (see _cache_depends).
        """
        devices = self.search_fetch(
            [], ["serial_number", "counter_id", "company_id", "source", "firmware_version",
                 "key_count"],
        )  # fmt: skip
        # A device user does not read counters; what its keypads are bound to, it may know.
        counters = devices.counter_id.sudo()
        counters.fetch(["code", "outlet_id", "business_type_ids"])
        info = {}
        for device in devices:
            counter = counters.browse(device.counter_id.id)
            business_types = counter.business_type_ids.filtered("active").sorted()
            info[device.serial_number] = DeviceInfo(
                id=device.id,
                serial=device.serial_number,
                counter_id=counter.id or None,
                counter_code=counter.code or None,
                outlet_id=counter.outlet_id.id or None,
                company_id=device.company_id.id,
                source=device.source,
                firmware=device.firmware_version or None,
                key_count=device.key_count or None,
                business_ids={business.code: business.id for business in business_types},
                default_business_id=business_types[:1].id or None,
            )
        return info

    @api.depends("last_seen")
    def _compute_is_online(self):
        limit = fields.Datetime.now() - OFFLINE_AFTER
        for device in self:
            device.is_online = bool(device.last_seen and device.last_seen >= limit)

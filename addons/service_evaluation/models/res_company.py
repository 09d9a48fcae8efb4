from typing import NamedTuple

from odoo import api, fields, models
from odoo.addons.service_base.models.service_cache_mixin import service_ormcache

# Read by every device event: cached (_get_service_ingest_settings), and cleared when
# one of them changes.
SERVICE_INGEST_FIELDS = (
    "service_rating_window",
    "service_anti_repeat",
    "service_clock_skew",
    "service_max_event_age_days",
)


class IngestSettings(NamedTuple):
    """What the device ingest needs of a company, cached (_get_service_ingest_settings)."""

    rating_window: int  # seconds after End during which a rating press counts
    anti_repeat: int  # seconds after a counted press during which presses are repeats
    clock_skew: int  # seconds a device clock may be ahead of the server
    max_event_age_days: int  # oldest device time accepted, in days


class ResCompany(models.Model):
    _name = "res.company"
    _inherit = ["res.company", "service.cache.mixin"]
    _cache_depends = {"device": frozenset(SERVICE_INGEST_FIELDS)}

    service_rating_window = fields.Integer(
        default=10, help="Seconds after End during which a rating press counts."
    )
    service_anti_repeat = fields.Integer(
        default=5,
        help="Seconds after a session's previous press (the counted one, or a repeat) "
        "during which further presses are repeats.",
    )
    service_clock_skew = fields.Integer(
        default=300, help="Seconds a device clock may be ahead of the server."
    )
    service_max_event_age_days = fields.Integer(
        default=30, help="Events older than this (device time) are rejected."
    )
    service_star_period = fields.Selection(
        [("month", "Monthly"), ("quarter", "Quarterly")], default="month", required=True
    )
    service_star_min_rated = fields.Integer(
        default=30, help="Rated sessions a teller needs in a period to get a star level."
    )
    service_star_5_rate = fields.Float(default=98.0, help="Satisfaction % for five stars.")
    service_star_4_rate = fields.Float(default=95.0, help="Satisfaction % for four stars.")
    service_star_3_rate = fields.Float(default=90.0, help="Satisfaction % for three stars.")
    service_alert_sms = fields.Boolean(
        default=True, help="Send an SMS to the outlet's supervisors on a negative rating."
    )
    service_alert_user_ids = fields.Many2many(
        "res.users",
        "res_company_service_alert_user_rel",
        "company_id",
        "user_id",
        string="Extra Alert Recipients",
        help="Also alerted on every negative rating, besides the outlet's supervisors.",
    )
    service_alert_popup_interval = fields.Integer(
        default=5,
        help="Minutes: at most one pop-up per alert recipient in this time; the next one "
        "counts the dissatisfied customers in between (every one still gets its alert).",
    )

    @api.model
    @service_ormcache("company_id", group="device")
    def _get_service_ingest_settings(self, company_id):
        """The company's IngestSettings."""
        company = self.sudo().browse(company_id)
        return IngestSettings(*(company[name] for name in SERVICE_INGEST_FIELDS))

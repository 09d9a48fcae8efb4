from odoo import fields, models, tools
from odoo.exceptions import ValidationError

from ..tools.phone import to_e164

# The company fields the phone region is read from (country_id is computed from the
# company's contact, partner_id).
PHONE_REGION_FIELDS = {"service_phone_country_id", "country_id", "partner_id"}


class ResCompany(models.Model):
    _inherit = "res.company"

    service_phone_country_id = fields.Many2one(
        "res.country",
        help="Country used to read phone numbers written without a country code "
        "(customer callbacks, supervisor SMS). Defaults to the company's country.",
    )

    def _get_service_phone_country(self):
        self.ensure_one()
        return self.service_phone_country_id or self.country_id

    @tools.ormcache("self.id")
    def _service_phone_region(self):
        """(ISO code, phone code, country id) of the service phone country, cached per
        company: every looked-up number is read with it, and reading it from the company
        and country rows on each call costs two queries. Cleared when the company's
        country fields change (write); a change of the country on the company's contact
        itself, outside the company form, shows after the next registry cache clear."""
        country = self.sudo()._get_service_phone_country()
        return country.code or None, country.phone_code or None, country.id

    def write(self, vals):
        result = super().write(vals)
        if PHONE_REGION_FIELDS.intersection(vals):
            self.env.registry.clear_cache()  # _service_phone_region, in every worker
        return result

    def _service_phone_e164(self, number):
        """`number` in E.164 form, read with the company's service phone country.

        The suite stores and matches phone numbers in this form (callbacks, SMS,
        customers). Raises a ValidationError naming the number and the country when it
        is not a valid phone number.
        """
        self.ensure_one()
        code, phone_code, country_id = self._service_phone_region()
        formatted = to_e164(number, code, phone_code)
        if not formatted:
            country = self.env["res.country"].browse(country_id)
            raise ValidationError(
                self.env._(
                    "%(number)s is not a valid phone number (country: %(country)s).",
                    number=number,
                    country=country.name or "-",
                )
            )
        return formatted

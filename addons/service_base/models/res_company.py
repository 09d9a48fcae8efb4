from odoo import fields, models
from odoo.exceptions import ValidationError

from ..tools.phone import to_e164


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

    def _service_phone_e164(self, number):
        """`number` in E.164 form, read with the company's service phone country.

        The suite stores and matches phone numbers in this form (callbacks, SMS,
        customers). Raises a ValidationError naming the number and the country when it
        is not a valid phone number.
        """
        self.ensure_one()
        country = self._get_service_phone_country()
        formatted = to_e164(number, country.code, country.phone_code)
        if not formatted:
            raise ValidationError(
                self.env._(
                    "%(number)s is not a valid phone number (country: %(country)s).",
                    number=number,
                    country=country.name or "-",
                )
            )
        return formatted

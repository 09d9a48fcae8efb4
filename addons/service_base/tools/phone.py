"""Phone numbers of the service suite, in one place.

Numbers are read with Odoo's phone_validation (Google's libphonenumber) and stored in
E.164 form, e.g. ``+8613800138000``: the one key callbacks, SMS and customer look-ups
compare. A number written without a country code is read in a given country (the
company's service phone country, see res.company._service_phone_e164).
"""

from odoo.addons.phone_validation.tools import phone_validation
from odoo.exceptions import UserError


def to_e164(number, country_code=None, country_phone_code=None):
    """`number` in E.164 form, or None when it is not a valid phone number.

    `country_code` (ISO, e.g. "CN") and `country_phone_code` (e.g. 86) say how to read
    a number written without a country code.
    """
    number = (number or "").strip()
    if not number:
        return None
    try:
        formatted = phone_validation.phone_format(
            number, country_code or None, country_phone_code or None, force_format="E164"
        )
    except UserError:
        return None
    return formatted if formatted.startswith("+") else None

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase

from ..tools.phone import to_e164


class TestPhone(TransactionCase):
    def test_to_e164(self):
        cases = [
            ("138 0013 8000", "CN", 86, "+8613800138000"),
            ("010 6600 0000", "CN", 86, "+861066000000"),
            ("+86 138-0013-8001", None, None, "+8613800138001"),
            ("+32 470 12 34 56", "CN", 86, "+32470123456"),  # a country code wins
            ("0470 12 34 56", "BE", 32, "+32470123456"),
            ("12", "CN", 86, None),
            ("not a number", "CN", 86, None),
            ("", "CN", 86, None),
            (None, "CN", 86, None),
        ]
        for number, country, phone_code, expected in cases:
            with self.subTest(number=number, country=country):
                self.assertEqual(to_e164(number, country, phone_code), expected)

    def test_company_reads_numbers_in_its_service_country(self):
        company = self.env.company
        company.service_phone_country_id = self.env.ref("base.cn")
        self.assertEqual(company._service_phone_e164("138 0013 8000"), "+8613800138000")
        company.service_phone_country_id = self.env.ref("base.be")
        self.assertEqual(company._service_phone_e164("0470 12 34 56"), "+32470123456")
        with self.assertRaisesRegex(ValidationError, "12 is not a valid phone number.*Belgium"):
            company._service_phone_e164("12")
        # Without a service country, the company's own country is used.
        company.service_phone_country_id = False
        company.country_id = self.env.ref("base.cn")
        self.assertEqual(company._service_phone_e164("010 6600 0000"), "+861066000000")

    def test_company_phone_region_is_cached(self):
        company = self.env.company
        company.service_phone_country_id = self.env.ref("base.cn")
        company._service_phone_e164("138 0013 8000")
        self.env.invalidate_all()
        with self.assertQueryCount(0):  # neither the company nor the country row is read
            self.assertEqual(company._service_phone_e164("138 0013 8000"), "+8613800138000")
        company.service_phone_country_id = self.env.ref("base.be")  # clears the cache
        self.assertEqual(company._service_phone_e164("0470 12 34 56"), "+32470123456")

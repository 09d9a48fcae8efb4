from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import DispatchCommon

URL = "/service/request"


@tagged("post_install", "-at_install")
class TestWebForm(HttpCase, DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("service_dispatch.web_form_rate_limit", "3")
        cls.company.service_dispatch_intake_unit_id = cls.branch_b
        cls.Request = cls.env["service.dispatch.request"]

    def setUp(self):
        super().setUp()
        # Each test starts with an empty log (the rate limit counts it).
        self.env["service.dispatch.web.submission"].search([]).unlink()
        # Only what the test submits counts (a demo database has web requests too).
        self.last_request_id = self.Request.search([], order="id desc", limit=1).id or 0

    def form_values(self, **values):
        vals = {
            "name": "Web Visitor",
            "phone": "139 1111 2222",
            "email": "visitor@example.com",
            "type_id": str(self.repair.id),
            "product": "Front-loading washer",
            "serial_number": "WEB-123",
            "description": "It leaks at the door.",
        }
        vals.update(values)
        return vals

    def submit(self, csrf=True, **values):
        data = self.form_values(**values)
        if csrf:
            data["csrf_token"] = self.csrf_token()
        return self.url_open(URL, data=data)

    def csrf_token(self):
        page = self.url_open(URL)
        self.assertEqual(page.status_code, 200)
        marker = 'name="csrf_token" value="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]

    def web_requests(self):
        return self.Request.search(
            [("channel", "=", "web_form"), ("id", ">", self.last_request_id)]
        )

    def test_page_shows_the_web_request_types(self):
        page = self.url_open(URL)
        self.assertEqual(page.status_code, 200)
        for request_type in (self.repair, self.installation, self.consultation):
            self.assertIn(f'value="{request_type.id}"', page.text)
        self.assertNotIn(f'value="{self.complaint.id}"', page.text)

    def test_valid_submission_creates_a_web_request(self):
        response = self.submit()
        self.assertEqual(response.status_code, 200)
        self.assertIn("your request has been recorded", response.text)
        request = self.web_requests()
        self.assertEqual(len(request), 1)
        self.assertEqual(request.type_id, self.repair)
        self.assertEqual(request.phone, "+8613911112222")
        self.assertEqual(request.unit_id, self.branch_b)
        self.assertFalse(request.user_id)
        self.assertEqual(request.partner_id.name, "Web Visitor")
        self.assertEqual(request.partner_id.email, "visitor@example.com")
        self.assertIn("It leaks at the door.", request.description)
        self.assertIn("WEB-123", request.description)
        self.assertIn("Front-loading washer", request.description)

    def test_known_number_finds_the_customer(self):
        self.submit(phone="+86 138 0013 9999", serial_number="W-0001", name="C. One")
        request = self.web_requests()
        self.assertEqual(request.partner_id, self.customer)
        self.assertEqual(request.appliance_id, self.appliance)
        self.assertEqual(self.customer.name, "Customer One")

    def test_honeypot_records_nothing(self):
        partners = self.env["res.partner"].search_count([])
        response = self.submit(website="http://spam.example.com")
        self.assertEqual(response.status_code, 200)
        self.assertIn("your request has been recorded", response.text)
        self.assertFalse(self.web_requests())
        self.assertEqual(self.env["res.partner"].search_count([]), partners)

    def test_rate_limit(self):
        for i in range(3):
            self.assertEqual(self.submit(description=f"Request {i}").status_code, 200)
        response = self.submit(description="One too many")
        self.assertEqual(response.status_code, 429)
        self.assertIn("Too many requests", response.text)
        self.assertEqual(len(self.web_requests()), 3)

    def test_malformed_phone_rerenders_with_values(self):
        response = self.submit(phone="12", description="Keep this text")
        self.assertEqual(response.status_code, 200)
        self.assertIn("12 is not a valid phone number.", response.text)
        self.assertIn("Keep this text", response.text)
        self.assertIn('value="Web Visitor"', response.text)
        self.assertIn('value="WEB-123"', response.text)
        self.assertRegex(response.text, rf'value="{self.repair.id}"\s+selected')
        self.assertFalse(self.web_requests())

    def test_missing_fields_are_named(self):
        response = self.submit(name="", description="", type_id=str(self.complaint.id))
        self.assertIn("Please give your name.", response.text)
        self.assertIn("Please describe what you need.", response.text)
        self.assertIn("Please choose what you need.", response.text)
        self.assertFalse(self.web_requests())

    @mute_logger("odoo.http")
    def test_csrf_required(self):
        response = self.submit(csrf=False)
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.web_requests())

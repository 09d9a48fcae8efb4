from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outlet = cls.env["service.org.unit"].create(
            {"name": "Tour Outlet", "code": "TOUR-OUT", "unit_type": "outlet"}
        )
        cls.counter = cls.env["service.evaluation.counter"].create(
            {"name": "Tour Counter 1", "code": "TC1", "outlet_id": cls.outlet.id}
        )
        cls.teller = cls.env["hr.employee"].create(
            {"name": "Tour Teller", "service_employee_number": "9001"}
        )
        now = fields.Datetime.now()
        cls.env["service.evaluation.shift"].create(
            {
                "employee_id": cls.teller.id,
                "counter_id": cls.counter.id,
                "date_start": now,
                "source": "web",
            }
        )
        cls.env["service.evaluation.session"].create(
            {
                "counter_id": cls.counter.id,
                "outlet_id": cls.outlet.id,
                "employee_id": cls.teller.id,
                "company_id": cls.env.company.id,
                "date_start": now,
                "state": "serving",
                "source": "web",
            }
        )

    def test_counter_kanban_tour(self):
        """In the browser, admin opens Service > Counters and sees a counter live."""
        self.assertEqual(self.counter.live_state, "serving")
        self.assertEqual(self.counter.current_employee_id, self.teller)
        self.start_tour("/odoo", "service_evaluation_counter_kanban_tour", login="admin")

    def test_smart_buttons_tour(self):
        """The outlet and employee forms lead to their counters and sessions."""
        self.start_tour(
            f"/odoo/action-service_base.service_org_unit_action/{self.outlet.id}",
            "service_evaluation_smart_buttons_tour",
            login="admin",
        )
        self.start_tour(
            f"/odoo/employees/{self.teller.id}", "service_evaluation_employee_tour", login="admin"
        )

    def test_click_service_menus(self):
        """Every menu, view and filter of the Service app opens without a client error."""
        if "tour_enabled" in self.env["res.users"]._fields:
            self.env.ref("base.user_admin").tour_enabled = False
        self.browser_js(
            "/odoo",
            "odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
            ".startClickEverywhere('service_base.service_base_menu_root');",
            "odoo.isReady === true",
            login="admin",
            timeout=300,
            success_signal="clickbot test succeeded",
        )

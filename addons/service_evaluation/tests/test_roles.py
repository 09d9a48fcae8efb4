from datetime import timedelta

from lxml import etree
from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools.safe_eval import safe_eval

from .common import EvaluationCommon

SERVICE_MANAGER = "service_base.service_base_group_manager"
SERVICE_ADMIN = "service_base.service_base_group_admin"
CLICK_EVERYWHERE = (
    "odoo.loader.modules.get('@web/webclient/clickbot/clickbot_loader')"
    ".startClickEverywhere('service_base.service_base_menu_root');"
)


class RolesCommon(EvaluationCommon):
    """EvaluationCommon (with the other branch: manager B, outlet B1, counter B1-1)
    plus teller 3 at B1-1.

    On duty now: teller 1 at A1-1, teller 3 at B1-1; teller 2 had a shift yesterday.
    One session each for teller 1 (A1-1) and teller 3 (B1-1).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.teller_3 = cls.env["hr.employee"].create(
            {"name": "Teller Three", "service_employee_number": "E-1003"}
        )
        now = fields.Datetime.now()
        cls.env["service.evaluation.shift"].create(
            [
                {"employee_id": cls.teller_1.id, "counter_id": cls.counter_a1_1.id,
                 "date_start": now - timedelta(hours=1)},
                {"employee_id": cls.teller_3.id, "counter_id": cls.counter_b1_1.id,
                 "date_start": now - timedelta(hours=1)},
                {"employee_id": cls.teller_2.id, "counter_id": cls.counter_a1_2.id,
                 "date_start": now - timedelta(days=1, hours=8),
                 "date_end": now - timedelta(days=1)},
            ]
        )  # fmt: skip
        cls.env["service.evaluation.session"].create(
            [
                {"counter_id": counter.id, "outlet_id": counter.outlet_id.id,
                 "employee_id": teller.id, "company_id": cls.company.id,
                 "date_start": now - timedelta(minutes=30), "state": "serving", "source": "web"}
                for counter, teller in ((cls.counter_a1_1, cls.teller_1),
                                        (cls.counter_b1_1, cls.teller_3))
            ]
        )  # fmt: skip
        cls.roles = {
            "teller": cls.teller_user_1,
            "supervisor": cls.supervisor_a1,
            "branch manager": cls.manager_a,
            "other branch manager": cls.manager_b,
            "service administrator": cls.service_admin,
        }


class TestRoles(RolesCommon):
    def test_supervisor_organisation_chart(self):
        """A supervisor of one outlet opens Service → Organisation (a hierarchy view):
        the web client asks for the roots, then for everything it may read."""
        Unit = self.env["service.org.unit"].with_user(self.supervisor_a1)
        spec = {"name": {}, "child_ids": {}}
        self.assertEqual(Unit.hierarchy_read([("parent_id", "=", False)], spec, "parent_id"), [])
        chart = Unit.hierarchy_read([], dict(spec), "parent_id", "child_ids")
        self.assertEqual([unit["id"] for unit in chart], self.outlet_a1.ids)
        self.assertEqual(chart[0]["parent_id"]["id"], self.branch_a.id, "its parent is named")
        # A manager's chart is their branch and its outlets, as before.
        chart = (
            self.env["service.org.unit"]
            .with_user(self.manager_b)
            .hierarchy_read([], dict(spec), "parent_id", "child_ids")
        )
        self.assertEqual({unit["id"] for unit in chart}, set(self.subtree_b.ids))

    def test_internal_user_reads_employees(self):
        """Odoo's hr test_employee_fields_groups, with our fields: a user outside HR and the
        Service groups reads employees through hr.employee.public without an error."""
        employees = self.env["hr.employee"].with_user(self.internal_user).search([])
        values = {row["id"]: row for row in employees.read([])}
        self.assertEqual(values[self.teller_1.id]["service_employee_number"], "E-1001")
        self.assertIn("service_star_level", values[self.teller_1.id])
        self.assertEqual(values[self.teller_1.id]["service_session_count"], 0, "not theirs to see")
        public = (
            self.env["hr.employee.public"].with_user(self.internal_user).browse(self.teller_1.id)
        )
        self.assertEqual(public.service_employee_number, "E-1001")

    def test_teller_service_fields_by_role(self):
        """Managers and supervisors see a teller's number, stars, history and sessions, on
        hr.employee and on the public profile they land on from a session; counts and
        duty follow their scope."""
        self.env["service.evaluation.star.level"].create(
            {"employee_id": self.teller_1.id, "company_id": self.company.id,
             "outlet_id": self.outlet_a1.id, "period_start": "2025-01-01",
             "period_end": "2025-01-31", "star_level": 4}
        )  # fmt: skip
        self.teller_1.sudo().service_star_level = 4
        self.env.flush_all()  # hr.employee.public is an SQL view
        no_counter = self.env["service.evaluation.counter"]
        expected = {
            # user: (star level history seen, sessions of teller 1 seen, on duty at)
            self.supervisor_a1: ([4], 1, self.counter_a1_1),
            self.manager_a: ([4], 1, self.counter_a1_1),
            self.service_admin: ([4], 1, self.counter_a1_1),
            self.manager_b: ([], 0, no_counter),
        }
        fnames = ["service_employee_number", "service_star_level", "service_star_level_ids",
                  "service_session_count", "service_counter_id", "service_on_duty"]  # fmt: skip
        for user, (history, sessions, counter) in expected.items():
            for model in ("hr.employee", "hr.employee.public"):
                with self.subTest(user=user.login, model=model):
                    self.env.invalidate_all()  # x2many values are cached for every user
                    teller = self.env[model].with_user(user).browse(self.teller_1.id)
                    teller.read(fnames)
                    self.assertEqual(teller.service_employee_number, "E-1001")
                    self.assertEqual(teller.service_star_level, 4)
                    self.assertEqual(teller.service_star_level_ids.mapped("star_level"), history)
                    self.assertEqual(teller.service_session_count, sessions)
                    self.assertEqual(teller.service_counter_id, counter)
                    self.assertEqual(teller.service_on_duty, bool(counter))

    def test_tellers_on_duty_search(self):
        Employee = self.env["hr.employee"].with_user(self.service_admin)
        tellers = self.teller_1 | self.teller_2 | self.teller_3
        on_duty = Employee.search([("service_on_duty", "=", True), ("id", "in", tellers.ids)])
        self.assertEqual(on_duty, self.teller_1 | self.teller_3)
        off_duty = Employee.search([("service_on_duty", "=", False), ("id", "in", tellers.ids)])
        self.assertEqual(off_duty, self.teller_2)
        in_branch = Employee.search([("service_outlet_id", "child_of", self.branch_a.id)])
        self.assertEqual(in_branch, self.teller_1)
        by_name = Employee.search([("service_outlet_id", "ilike", "Outlet B1")])
        self.assertEqual(by_name, self.teller_3)
        # The other branch's manager does not see branch A's shifts.
        Employee = self.env["hr.employee"].with_user(self.manager_b)
        self.assertEqual(
            Employee.search([("service_on_duty", "=", True), ("id", "in", tellers.ids)]),
            self.teller_3,
        )

    def test_tellers_menu_for_every_role(self):
        """Service → Tellers lists the employees with a number, as its list view reads them."""
        action = self.env.ref("service_evaluation.hr_employee_public_teller_action")
        menu = self.env.ref("service_evaluation.service_evaluation_teller_menu")
        for role, user in self.roles.items():
            with self.subTest(role=role):
                self.assertIn(menu.id, self.env["ir.ui.menu"].with_user(user)._visible_menu_ids())
                Model = self.env[action.res_model].with_user(user)
                views = Model.get_views(
                    [(view.view_id.id, view.view_mode) for view in action.view_ids]
                    + [(action.search_view_id.id, "search")]
                )
                fields_info = views["models"][action.res_model]["fields"]
                arch = etree.fromstring(views["views"]["list"]["arch"])
                spec = {
                    node.get("name"): (
                        {"fields": {"display_name": {}}}
                        if fields_info[node.get("name")]["type"] == "many2one"
                        else {}
                    )
                    for node in arch.iterchildren("field")
                }
                result = Model.web_search_read(safe_eval(action.domain), spec, limit=80)
                tellers = {row["id"]: row for row in result["records"]}
                self.assertEqual(tellers[self.teller_1.id]["service_employee_number"], "E-1001")

    def test_managers_may_export(self):
        export = "base.group_allow_export"
        self.assertTrue(self.manager_a.has_group(export))
        self.assertTrue(self.service_admin.has_group(export))
        self.assertFalse(self.supervisor_a1.has_group(export))


@tagged("post_install", "-at_install")
class TestRoleMenus(RolesCommon, HttpCase):
    """Every Service menu, each of its views and search filters, opens without an error
    for each role, logged in as that user in the web client (Odoo's clickbot)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "tour_enabled" in cls.env["res.users"]._fields:
            for user in cls.roles.values():
                user.tour_enabled = False

    def test_click_every_service_menu(self):
        for role, user in self.roles.items():
            with self.subTest(role=role):
                self.browser_js(
                    "/odoo",
                    CLICK_EVERYWHERE,
                    "odoo.isReady === true",
                    login=user.login,
                    timeout=600,
                    success_signal="clickbot test succeeded",
                )

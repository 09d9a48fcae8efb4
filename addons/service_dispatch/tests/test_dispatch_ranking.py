"""Choosing the outlet of a work order: coverage, then distance, then workload; the
Dispatch dialog's override reason, best dispatch, the parent centre's notice, access."""

from odoo import Command
from odoo.addons.service_base.tests.common import SERVICE_MANAGER
from odoo.exceptions import AccessError, UserError
from odoo.tests import BaseCase, Form

from ..tools import dispatch_ranking
from .common import DispatchCommon

# The customer's address (Pudong, Shanghai) and two other places.
PUDONG = (31.2213, 121.5447)
PEOPLES_SQUARE = (31.2304, 121.4737)
BEIJING = (39.9042, 116.4074)


class TestDispatchRankingHelpers(BaseCase):
    def test_haversine_and_order(self):
        self.assertAlmostEqual(dispatch_ranking.haversine_km(*PUDONG, *PUDONG), 0.0)
        self.assertAlmostEqual(dispatch_ranking.haversine_km(*PUDONG, *BEIJING), 1070, delta=10)
        self.assertEqual(dispatch_ranking.level_rank("postcode"), 4)
        self.assertEqual(dispatch_ranking.level_rank(False), 0)
        self.assertFalse(dispatch_ranking.has_coordinates(0.0, 0.0))
        candidates = [
            {"outlet_id": 1, "level": False, "distance_km": 0.1, "workload": 0},
            {"outlet_id": 2, "level": "city", "distance_km": False, "workload": 0},
            {"outlet_id": 3, "level": "city", "distance_km": 5.0, "workload": 9},
            {"outlet_id": 4, "level": "city", "distance_km": 5.0, "workload": 1},
            {"outlet_id": 5, "level": "postcode", "distance_km": 50.0, "workload": 9},
        ]
        ranked = sorted(candidates, key=dispatch_ranking.sort_key)
        self.assertEqual([c["outlet_id"] for c in ranked], [5, 4, 3, 2, 1])
        self.assertEqual(dispatch_ranking.join_reason(["a", "", "b"]), "a · b")


class TestDispatchRanking(DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cn = cls.env.ref("base.cn")
        State = cls.env["res.country.state"]
        cls.region_sh = State.create(
            {"name": "Test Shanghai", "code": "TSH", "country_id": cls.cn.id}
        )
        cls.region_bj = State.create(
            {"name": "Test Beijing", "code": "TBJ", "country_id": cls.cn.id}
        )
        cls.customer.write(
            {
                "country_id": cls.cn.id,
                "state_id": cls.region_sh.id,
                "city": "Shanghai ",
                "service_district": "Pudong",
                "zip": "200 120",
                "partner_latitude": PUDONG[0],
                "partner_longitude": PUDONG[1],
            }
        )
        Category = cls.env["product.category"]
        cls.categ_appliances = Category.create({"name": "Test Appliances"})
        cls.categ_washers = Category.create(
            {"name": "Test Washers", "parent_id": cls.categ_appliances.id}
        )
        cls.categ_kettles = Category.create(
            {"name": "Test Kettles", "parent_id": cls.categ_appliances.id}
        )
        cls.washer.categ_id = cls.categ_washers
        cls.outlet_a3, cls.outlet_a4, cls.outlet_a5 = cls.Unit.create(
            [
                {"name": f"Outlet A{n}", "code": f"T-A-{n}", "parent_id": cls.branch_a.id}
                for n in (3, 4, 5)
            ]
        )
        cls.outlets_a = (
            cls.outlet_a1 | cls.outlet_a2 | cls.outlet_a3 | cls.outlet_a4 | cls.outlet_a5
        )
        for outlet in cls.outlets_a | cls.outlet_b1 | cls.outlet_b2:
            outlet.partner_id = cls.env["res.partner"].create({"name": outlet.name})

    # ------------------------------------------------------------ helpers
    def _area(self, outlet, **values):
        return self.env["service.dispatch.service.area"].create(
            dict({"outlet_id": outlet.id, "country_id": self.cn.id}, **values)
        )

    def _order(self, unit=None):
        unit = unit or self.branch_a
        agent = self.agent_a if unit == self.branch_a else self.env.user
        request = self.new_request(agent, unit_id=unit.id)
        request.with_user(agent).action_create_work_order()
        return request.work_order_ids

    def _ranking(self, order, user=None):
        return order.with_user(user or self.dispatcher_a)._dispatch_candidates()

    def _ids(self, candidates):
        return [candidate["outlet_id"] for candidate in candidates]

    # ------------------------------------------------------------ ranking
    def test_coverage_level_orders_candidates_uncovered_last(self):
        self._area(self.outlet_a1, state_id=self.region_sh.id)
        self._area(self.outlet_a2, state_id=self.region_sh.id, city="SHANGHAI")
        self._area(self.outlet_a3, city="shanghai", district=" pudong ")
        self._area(self.outlet_a4, zip_prefix="2001")
        self._area(self.outlet_a4, state_id=self.region_sh.id)  # its best area counts
        # Not covering: another region, a district of another city, another postcode.
        self._area(self.outlet_a5, state_id=self.region_bj.id)
        self._area(self.outlet_a5, city="Beijing", district="Pudong")
        self._area(self.outlet_a5, zip_prefix="2002")
        candidates = self._ranking(self._order())
        self.assertEqual(
            self._ids(candidates),
            (
                self.outlet_a4 | self.outlet_a3 | self.outlet_a2 | self.outlet_a1 | self.outlet_a5
            ).ids,
        )
        self.assertEqual(
            [c["level"] for c in candidates], ["postcode", "district", "city", "region", False]
        )
        self.assertEqual([c["rank"] for c in candidates], [1, 2, 3, 4, 5])
        self.assertEqual(candidates[0]["outlet_name"], "Outlet A4")
        self.assertTrue(candidates[0]["reason"].startswith("Covers postcode 2001 · "))
        self.assertIn("Covers district pudong", candidates[1]["reason"])
        self.assertIn("Covers region Test Shanghai", candidates[3]["reason"])
        self.assertTrue(candidates[4]["reason"].startswith("Outside its service areas"))
        self.assertEqual(candidates[0]["workload"], 0)
        self.assertIn("0 open orders", candidates[0]["reason"])

    def test_distance_then_unknown_coordinates(self):
        for outlet in self.outlets_a:
            self._area(outlet, city="Shanghai")
        self.outlet_a1.write({"latitude": BEIJING[0], "longitude": BEIJING[1]})
        self.outlet_a2.write({"latitude": PEOPLES_SQUARE[0], "longitude": PEOPLES_SQUARE[1]})
        self.outlet_a3.write({"latitude": PUDONG[0], "longitude": PUDONG[1]})
        candidates = self._ranking(self._order())
        self.assertEqual(
            self._ids(candidates)[:3], (self.outlet_a3 | self.outlet_a2 | self.outlet_a1).ids
        )
        self.assertEqual(self._ids(candidates)[3:], (self.outlet_a4 | self.outlet_a5).ids)
        expected = dispatch_ranking.haversine_km(*PUDONG, *PEOPLES_SQUARE)
        self.assertAlmostEqual(candidates[1]["distance_km"], expected, delta=0.01)
        self.assertIn(f"{expected:.1f} km", candidates[1]["reason"])
        self.assertAlmostEqual(candidates[0]["distance_km"], 0.0, delta=0.01)
        self.assertFalse(candidates[3]["distance_km"], "no coordinates: no distance")
        # A customer without coordinates: no distance at all, workload and id decide.
        self.customer.write({"partner_latitude": 0.0, "partner_longitude": 0.0})
        candidates = self._ranking(self._order())
        self.assertFalse(any(c["distance_km"] for c in candidates))

    def test_workload_breaks_ties(self):
        self._area(self.outlet_a1, city="Shanghai")
        self._area(self.outlet_a2, city="Shanghai")
        self.dispatched_order(self.outlet_a1)
        self.dispatched_order(self.outlet_a1)
        done = self.dispatched_order(self.outlet_a2)
        done.with_user(self.dispatcher_a).action_cancel("Duplicate")  # not open: not counted
        candidates = self._ranking(self._order())
        self.assertEqual(self._ids(candidates)[:2], (self.outlet_a2 | self.outlet_a1).ids)
        self.assertEqual([c["workload"] for c in candidates[:2]], [0, 2])
        self.assertIn("2 open orders", candidates[1]["reason"])

    def test_suspended_and_archived_outlets_are_skipped(self):
        self.outlet_a2.dispatch_status = "suspended"
        self.outlet_a3.active = False
        ids = self._ids(self._ranking(self._order()))
        self.assertIn(self.outlet_a1.id, ids)
        self.assertNotIn(self.outlet_a2.id, ids)
        self.assertNotIn(self.outlet_a3.id, ids)

    def test_skills_cover_their_sub_categories(self):
        self.outlet_a1.skill_category_ids = self.categ_kettles
        self.outlet_a2.skill_category_ids = self.categ_appliances  # parent of washers
        self.outlet_a3.skill_category_ids = self.categ_washers | self.categ_kettles
        ids = self._ids(self._ranking(self._order()))
        self.assertNotIn(self.outlet_a1.id, ids, "no skill for washers")
        for outlet in self.outlet_a2 | self.outlet_a3 | self.outlet_a4:  # A4: no skills, all
            self.assertIn(outlet.id, ids)

    def test_only_outlets_below_the_orders_service_unit(self):
        self._area(self.outlet_b1, zip_prefix="200")
        ids = self._ids(self._ranking(self._order()))
        self.assertEqual(set(ids), set(self.outlets_a.ids))
        order_b = self._order(self.branch_b)
        ids_b = self._ids(self._ranking(order_b, self.dispatcher_b))
        self.assertEqual(ids_b, (self.outlet_b1 | self.outlet_b2).ids)
        self.assertEqual(self._ranking(order_b, self.dispatcher_b)[0]["level"], "postcode")
        self.assertEqual(self._order().get_dispatch_candidates(limit=2)[0]["rank"], 1)
        self.assertEqual(len(self._order().get_dispatch_candidates(limit=2)), 2)

    # ------------------------------------------------------------ dispatching
    def _wizard(self, order, user=None):
        action = order.with_user(user or self.dispatcher_a).action_open_dispatch()
        Wizard = self.env[action["res_model"]].with_user(user or self.dispatcher_a)
        return Form(Wizard.with_context(**action["context"]))

    def test_override_needs_a_reason_and_is_logged(self):
        self._area(self.outlet_a1, zip_prefix="200120")
        self._area(self.outlet_a2, city="Shanghai")
        order = self._order()
        form = self._wizard(order)
        self.assertEqual(form.outlet_id, self.outlet_a1, "the top candidate is preselected")
        self.assertEqual(len(form.line_ids), len(self.outlets_a))
        self.assertEqual(form.line_ids.edit(0).outlet_id, self.outlet_a1)
        form.technician_id = self.tech_a1
        form.outlet_id = self.outlet_a2  # the technician of another outlet is cleared
        self.assertFalse(form.technician_id)
        self.assertTrue(form.is_override)
        with self.assertRaisesRegex(AssertionError, "override_reason is a required field"):
            form.save()
        form.override_reason = "  "  # the dialog's check; the server's follows
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "top candidate"):
            wizard.action_confirm()
        self.assertEqual(order.state, "new")
        wizard.override_reason = "Customer asked for this outlet"
        wizard.action_confirm()
        self.assertEqual(order.outlet_id, self.outlet_a2)
        step = order.step_ids.filtered(lambda s: s.step == "dispatch")
        expected = f"Override of {self.outlet_a1.display_name}: Customer asked for this outlet"
        self.assertEqual(step.note, expected)
        self.assertTrue(any(expected in message.body for message in order.message_ids))

    def test_top_candidate_needs_no_reason(self):
        self._area(self.outlet_a1, zip_prefix="200120")
        order = self._order()
        form = self._wizard(order)
        form.technician_id = self.tech_a1
        form.note = "Call before coming"
        form.save().action_confirm()
        self.assertEqual(order.outlet_id, self.outlet_a1)
        self.assertEqual(order.technician_id, self.tech_a1)
        self.assertEqual(order.step_ids.filtered(lambda s: s.step == "dispatch").note,
                         "Call before coming")  # fmt: skip
        # The dialog's Choose button picks another candidate.
        order_2 = self._order()
        wizard = self._wizard(order_2).save()
        line = wizard.line_ids.filtered(lambda line: line.outlet_id == self.outlet_a3)
        self.assertEqual(wizard.top_outlet_id, self.outlet_a1)
        action = line.action_choose()
        self.assertEqual(action["res_id"], wizard.id)
        self.assertEqual(wizard.outlet_id, self.outlet_a3)
        self.assertTrue(wizard.is_override)

    def test_best_dispatch_and_automatic_installation(self):
        order = self._order()
        with self.assertRaisesRegex(UserError, "No outlet"):
            order.with_user(self.dispatcher_a).action_dispatch_best()
        self._area(self.outlet_a2, district="Pudong")
        order.with_user(self.dispatcher_a).action_dispatch_best(note="From the integrator")
        self.assertEqual(order.outlet_id, self.outlet_a2)
        self.assertEqual(order.state, "dispatched")
        # An installation's work order is created at once, and dispatched when it can be.
        request = self.new_request(type_id=self.installation.id)
        installation = request.work_order_ids
        self.assertEqual(installation.outlet_id, self.outlet_a2)
        self.assertEqual(installation.state, "dispatched")
        self.assertEqual(installation.step_ids.filtered(lambda s: s.step == "dispatch").user_id,
                         self.agent_a)  # fmt: skip
        self.outlet_a2.dispatch_status = "suspended"
        waiting = self.new_request(type_id=self.installation.id).work_order_ids
        self.assertEqual(waiting.state, "new", "no outlet covers it: a dispatcher chooses")

    def test_record_and_dispatch_in_one_click(self):
        """The intake screen's Record & Dispatch leaves the order as recording it and
        then dispatching it to the best outlet would: same outlet, trail, deadlines,
        centre following and notified."""
        self._area(self.outlet_a2, district="Pudong")
        two_clicks = self._order()
        two_clicks.with_user(self.dispatcher_a).action_dispatch_best()
        Intake = self.env["service.dispatch.intake"].with_user(self.dispatcher_a)
        values = {
            "phone": "13800139999",
            "partner_id": self.customer.id,
            "appliance_id": self.appliance.id,
            "type_id": self.repair.id,
            "description": "Noisy spin cycle",
        }
        intake = Intake.create(values)
        intake.action_record_and_dispatch()
        order = intake.request_id.work_order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(intake.request_id.state, "in_progress")
        same = ["outlet_id", "state", "unit_id", "sla_policy_id", "sla_calendar_id",
                "sla_deadline_kind", "sla_deadline", "sla_deadline_accept", "sla_status",
                "sla_deadline_on_site", "sla_deadline_done", "date_dispatched"]  # fmt: skip
        self.assertEqual(order.read(same)[0] | {"id": 0}, two_clicks.read(same)[0] | {"id": 0})
        self.assertEqual(order.outlet_id, self.outlet_a2)
        trail = order.step_ids.sorted("id")
        self.assertEqual(trail.mapped("step"), ["create", "dispatch"])
        self.assertEqual(trail.mapped("state_to"), ["new", "dispatched"])
        self.assertEqual(trail.user_id, self.dispatcher_a)
        self.assertEqual(trail[1].outlet_id, self.outlet_a2)
        self.assertEqual(order.message_partner_ids, two_clicks.message_partner_ids)
        notices = order.message_ids.filtered("notification_ids")
        self.assertEqual(len(notices), 1)
        self.assertIn("Outlet A2", notices.body)
        # No outlet covers the address: recorded, the order waits for a dispatcher.
        self.outlet_a2.dispatch_status = "suspended"
        waiting = Intake.create(values)
        waiting.action_record_and_dispatch()
        self.assertEqual(waiting.request_id.work_order_ids.state, "new")
        self.assertEqual(waiting.request_id.work_order_ids.step_ids.step, "create")
        # Agents record; dispatching is for dispatchers (nothing is recorded).
        self.outlet_a2.dispatch_status = "active"
        denied = Intake.with_user(self.agent_a).create(values)
        with self.assertRaises(AccessError):
            denied.action_record_and_dispatch()
        with self.assertRaises(AccessError):
            denied.action_record_request(dispatch=True)
        self.assertFalse(denied.request_id)
        # Branch B's dispatcher records a request of branch A's customer at branch B:
        # the best outlet below branch B takes it.
        self._area(self.outlet_b1, district="Pudong")
        other = Intake.with_user(self.dispatcher_b).create(values)
        other.action_record_and_dispatch()
        self.assertEqual(other.request_id.unit_id, self.branch_b)
        self.assertEqual(other.request_id.work_order_ids.outlet_id, self.outlet_b1)

    def test_parent_centre_is_notified(self):
        order = self._order()
        order.with_user(self.dispatcher_a).action_dispatch(self.outlet_a1.id)
        centre = (self.branch_a.manager_ids | self.branch_a.supervisor_ids).partner_id
        self.assertTrue(centre)
        self.assertLessEqual(centre, order.message_partner_ids)
        notices = order.message_ids.filtered("notification_ids")
        self.assertEqual(len(notices), 1, "one message per order")
        self.assertEqual(notices.notification_ids.res_partner_id, centre)
        self.assertEqual(set(notices.notification_ids.mapped("notification_type")), {"inbox"})
        self.assertIn("Outlet A1", notices.body)

    def test_centre_people_follow_changes(self):
        """Who is notified is cached per centre: a new supervisor of the centre hears of
        the next dispatch, an archived one no longer does."""
        order = self._order()
        order.with_user(self.dispatcher_a).action_dispatch(self.outlet_a1.id)
        before = order.message_partner_ids
        newcomer = self._new_user("dispatch.newcomer.a", SERVICE_MANAGER)
        self.branch_a.supervisor_ids = [Command.link(newcomer.id)]
        second = self._order()
        second.with_user(self.dispatcher_a).action_dispatch(self.outlet_a1.id)
        self.assertEqual(second.message_partner_ids, before | newcomer.partner_id)
        newcomer.active = False
        third = self._order()
        third.with_user(self.dispatcher_a).action_dispatch(self.outlet_a1.id)
        self.assertEqual(third.message_partner_ids, before)

    # ------------------------------------------------------------ access
    def test_access(self):
        self._area(self.outlet_a1, city="Shanghai")
        order = self._order()
        # An agent ranks (the intake screen shows it) but does not dispatch.
        self.assertTrue(self._ranking(order, self.agent_a))
        for call in (
            lambda o: o.action_dispatch_best(),
            lambda o: o.action_dispatch(self.outlet_a1.id),
            lambda o: o.action_open_dispatch(),
        ):
            with self.assertRaises(AccessError):
                call(order.with_user(self.agent_a))
        # Branch B's dispatcher neither ranks nor dispatches branch A's orders.
        with self.assertRaises(AccessError):
            self._ranking(order, self.dispatcher_b)
        with self.assertRaises(AccessError):
            order.with_user(self.dispatcher_b).action_dispatch_best()
        # Outlet staff do not rank.
        with self.assertRaises(AccessError):
            self._ranking(order, self.supervisor_a1)
        wizard = self.env["service.dispatch.work.order.dispatch"].with_user(self.agent_a)
        with self.assertRaises(AccessError):
            wizard.create({"work_order_id": order.id, "outlet_id": self.outlet_a1.id})
        self.assertEqual(order.state, "new")

    def test_best_outlet_query_agrees_with_the_full_ranking(self):
        """The best outlet's query (covered outlets only) ranks them as the full one."""
        self._area(self.outlet_a1, state_id=self.region_sh.id)
        self._area(self.outlet_a2, city="Shanghai")
        self._area(self.outlet_a3, city="Shanghai")
        self._area(self.outlet_a3, state_id=self.region_sh.id)  # its best area counts
        self._area(self.outlet_a4, city="Shanghai", district="Pudong")
        self._area(self.outlet_a5, city="Beijing")  # not covering
        self.outlet_a2.write({"latitude": PEOPLES_SQUARE[0], "longitude": PEOPLES_SQUARE[1]})
        self.outlet_a3.write({"latitude": PUDONG[0], "longitude": PUDONG[1]})
        self.dispatched_order(self.outlet_a1)
        order = self._order()
        for step in range(3):
            full = [c for c in order._dispatch_candidates(reasons=False) if c["level"]]
            covered = order._dispatch_candidates(covered_only=True, reasons=False)
            self.assertEqual(covered, full)
            self.assertEqual(order._best_outlet().id, full[0]["outlet_id"])
            if step == 0:  # the district outlet is suspended: the nearest city outlet
                self.outlet_a4.dispatch_status = "suspended"
                self.assertEqual(full[0]["outlet_id"], self.outlet_a4.id)
            elif step == 1:
                self.assertEqual(full[0]["outlet_id"], self.outlet_a3.id)
                self.outlet_a3.skill_category_ids = self.categ_kettles
        self.assertEqual(full[0]["outlet_id"], self.outlet_a2.id)

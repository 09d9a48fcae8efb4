from odoo.exceptions import AccessError, UserError

from .common import DispatchCommon


class TestWorkOrder(DispatchCommon):
    def test_status_trail_records_time_and_author_of_every_step(self):
        order = self.dispatched_order()
        self.assertTrue(order.name.startswith("WO"))
        self.assertEqual(order.state, "dispatched")
        self.assertEqual(order.outlet_id, self.outlet_a1)
        self.assertTrue(order.date_dispatched)
        # The outlet's supervisor takes the outlet's steps.
        outlet_order = order.with_user(self.supervisor_a1)
        outlet_order.action_accept(technician_id=self.tech_a1.id)
        self.assertEqual(order.technician_id, self.tech_a1)
        outlet_order.action_on_site()
        outlet_order.action_done("Replaced the drain pump.")
        self.assertEqual(order.work_summary, "Replaced the drain pump.")
        # The agent calls the customer back.
        order.with_user(self.agent_a).action_record_feedback("5", "Very happy")
        self.assertEqual(order.state, "closed")
        self.assertEqual(order.feedback_rating, "5")
        self.assertEqual(order.request_id.state, "closed", "its last order closed it")
        steps = order.step_ids.sorted("id")
        self.assertEqual(
            steps.mapped("step"), ["create", "dispatch", "accept", "on_site", "done", "feedback"]
        )
        self.assertEqual(
            [step.user_id for step in steps],
            [self.agent_a, self.dispatcher_a] + [self.supervisor_a1] * 3 + [self.agent_a],
        )
        self.assertEqual(steps.mapped("state_to"), ["new", "dispatched", "accepted", "on_site",
                                                    "done", "closed"])  # fmt: skip
        self.assertTrue(all(steps.mapped("date")))
        for field in ("date_accepted", "date_on_site", "date_done", "date_feedback"):
            self.assertTrue(order[field], field)

    def test_refused_order_goes_back_to_dispatch_with_its_reason(self):
        order = self.dispatched_order()
        with self.assertRaisesRegex(UserError, "reason"):
            order.with_user(self.supervisor_a1).action_refuse("  ")
        order.with_user(self.supervisor_a1).action_refuse("No technician this week")
        self.assertEqual(order.state, "refused")
        self.assertFalse(order.outlet_id)
        self.assertEqual(order.refuse_reason, "No technician this week")
        self.assertEqual(order.refuse_count, 1)
        refusal = order.step_ids.filtered(lambda s: s.step == "refuse")
        self.assertEqual(refusal.outlet_id, self.outlet_a1, "the outlet that refused")
        self.assertEqual(refusal.user_id, self.supervisor_a1)
        self.assertEqual(refusal.note, "No technician this week")
        # The outlet no longer sees it; the dispatcher sends it elsewhere.
        self.assertFalse(
            self.env["service.dispatch.work.order"]
            .with_user(self.supervisor_a1)
            .search([("id", "=", order.id)])
        )
        order.with_user(self.dispatcher_a).action_dispatch(self.outlet_a2.id)
        self.assertEqual(order.outlet_id, self.outlet_a2)
        self.assertEqual(order.state, "dispatched")

    def test_impossible_steps_are_clear_errors(self):
        order = self.dispatched_order()
        with self.assertRaisesRegex(UserError, "is Dispatched: it cannot be done"):
            order.with_user(self.supervisor_a1).action_done()
        with self.assertRaisesRegex(UserError, "rating is one of"):
            order.with_user(self.agent_a).action_record_feedback("9")
        order.with_user(self.dispatcher_a).action_cancel("Customer fixed it")
        self.assertEqual(order.cancel_reason, "Customer fixed it")
        with self.assertRaisesRegex(UserError, "is Cancelled"):
            order.with_user(self.dispatcher_a).action_dispatch(self.outlet_a1.id)

    def test_dispatch_needs_an_outlet_and_its_own_technician(self):
        request = self.new_request()
        request.with_user(self.agent_a).action_create_work_order()
        order = request.work_order_ids.with_user(self.dispatcher_a)
        with self.assertRaisesRegex(UserError, "to an outlet"):
            order.action_dispatch(self.branch_a.id)
        with self.assertRaisesRegex(UserError, "technician must belong"):
            order.action_dispatch(self.outlet_a1.id, self.tech_b1.id)
        order.action_dispatch(self.outlet_a1.id, self.tech_a1.id)
        self.assertEqual(order.technician_id, self.tech_a1)

    def test_who_may_take_which_step(self):
        order = self.dispatched_order()
        # Another outlet of the same branch: reads nothing, accepts nothing.
        with self.assertRaises(AccessError):
            order.with_user(self.supervisor_a2).action_accept()
        # An agent does not dispatch; another centre's dispatcher neither.
        with self.assertRaises(AccessError):
            order.with_user(self.agent_a).action_cancel("Not my job")
        with self.assertRaises(AccessError):
            order.with_user(self.dispatcher_b).action_cancel("Not my centre")
        # The branch's dispatcher may record what the outlet said on the phone.
        order.with_user(self.dispatcher_a).action_accept()
        self.assertEqual(order.state, "accepted")

    def test_trail_fields_change_through_the_steps_only(self):
        order = self.dispatched_order()
        for user, vals in (
            (self.dispatcher_a, {"state": "done"}),
            (self.dispatcher_a, {"outlet_id": self.outlet_b1.id}),
            (self.centre_manager_a, {"date_done": "2020-01-01 00:00:00"}),
            (self.service_admin, {"feedback_rating": "5"}),
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                order.with_user(user).write(vals)
        with self.assertRaises(AccessError):
            self.env["service.dispatch.work.order"].with_user(self.dispatcher_a).create(
                {"request_id": order.request_id.id, "state": "closed"}
            )
        order.with_user(self.dispatcher_a).write({"description": "Bring a spare pump"})
        self.assertEqual(order.description, "Bring a spare pump")

    def test_parent_centre_follows_the_dispatched_order(self):
        order = self.dispatched_order()
        self.assertIn(self.manager_a.partner_id, order.message_partner_ids)

    def test_the_chatter_shows_every_step(self):
        """State, outlet and technician changes are tracked in the chatter. Odoo tracks
        records that existed before the change: a record created in the same
        transaction only shows "created", so the tracking runs between the steps."""
        tracked = self.env(context=dict(self.env.context, tracking_disable=False))
        request = self.new_request().with_env(tracked)
        request.with_user(self.agent_a).action_create_work_order()
        order = request.work_order_ids.with_env(tracked)
        self._flush_tracking()
        order.with_user(self.dispatcher_a).action_dispatch(self.outlet_a1.id, self.tech_a1.id)
        self._flush_tracking()
        order.with_user(self.supervisor_a1).action_accept()
        self._flush_tracking()
        values = order.message_ids.tracking_value_ids
        states = values.filtered(lambda v: v.field_id.name == "state").sorted("id")
        self.assertEqual(
            [(v.old_value_char, v.new_value_char) for v in states],
            [("To Dispatch", "Dispatched"), ("Dispatched", "Accepted")],
        )
        outlet = values.filtered(lambda v: v.field_id.name == "outlet_id")
        self.assertEqual(outlet.new_value_char, self.outlet_a1.display_name)
        authors = states.mail_message_id.sorted("id").author_id
        self.assertEqual(authors, self.dispatcher_a.partner_id | self.supervisor_a1.partner_id)

    def _flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemo(TransactionCase):
    """The demo shows every step of the trail, and its users see what their role sees."""

    def setUp(self):
        super().setUp()
        if not self.env.ref("service_dispatch.product_washer_demo", raise_if_not_found=False):
            self.skipTest("installed without demo data")

    def test_demo_covers_every_state(self):
        Order = self.env["service.dispatch.work.order"]
        states = {state for [state] in Order._read_group([], ["state"])}
        self.assertEqual(states, {state for state, _label in Order._fields["state"].selection})
        Request = self.env["service.dispatch.request"]
        self.assertEqual(
            {state for [state] in Request._read_group([], ["state"])},
            {"open", "in_progress", "closed"},
        )
        self.assertGreaterEqual(self.env["service.dispatch.appliance"].search_count([]), 40)

    def test_demo_users_see_their_part(self):
        agent = self.env.ref("service_dispatch.user_agent_demo")
        outlet_user = self.env.ref("service_base.user_service_user_demo")
        outlet = self.env.ref("service_base.unit_xikezhan_demo")
        Order = self.env["service.dispatch.work.order"]
        self.assertEqual(Order.with_user(agent).search_count([]), Order.search_count([]))
        mine = Order.with_user(outlet_user).search([])
        self.assertTrue(mine)
        self.assertEqual(mine.outlet_id, outlet)
        # A demo caller is found by the number the hotline sees.
        customer = self.env["service.dispatch.request"].search([], limit=1).partner_id
        found = self.env["res.partner"].with_user(agent).service_lookup_caller(customer.phone)
        self.assertIn(customer.id, [card["id"] for card in found["customers"]])

    def test_demo_portal_users_see_their_part(self):
        outlet = self.env.ref("service_base.unit_xikezhan_demo")
        outlet_user = self.env.ref("service_dispatch.user_outlet_xikezhan_demo")
        Order = self.env["service.dispatch.work.order"]
        theirs = Order.with_user(outlet_user).search([])
        self.assertTrue(theirs)
        self.assertEqual(theirs.outlet_id, outlet)
        customer_user = self.env["res.users"].search([("login", "=", "customer.demo")])
        requests = self.env["service.dispatch.request"].with_user(customer_user).search([])
        self.assertTrue(requests)
        self.assertEqual(requests.partner_id, customer_user.partner_id)

    def test_demo_has_late_and_escalated_orders_and_covered_customers(self):
        Order = self.env["service.dispatch.work.order"]
        self.assertTrue(Order.search_count([("sla_status", "=", "overdue")]))
        self.assertTrue(Order.search_count([("escalation_level", ">=", 2)]))
        self.assertGreaterEqual(
            self.env["res.partner"].search_count([("service_district", "!=", False)]), 200
        )
        order = Order.search([("state", "=", "new")], limit=1)
        self.assertTrue(order._dispatch_candidates()[0]["level"], "the demo addresses are covered")

"""Opening each screen as each role: the form's fields, the list and the kanban
columns, read the way the web client reads them (web_read, web_search_read,
formatted_read_group). A field the role may not read shows up here, not in a browser."""

from lxml import etree

from .common import DispatchCommon


class TestViews(DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.order = cls.dispatched_order()
        cls.order.with_user(cls.supervisor_a1).action_accept(technician_id=cls.tech_a1.id)

    def _spec(self, Model, view_type):
        views = Model.get_views([(False, view_type)])
        arch = etree.fromstring(views["views"][view_type]["arch"])
        spec = {}
        # Top-level fields only: x2many sub-views read their own records.
        for node in arch.iter("field"):
            if any(parent.tag == "field" for parent in node.iterancestors()):
                continue
            name = node.get("name")
            field = Model._fields[name]
            if field.type in ("many2one", "one2many", "many2many"):
                spec[name] = {"fields": {"display_name": {}}}
            else:
                spec[name] = {}
        return spec

    def test_every_role_opens_its_screens(self):
        screens = {
            "agent": (self.agent_a, [self.order.request_id, self.order, self.appliance,
                                     self.customer]),
            "dispatcher": (self.dispatcher_a, [self.order.request_id, self.order, self.appliance]),
            "outlet": (self.supervisor_a1, [self.order.request_id, self.order, self.appliance]),
            "manager": (self.manager_a, [self.order.request_id, self.order]),
            "centre_manager": (self.centre_manager_a, [self.repair, self.tech_a1]),
        }  # fmt: skip
        for role, (user, records) in screens.items():
            for record in records:
                Model = self.env[record._name].with_user(user)
                with self.subTest(role=role, model=record._name):
                    values = record.with_user(user).web_read(self._spec(Model, "form"))
                    self.assertEqual(values[0]["id"], record.id)
                    if not record._name.startswith("service.dispatch"):
                        continue
                    for view_type in ("list", "kanban"):
                        found = Model.web_search_read(
                            [("id", "=", record.id)], self._spec(Model, view_type)
                        )
                        self.assertEqual(found["length"], 1)

    def test_work_order_kanban_shows_every_state_column(self):
        groups = (
            self.env["service.dispatch.work.order"]
            .with_user(self.dispatcher_a)
            .with_context(read_group_expand=True)
            .formatted_read_group([], ["state"], ["__count"])
        )
        states = [group["state"] for group in groups]
        self.assertEqual(
            states,
            ["new", "dispatched", "accepted", "on_site", "done", "closed", "refused", "cancelled"],
        )

    def test_menus_by_role(self):
        menu = self.env.ref("service_dispatch.service_dispatch_menu_request_types")
        Menu = self.env["ir.ui.menu"]
        self.assertIn(menu.id, Menu.with_user(self.centre_manager_a)._visible_menu_ids())
        self.assertNotIn(menu.id, Menu.with_user(self.dispatcher_a)._visible_menu_ids())
        customers = self.env.ref("service_dispatch.service_dispatch_menu_customers")
        self.assertIn(customers.id, Menu.with_user(self.agent_a)._visible_menu_ids())
        self.assertNotIn(customers.id, Menu.with_user(self.supervisor_a1)._visible_menu_ids())

    def test_monitoring_by_outlet_state_and_age_in_the_users_subtree(self):
        """The monitoring pivot's groups, as each manager reads them: branch A's manager
        sees branch A's outlets only; the service admin sees both branches."""
        self.dispatched_order(self.outlet_b1, unit=self.branch_b)
        action = self.env.ref("service_dispatch.service_dispatch_work_order_action_monitoring")
        self.assertEqual(action.view_mode.split(",")[0], "pivot")
        Order = self.env["service.dispatch.work.order"]

        def outlets_seen(user):
            groups = Order.with_user(user).formatted_read_group(
                [("is_open", "=", True)], ["outlet_id", "sla_status", "state"], ["__count"]
            )
            return {group["outlet_id"][0] for group in groups if group["outlet_id"]}

        self.assertEqual(outlets_seen(self.manager_a), {self.outlet_a1.id})
        # (a demo database has more outlets: the test's are among them)
        self.assertLessEqual(
            {self.outlet_a1.id, self.outlet_b1.id}, outlets_seen(self.service_admin)
        )
        # The age filters are domains the web client evaluates; each one parses and runs.
        search = Order.get_views([(False, "search")])["views"]["search"]["arch"]
        arch = etree.fromstring(search)
        for name in ("age_1", "age_3", "age_7", "sla_overdue", "sla_at_risk"):
            (node,) = arch.xpath(f"//filter[@name='{name}']")
            self.assertTrue(node.get("domain"), name)

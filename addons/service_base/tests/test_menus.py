from odoo.tests import new_test_user

from .common import ServiceBaseCommon


class TestServiceMenus(ServiceBaseCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.system_admin = new_test_user(
            cls.env,
            "test.system.admin",
            groups="service_base.service_base_group_admin,base.group_system",
        )

    def _visible(self, user):
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def test_menu_access_per_group(self):
        root = self.env.ref("service_base.service_base_menu_root")
        organisation = self.env.ref("service_base.service_base_menu_organisation")
        config = self.env.ref("service_base.service_base_menu_config")
        settings = self.env.ref("service_base.service_base_menu_settings")
        expectations = {
            # user: (root, organisation, configuration, settings)
            self.internal_user: (False, False, False, False),
            self.supervisor_a1: (True, True, False, False),
            self.manager_a: (True, True, True, False),
            self.service_admin: (True, True, True, False),
            # Odoo's settings screen needs Administration / Settings as well.
            self.system_admin: (True, True, True, True),
        }
        for user, expected in expectations.items():
            with self.subTest(user=user.login):
                visible = self._visible(user)
                seen = tuple(menu.id in visible for menu in (root, organisation, config, settings))
                self.assertEqual(seen, expected)

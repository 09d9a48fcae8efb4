from odoo.tests import TransactionCase, new_test_user


class ServiceBaseCommon(TransactionCase):
    """A small tree built in setUpClass: HQ → branches A and B → two outlets each.

    Users: a manager per branch, a supervisor of outlet A1, a service administrator
    and an internal user outside the service groups.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Unit = cls.env["service.org.unit"]
        cls.manager_a = new_test_user(
            cls.env, "test.manager.a", groups="service_base.service_base_group_manager"
        )
        cls.manager_b = new_test_user(
            cls.env, "test.manager.b", groups="service_base.service_base_group_manager"
        )
        cls.supervisor_a1 = new_test_user(
            cls.env, "test.supervisor.a1", groups="service_base.service_base_group_user"
        )
        cls.service_admin = new_test_user(
            cls.env, "test.service.admin", groups="service_base.service_base_group_admin"
        )
        cls.internal_user = new_test_user(cls.env, "test.internal", groups="base.group_user")

        cls.hq = cls.Unit.create({"name": "Test HQ", "code": "T-HQ", "unit_type": "hq"})
        cls.branch_a = cls.Unit.create(
            {
                "name": "Branch A",
                "code": "T-A",
                "unit_type": "branch",
                "parent_id": cls.hq.id,
                "manager_ids": [(4, cls.manager_a.id)],
            }
        )
        cls.branch_b = cls.Unit.create(
            {
                "name": "Branch B",
                "code": "T-B",
                "unit_type": "branch",
                "parent_id": cls.hq.id,
                "manager_ids": [(4, cls.manager_b.id)],
            }
        )
        cls.outlet_a1, cls.outlet_a2 = cls.Unit.create(
            [
                {
                    "name": "Outlet A1",
                    "code": "T-A-1",
                    "parent_id": cls.branch_a.id,
                    "supervisor_ids": [(4, cls.supervisor_a1.id)],
                },
                {"name": "Outlet A2", "code": "T-A-2", "parent_id": cls.branch_a.id},
            ]
        )
        cls.outlet_b1, cls.outlet_b2 = cls.Unit.create(
            [
                {"name": "Outlet B1", "code": "T-B-1", "parent_id": cls.branch_b.id},
                {"name": "Outlet B2", "code": "T-B-2", "parent_id": cls.branch_b.id},
            ]
        )
        cls.subtree_a = cls.branch_a | cls.outlet_a1 | cls.outlet_a2
        cls.subtree_b = cls.branch_b | cls.outlet_b1 | cls.outlet_b2

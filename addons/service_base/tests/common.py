"""The organisation every Service addon tests against, built once per test class.

::

    Test HQ (T-HQ, hq)
    ├── Branch A (T-A)     manager: manager_a
    │   ├── Outlet A1 (T-A-1)   supervisor: supervisor_a1
    │   └── Outlet A2 (T-A-2)   supervisor: supervisor_a2
    └── Branch B (T-B)     manager: manager_b
        ├── Outlet B1 (T-B-1)
        └── Outlet B2 (T-B-2)

Users (login ``test.*``, password = login, as new_test_user makes them):

- ``manager_a``, ``manager_b``: Service Manager, each of their own branch only;
- ``supervisor_a1``, ``supervisor_a2``: Service User, each of their own outlet only;
- ``service_admin``: Service Administrator (the whole organisation);
- ``internal_user``: an internal user outside the Service groups.

``subtree_a`` and ``subtree_b`` are each branch with its outlets; ``Unit`` is the
``service.org.unit`` model.

The next addon's common extends the class and adds only its own records, on these
units and users (service_evaluation's EvaluationCommon does)::

    class DispatchCommon(ServiceBaseCommon):  # service_dispatch/tests/common.py
        @classmethod
        def setUpClass(cls):
            super().setUpClass()  # the tree and the users above, then its own records:
            cls.order = cls.env["service.dispatch.order"].create({"outlet_id": cls.outlet_a1.id})

A layer makes its own users with ``cls._new_user(login, groups)``; one that wants its
fixtures and tests in another context (say tracking_disable) sets ``service_context``:
the environment gets it before the tree is built.
"""

from odoo.tests import TransactionCase, new_test_user

SERVICE_USER = "service_base.service_base_group_user"
SERVICE_MANAGER = "service_base.service_base_group_manager"
SERVICE_ADMIN = "service_base.service_base_group_admin"


class ServiceBaseCommon(TransactionCase):
    """HQ → branches A and B → outlets A1, A2, B1, B2, and the role users above."""

    #: Context added to the class's environment (fixtures and tests) before anything
    #: is built; a layer extends it: ``service_context = Base.service_context | {...}``.
    service_context = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.service_context:
            cls.env = cls.env(context=dict(cls.env.context, **cls.service_context))
        cls.Unit = cls.env["service.org.unit"]
        cls.manager_a = cls._new_user("test.manager.a", SERVICE_MANAGER)
        cls.manager_b = cls._new_user("test.manager.b", SERVICE_MANAGER)
        cls.supervisor_a1 = cls._new_user("test.supervisor.a1", SERVICE_USER)
        cls.supervisor_a2 = cls._new_user("test.supervisor.a2", SERVICE_USER)
        cls.service_admin = cls._new_user("test.service.admin", SERVICE_ADMIN)
        cls.internal_user = cls._new_user("test.internal", "base.group_user")

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
                {
                    "name": "Outlet A2",
                    "code": "T-A-2",
                    "parent_id": cls.branch_a.id,
                    "supervisor_ids": [(4, cls.supervisor_a2.id)],
                },
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

    @classmethod
    def _new_user(cls, login, groups, **values):
        """A fixture user as new_test_user makes it (password = login), without the
        invitation e-mail auth_signup would render for it: no test reads those."""
        return new_test_user(
            cls.env, login, groups=groups, context={"no_reset_password": True}, **values
        )

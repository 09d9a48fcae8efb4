"""ServiceBaseCommon's organisation and role users, plus what dispatch tests need.

::

    Test HQ
    ├── Branch A            manager_a; service centre A: agent_a, dispatcher_a
    │   │                   (supervisors), centre_manager_a (manager)
    │   ├── Outlet A1       supervisor_a1; technician tech_a1
    │   └── Outlet A2       supervisor_a2
    └── Branch B            manager_b; dispatcher_b (supervisor)
        ├── Outlet B1       technician tech_b1
        └── Outlet B2

Added here (login ``dispatch.*``, password = login):

- ``agent_a`` (Agent), ``dispatcher_a`` (Dispatcher), ``centre_manager_a`` (Service
  Centre Manager) of branch A; ``dispatcher_b`` (Dispatcher) of branch B;
- ``washer`` (24 months' warranty) and ``kettle`` (no warranty) products;
- ``customer``: a gold member (M-0001) calling from 138 0013 9999 (no country on the
  contact: read in the company's service country, China), owning ``appliance``
  (washer W-0001, bought 2025-01-15);
- the request types of the data file: ``repair``, ``installation``, ``consultation``,
  ``complaint``, ``praise``.

``new_request(user, **values)`` records a repair request of ``customer`` as ``user``
at branch A; ``dispatched_order(outlet)`` a repair work order dispatched there.
"""

from odoo.addons.service_base.tests.common import SERVICE_MANAGER, ServiceBaseCommon

AGENT = "service_dispatch.group_dispatch_agent"
DISPATCHER = "service_dispatch.group_dispatch_dispatcher"
CENTRE_MANAGER = "service_dispatch.group_dispatch_manager"


class DispatchCommon(ServiceBaseCommon):
    """ServiceBaseCommon + service-centre users, a customer, an appliance, helpers."""

    service_context = ServiceBaseCommon.service_context | {"tracking_disable": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.service_phone_country_id = cls.env.ref("base.cn")
        cls.agent_a = cls._new_user("dispatch.agent.a", AGENT)
        cls.dispatcher_a = cls._new_user("dispatch.dispatcher.a", DISPATCHER)
        cls.centre_manager_a = cls._new_user(
            "dispatch.centre.manager.a", f"{CENTRE_MANAGER},{SERVICE_MANAGER}"
        )
        cls.dispatcher_b = cls._new_user("dispatch.dispatcher.b", DISPATCHER)
        cls.branch_a.write(
            {
                "supervisor_ids": [(4, cls.agent_a.id), (4, cls.dispatcher_a.id)],
                "manager_ids": [(4, cls.centre_manager_a.id)],
            }
        )
        cls.branch_b.supervisor_ids = [(4, cls.dispatcher_b.id)]

        Product = cls.env["product.product"]
        cls.washer = Product.create(
            {"name": "Test Washer", "default_code": "T-W", "service_warranty_months": 24}
        )
        cls.kettle = Product.create({"name": "Test Kettle", "default_code": "T-K"})
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Customer One",
                "phone": "138 0013 9999",
                "service_member_tier": "gold",
                "service_member_number": "M-0001",
            }
        )
        cls.appliance = cls.env["service.dispatch.appliance"].create(
            {
                "partner_id": cls.customer.id,
                "product_id": cls.washer.id,
                "serial_number": "W-0001",
                "purchase_date": "2025-01-15",
                "purchase_place": "Test Shop",
            }
        )
        ref = cls.env.ref
        cls.repair = ref("service_dispatch.request_type_repair")
        cls.installation = ref("service_dispatch.request_type_installation")
        cls.consultation = ref("service_dispatch.request_type_consultation")
        cls.complaint = ref("service_dispatch.request_type_complaint")
        cls.praise = ref("service_dispatch.request_type_praise")
        Technician = cls.env["service.dispatch.technician"]
        cls.tech_a1 = Technician.create({"name": "Tech A1", "outlet_id": cls.outlet_a1.id})
        cls.tech_b1 = Technician.create({"name": "Tech B1", "outlet_id": cls.outlet_b1.id})

    # ------------------------------------------------------------ helpers
    @classmethod
    def new_request(cls, user=None, **values):
        vals = {
            "partner_id": cls.customer.id,
            "appliance_id": cls.appliance.id,
            "type_id": cls.repair.id,
            "channel": "phone",
            "phone": "138 0013 9999",
            "description": "Noisy spin cycle",
            "unit_id": cls.branch_a.id,
        }
        vals.update(values)
        return cls.env["service.dispatch.request"].with_user(user or cls.agent_a).create(vals)

    @classmethod
    def dispatched_order(cls, outlet=None, unit=None):
        """A repair work order taken at `unit` (branch A) and dispatched to `outlet`
        (outlet A1), as the dispatcher of that branch."""
        unit = unit or cls.branch_a
        agent = cls.agent_a if unit == cls.branch_a else cls.env.user
        dispatcher = cls.dispatcher_a if unit == cls.branch_a else cls.dispatcher_b
        request = cls.new_request(agent, unit_id=unit.id)
        request.with_user(agent).action_create_work_order()
        order = request.work_order_ids
        order.with_user(dispatcher).action_dispatch((outlet or cls.outlet_a1).id)
        return order

    def core_matrix_records(self, order_a, order_b, technician_b=None):
        """The access-matrix records (tests/test_access_matrix.py, test_portal.py) of the
        models every role meets: model -> (record on branch A's side, record on branch
        B's side or None, values to create one on A's side, values to write)."""
        request_a = order_a.request_id
        return {
            "service.dispatch.request": (
                request_a, order_b.request_id,
                {"partner_id": self.customer.id, "type_id": self.complaint.id,
                 "unit_id": self.branch_a.id},
                {"description": "Rewritten"},
            ),
            "service.dispatch.work.order": (
                order_a, order_b,
                {"request_id": request_a.id, "service_type": "repair"},
                {"description": "Bring a ladder"},
            ),
            "service.dispatch.work.order.step": (
                order_a.step_ids[:1], order_b.step_ids[:1], None, {"note": "Forged"},
            ),
            "service.dispatch.appliance": (
                self.appliance, None,
                {"partner_id": self.customer.id, "product_id": self.kettle.id,
                 "serial_number": "K-NEW"},
                {"purchase_place": "Elsewhere"},
            ),
            "service.dispatch.appliance.ownership": (
                self.appliance.ownership_ids, None, None, {"date_end": "2020-01-01 00:00:00"},
            ),
            "service.dispatch.request.type": (
                self.repair, None,
                {"name": "Maintenance", "code": "T-MAINT", "path": "close_at_intake"},
                {"name": "Repairs"},
            ),
            "service.dispatch.technician": (
                self.tech_a1, technician_b, {"name": "New Tech", "outlet_id": self.outlet_a1.id},
                {"phone": "+86 139 0000 0000"},
            ),
        }  # fmt: skip

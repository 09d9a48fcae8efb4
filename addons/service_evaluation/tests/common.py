from datetime import datetime, timedelta

from odoo.tests import TransactionCase, new_test_user


class EvaluationCommon(TransactionCase):
    """HQ → branch → outlets A and B; counters A1, A2 (outlet A) and B1 (outlet B),
    one keypad each, all owned by one device user; tellers T1, T2 (outlet A).
    Another branch (outlet C, counter C1, no keypad) with its own manager, and a
    service administrator, for the scoping tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.write(
            {
                "service_phone_country_id": cls.env.ref("base.cn").id,
                "service_rating_window": 10,
                "service_anti_repeat": 5,
                "service_clock_skew": 300,
            }
        )
        Unit = cls.env["service.org.unit"]
        cls.supervisor_a = new_test_user(
            cls.env, "eval.supervisor.a", groups="service_base.service_base_group_user"
        )
        cls.supervisor_a.partner_id.phone = "138 0013 8000"
        cls.supervisor_b = new_test_user(
            cls.env, "eval.supervisor.b", groups="service_base.service_base_group_user"
        )
        cls.manager = new_test_user(
            cls.env, "eval.manager", groups="service_base.service_base_group_manager"
        )
        cls.hq = Unit.create({"name": "Eval HQ", "code": "E-HQ", "unit_type": "hq"})
        cls.branch = Unit.create(
            {
                "name": "Eval Branch",
                "code": "E-BR",
                "unit_type": "branch",
                "parent_id": cls.hq.id,
                "manager_ids": [(4, cls.manager.id)],
            }
        )
        cls.outlet_a = Unit.create(
            {
                "name": "Outlet A",
                "code": "E-A",
                "parent_id": cls.branch.id,
                "supervisor_ids": [(4, cls.supervisor_a.id)],
            }
        )
        cls.outlet_b = Unit.create(
            {
                "name": "Outlet B",
                "code": "E-B",
                "parent_id": cls.branch.id,
                "supervisor_ids": [(4, cls.supervisor_b.id)],
            }
        )
        cls.service_admin = new_test_user(
            cls.env, "eval.service.admin", groups="service_base.service_base_group_admin"
        )
        cls.other_manager = new_test_user(
            cls.env, "eval.manager.other", groups="service_base.service_base_group_manager"
        )
        cls.branch_2 = Unit.create(
            {"name": "Eval Branch 2", "code": "E-BR2", "unit_type": "branch",
             "parent_id": cls.hq.id, "manager_ids": [(4, cls.other_manager.id)]}
        )  # fmt: skip
        cls.outlet_c = Unit.create(
            {"name": "Outlet C", "code": "E-C", "parent_id": cls.branch_2.id}
        )
        cls.deposit = cls.env["service.evaluation.business.type"].create(
            {"name": "Deposit", "code": "E-DEP"}
        )
        Counter = cls.env["service.evaluation.counter"]
        cls.counter_a1, cls.counter_a2, cls.counter_b1 = Counter.create(
            [
                {"name": "A1", "code": "E-A1", "outlet_id": cls.outlet_a.id,
                 "business_type_ids": [(4, cls.deposit.id)]},
                {"name": "A2", "code": "E-A2", "outlet_id": cls.outlet_a.id},
                {"name": "B1", "code": "E-B1", "outlet_id": cls.outlet_b.id},
            ]
        )  # fmt: skip
        cls.counter_c1 = Counter.create(
            {"name": "C1", "code": "E-C1", "outlet_id": cls.outlet_c.id}
        )
        cls.device_user = new_test_user(
            cls.env, "eval.device", groups="service_evaluation.group_service_device"
        )
        cls.other_device_user = new_test_user(
            cls.env, "eval.device.other", groups="service_evaluation.group_service_device"
        )
        Device = cls.env["service.evaluation.device"]
        cls.device_a1, cls.device_a2, cls.device_b1 = Device.create(
            [
                {"serial_number": f"E-KP-{counter.code}", "counter_id": counter.id,
                 "device_user_id": cls.device_user.id}
                for counter in (cls.counter_a1, cls.counter_a2, cls.counter_b1)
            ]
        )  # fmt: skip
        cls.foreign_device = Device.create(
            {"serial_number": "E-KP-FOREIGN", "counter_id": cls.counter_b1.id,
             "device_user_id": cls.other_device_user.id}
        )  # fmt: skip
        cls.teller_user_1 = new_test_user(
            cls.env, "eval.teller.1", groups="service_base.service_base_group_user"
        )
        cls.teller_user_2 = new_test_user(
            cls.env, "eval.teller.2", groups="service_base.service_base_group_user"
        )
        Employee = cls.env["hr.employee"]
        cls.teller_1 = Employee.create(
            {"name": "Teller One", "service_employee_number": "E-1001",
             "user_id": cls.teller_user_1.id}
        )  # fmt: skip
        cls.teller_2 = Employee.create(
            {"name": "Teller Two", "service_employee_number": "E-1002",
             "user_id": cls.teller_user_2.id}
        )  # fmt: skip
        scale = cls.env["service.evaluation.scale"]._get_for_outlet(cls.outlet_a)
        cls.options = {option.key_code: option for option in scale.option_ids}
        # Device times: a fixed, recent base so the max-age check passes.
        cls.t0 = datetime.now().replace(microsecond=0) - timedelta(hours=2)
        cls._uid_counter = 0

    # ------------------------------------------------------------ helpers
    def event(self, event_type, seconds, device=None, **extra):
        """One raw event as a device sends it, `seconds` after t0 (device clock)."""
        type(self)._uid_counter += 1
        moment = self.t0 + timedelta(seconds=seconds)
        raw = {
            "id": f"ev-{self._uid_counter}",
            "device": (device or self.device_a1).serial_number,
            "type": event_type,
            "time": moment.isoformat() + "Z",
        }
        raw.update(extra)
        return raw

    def ingest(self, events, user=None):
        return (
            self.env["service.evaluation.event"].with_user(user or self.device_user)._ingest(events)
        )

    def sessions(self, device=None):
        return self.env["service.evaluation.session"].search(
            [("device_id", "=", (device or self.device_a1).id)], order="date_start, id"
        )

    def outcomes(self, device=None):
        """What became of each stored event of a device, in device-time order."""
        return (
            self.env["service.evaluation.event"]
            .search([("device_id", "=", (device or self.device_a1).id)], order="device_time, id")
            .mapped("outcome")
        )

    def rated_flow(self, start, key, device=None, teller_number=None):
        """login (optional), start, end, rate — one customer."""
        events = []
        if teller_number:
            events.append(self.event("login", start - 1, device, employee=teller_number))
        events += [
            self.event("start", start, device),
            self.event("end", start + 60, device),
            self.event("rate", start + 63, device, key=key),
        ]
        return events

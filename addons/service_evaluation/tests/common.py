"""ServiceBaseCommon's organisation and role users, plus what evaluation tests need.

::

    Test HQ
    ├── Branch A            manager_a
    │   ├── Outlet A1       supervisor_a1 (phone 138 0013 8000)
    │   │   ├── counter A1-1 (business type Deposit)   keypad device_a1_1
    │   │   └── counter A1-2                           keypad device_a1_2
    │   └── Outlet A2       supervisor_a2
    │       └── counter A2-1                           keypads device_a2_1 and
    │                                                  foreign_device
    └── Branch B            manager_b
        ├── Outlet B1
        │   └── counter B1-1 (no keypad)
        └── Outlet B2

Added here (login ``eval.*``, password = login):

- ``device_user`` (Service Device) owns device_a1_1, device_a1_2 and device_a2_1;
  ``other_device_user`` owns ``foreign_device`` only;
- tellers ``teller_1`` (E-1001) and ``teller_2`` (E-1002), hr.employee records of the
  Service Users ``teller_user_1`` and ``teller_user_2``; no shift yet;
- ``deposit`` (a business type), ``options`` (key code → option of outlet A1's scale),
  ``company`` (China numbers, 10 s rating window, 5 s anti-repeat, 300 s clock skew).

Everything runs with tracking disabled. The helpers build device events relative to
``t0`` (two hours ago, device clock) and ingest them as ``device_user``.
"""

from datetime import datetime, timedelta

from odoo.addons.service_base.tests.common import SERVICE_USER, ServiceBaseCommon

SERVICE_DEVICE = "service_evaluation.group_service_device"


class EvaluationCommon(ServiceBaseCommon):
    """ServiceBaseCommon + counters, keypads, device users, tellers and event helpers."""

    service_context = ServiceBaseCommon.service_context | {"tracking_disable": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {
                "service_phone_country_id": cls.env.ref("base.cn").id,
                "service_rating_window": 10,
                "service_anti_repeat": 5,
                "service_clock_skew": 300,
            }
        )
        cls.supervisor_a1.partner_id.phone = "138 0013 8000"
        cls.deposit = cls.env["service.evaluation.business.type"].create(
            {"name": "Deposit", "code": "E-DEP"}
        )
        Counter = cls.env["service.evaluation.counter"]
        cls.counter_a1_1, cls.counter_a1_2, cls.counter_a2_1, cls.counter_b1_1 = Counter.create(
            [
                {"name": "A1-1", "code": "E-A1-1", "outlet_id": cls.outlet_a1.id,
                 "business_type_ids": [(4, cls.deposit.id)]},
                {"name": "A1-2", "code": "E-A1-2", "outlet_id": cls.outlet_a1.id},
                {"name": "A2-1", "code": "E-A2-1", "outlet_id": cls.outlet_a2.id},
                {"name": "B1-1", "code": "E-B1-1", "outlet_id": cls.outlet_b1.id},
            ]
        )  # fmt: skip
        cls.device_user = cls._new_user("eval.device", SERVICE_DEVICE)
        cls.other_device_user = cls._new_user("eval.device.other", SERVICE_DEVICE)
        Device = cls.env["service.evaluation.device"]
        cls.device_a1_1, cls.device_a1_2, cls.device_a2_1 = Device.create(
            [
                {"serial_number": f"E-KP-{counter.code}", "counter_id": counter.id,
                 "device_user_id": cls.device_user.id}
                for counter in (cls.counter_a1_1, cls.counter_a1_2, cls.counter_a2_1)
            ]
        )  # fmt: skip
        cls.foreign_device = Device.create(
            {"serial_number": "E-KP-FOREIGN", "counter_id": cls.counter_a2_1.id,
             "device_user_id": cls.other_device_user.id}
        )  # fmt: skip
        cls.teller_user_1 = cls._new_user("eval.teller.1", SERVICE_USER)
        cls.teller_user_2 = cls._new_user("eval.teller.2", SERVICE_USER)
        Employee = cls.env["hr.employee"]
        cls.teller_1 = Employee.create(
            {"name": "Teller One", "service_employee_number": "E-1001",
             "user_id": cls.teller_user_1.id}
        )  # fmt: skip
        cls.teller_2 = Employee.create(
            {"name": "Teller Two", "service_employee_number": "E-1002",
             "user_id": cls.teller_user_2.id}
        )  # fmt: skip
        scale = cls.env["service.evaluation.scale"]._get_for_outlet(cls.outlet_a1)
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
            "device": (device or self.device_a1_1).serial_number,
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
            [("device_id", "=", (device or self.device_a1_1).id)], order="date_start, id"
        )

    def outcomes(self, device=None):
        """What became of each stored event of a device, in device-time order."""
        return (
            self.env["service.evaluation.event"]
            .search([("device_id", "=", (device or self.device_a1_1).id)], order="device_time, id")
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

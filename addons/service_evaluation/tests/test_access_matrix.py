"""Who may create, read, write and delete each model: readme/SECURITY.md, tested.

Every model of service_base and service_evaluation × {teller, supervisor, branch
manager, another branch's manager, service administrator, device user} × {create,
read, write, unlink}, through the ORM as each user; then sessions, shifts and
counters again over XML-RPC with the users' own logins.
"""

import xmlrpc.client
from datetime import timedelta

from odoo.addons.service_base.tests.access_matrix import AccessMatrixMixin
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import EvaluationCommon

ROLES = ("teller", "supervisor", "manager", "other_manager", "admin", "device")

# model -> {role: operations allowed on a record of outlet A1 (branch of `manager`)}:
# c(reate), r(ead), w(rite), u(nlink). `None` for models that belong to no unit
# (company-wide configuration): their record is read by every role.
MATRIX = {
    "service.org.unit": {
        "teller": "r", "supervisor": "r", "manager": "rwc", "other_manager": "",
        "admin": "crwu", "device": "r",
    },
    "service.evaluation.counter": {
        "teller": "r", "supervisor": "r", "manager": "rwc", "other_manager": "",
        "admin": "crwu", "device": "r",
    },
    "service.evaluation.device": {
        "teller": "", "supervisor": "r", "manager": "rwc", "other_manager": "",
        "admin": "crwu", "device": "r",
    },
    # Facts: written by the ingest only (and the named methods tested elsewhere).
    "service.evaluation.session": {
        "teller": "r", "supervisor": "r", "manager": "r", "other_manager": "",
        "admin": "r", "device": "r",
    },
    "service.evaluation.event": {
        "teller": "", "supervisor": "", "manager": "r", "other_manager": "",
        "admin": "r", "device": "r",
    },
    "service.evaluation.shift": {
        "teller": "r", "supervisor": "r", "manager": "r", "other_manager": "",
        "admin": "r", "device": "r",
    },
    "service.evaluation.star.level": {
        "teller": "r", "supervisor": "r", "manager": "r", "other_manager": "",
        "admin": "r", "device": "",
    },
    "service.evaluation.session.report": {
        "teller": "", "supervisor": "", "manager": "r", "other_manager": "",
        "admin": "r", "device": "",
    },
    "service.evaluation.alert": {
        "teller": "", "supervisor": "r", "manager": "r", "other_manager": "",
        "admin": "r", "device": "",
    },
    # Company-wide configuration: read by all, changed by administrators.
    "service.evaluation.business.type": {
        "teller": "r", "supervisor": "r", "manager": "r", "other_manager": "r",
        "admin": "crwu", "device": "r",
    },
    "service.evaluation.scale": {
        "teller": "r", "supervisor": "r", "manager": "r", "other_manager": "r",
        "admin": "crwu", "device": "r",
    },
    "service.evaluation.scale.option": {
        "teller": "r", "supervisor": "r", "manager": "r", "other_manager": "r",
        "admin": "crwu", "device": "r",
    },
}  # fmt: skip
# The other branch's record is read by its manager and administrators only (and,
# for configuration, by everyone).
FOREIGN_READERS = {"other_manager", "admin"}


class AccessMatrixCommon(EvaluationCommon):
    """EvaluationCommon plus a keypad at counter B1-1 (the other branch, manager B),
    and one record of every model on each side (outlet A1, outlet B1)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.device_b1_1 = cls.env["service.evaluation.device"].create(
            {"serial_number": "E-KP-E-B1-1", "counter_id": cls.counter_b1_1.id,
             "device_user_id": cls.other_device_user.id}
        )  # fmt: skip
        cls.users = {
            "teller": cls.teller_user_1,
            "supervisor": cls.supervisor_a1,
            "manager": cls.manager_a,
            "other_manager": cls.manager_b,
            "admin": cls.service_admin,
            "device": cls.device_user,
        }
        # Facts of each side, as the keypads made them.
        home = cls._keypad_day(cls.device_a1_1, cls.device_user, "E-1001")
        foreign = cls._keypad_day(cls.device_b1_1, cls.other_device_user, "E-1002")
        cls.shift_a, cls.shift_c = home["shift"], foreign["shift"]
        cls.session_a, cls.session_c = home["session"], foreign["session"]
        cls.event_a, cls.event_c = home["event"], foreign["event"]
        cls.alert_a, cls.alert_c = home["alert"], foreign["alert"]
        StarLevel = cls.env["service.evaluation.star.level"]
        StarLevel._compute_levels(cls.t0.date())
        cls.level_a = StarLevel.search([("employee_id", "=", cls.teller_1.id)])
        cls.level_c = StarLevel.search([("employee_id", "=", cls.teller_2.id)])
        Report = cls.env["service.evaluation.session.report"]
        cls.report_a = Report.browse(cls.session_a.id)
        cls.report_c = Report.browse(cls.session_c.id)

    @classmethod
    def _keypad_day(cls, device, device_user, teller_number):
        base = cls.t0
        events = [
            {"id": f"{device.serial_number}-{n}", "device": device.serial_number, "type": kind,
             "time": (base.replace(second=0) + delta).isoformat() + "Z", **extra}
            for n, (kind, delta, extra) in enumerate(
                [
                    ("login", cls._seconds(0), {"employee": teller_number}),
                    ("start", cls._seconds(10), {}),
                    ("end", cls._seconds(70), {}),
                    ("rate", cls._seconds(73), {"key": 1}),
                    # A dissatisfied customer: an alert for the outlet's people.
                    ("start", cls._seconds(100), {}),
                    ("end", cls._seconds(160), {}),
                    ("rate", cls._seconds(163), {"key": 4}),
                ]
            )
        ]  # fmt: skip
        reply = cls.env["service.evaluation.event"].with_user(device_user)._ingest(events)
        assert all(result["status"] == "stored" for result in reply["results"]), reply
        Shift = cls.env["service.evaluation.shift"]
        return {
            "shift": Shift.search([("counter_id", "=", device.counter_id.id)]),
            "session": cls.env["service.evaluation.session"].search(
                [("device_id", "=", device.id), ("is_negative", "=", False)]
            ),
            "alert": cls.env["service.evaluation.alert"].search(
                [("session_id.device_id", "=", device.id)]
            ),
            "event": cls.env["service.evaluation.event"].search(
                [("device_id", "=", device.id)], limit=1
            ),
        }

    @staticmethod
    def _seconds(seconds):
        return timedelta(seconds=seconds)


class TestAccessMatrix(AccessMatrixMixin, AccessMatrixCommon):
    def _records(self):
        """model -> (record of outlet A1's side, record of outlet B1's side or None,
        values to create a record on A1's side, values to write)."""
        return {
            "service.org.unit": (
                self.outlet_a1, self.outlet_b1,
                {"name": "New outlet", "code": "E-NEW", "parent_id": self.branch_a.id},
                {"name": "Outlet A1 renamed"},
            ),
            "service.evaluation.counter": (
                self.counter_a1_1, self.counter_b1_1,
                {"name": "A1-9", "code": "E-A1-9", "outlet_id": self.outlet_a1.id},
                {"name": "A1-1 renamed"},
            ),
            "service.evaluation.device": (
                self.device_a1_1, self.device_b1_1,
                {"serial_number": "E-KP-NEW", "counter_id": self.counter_a1_2.id,
                 "device_user_id": self.device_user.id},
                {"serial_number": "E-KP-RENAMED"},
            ),
            "service.evaluation.session": (
                self.session_a, self.session_c,
                {"counter_id": self.counter_a1_1.id, "outlet_id": self.outlet_a1.id,
                 "company_id": self.company.id, "date_start": self.t0},
                {"score": 100.0, "is_satisfied": True},
            ),
            "service.evaluation.event": (
                self.event_a, self.event_c,
                {"device_id": self.device_a1_1.id, "event_uid": "forged", "event_type": "rate",
                 "device_time": self.t0, "key_code": 1},
                {"outcome": "counted"},
            ),
            "service.evaluation.shift": (
                self.shift_a, self.shift_c,
                {"employee_id": self.teller_1.id, "counter_id": self.counter_a1_2.id,
                 "date_start": self.t0, "date_end": self.t0},
                {"date_end": self.t0},
            ),
            "service.evaluation.star.level": (
                self.level_a, self.level_c,
                {"employee_id": self.teller_1.id, "period_start": "2020-01-01",
                 "period_end": "2020-01-31", "company_id": self.company.id},
                {"star_level": 5},
            ),
            "service.evaluation.session.report": (self.report_a, self.report_c, None, None),
            "service.evaluation.alert": (
                self.alert_a, self.alert_c,
                {"session_id": self.session_a.id, "outlet_id": self.outlet_a1.id,
                 "company_id": self.company.id, "recipient_source": "none"},
                {"state": "called_back"},
            ),
            "service.evaluation.business.type": (
                self.deposit, None, {"name": "Loans", "code": "E-LOAN"}, {"name": "Deposits"},
            ),
            "service.evaluation.scale": (
                self.options[1].scale_id, None, None, {"name": "Renamed scale"},
            ),
            "service.evaluation.scale.option": (
                self.options[1], None,
                {"scale_id": self.options[1].scale_id.id, "name": "Extra", "key_code": 8,
                 "score": 50},
                {"name": "Renamed"},
            ),
        }  # fmt: skip

    def test_matrix(self):
        self.assertAccessMatrix(MATRIX, ROLES, self._records(), FOREIGN_READERS)

    def test_an_outlets_own_scale_stays_in_its_tree(self):
        default = self.options[1].scale_id
        scale_c = default.copy({"outlet_id": self.outlet_b1.id, "name": "Outlet B1 keys"})
        Scale = self.env["service.evaluation.scale"]
        for role, expected in (
            ("teller", default),
            ("supervisor", default),
            ("manager", default),
            ("other_manager", default | scale_c),
            ("admin", default | scale_c),
        ):
            with self.subTest(role=role):
                seen = Scale.with_user(self.users[role]).search(
                    [("id", "in", (default | scale_c).ids)]
                )
                self.assertEqual(seen, expected)
                options = self.env["service.evaluation.scale.option"].with_user(self.users[role])
                self.assertEqual(
                    options.search([("scale_id", "in", (default | scale_c).ids)]).scale_id, expected
                )

    def test_a_teller_sees_the_outlets_counters_live(self):
        reply = self.ingest([self.event("start", 300, self.device_a1_2)])
        self.assertEqual(reply["results"][0]["status"], "stored")
        counters = self.env["service.evaluation.counter"].with_user(self.teller_user_1)
        seen = counters.search([("id", "in", (self.counter_a1_2 | self.counter_a2_1).ids)])
        self.assertEqual(seen, self.counter_a1_2, "the outlet they work at, not the sibling")
        self.assertEqual(seen.live_state, "serving")
        self.assertFalse(seen.current_session_id, "a colleague's session stays theirs")
        self.assertTrue(self.counter_a1_2.with_user(self.supervisor_a1).current_session_id)

    def test_teller_never_sees_negative_ratings(self):
        """Hidden from a teller under every path: search, read, grouped reads, export,
        the analysis, the counters kanban figures, star-level details."""
        negative = self.ingest(self.rated_flow(400, 4))
        self.assertTrue(negative)
        session = self.sessions().filtered("is_negative")
        self.assertTrue(session)
        session.employee_id = self.teller_1  # as superuser: the fixture's teller
        Session = self.env["service.evaluation.session"].with_user(self.teller_user_1)
        self.assertNotIn(session, Session.search([]))
        with self.assertRaises(AccessError):
            session.with_user(self.teller_user_1).read(["option_id"])
        groups = Session._read_group([("is_negative", "=", True)], [], ["__count"])
        self.assertEqual(groups[0][0], 0)
        formatted = Session.formatted_read_group([], ["option_id"], ["__count"])
        self.assertNotIn(
            self.options[4].id,
            [group["option_id"] and group["option_id"][0] for group in formatted],
        )
        self.teller_user_1.group_ids += self.env.ref("base.group_allow_export")
        exported = Session.search([]).export_data(["option_id/id", "is_negative"])["datas"]
        self.assertNotIn(True, [row[1] for row in exported])
        with self.assertRaises(AccessError):
            self.env["service.evaluation.session.report"].with_user(self.teller_user_1).search([])
        counter = self.counter_a1_1.with_user(self.teller_user_1)
        counter.invalidate_recordset()
        self.assertEqual(
            counter.session_count, len(Session.search([("counter_id", "=", counter.id)]))
        )


@tagged("post_install", "-at_install")
class TestAccessOverXmlRpc(HttpCase, AccessMatrixCommon):
    """Sessions, shifts and counters over XML-RPC, with the users' own passwords."""

    def call(self, role, model, method, *args, **kwargs):
        user = self.users[role]
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, user.login, model, method, list(args), kwargs
        )

    def assert_refused(self, role, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault) as refused:
            self.call(role, model, method, *args, **kwargs)
        self.assertRegex(refused.exception.faultString, "(not allowed|access|Only)")

    def test_ratings_cannot_be_rewritten(self):
        # Finding 1: a teller raised their own rating, a manager rewrote their branch's.
        self.assert_refused(
            "teller", "service.evaluation.session", "write", [self.session_a.id],
            {"score": 100, "is_satisfied": True},
        )  # fmt: skip
        for role in ("manager", "admin"):
            self.assert_refused(
                role, "service.evaluation.session", "write", [self.session_a.id],
                {"score": 0, "is_negative": True},
            )  # fmt: skip
            self.assert_refused(role, "service.evaluation.session", "unlink", [self.session_a.id])
            self.assert_refused(
                role, "service.evaluation.session", "create",
                [{"counter_id": self.counter_a1_1.id, "outlet_id": self.outlet_a1.id,
                  "company_id": self.company.id, "date_start": "2026-01-01 09:00:00"}],
            )  # fmt: skip
        self.session_a.invalidate_recordset()
        self.assertEqual(self.session_a.option_id, self.options[1])
        self.assertFalse(self.session_a.is_negative)
        # What staff may change goes through the checked method.
        self.call("supervisor", "service.evaluation.session", "action_set_callback",
                  [self.session_a.id], customer_phone="138 0013 8001")  # fmt: skip
        self.session_a.invalidate_recordset()
        self.assertEqual(self.session_a.customer_phone, "+8613800138001")
        self.assert_refused(
            "other_manager", "service.evaluation.session", "action_set_callback",
            [self.session_a.id], customer_phone="138 0013 8002",
        )  # fmt: skip

    def test_shifts_are_facts(self):
        self.assert_refused(
            "teller", "service.evaluation.shift", "write", [self.shift_a.id],
            {"date_start": "2020-01-01 08:00:00"},
        )  # fmt: skip
        self.assert_refused("manager", "service.evaluation.shift", "unlink", [self.shift_a.id])
        self.assert_refused(
            "other_manager", "service.evaluation.shift", "action_correct", [self.shift_a.id],
            "2020-01-01 08:00:00", False, "typo",
        )  # fmt: skip

    def test_counters_do_not_leak_across_branches(self):
        # Finding 2: another branch's manager and a supervisor read the east counters.
        ids = [self.counter_a1_1.id, self.counter_a2_1.id, self.counter_b1_1.id]
        seen = {
            role: set(self.call(role, "service.evaluation.counter", "search", [("id", "in", ids)]))
            for role in ("supervisor", "manager", "other_manager")
        }
        self.assertEqual(seen["supervisor"], {self.counter_a1_1.id})
        self.assertEqual(seen["manager"], {self.counter_a1_1.id, self.counter_a2_1.id})
        self.assertEqual(seen["other_manager"], {self.counter_b1_1.id})
        self.assert_refused(
            "other_manager", "service.evaluation.counter", "read", [self.counter_a1_1.id], ["name"]
        )
        self.assert_refused(
            "supervisor", "service.evaluation.counter", "write", [self.counter_a1_1.id],
            {"name": "mine"},
        )  # fmt: skip

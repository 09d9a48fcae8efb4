"""Deadlines on a working calendar, warnings and level-by-level escalation (frozen time).

The calendar: Monday to Friday 8-12 and 13-17 in Shanghai time, Monday 5 January 2026 a
public holiday (a global leave). An order created on Friday 2 January at 15:00 has
2 working hours that day, none at the weekend or on the holiday, the rest from Tuesday.
The ladder: the outlet's service centre 2 hours after the deadline, two levels up (HQ in
the test tree) 6 hours after it, with an extra recipient.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

from freezegun import freeze_time
from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import BaseCase

from ..tools import sla_clock
from .common import DispatchCommon


def cn(day, hour, minute=0):
    """A moment of January 2026 in Shanghai (UTC+8), as Odoo stores it (naive UTC)."""
    return datetime(2026, 1, day, hour, minute) - timedelta(hours=8)


def office_calendar(env, name, days=range(5)):
    return env["resource.calendar"].create(
        {
            "name": name,
            "tz": "Asia/Shanghai",
            "attendance_ids": [Command.clear()]
            + [
                Command.create(
                    {
                        "name": f"{day} {period}",
                        "dayofweek": str(day),
                        "hour_from": start,
                        "hour_to": stop,
                        "day_period": period,
                    }
                )
                for day in days
                for start, stop, period in ((8, 12, "morning"), (13, 17, "afternoon"))
            ],
        }
    )


class TestSla(DispatchCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.calendar = office_calendar(env, "Office hours")
        env["resource.calendar.leaves"].create(
            {
                "name": "Public holiday",
                "calendar_id": cls.calendar.id,
                "date_from": cn(5, 0),
                "date_to": cn(5, 23, 59),
            }
        )
        cls.branch_a.resource_calendar_id = cls.calendar
        env["service.dispatch.sla.policy"].search([]).active = False
        cls.policy = env["service.dispatch.sla.policy"].create(
            {
                "name": "Repairs",
                "type_id": cls.repair.id,
                "hours_accept": 4,
                "hours_on_site": 8,
                "hours_done": 16,
            }
        )
        Level = env["service.dispatch.escalation.level"]
        Level.search([]).active = False
        cls.level_centre = Level.create(
            {"name": "Centre", "sequence": 1, "levels_up": 1, "delay_hours": 2}
        )
        cls.level_top = Level.create(
            {
                "name": "Top",
                "sequence": 2,
                "levels_up": 2,
                "delay_hours": 6,
                "user_ids": [Command.link(cls.service_admin.id)],
            }
        )
        cls.Order = env["service.dispatch.work.order"]

    @contextmanager
    def at(self, moment):
        """Freeze Python's clock and the transaction's (create dates) at `moment`."""
        with freeze_time(moment):
            self.env.cr._now = moment
            try:
                yield
            finally:
                self.env.cr._now = None

    def order_at(self, moment, outlet=None, **request_values):
        with self.at(moment):
            request = self.new_request(**request_values)
            request.with_user(self.agent_a).action_create_work_order()
            order = request.work_order_ids
            if outlet:
                order.with_user(self.dispatcher_a).action_dispatch(outlet.id)
        return order

    def check_at(self, moment):
        with self.at(moment):
            processed = self.Order._cron_check_sla()
        self.Order.invalidate_model()
        return processed

    # ------------------------------------------------------------ deadlines
    def test_deadlines_across_weekend_and_holiday(self):
        order = self.order_at(cn(2, 15))
        self.assertEqual(order.sla_policy_id, self.policy)
        # Friday 15-17 (2 h), weekend, Monday's holiday, then Tuesday from 8:00.
        self.assertEqual(order.sla_deadline_accept, cn(6, 10))
        self.assertEqual(order.sla_deadline_on_site, cn(6, 15))  # 2 + 4 + 2 (after lunch)
        self.assertEqual(order.sla_deadline_done, cn(7, 15))  # 2 + 8 + 6
        self.assertEqual(order.sla_deadline_kind, "accept")
        self.assertEqual(order.sla_deadline, cn(6, 10))
        self.assertEqual(order.sla_date_warning, cn(6, 9, 12))  # 80 % of 4 h = 3.2 h
        self.assertEqual(order.sla_status, "on_track")
        self.assertEqual(order.sla_next_check, cn(6, 9, 12))

    def test_most_specific_policy(self):
        Policy = self.env["service.dispatch.sla.policy"]
        urgent_any = Policy.create({"name": "Urgent", "priority": "1", "hours_accept": 1})
        urgent_repair = Policy.create(
            {"name": "Urgent repair", "type_id": self.repair.id, "priority": "1", "hours_accept": 2}
        )
        catch_all = Policy.create({"name": "Any", "hours_accept": 9})
        company = self.env.company
        self.assertEqual(Policy._match(self.repair, "1", company), urgent_repair)
        self.assertEqual(Policy._match(self.repair, "0", company), self.policy)
        self.assertEqual(Policy._match(self.installation, "1", company), urgent_any)
        self.assertEqual(Policy._match(self.installation, "0", company), catch_all)

    def test_outlet_calendar_once_dispatched(self):
        self.outlet_a2.resource_calendar_id = office_calendar(self.env, "Every day", range(7))
        order = self.order_at(cn(2, 15))
        self.assertEqual(order.sla_deadline, cn(6, 10))  # the centre's calendar
        with self.at(cn(2, 16)):
            order.with_user(self.dispatcher_a).action_dispatch(self.outlet_a2.id)
        # The outlet works on Saturdays: 2 h on Friday, 2 on Saturday morning.
        self.assertEqual(order.sla_deadline, cn(3, 10))

    def test_cached_terms_follow_policies_and_calendars(self):
        """The policy terms and working intervals are cached (group "sla"): a change to
        a policy, a calendar's hours or its holidays applies to the next order."""
        first = self.order_at(cn(2, 15))
        self.assertEqual(first.sla_deadline_accept, cn(6, 10))
        self.policy.hours_accept = 6
        self.assertEqual(self.order_at(cn(2, 15)).sla_deadline_accept, cn(6, 12))
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Second holiday",
                "calendar_id": self.calendar.id,
                "date_from": cn(6, 0),
                "date_to": cn(6, 23, 59),
            }
        )
        self.assertEqual(self.order_at(cn(2, 15)).sla_deadline_accept, cn(7, 12))
        # Working on Saturdays too (a new attendance line).
        self.calendar.attendance_ids = [
            Command.create(
                {"name": "Saturday", "dayofweek": "5", "hour_from": 8, "hour_to": 12,
                 "day_period": "morning"}
            )
        ]  # fmt: skip
        self.assertEqual(self.order_at(cn(2, 15)).sla_deadline_accept, cn(3, 12))
        # A policy archived: no deadline.
        self.policy.active = False
        self.assertFalse(self.order_at(cn(2, 15)).sla_deadline_accept)

    # ------------------------------------------------------------ the job
    def test_warning_overdue_and_two_escalation_levels(self):
        order = self.order_at(cn(2, 15), outlet=self.outlet_a1)
        Escalation = self.env["service.dispatch.escalation"]

        self.assertEqual(self.check_at(cn(6, 9)), 0)  # nothing due before the warning
        self.assertEqual(order.sla_status, "on_track")

        self.assertEqual(self.check_at(cn(6, 9, 15)), 1)
        self.assertEqual(order.sla_status, "at_risk")
        self.assertTrue(order.sla_warned)
        warning = order.escalation_ids
        self.assertEqual(warning.kind, "warning")
        self.assertEqual(warning.unit_id, self.outlet_a1)
        self.assertEqual(warning.user_ids, self.supervisor_a1)
        self.assertEqual(warning.deadline_kind, "accept")
        self.assertEqual(order.sla_next_check, cn(6, 10))
        self.assertTrue(self.notified(order, self.supervisor_a1, "SLA warning"))

        self.assertEqual(self.check_at(cn(6, 10, 1)), 1)
        self.assertEqual(order.sla_status, "overdue")
        self.assertEqual(order.escalation_level, 0)  # the centre's delay is 2 h
        self.assertEqual(order.sla_next_check, cn(6, 12))

        self.assertEqual(self.check_at(cn(6, 12, 3)), 1)
        self.assertEqual(order.escalation_level, 1)
        centre = order.escalation_ids.filtered(lambda e: e.level_id == self.level_centre)
        self.assertEqual(centre.unit_id, self.branch_a)
        self.assertEqual(centre.deadline, cn(6, 10))
        self.assertEqual(
            centre.user_ids,
            self.manager_a | self.centre_manager_a | self.agent_a | self.dispatcher_a,
        )
        self.assertTrue(self.notified(order, self.centre_manager_a, "escalated to Branch A"))
        self.assertEqual(order.sla_next_check, cn(6, 16))

        self.assertEqual(self.check_at(cn(6, 16)), 1)
        self.assertEqual(order.escalation_level, 2)
        top = order.escalation_ids.filtered(lambda e: e.level_id == self.level_top)
        self.assertEqual(top.unit_id, self.hq)  # two levels up from the outlet
        self.assertEqual(top.user_ids, self.service_admin)  # HQ has no managers here
        self.assertFalse(order.sla_next_check)  # the ladder is climbed: nothing pending
        self.assertEqual(self.check_at(cn(9, 12)), 0)
        self.assertEqual(len(Escalation.search([("work_order_id", "=", order.id)])), 3)

    def test_late_job_catches_up_every_level(self):
        order = self.order_at(cn(2, 15), outlet=self.outlet_a1)
        self.assertEqual(self.check_at(cn(7, 9)), 1)  # the job did not run for a day
        self.assertEqual(order.escalation_level, 2)
        self.assertEqual(order.escalation_ids.mapped("kind"), ["escalation", "escalation"])

    def test_stage_change_moves_the_deadline(self):
        order = self.order_at(cn(2, 15), outlet=self.outlet_a1)
        self.check_at(cn(6, 12, 30))
        self.assertEqual((order.sla_status, order.escalation_level), ("overdue", 1))
        with self.at(cn(6, 12, 30)):
            order.with_user(self.supervisor_a1).action_accept()
        self.assertEqual(order.sla_deadline_kind, "on_site")
        self.assertEqual(order.sla_deadline, cn(6, 15))
        self.assertEqual(order.sla_date_warning, cn(6, 13, 24))  # 80 % of 8 h = 6.4 h
        self.assertEqual((order.sla_status, order.escalation_level), ("on_track", 0))
        self.assertEqual(order.sla_next_check, cn(6, 13, 24))
        self.assertEqual(len(order.escalation_ids), 1)  # the accept deadline's history
        with self.at(cn(6, 14)):
            order.with_user(self.supervisor_a1).action_on_site()
        self.assertEqual((order.sla_deadline_kind, order.sla_deadline), ("done", cn(7, 15)))

    def test_closed_orders_are_not_checked(self):
        done = self.order_at(cn(2, 15), outlet=self.outlet_a1)
        cancelled = self.order_at(cn(2, 15))
        with self.at(cn(2, 16)):
            done.with_user(self.supervisor_a1).action_accept()
            done.with_user(self.supervisor_a1).action_on_site()
            done.with_user(self.supervisor_a1).action_done("Replaced the pump")
            cancelled.with_user(self.dispatcher_a).action_cancel("Customer withdrew")
        for order in done | cancelled:
            self.assertFalse(order.sla_deadline)
            self.assertFalse(order.sla_status)
            self.assertFalse(order.sla_next_check)
        self.assertEqual(self.check_at(cn(20, 12)), 0)

    def test_job_reads_only_due_orders(self):
        not_due = self.Order
        for _i in range(30):
            not_due |= self.order_at(cn(2, 15))
        due = self.order_at(cn(1, 9), outlet=self.outlet_a1)  # a holiday-free Thursday
        self.env.flush_all()
        self.Order.invalidate_model()
        with self.at(cn(2, 16)):
            queries = self.env.cr.sql_log_count
            self.assertEqual(self.Order._cron_check_sla(), 1)
            self.env.flush_all()
            # Independent of the 30 orders not due: the due one's warning, log and note.
            self.assertLess(self.env.cr.sql_log_count - queries, 40)
        self.assertEqual(due.sla_status, "overdue")
        self.assertEqual(set(not_due.mapped("sla_status")), {"on_track"})
        with self.at(cn(2, 16)):
            queries = self.env.cr.sql_log_count
            self.assertEqual(self.Order._cron_check_sla(), 0)
            self.assertEqual(self.env.cr.sql_log_count - queries, 1)  # one index range scan

    def test_engine_fields_are_protected(self):
        order = self.order_at(cn(2, 15))
        for values in ({"sla_status": "on_track"}, {"sla_next_check": False}):
            with self.assertRaises(AccessError):
                order.with_user(self.dispatcher_a).write(values)

    def test_access(self):
        order = self.order_at(cn(2, 15), outlet=self.outlet_a1)
        self.check_at(cn(6, 9, 15))
        log = order.escalation_ids
        self.assertEqual(log.with_user(self.supervisor_a1).read(["kind"])[0]["kind"], "warning")
        with self.assertRaises(AccessError):
            log.with_user(self.supervisor_a2).read(["kind"])
        values = {"work_order_id": order.id, "deadline_kind": "accept", "deadline": cn(6, 10)}
        for user in (self.centre_manager_a, self.service_admin):
            with self.assertRaises(AccessError):
                self.env["service.dispatch.escalation"].with_user(user).create(values)
            with self.assertRaises(AccessError):
                log.with_user(user).write({"kind": "escalation"})
        # Deadlines judge the centres: their managers read them, administrators set them.
        with self.assertRaises(AccessError):
            self.policy.with_user(self.centre_manager_a).hours_accept = 30
        with self.assertRaises(AccessError):
            self.level_centre.with_user(self.centre_manager_a).delay_hours = 100
        self.policy.with_user(self.service_admin).hours_accept = 3
        self.level_centre.with_user(self.service_admin).delay_hours = 1
        self.assertEqual(self.policy.with_user(self.supervisor_a1).hours_accept, 3)
        with self.assertRaises(AccessError):
            self.policy.with_user(self.supervisor_a1).hours_accept = 5
        with self.assertRaises(AccessError):
            self.level_centre.with_user(self.dispatcher_a).delay_hours = 5

    # ------------------------------------------------------------ helpers
    def notified(self, order, user, text):
        """Whether `user` got an inbox notification of a note on `order` saying `text`."""
        notifications = self.env["mail.notification"].search(
            [
                ("res_partner_id", "=", user.partner_id.id),
                ("mail_message_id.model", "=", order._name),
                ("mail_message_id.res_id", "=", order.id),
            ]
        )
        return any(text in n.mail_message_id.body for n in notifications)


class TestSlaClock(BaseCase):
    """The clock as pure functions (tools/sla_clock.py)."""

    def test_plan_skips_gaps(self):
        day = datetime(2026, 1, 6)
        intervals = [
            (day.replace(hour=8), day.replace(hour=12)),
            (day.replace(hour=13), day.replace(hour=17)),
        ]
        self.assertEqual(
            sla_clock.plan(intervals, [5, 3.2, 9]),
            [day.replace(hour=14), day.replace(hour=11, minute=12), None],
        )

    def test_advance(self):
        deadline = datetime(2026, 1, 6, 10)
        warning = deadline - timedelta(minutes=48)
        delays = [0, 4]
        before = sla_clock.advance(
            deadline - timedelta(hours=1), warning, deadline, False, 0, delays
        )
        self.assertEqual(
            (before.warn, before.status, before.next_check), (False, "on_track", warning)
        )
        warned = sla_clock.advance(warning, warning, deadline, False, 0, delays)
        self.assertEqual(
            (warned.warn, warned.status, warned.next_check), (True, "at_risk", deadline)
        )
        late = sla_clock.advance(deadline, warning, deadline, True, 0, delays)
        self.assertEqual((late.levels, late.level, late.status), ([0], 1, "overdue"))
        self.assertEqual(late.next_check, deadline + timedelta(hours=4))
        done = sla_clock.advance(deadline + timedelta(days=1), warning, deadline, True, 1, delays)
        self.assertEqual((done.levels, done.level, done.next_check), ([1], 2, None))
        self.assertEqual(sla_clock.unit_up([1, 5, 9], 1), 5)
        self.assertEqual(sla_clock.unit_up([1, 5, 9], 7), 1)

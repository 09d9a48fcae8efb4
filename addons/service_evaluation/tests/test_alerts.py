import json
from datetime import timedelta

from odoo import fields
from odoo.addons.sms.tests.common import MockSMS
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user
from odoo.tools.safe_eval import safe_eval

from .common import EvaluationCommon

SUPERVISOR_A_NUMBER = "+8613800138000"


class TestAlerts(EvaluationCommon, MockSMS):
    """Dissatisfied customers alert someone, and say so when they cannot (issue 10/3).

    MockSMS is Odoo's SMS gateway mock: it answers the SMS app's calls to IAP with
    success or the errors a provider gives, without leaving the machine."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.service_alert_user_ids = [(5, 0, 0)]
        cls.company.service_alert_popup_interval = 5
        cls.activity_type = cls.env.ref("service_evaluation.mail_activity_type_negative_rating")
        cls.admin = cls.env.ref("base.user_admin")
        # The demo data alerts today's dissatisfied customers (one of its supervisors has
        # supervisor A1's number): what the tests count is theirs only.
        cls.demo_alerts = cls.env["service.evaluation.alert"].search([])
        cls.demo_sms = cls.env["sms.sms"].sudo().search([])

    # ------------------------------------------------------------ helpers
    def alerts(self, **domain):
        return self.env["service.evaluation.alert"].search(
            [("id", "not in", self.demo_alerts.ids)]
            + [(name, "=", value) for name, value in domain.items()],
            order="id",
        )

    def sms_to(self, number):
        """The SMS the test queued for `number`."""
        return self.env["sms.sms"].search(
            [("number", "=", number), ("id", "not in", self.demo_sms.ids)]
        )

    def delivery_problems(self):
        """What the Delivery Problems menu lists to an administrator."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_evaluation.service_evaluation_alert_action_problems"
        )
        Alert = self.env["service.evaluation.alert"].with_user(self.admin)
        return Alert.search(safe_eval(action["domain"]))

    def send_queued_sms(self):
        """What the SMS queue cron (sms.sms._process_queue) does, minus its commit."""
        queued = self.env["sms.sms"].sudo().search([("state", "=", "outgoing")])
        queued._send(unlink_failed=False, unlink_sent=True, raise_exception=False)

    def popups(self, user):
        """The pop-ups queued for `user` on the bus, as dicts (title, message, ...)."""
        self.env.cr.precommit.run()  # the bus queues notifications at commit time
        rows = (
            self.env["bus.bus"]
            .sudo()
            .search([("channel", "like", f'"res.partner",{user.partner_id.id}]')], order="id")
        )
        messages = [json.loads(row.message) for row in rows]
        return [m["payload"] for m in messages if m["type"] == "simple_notification"]

    def callback_activities(self, user, active=True):
        return (
            self.env["mail.activity"]
            .with_context(active_test=False)
            .search(
                [
                    ("res_model", "=", "service.evaluation.alert"),
                    ("activity_type_id", "=", self.activity_type.id),
                    ("user_id", "=", user.id),
                    ("active", "=", active),
                ]
            )
        )

    def negative_customers(self, count, device=None, start=0):
        for index in range(count):
            self.ingest(self.rated_flow(start + index * 100, 4, device=device))

    # ------------------------------------------------------------ the basics
    def test_negative_press_alerts_the_supervisors(self):
        self.ingest(self.rated_flow(0, 4, teller_number="E-1001"))
        session = self.sessions()
        self.assertTrue(session.is_negative)
        alert = self.alerts(session_id=session.id)
        self.assertEqual(alert.recipient_id, self.supervisor_a1)
        self.assertEqual(alert.recipient_source, "outlet_supervisor")
        self.assertEqual(alert.recipient_unit_id, self.outlet_a1)
        self.assertEqual(alert.state, "open")
        self.assertFalse(alert.delivery_problem)
        sms = self.sms_to(SUPERVISOR_A_NUMBER)
        self.assertEqual(len(sms), 1, "one SMS, to the supervisor's E.164 number")
        self.assertIn("Outlet A1", sms.body)
        self.assertIn("Teller One", sms.body)
        self.assertEqual(alert.sms_state, "outgoing")
        self.assertEqual(alert.sms_number, SUPERVISOR_A_NUMBER)
        activity = alert.activity_ids
        self.assertEqual(activity.user_id, self.supervisor_a1)
        self.assertEqual(activity.activity_type_id, self.activity_type)
        self.assertTrue(alert.popup_shown)
        self.assertEqual(len(self.popups(self.supervisor_a1)), 1)

    def test_no_alert_for_positive_or_repeat_presses(self):
        self.ingest(self.rated_flow(0, 1))
        # A negative key pressed again after a counted positive press is only a repeat.
        self.ingest([self.event("rate", 65, key=4)])
        self.assertFalse(self.sms_to(SUPERVISOR_A_NUMBER))
        self.assertFalse(self.alerts())

    def test_resend_alerts_once(self):
        batch = self.rated_flow(0, 4)
        self.ingest(batch)
        self.ingest(batch)
        self.assertEqual(len(self.sms_to(SUPERVISOR_A_NUMBER)), 1)
        self.assertEqual(len(self.alerts()), 1)

    def test_sms_can_be_switched_off(self):
        self.company.service_alert_sms = False
        self.ingest(self.rated_flow(0, 4))
        self.assertFalse(self.sms_to(SUPERVISOR_A_NUMBER))
        alert = self.alerts()
        self.assertEqual(alert.sms_state, "off")
        self.assertFalse(alert.delivery_problem, "no SMS wanted: nothing failed")
        self.assertTrue(alert.activity_ids)

    # ------------------------------------------------------------ who is alerted
    def test_outlet_without_supervisor_escalates_up_the_tree(self):
        self.outlet_a2.supervisor_ids = [(5, 0, 0)]
        branch_supervisor = new_test_user(
            self.env, "eval.branch.supervisor", groups="service_base.service_base_group_user"
        )
        self.branch_a.supervisor_ids = [(4, branch_supervisor.id)]
        self.ingest(self.rated_flow(0, 4, device=self.device_a2_1))
        alert = self.alerts()
        self.assertEqual(alert.recipient_id, branch_supervisor)
        self.assertEqual(alert.recipient_source, "unit_supervisor")
        self.assertEqual(alert.recipient_unit_id, self.branch_a)

        # No supervisor anywhere up the tree: the managers, walking up.
        self.branch_a.supervisor_ids = [(5, 0, 0)]
        self.ingest(self.rated_flow(300, 4, device=self.device_a2_1))
        alert = self.alerts() - alert
        self.assertEqual(alert.recipient_id, self.manager_a)
        self.assertEqual(alert.recipient_source, "unit_manager")
        self.assertEqual(alert.recipient_unit_id, self.branch_a)
        self.assertTrue(alert.activity_ids, "the manager gets the call-back activity")

    def test_company_extra_recipients_are_alerted_too(self):
        quality = new_test_user(self.env, "eval.quality", groups="base.group_user")
        self.company.service_alert_user_ids = [(4, quality.id), (4, self.supervisor_a1.id)]
        self.ingest(self.rated_flow(0, 4))
        alerts = self.alerts()
        self.assertEqual(alerts.recipient_id, self.supervisor_a1 | quality, "one alert each")
        extra = alerts.filtered(lambda alert: alert.recipient_id == quality)
        self.assertEqual(extra.recipient_source, "company")
        self.assertEqual(extra.sms_state, "no_number")
        self.assertEqual(extra.delivery_problem, "no_phone")
        # Extra recipients need no service role to read their own alert.
        self.assertEqual(extra.with_user(quality).read(["state"])[0]["state"], "open")

    def test_nobody_to_alert_is_a_visible_delivery_problem(self):
        self.outlet_a2.supervisor_ids = [(5, 0, 0)]
        self.branch_a.manager_ids = [(5, 0, 0)]
        self.ingest(self.rated_flow(0, 4, device=self.device_a2_1))
        alert = self.alerts()
        self.assertEqual(len(alert), 1, "never silence: an alert without recipient")
        self.assertFalse(alert.recipient_id)
        self.assertEqual(alert.recipient_source, "none")
        self.assertEqual(alert.delivery_problem, "no_recipient")
        self.assertIn("Outlet A2", alert.body)
        problems = self.delivery_problems()
        self.assertIn(alert, problems)

    def test_recipient_without_valid_phone_is_a_delivery_problem(self):
        self.supervisor_a1.partner_id.phone = "12"
        self.ingest(self.rated_flow(0, 4))
        alert = self.alerts()
        self.assertEqual(alert.sms_state, "invalid_number")
        self.assertIn("not a valid phone number", alert.sms_failure_reason)
        self.assertEqual(alert.delivery_problem, "no_phone")
        self.assertTrue(alert.activity_ids, "the other channels still work")

    # ------------------------------------------------------------ SMS outcome
    def test_sms_failure_is_visible_with_odoos_reason(self):
        settings = self.env["res.config.settings"].create({})
        self.assertFalse(settings.service_alert_sms_warning)
        # No gateway reachable: the IAP call raises, Odoo records a server error.
        with self.mockSMSGateway(sim_error="jsonrpc_exception"):
            self.negative_customers(2)
            self.send_queued_sms()
        alerts = self.alerts()
        self.assertEqual(alerts.mapped("sms_state"), ["error", "error"])
        self.assertEqual(alerts.mapped("sms_failure_type"), ["sms_server", "sms_server"])
        self.assertEqual(alerts.mapped("delivery_problem"), ["sms_failed", "sms_failed"])
        problems = self.delivery_problems()
        self.assertEqual(problems & alerts, alerts)
        # The settings page says no gateway works, and why.
        warning = self.env["res.config.settings"].create({}).service_alert_sms_warning
        self.assertIn("No SMS gateway works", warning)
        self.assertIn("Server Error", warning)

        # Out of credit: Odoo's own failure type and label.
        with self.mockSMSGateway(sim_error="credit"):
            self.negative_customers(1, start=1000)
            self.send_queued_sms()
        latest = self.alerts()[-1]
        self.assertEqual(latest.sms_failure_type, "sms_credit")
        self.assertIn(
            "Insufficient Credit",
            self.env["res.config.settings"].create({}).service_alert_sms_warning,
        )

    def test_sms_status_outlives_the_sms_row(self):
        with self.mockSMSGateway(sms_allow_unlink=True):
            self.negative_customers(2)
            self.send_queued_sms()
        first, second = self.alerts()
        self.assertEqual((first.sms_state, second.sms_state), ("pending", "pending"))
        sms = self.env["sms.sms"].sudo().search([("id", "in", (first | second).sudo().sms_id.ids)])
        self.assertTrue(all(sms.mapped("to_delete")), "Odoo deletes sent SMS")
        self.env.flush_all()  # the autovacuum deletes in SQL, after the cron's commit
        self.env["sms.sms"].sudo()._gc_device()
        self.env.invalidate_all()
        self.assertFalse(sms.exists())
        self.assertEqual((first.sms_state, second.sms_state), ("pending", "pending"))
        # Delivery reports (/sms/status) arrive through the trackers, rows gone or not.
        trackers = self.env["sms.tracker"].sudo().search([("service_alert_id", "in", first.ids)])
        trackers._action_update_from_sms_state("sent")
        trackers = self.env["sms.tracker"].sudo().search([("service_alert_id", "in", second.ids)])
        trackers._action_update_from_provider_error("invalid_destination")
        self.assertEqual(first.sms_state, "sent")
        self.assertFalse(first.delivery_problem)
        self.assertEqual(second.sms_state, "bounce")
        self.assertEqual(second.sms_failure_type, "sms_invalid_destination")
        self.assertEqual(second.delivery_problem, "sms_failed")
        # A late "sent to provider" report never hides the delivery.
        trackers = self.env["sms.tracker"].sudo().search([("service_alert_id", "in", first.ids)])
        trackers._action_update_from_sms_state("pending")
        self.assertEqual(first.sms_state, "sent")

    # ------------------------------------------------------------ noise
    def test_popups_are_throttled_per_user(self):
        start = fields.Datetime.now()
        with self.mock_datetime_and_now(start):
            self.negative_customers(1)
        with self.mock_datetime_and_now(start + timedelta(minutes=1)):
            self.negative_customers(3, start=200)
        self.assertEqual(len(self.alerts()), 4, "one alert per dissatisfied customer")
        self.assertEqual(self.alerts().mapped("popup_shown"), [True, False, False, False])
        self.assertEqual(len(self.popups(self.supervisor_a1)), 1, "one pop-up in the interval")

        with self.mock_datetime_and_now(start + timedelta(minutes=6)):
            self.negative_customers(1, start=900)
        popups = self.popups(self.supervisor_a1)
        self.assertEqual(len(popups), 2, "a new pop-up after the interval")
        self.assertTrue(self.alerts()[-1].popup_shown)
        self.assertIn("4 dissatisfied customers since your last alert", popups[-1]["message"])

    def test_one_grouped_activity_done_when_all_are_called_back(self):
        self.negative_customers(4)
        self.negative_customers(1, device=self.device_a2_1, start=2000)
        alerts = self.alerts(recipient_id=self.supervisor_a1.id)
        self.assertEqual(len(alerts), 4)
        activity = self.callback_activities(self.supervisor_a1)
        self.assertEqual(len(activity), 1, "one open activity for the recipient and outlet")
        self.assertEqual(activity.res_id, alerts[0].id, "on the oldest open alert")
        self.assertIn("4 dissatisfied customers", activity.summary)
        for alert in alerts:
            self.assertRegex(str(activity.note), rf"data-oe-id=.{alert.id}\b")
        self.assertEqual(len(self.callback_activities(self.supervisor_a2)), 1, "outlet A2's own")

        for alert in alerts[:3]:
            alert.with_user(self.supervisor_a1).action_mark_called_back()
        activity = self.callback_activities(self.supervisor_a1)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.res_id, alerts[3].id, "moved to the alert still open")
        self.assertEqual(activity.summary, "Call back the dissatisfied customer")

        alerts[3].with_user(self.supervisor_a1).action_close()
        self.assertFalse(self.callback_activities(self.supervisor_a1))
        self.assertTrue(self.callback_activities(self.supervisor_a1, active=False), "marked done")
        self.assertEqual(set(alerts.mapped("state")), {"called_back", "closed"})
        self.assertEqual(alerts.done_user_id, self.supervisor_a1, "the author is logged")
        self.assertTrue(all(alerts.mapped("date_done")))
        # A new dissatisfied customer starts a new activity.
        self.negative_customers(1, start=5000)
        self.assertEqual(len(self.callback_activities(self.supervisor_a1)), 1)

    def test_called_back_once_for_every_recipient(self):
        colleague = new_test_user(
            self.env, "eval.colleague.a1", groups="service_base.service_base_group_user"
        )
        self.outlet_a1.supervisor_ids = [(4, colleague.id)]
        self.ingest(self.rated_flow(0, 4))
        alerts = self.alerts()
        self.assertEqual(alerts.recipient_id, self.supervisor_a1 | colleague)
        # The branch manager (above them in the tree) may handle it too.
        alerts[0].with_user(self.manager_a).action_mark_called_back()
        self.assertEqual(alerts.mapped("state"), ["called_back", "called_back"])
        self.assertEqual(alerts.done_user_id, self.manager_a)
        self.assertFalse(self.callback_activities(self.supervisor_a1))
        self.assertFalse(self.callback_activities(colleague))

    # ------------------------------------------------------------ language
    def test_texts_in_the_recipients_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["service_evaluation"], ["zh_CN"])
        chinese = new_test_user(
            self.env,
            "eval.supervisor.zh",
            groups="service_base.service_base_group_user",
            lang="zh_CN",
        )
        chinese.partner_id.phone = "139 0000 0001"
        self.supervisor_a1.lang = "en_US"
        self.outlet_a1.supervisor_ids = [(4, chinese.id)]
        # The keypad's request is in Chinese: the English recipient still reads English.
        events = self.rated_flow(0, 4)
        self.env["service.evaluation.event"].with_user(self.device_user).with_context(
            lang="zh_CN"
        )._ingest(events)
        session = self.sessions()
        english = self.alerts(recipient_id=self.supervisor_a1.id)
        zh = self.alerts(recipient_id=chinese.id)

        self.assertIn("Dissatisfied customer at Outlet A1", english.body)
        self.assertTrue(english.body.endswith(session.option_id.with_context(lang="en_US").name))
        self.assertIn("有客户不满意", zh.body)  # the translated sentence
        self.assertTrue(zh.body.endswith(session.option_id.with_context(lang="zh_CN").name))
        sms = self.env["sms.sms"].search([("number", "=", "+8613900000001")])
        self.assertEqual(sms.body, zh.body)
        self.assertEqual(english.sudo().sms_id.body, english.body)
        self.assertEqual(zh.activity_ids.summary, "回访不满意客户")
        self.assertEqual(english.activity_ids.summary, "Call back the dissatisfied customer")
        self.assertEqual(self.popups(chinese)[0]["title"], "不满意客户")
        self.assertEqual(self.popups(self.supervisor_a1)[0]["title"], "Dissatisfied customer")

    # ------------------------------------------------------------ security
    def test_alert_security(self):
        self.ingest(self.rated_flow(0, 4))
        alert = self.alerts()
        Alert = self.env["service.evaluation.alert"]
        # Readers: the recipient, the branch manager above, service administrators.
        for user in (self.supervisor_a1, self.manager_a, self.admin):
            with self.subTest(reader=user.login):
                seen = Alert.with_user(user).search([("id", "not in", self.demo_alerts.ids)])
                self.assertEqual(seen, alert)
        # Not a teller of the outlet, nor another branch's manager.
        for user in (self.teller_user_1, self.manager_b, self.supervisor_a2):
            with self.subTest(outsider=user.login):
                self.assertFalse(Alert.with_user(user).search([]))
                with self.assertRaises(AccessError):
                    alert.with_user(user).read(["state"])
                with self.assertRaises(AccessError):
                    alert.with_user(user).action_mark_called_back()
        # Nobody writes, creates or deletes alerts through the ORM: only the actions.
        for user in (self.supervisor_a1, self.manager_a, self.admin):
            with self.subTest(writer=user.login):
                with self.assertRaises(AccessError):
                    alert.with_user(user).write({"state": "called_back"})
                with self.assertRaises(AccessError):
                    alert.with_user(user).unlink()
                with self.assertRaises(AccessError):
                    Alert.with_user(user).create(
                        {
                            "session_id": alert.session_id.id,
                            "outlet_id": self.outlet_a1.id,
                            "company_id": self.company.id,
                            "recipient_source": "none",
                        }
                    )
        self.assertEqual(alert.state, "open")

    # ------------------------------------------------------------ phones (sessions)
    def test_customer_phone_is_normalised(self):
        self.ingest(self.rated_flow(0, 4))
        session = self.sessions()
        session.customer_phone = "010 6600 0000"
        self.assertEqual(session.customer_phone, "+861066000000")
        session.customer_phone = "+86 138-0013-8001"
        self.assertEqual(session.customer_phone, "+8613800138001")
        with self.assertRaisesRegex(ValidationError, "not a valid phone number"):
            session.customer_phone = "12"

    def test_kiosk_phone_with_the_rating(self):
        events = self.rated_flow(0, 4)
        events[-1]["customer_phone"] = "139 1234 5678"
        bad = self.rated_flow(300, 4)
        bad[-1]["customer_phone"] = "99"
        reply = self.ingest(events + bad)
        self.assertEqual(reply["results"][-1]["code"], "invalid_phone")
        self.assertIn("not a valid phone number", reply["results"][-1]["message"])
        first, second = self.sessions()
        self.assertEqual(first.customer_phone, "+8613912345678")
        # The refused press leaves its session awaiting, then unrated: nothing counted.
        self.assertFalse(second.is_rated)
        # A later replay of the device never clears a phone staff attached by hand.
        second.customer_phone = "010 6600 0000"
        self.ingest([self.event("start", 900)])
        self.assertEqual(second.customer_phone, "+861066000000")

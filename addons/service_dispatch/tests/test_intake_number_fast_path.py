from unittest.mock import patch

from lxml import etree
from odoo.addons.web.models.models import Base

from ..wizard.service_dispatch_intake import HISTORY_FIELDS, ServiceDispatchIntake
from .common import DispatchCommon


class TestIntakeNumberFastPath(DispatchCommon):
    """A typed number takes `_onchange_caller_number` instead of the generic onchange:
    both must give the same result, with the spec and values the screen really sends."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Intake = cls.env["service.dispatch.intake"].with_user(cls.agent_a)
        cls.spec = cls.screen_spec(cls.Intake)
        first = cls.Intake.onchange({}, [], cls.spec)["value"]
        # the values of a new screen, as the client sends them with a change
        cls.blank = {
            name: value.get("id") if isinstance(value, dict) else [] if isinstance(
                value, list) else value
            for name, value in first.items()
            if name != "display_name"
        }  # fmt: skip
        cls.spouse = cls.env["res.partner"].create(
            {"name": "Household Member", "phone": "+86 138 0013 9999"}
        )
        cls.stranger = cls.env["res.partner"].create(
            {"name": "Someone Else", "phone": "+86 139 0000 5678"}
        )
        cls.stranger_appliance = cls.env["service.dispatch.appliance"].create(
            {"partner_id": cls.stranger.id, "product_id": cls.kettle.id, "serial_number": "K-9"}
        )

    @staticmethod
    def screen_spec(Intake):
        """The fields spec of the intake form, built from its arch as the web client
        builds it (as bench/bench_caller_lookup.py does)."""
        views = Intake.get_views([(False, "form")])
        models = views["models"]

        def spec_of(node, model):
            spec = {}
            for field in node.iter("field"):
                parent = field.getparent()
                while parent is not node and parent.tag != "field":
                    parent = parent.getparent()
                if parent is not node:
                    continue
                name = field.get("name")
                description = models[model]["fields"][name]
                if description["type"] == "many2one":
                    spec[name] = {"fields": {"display_name": {}}, "context": {}}
                elif description["type"] in ("one2many", "many2many"):
                    sub = field.find("list")
                    spec[name] = {
                        "fields": spec_of(sub, description["relation"])
                        if sub is not None
                        else {"display_name": {}},
                        "context": {},
                        "limit": 40,
                    }
                else:
                    spec[name] = {}
            return spec

        spec = spec_of(etree.fromstring(views["views"]["form"]["arch"]), Intake._name)
        spec["display_name"] = {}
        return spec

    def generic(self, values, spec):
        return Base.onchange(self.Intake, dict(values), ["phone"], spec)

    def assert_same(self, values):
        spec = {name: sub for name, sub in self.spec.items() if name not in HISTORY_FIELDS}
        values = {name: value for name, value in values.items() if name not in HISTORY_FIELDS}
        fast = self.Intake._onchange_caller_number(dict(values), spec)
        self.assertIsNotNone(fast, "the typed number should take the fast path")
        self.assertEqual(fast, self.generic(values, spec))
        # and the whole screen (history lists included) with the fast path or without
        whole = self.Intake.onchange(dict(values), ["phone"], self.spec)
        with patch.object(ServiceDispatchIntake, "_onchange_caller_number", lambda *a: None):
            self.assertEqual(whole, self.Intake.onchange(dict(values), ["phone"], self.spec))
        return fast["value"]

    def test_the_screen_takes_the_fast_path(self):
        # Nothing else on the screen depends on the number: a new field or onchange on
        # it (or on the customer) would send numbers through the generic path again.
        self.assertTrue(self.Intake._caller_number_fast_path_ok())

    def test_known_caller_as_the_generic_onchange(self):
        self.new_request(type_id=self.complaint.id, description="Late technician")
        self.dispatched_order()
        value = self.assert_same(dict(self.blank, phone="138 0013 9999"))
        self.assertEqual(value["partner_id"]["id"], self.customer.id)
        self.assertEqual(value["member_tier"], "gold")
        self.assertEqual(value["caller_count"], 2)

    def test_unknown_number_as_the_generic_onchange(self):
        value = self.assert_same(dict(self.blank, phone="139 0000 0000"))
        self.assertTrue(value["is_unknown_caller"])
        self.assertEqual(value["phone_e164"], "+8613900000000")

    def test_next_number_on_a_filled_screen(self):
        # The screen shows a caller (and one of their appliances is chosen), then
        # another number is typed: the appliance is cleared as _onchange_partner_id does.
        shown = self.Intake.onchange(dict(self.blank, phone="13800139999"), ["phone"], self.spec)
        values = dict(self.blank)
        values.update(
            {
                name: value.get("id") if isinstance(value, dict) else value
                for name, value in shown["value"].items()
                if name not in HISTORY_FIELDS and name != "display_name"
            }
        )
        values["appliance_id"] = self.appliance.id
        value = self.assert_same(dict(values, phone="+86 139 0000 5678"))
        self.assertEqual(value["partner_id"]["id"], self.stranger.id)
        self.assertIs(value["appliance_id"], False)
        # the same customer again: the appliance stays, nothing but the number changes
        value = self.assert_same(dict(values, phone="+86 138 0013 9999"))
        self.assertNotIn("partner_id", value)
        self.assertNotIn("appliance_id", value)
        # an appliance of the new caller stays chosen
        values["appliance_id"] = self.stranger_appliance.id
        self.assertNotIn("appliance_id", self.assert_same(dict(values, phone="13900005678")))
        # the screen's display name sent back with the values
        self.assert_same(dict(values, phone="13900005678", display_name="13800139999"))

    def test_invalid_or_blank_number_takes_the_generic_path(self):
        spec = {name: sub for name, sub in self.spec.items() if name not in HISTORY_FIELDS}
        for number in ("12", "", "   ", False):
            with self.subTest(number=number):
                values = dict(self.blank, phone=number)
                self.assertIsNone(self.Intake._onchange_caller_number(values, spec))
        value = self.Intake.onchange(dict(self.blank, phone="12"), ["phone"], self.spec)["value"]
        self.assertIn("not a valid phone number", value["phone_error"])

    def test_partial_values_take_the_generic_path(self):
        spec = {name: sub for name, sub in self.spec.items() if name not in HISTORY_FIELDS}
        self.assertIsNone(self.Intake._onchange_caller_number({"phone": "13800139999"}, spec))

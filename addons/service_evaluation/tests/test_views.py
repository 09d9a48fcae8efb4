from lxml import etree
from odoo.tests import TransactionCase
from odoo.tools import file_open

# The context key the counters kanban's model sends (static/src/counter_kanban/
# counter_kanban_model.js) so that web_read_group opens every outlet's column, not 10.
OPENED_GROUPS_CONTEXT_KEY = "max_number_opened_groups"


class TestViews(TransactionCase):
    """What the user sees: view archs whose small mistakes only show in a browser."""

    def arch(self, xmlid):
        return etree.fromstring(self.env.ref(xmlid).arch)

    def test_analysis_graph_is_unstacked_bars(self):
        """Bars per outlet (teller, period when grouped so): a line over the weeks starting
        at 0 showed every rate as a flat band at the top, and rates must never be stacked."""
        graph = self.arch("service_evaluation.service_evaluation_session_report_view_graph")
        self.assertEqual(graph.get("type"), "bar")
        self.assertIn(graph.get("stacked"), ("0", "False", "false"))
        [groupby] = graph.xpath("field[not(@type)]")
        self.assertEqual(groupby.get("name"), "outlet_id")
        self.assertEqual(graph.xpath("field[@type='measure']/@name"), ["satisfaction_rate"])

    def test_star_thresholds_keep_their_percent_sign(self):
        """`oe_inline` let the input take the column's width, pushing "%" onto its own line."""
        settings = self.arch("service_evaluation.res_config_settings_view_form")
        for level in (5, 4, 3):
            with self.subTest(level=level):
                [field] = settings.xpath(f"//field[@name='service_star_{level}_rate']")
                self.assertNotIn("oe_inline", field.get("class", "").split())
                self.assertIn("width", field.get("style", ""))
                container = field.getparent()
                self.assertIn("text-nowrap", container.get("class", "").split())
                self.assertEqual(container.xpath("span/text()"), ["%"])

    def test_session_duration_shows_its_unit_once(self):
        """The field label already says seconds: no unit suffix next to the value."""
        form = self.arch("service_evaluation.service_evaluation_session_view_form")
        [duration] = form.xpath("//field[@name='duration']")
        self.assertEqual(duration.getparent().tag, "group")
        self.assertFalse(form.xpath("//label[@for='duration']"))

    def test_counter_kanban_state_badge_shows_whole(self):
        kanban = self.arch("service_evaluation.service_evaluation_counter_view_kanban")
        self.assertEqual(kanban.get("js_class"), "service_counter_kanban")
        [badge] = kanban.xpath("//span[contains(@t-attf-class, 'o_service_counter_state')]")
        self.assertIn("flex-shrink-0", badge.get("t-attf-class"))
        self.assertIn("flex-wrap", badge.getparent().get("class").split())

    def test_counter_kanban_opens_every_outlet(self):
        """The server opens 10 groups by default; the counters kanban asks for them all."""
        with file_open("service_evaluation/static/src/counter_kanban/counter_kanban_model.js") as f:
            self.assertIn(f'"{OPENED_GROUPS_CONTEXT_KEY}"', f.read())
        outlets = self.env["service.org.unit"].create(
            [{"name": f"View Outlet {i:02d}", "code": f"V-O{i:02d}"} for i in range(12)]
        )
        Counter = self.env["service.evaluation.counter"]
        Counter.create(
            [
                {"name": "1", "code": f"V-C{i:02d}", "outlet_id": outlet.id}
                for i, outlet in enumerate(outlets)
            ]
        )
        domain = [("outlet_id", "in", outlets.ids)]

        def opened(counters):
            result = counters.web_read_group(
                domain,
                ["outlet_id"],
                ["__count"],
                auto_unfold=True,
                unfold_read_specification={"name": {}},
            )
            self.assertEqual(len(result["groups"]), 12)
            return sum("__records" in group for group in result["groups"])

        self.assertEqual(opened(Counter), 10)  # Odoo's default, the bug
        self.assertEqual(opened(Counter.with_context(**{OPENED_GROUPS_CONTEXT_KEY: 2**53 - 1})), 12)

"""The status trail as data (tools/work_order_flow.py): no database needed."""

from odoo.tests import BaseCase

from ..tools import work_order_flow as flow


class TestWorkOrderFlow(BaseCase):
    def test_happy_path(self):
        state = "new"
        for step, expected in (
            ("dispatch", "dispatched"),
            ("accept", "accepted"),
            ("on_site", "on_site"),
            ("done", "done"),
            ("feedback", "closed"),
        ):
            state = flow.next_state(step, state)
            self.assertEqual(state, expected)

    def test_refused_goes_back_to_dispatch(self):
        self.assertEqual(flow.next_state("refuse", "dispatched"), "refused")
        self.assertEqual(flow.next_state("refuse", "accepted"), "refused")
        self.assertEqual(flow.next_state("dispatch", "refused"), "dispatched")
        self.assertEqual(flow.allowed_steps("refused"), ["dispatch", "cancel"])

    def test_impossible_steps(self):
        for step, state in (
            ("accept", "new"),
            ("done", "accepted"),
            ("feedback", "on_site"),
            ("refuse", "on_site"),
            ("cancel", "closed"),
            ("cancel", "cancelled"),
            ("dispatch", "done"),
        ):
            with self.subTest(step=step, state=state), self.assertRaises(flow.TransitionError):
                flow.next_state(step, state)
        with self.assertRaises(KeyError):
            flow.next_state("teleport", "new")

    def test_every_state_is_reachable_and_final_states_are_final(self):
        states = {state for state, _label in flow.WORK_ORDER_STATES}
        targets = {target for _sources, target in flow.TRANSITIONS.values()}
        self.assertEqual(states - targets, {"new"})
        self.assertEqual(flow.allowed_steps("closed"), [])
        self.assertEqual(flow.allowed_steps("cancelled"), [])

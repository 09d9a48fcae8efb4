"""The work order's status trail as data: which step leads from which states to which.

No ORM here: the model (service.dispatch.work.order) maps each step to a named method
with its access check, and the step log records every transition with time and author.
"""

WORK_ORDER_STATES = [
    ("new", "To Dispatch"),
    ("dispatched", "Dispatched"),
    ("accepted", "Accepted"),
    ("on_site", "On Site"),
    ("done", "Done"),
    ("closed", "Feedback Recorded"),
    ("refused", "Refused"),
    ("cancelled", "Cancelled"),
]

# Orders in these states still need someone to act: the workload of an outlet, the
# "open" filter, the SLA clock of a later slice.
OPEN_STATES = frozenset({"new", "dispatched", "accepted", "on_site", "refused"})

# step -> (states it may start from, state it leads to)
TRANSITIONS = {
    "dispatch": (frozenset({"new", "refused"}), "dispatched"),
    "accept": (frozenset({"dispatched"}), "accepted"),
    # Back to dispatch: the outlet is cleared and the dispatcher chooses again.
    "refuse": (frozenset({"dispatched", "accepted"}), "refused"),
    "on_site": (frozenset({"accepted"}), "on_site"),
    "done": (frozenset({"on_site"}), "done"),
    "feedback": (frozenset({"done"}), "closed"),
    "cancel": (OPEN_STATES, "cancelled"),
}

STEPS = [
    ("create", "Created"),
    ("dispatch", "Dispatched"),
    ("accept", "Accepted"),
    ("refuse", "Refused"),
    ("on_site", "On Site"),
    ("done", "Done"),
    ("feedback", "Feedback Recorded"),
    ("cancel", "Cancelled"),
]

# Steps that need a note from whoever takes them (why refuse, why cancel).
STEPS_NEEDING_NOTE = frozenset({"refuse", "cancel"})


class TransitionError(ValueError):
    """A step that cannot be taken from the order's current state."""

    def __init__(self, step, state):
        super().__init__(f"{step} is not possible from {state}")
        self.step = step
        self.state = state


def next_state(step, state):
    """The state `step` leads to from `state`; TransitionError when it may not be taken."""
    if step not in TRANSITIONS:
        raise KeyError(step)
    sources, target = TRANSITIONS[step]
    if state not in sources:
        raise TransitionError(step, state)
    return target


def allowed_steps(state):
    """The steps that may be taken from `state`, in trail order."""
    return [step for step, _label in STEPS if step in TRANSITIONS and state in TRANSITIONS[step][0]]

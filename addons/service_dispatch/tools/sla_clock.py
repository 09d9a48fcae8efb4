"""The SLA clock of a work order as data and pure functions (no ORM).

A work order has three deadlines, each a number of working hours after its creation
counted on a working calendar (service.dispatch.sla.policy): to accept, to be on site,
to finish. The *current* deadline is the one of its stage (DEADLINE_BY_STATE). A warning
falls at a share of the current deadline's hours; past the deadline the order is overdue
and escalates up the ladder, level after level, each level a number of wall-clock hours
after the deadline. `advance` says what is due at a moment and when to look again;
the model (service.dispatch.work.order, `_cron_check_sla`) applies it.
"""

from collections import namedtuple
from datetime import timedelta

SLA_STATUSES = [
    ("on_track", "On Track"),
    ("at_risk", "At Risk"),
    ("overdue", "Overdue"),
]
DEADLINE_KINDS = [
    ("accept", "Accept"),
    ("on_site", "On Site"),
    ("done", "Finish"),
]
# The deadline that runs in each state; none once the job is done, closed or cancelled.
DEADLINE_BY_STATE = {
    "new": "accept",
    "dispatched": "accept",
    "refused": "accept",
    "accepted": "on_site",
    "on_site": "done",
}

Progress = namedtuple("Progress", "warn levels level status next_check")
# What an SLA policy sets: the working hours to accept, to be on site and to finish
# (0: no such deadline) and the warning's share of them, in percent.
SlaTerms = namedtuple("SlaTerms", "policy_id hours_accept hours_on_site hours_done warning_percent")


def plan(intervals, hours_list):
    """The moment each of `hours_list` working hours is reached, walking `intervals`
    ((start, stop) pairs in order, the calendar's working time from the start). None for
    an amount the intervals do not reach."""
    targets = sorted((h, i) for i, h in enumerate(hours_list))
    result = [None] * len(hours_list)
    done = 0.0
    position = 0
    for start, stop in intervals:
        length = (stop - start).total_seconds() / 3600
        while position < len(targets) and targets[position][0] <= done + length:
            hours, index = targets[position]
            result[index] = start + timedelta(hours=hours - done)
            position += 1
        if position == len(targets):
            break
        done += length
    return result


def status(now, warning, deadline):
    if not deadline:
        return False
    if now >= deadline:
        return "overdue"
    if warning and now >= warning:
        return "at_risk"
    return "on_track"


def next_check(now, warning, deadline, warned, level, delays):
    """When the job must look at the order again: its warning (not sent yet), its
    deadline, the next level's escalation time; None when nothing is pending."""
    if not deadline:
        return None
    if now < deadline:
        if warning and not warned:
            return warning
        return deadline
    if level < len(delays):
        return deadline + timedelta(hours=delays[level])
    return None


def advance(now, warning, deadline, warned, level, delays):
    """What is due at `now`: warn (the warning time has come, the deadline not), the
    ladder levels (indexes in `delays`, the hours after the deadline of each level in
    order) whose time has come, the new level, status and next check."""
    warn = False
    levels = []
    if deadline and now < deadline:
        if warning and not warned and now >= warning:
            warn = True
    elif deadline:
        while level < len(delays) and now >= deadline + timedelta(hours=delays[level]):
            levels.append(level)
            level += 1
    return Progress(
        warn,
        levels,
        level,
        status(now, warning, deadline),
        next_check(now, warning, deadline, warned or warn, level, delays),
    )


def unit_up(ancestry, levels_up):
    """The unit `levels_up` above the last of `ancestry` (ids, root first); the root
    when the tree is not that deep."""
    return ancestry[max(0, len(ancestry) - 1 - levels_up)]

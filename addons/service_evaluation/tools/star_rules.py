"""Star level of a teller for a period. Pure: no ORM.

Five stars at or above `five` % satisfied, four at `four`, three at `three`, two
below that. Fewer than `min_rated` rated sessions give no level (0): a teller with
three happy customers is not a five-star teller yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StarThresholds:
    min_rated: int = 30
    five: float = 98.0
    four: float = 95.0
    three: float = 90.0


def satisfaction_rate(satisfied: int, rated: int) -> float:
    return 100.0 * satisfied / rated if rated else 0.0


def star_level(satisfied: int, rated: int, thresholds: StarThresholds) -> int:
    if rated < max(thresholds.min_rated, 1):
        return 0
    rate = satisfaction_rate(satisfied, rated)
    if rate >= thresholds.five:
        return 5
    if rate >= thresholds.four:
        return 4
    if rate >= thresholds.three:
        return 3
    return 2

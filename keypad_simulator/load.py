"""Random load: tellers serving customers at random, for the demo and the benchmark.

A demo should look like a working hall, not a fixed loop: customers arrive at random
(exponentially distributed cycles) and rate mostly with the best key. The benchmark
presses keys on its own schedule but weighs the rating keys the same way.
"""

from __future__ import annotations

import random
import threading

from keypad_simulator.keypad import VirtualKeypad


def rating_weights(key_count: int) -> list[float]:
    """Key 1 (the leftmost, "very satisfied" on the default scale) most of the time."""
    return [0.45**index for index in range(key_count)]


def run_random(
    keypad: VirtualKeypad,
    per_minute: float,
    stop: threading.Event,
    *,
    employee_no: str,
    rng: random.Random | None = None,
) -> None:
    """A teller logs in, then serves customers, ``per_minute`` on average, until ``stop``.

    Each customer: a pause, START, the service (60% of the cycle), END, a few seconds,
    RATE. Cycles are exponentially distributed, so customers arrive at random.
    """
    rng = rng or random.Random()
    keys = list(range(1, keypad.key_count + 1))
    weights = rating_weights(keypad.key_count)
    mean_cycle = 60.0 / per_minute
    if stop.wait(rng.uniform(0.0, min(mean_cycle, 2.0))):  # do not all start in step
        return
    keypad.login(employee_no)
    while True:
        cycle = rng.expovariate(1.0 / mean_cycle)
        rating_delay = min(cycle * 0.1, 5.0)
        if stop.wait(cycle * 0.3):
            return
        keypad.press_start()
        if stop.wait(cycle * 0.6):
            return
        keypad.press_end()
        if stop.wait(rating_delay):
            return
        keypad.press_rate(rng.choices(keys, weights)[0])

"""The script language: a demo or a test scenario as text, checked before it runs.

A scenario someone can read and edit (who logs in, which customer rates what, when a
cable is pulled) is easier to share than Python; parse_script() refuses a bad line with
its number before any key is pressed, and run_script() plays the rest on VirtualKeypads.

Script format: one command per line; blank lines and ``#`` comments are ignored. A
device command starts with the keypad's serial::

    SIM-01 login 1001        LOGIN with employee number 1001
    SIM-01 start             START key (customer called)
    SIM-01 end               END key (service over)
    SIM-01 rate 1            rating key 1 (1 = leftmost)
    SIM-01 customer 2 [S]    start, S seconds of service (default 0), end, rate 2
    SIM-01 logout            LOGOUT key
    SIM-01 heartbeat         a HEARTBEAT now (they are also sent every 10 s when idle)
    SIM-01 unplug            pull the cable (presses made meanwhile are kept)
    SIM-01 replug            plug it back in (HELLO again, same boot_id)
    SIM-01 reboot            power cycle (new boot_id, sequence from 0)
    SIM-01 garbage 00ffaa55  raw bytes on the line (hex)
    SIM-01 wait-idle [S]     wait until this keypad's presses are all ACKed (max S, 30)

and these apply to the whole simulation::

    sleep 2.5                wait 2.5 seconds
    wait-idle [S]            wait until every keypad is idle (max S seconds, 30)
    exit                     stop the simulation

Commands run one after the other (``customer 1 5`` holds the script for 5 s). When the
script ends the keypads stay connected (retransmitting, sending heartbeats) until
``--duration``, ``exit`` or a signal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hardware_proxy.protocol import MAX_KEYS, Login
from keypad_simulator.keypad import VirtualKeypad

_logger = logging.getLogger(__name__)


class ScriptError(ValueError):
    """A script line that cannot be run; the message names the line."""


@dataclass(frozen=True)
class ScriptCommand:
    line_no: int
    device: str | None  # None: a command for the whole simulation
    verb: str
    args: tuple[str, ...]


_DEVICE_VERBS = {  # verb: (min args, max args)
    "login": (1, 1),
    "logout": (0, 0),
    "start": (0, 0),
    "end": (0, 0),
    "rate": (1, 1),
    "customer": (1, 2),
    "heartbeat": (0, 0),
    "unplug": (0, 0),
    "replug": (0, 0),
    "reboot": (0, 0),
    "garbage": (1, 1),
    "wait-idle": (0, 1),
}
_GLOBAL_VERBS = {"sleep": (1, 1), "wait-idle": (0, 1), "exit": (0, 0)}
DEFAULT_WAIT_IDLE = 30.0


def parse_script(text: str, serials: Sequence[str]) -> list[ScriptCommand]:
    """Parse and check a whole script before anything runs (see the module docstring)."""
    commands = []
    for line_no, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        device: str | None = None
        verbs = _GLOBAL_VERBS
        if words[0] in serials:
            device, verbs = words.pop(0), _DEVICE_VERBS
            if not words:
                raise ScriptError(f"line {line_no}: a command must follow {device}")
        verb, args = words[0], words[1:]
        if verb not in verbs:
            what = f"command for {device}" if device else "device or command"
            raise ScriptError(f"line {line_no}: unknown {what} {verb!r}")
        low, high = verbs[verb]
        if not low <= len(args) <= high:
            raise ScriptError(f"line {line_no}: {verb} takes {low} to {high} arguments")
        try:
            _check_args(verb, args)
        except ValueError as exc:
            raise ScriptError(f"line {line_no}: {exc}") from exc
        commands.append(ScriptCommand(line_no, device, verb, tuple(args)))
    return commands


def _check_args(verb: str, args: Sequence[str]) -> None:
    """Raise ValueError (InvalidField is one) for arguments the command cannot use."""
    if verb in ("rate", "customer"):
        key = int(args[0])
        if not 1 <= key <= MAX_KEYS:
            raise ValueError(f"key {key} is not in 1-{MAX_KEYS}")
    elif verb == "login":
        Login(0, args[0])  # 1-16 ASCII digits
    elif verb == "garbage":
        bytes.fromhex(args[0])
    seconds = args[1:] if verb == "customer" else args if verb in ("sleep", "wait-idle") else ()
    for value in seconds:
        if not float(value) >= 0:  # also refuses nan
            raise ValueError(f"{value} is not a number of seconds")


def run_script(
    commands: Sequence[ScriptCommand],
    keypads: dict[str, VirtualKeypad],
    stop: threading.Event,
) -> None:
    """Play ``commands``; returns at the end, on ``exit`` or when ``stop`` is set."""
    for command in commands:
        if stop.is_set():
            return
        try:
            _run_command(command, keypads, stop)
        except Exception as exc:  # one bad step (a key the keypad lacks) does not end the demo
            _logger.error("script line %d (%s): %s", command.line_no, command.verb, exc)


def _run_command(
    command: ScriptCommand, keypads: dict[str, VirtualKeypad], stop: threading.Event
) -> None:
    verb, args = command.verb, command.args
    if command.device is None:
        if verb == "sleep":
            stop.wait(float(args[0]))
        elif verb == "wait-idle":
            timeout = float(args[0]) if args else DEFAULT_WAIT_IDLE
            deadline = time.monotonic() + timeout
            for keypad in keypads.values():
                keypad.wait_idle(max(deadline - time.monotonic(), 0.0))
        elif verb == "exit":
            stop.set()
        return
    keypad = keypads[command.device]
    if verb == "login":
        keypad.login(args[0])
    elif verb == "rate":
        keypad.press_rate(int(args[0]))
    elif verb == "customer":
        keypad.customer(int(args[0]), serve_seconds=float(args[1]) if len(args) > 1 else 0.0)
    elif verb == "garbage":
        keypad.inject_garbage(bytes.fromhex(args[0]))
    elif verb == "wait-idle":
        keypad.wait_idle(float(args[0]) if args else DEFAULT_WAIT_IDLE)
    else:
        actions: dict[str, Callable[[], Any]] = {
            "logout": keypad.logout,
            "start": keypad.press_start,
            "end": keypad.press_end,
            "heartbeat": keypad.heartbeat,
            "unplug": keypad.unplug,
            "replug": keypad.replug,
            "reboot": keypad.reboot,
        }
        actions[verb]()

"""Virtual counter rating keypads, for demos, tests and the benchmark.

A tool next to hardware_proxy, not part of it: the daemon never runs a simulated keypad,
and the simulator shares with it only the wire protocol (``hardware_proxy.protocol``).
keypad.py is the keypad's side of PROTOCOL.md, endpoints.py the pseudo-terminals and TCP
servers the proxy opens, script.py the scenario language, load.py random customers and
cli.py the command line (``python -m keypad_simulator``). See README.md.
"""

from keypad_simulator.cli import main
from keypad_simulator.keypad import VirtualKeypad
from keypad_simulator.load import rating_weights, run_random
from keypad_simulator.script import ScriptCommand, ScriptError, parse_script, run_script

__all__ = [
    "ScriptCommand",
    "ScriptError",
    "VirtualKeypad",
    "main",
    "parse_script",
    "rating_weights",
    "run_random",
    "run_script",
]

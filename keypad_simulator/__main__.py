"""``python -m keypad_simulator``: the command line of cli.py."""

import sys

from keypad_simulator.cli import main

sys.exit(main())

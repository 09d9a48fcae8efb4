"""The command line: virtual keypads for a demo (``make keypads``) or a manual test.

``python -m keypad_simulator`` (or ``sqs-keypad-simulator``)::

    --devices N          number of keypads, serials PREFIX-01 .. PREFIX-NN
    --serial-prefix SIM  serial number prefix
    --serials S1,S2,...  exact serial numbers instead
    --pty                pseudo-terminals (the default) ...
    --link-dir DIR       ... with symlinks DIR/PREFIX-01 .. (stable paths)
    --tcp-base-port P    TCP servers instead, on ports P, P+1, ... (--host, default 127.0.0.1)
    --script FILE        play a script (script.py, README.md), or
    --random PER_MINUTE  random customers, PER_MINUTE per keypad and minute (--seed N)
    --duration S         stop after S seconds (default: on SIGTERM or SIGINT)
    --key-count K        rating keys per keypad (4)
    -q                   log warnings only

It prints one line per keypad, ``SERIAL PATH_OR_URL``, the port the proxy should open,
then logs to stderr what the keypads send and receive. SIGTERM and SIGINT stop it
cleanly (links removed, exit status 0). A bad script is refused before any keypad
starts (exit status 2).
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from keypad_simulator.keypad import VirtualKeypad
from keypad_simulator.load import run_random
from keypad_simulator.script import ScriptCommand, ScriptError, parse_script, run_script

_logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m keypad_simulator",
        description="Virtual rating keypads on pseudo-terminals or TCP ports.",
        epilog="Script format: keypad_simulator/README.md.",
    )
    parser.add_argument("--devices", type=int, default=1, metavar="N")
    parser.add_argument("--serial-prefix", default="SIM", metavar="PREFIX")
    parser.add_argument(
        "--serials", metavar="S1,S2,...", help="exact serial numbers (instead of --devices)"
    )
    parser.add_argument("--key-count", type=int, default=4, metavar="K")
    line = parser.add_mutually_exclusive_group()
    line.add_argument("--pty", action="store_true", help="pseudo-terminals (the default)")
    line.add_argument("--tcp-base-port", type=int, metavar="P", help="TCP servers on P, P+1, ...")
    parser.add_argument("--link-dir", type=Path, metavar="DIR", help="symlinks DIR/SERIAL")
    parser.add_argument("--host", default="127.0.0.1", help="TCP address (127.0.0.1)")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--script", type=Path, metavar="FILE")
    load.add_argument("--random", type=float, metavar="PER_MINUTE")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--seed", type=int, help="random seed (--random)")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 1 <= args.devices <= 99:
        parser.error("--devices must be 1-99")
    if args.link_dir is not None and args.tcp_base_port is not None:
        parser.error("--link-dir goes with --pty, not --tcp-base-port")
    if args.random is not None and args.random <= 0:
        parser.error("--random needs a positive number of customers per minute")
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    serials = [f"{args.serial_prefix}-{index:02d}" for index in range(1, args.devices + 1)]
    if args.serials:
        serials = [serial.strip() for serial in args.serials.split(",") if serial.strip()]
    commands: list[ScriptCommand] = []
    if args.script is not None:
        try:
            commands = parse_script(args.script.read_text(encoding="utf-8"), serials)
        except (OSError, ScriptError) as exc:
            print(f"keypad_simulator: {args.script}: {exc}", file=sys.stderr)
            return 2

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        _logger.info("signal %d: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    keypads: dict[str, VirtualKeypad] = {}
    workers: list[threading.Thread] = []
    try:
        if args.link_dir is not None:
            args.link_dir.mkdir(parents=True, exist_ok=True)
        for index, serial in enumerate(serials):
            keypad = VirtualKeypad(serial, key_count=args.key_count)
            keypads[serial] = keypad
            if args.tcp_base_port is not None:
                keypad.listen_tcp(args.host, args.tcp_base_port + index)
            else:
                link = args.link_dir / serial if args.link_dir is not None else None
                keypad.open_pty(link)
            keypad.start()
            print(serial, keypad.url, flush=True)
        if commands:
            workers.append(
                threading.Thread(target=run_script, args=(commands, keypads, stop), daemon=True)
            )
        elif args.random is not None:
            rng = random.Random(args.seed)
            for index, keypad in enumerate(keypads.values()):
                worker = threading.Thread(
                    target=run_random,
                    args=(keypad, args.random, stop),
                    kwargs={
                        "employee_no": str(1001 + index),
                        "rng": random.Random(rng.random()),
                    },
                    daemon=True,
                )
                workers.append(worker)
        for worker in workers:
            worker.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.is_set():
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                break
            stop.wait(left)
    except OSError as exc:
        print(f"keypad_simulator: {exc}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        for keypad in keypads.values():
            keypad.stop()
        for worker in workers:
            worker.join(2.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

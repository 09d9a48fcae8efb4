"""python -m hardware_proxy --config proxy.toml (or the sqs-hardware-proxy command)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from .config import ConfigError, load_config


class JsonFormatter(logging.Formatter):
    """One JSON object per line: journald and log shippers read fields, not prose."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hardware_proxy", description=__doc__)
    parser.add_argument("--config", required=True, help="path of the TOML configuration")
    parser.add_argument("--status-port", type=int, help="override [status] port")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"hardware_proxy: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, config.log_format)

    from .service import ProxyService
    from .status import StatusServer

    service = ProxyService(config).start()
    status = StatusServer(
        service, config.status_host, args.status_port or config.status_port
    ).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    logging.getLogger("hardware_proxy").info("draining on signal")
    status.stop()
    service.stop(drain_timeout=5.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The proxy's configuration, read from a TOML file (see proxy.example.toml)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib


class ConfigError(Exception):
    pass


# Events per call to Odoo: large enough that a drain after an outage amortises each
# call's fixed cost (HTTP, API key check, commit), well under the route's limit of 1000.
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class Config:
    odoo_url: str
    odoo_database: str
    api_key: str
    odoo_timeout: float = 10.0
    outbox_path: str = "outbox.sqlite3"
    outbox_max_events: int = 500_000
    outbox_warn_ratio: float = 0.8
    batch_size: int = DEFAULT_BATCH_SIZE
    backoff_initial: float = 0.5
    backoff_max: float = 60.0
    ports: tuple[str, ...] = ()
    autodetect: bool = False
    autodetect_patterns: tuple[str, ...] = ("/dev/ttyUSB*", "/dev/ttyACM*")
    baudrate: int = 9600
    heartbeat_forward_interval: float = 60.0
    status_host: str = "127.0.0.1"
    status_port: int = 8079
    log_level: str = "INFO"
    log_format: str = "text"
    extra: dict = field(default_factory=dict)


def load_config(path: str | os.PathLike) -> Config:
    """Read and check the TOML file; relative paths are relative to the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    base = path.resolve().parent
    odoo = data.get("odoo", {})
    for key in ("url", "database"):
        if not odoo.get(key):
            raise ConfigError(f"{path}: [odoo] {key} is required")
    api_key = odoo.get("api_key") or os.environ.get("SQS_PROXY_API_KEY", "")
    if odoo.get("api_key_file"):
        key_path = base / odoo["api_key_file"]
        try:
            api_key = key_path.read_text().strip()
        except OSError as error:
            raise ConfigError(f"{path}: cannot read api_key_file {key_path}: {error}") from None
    if not api_key:
        raise ConfigError(f"{path}: set [odoo] api_key_file (or api_key, or SQS_PROXY_API_KEY)")
    outbox = data.get("outbox", {})
    sender = data.get("sender", {})
    ports = data.get("ports", {})
    status = data.get("status", {})
    log = data.get("log", {})
    outbox_path = Path(outbox.get("path", "outbox.sqlite3"))
    config = Config(
        odoo_url=odoo["url"].rstrip("/"),
        odoo_database=odoo["database"],
        api_key=api_key,
        odoo_timeout=float(odoo.get("timeout", 10.0)),
        outbox_path=str(outbox_path if outbox_path.is_absolute() else base / outbox_path),
        outbox_max_events=int(outbox.get("max_events", 500_000)),
        outbox_warn_ratio=float(outbox.get("warn_ratio", 0.8)),
        batch_size=int(sender.get("batch_size", DEFAULT_BATCH_SIZE)),
        backoff_initial=float(sender.get("backoff_initial", 0.5)),
        backoff_max=float(sender.get("backoff_max", 60.0)),
        ports=tuple(ports.get("urls", ())),
        autodetect=bool(ports.get("autodetect", False)),
        autodetect_patterns=tuple(ports.get("patterns", ("/dev/ttyUSB*", "/dev/ttyACM*"))),
        baudrate=int(ports.get("baudrate", 9600)),
        heartbeat_forward_interval=float(ports.get("heartbeat_forward_interval", 60.0)),
        status_host=status.get("host", "127.0.0.1"),
        status_port=int(status.get("port", 8079)),
        log_level=str(log.get("level", "INFO")).upper(),
        log_format=log.get("format", "text"),
    )
    if not 1 <= config.batch_size <= 1000:
        raise ConfigError(f"{path}: [sender] batch_size must be between 1 and 1000")
    if not config.ports and not config.autodetect:
        raise ConfigError(f"{path}: list [ports] urls, or set autodetect = true")
    if config.log_format not in ("text", "json"):
        raise ConfigError(f"{path}: [log] format is text or json")
    return config

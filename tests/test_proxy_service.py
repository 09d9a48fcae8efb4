"""ProxyService in-process, with a virtual keypad on a real pseudo-terminal and Odoo away.

The client points at a closed loopback port: the proxy must keep answering the keypad,
keep every press, alarm before the outbox is full, and refuse (BUSY) only when it is.
"""

from __future__ import annotations

import logging

import pytest
from polling import wait_for

from hardware_proxy import protocol as p
from hardware_proxy.config import Config
from hardware_proxy.service import ProxyService, event_uid
from keypad_simulator import VirtualKeypad
from odoo_server import free_port


@pytest.fixture
def keypad(tmp_path):
    pad = VirtualKeypad("SVC-01", key_count=4, time_scale=0.05, heartbeats=False)
    pad.open_pty(str(tmp_path / "tty-SVC-01"))
    pad.start()
    yield pad
    pad.stop()


def make_service(tmp_path, max_events=1000, warn_ratio=0.8) -> ProxyService:
    config = Config(
        odoo_url=f"http://127.0.0.1:{free_port()}",  # nobody listens there
        odoo_database="none",
        api_key="unused",
        odoo_timeout=1.0,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        outbox_max_events=max_events,
        outbox_warn_ratio=warn_ratio,
        backoff_initial=0.05,
        backoff_max=0.2,
        ports=(str(tmp_path / "tty-SVC-01"),),
        heartbeat_forward_interval=3600,
    )
    return ProxyService(config).start()


def test_offline_keypad_keeps_working(tmp_path, keypad):
    service = make_service(tmp_path)
    try:
        keypad.login("1001")
        keypad.customer(1)
        assert keypad.wait_idle(10), "every press ACKed although Odoo is away"
        expected = [p.Prompt.GREETING, p.Prompt.PLEASE_RATE, p.Prompt.THANK_YOU]

        def prompts():  # each prompt follows its ACK by a moment
            return [m.prompt for m in keypad.received if isinstance(m, p.Play)][-3:]

        assert wait_for(lambda: prompts() == expected), prompts()
        assert keypad.display.employee_no == "1001"  # shown at once, before Odoo knows
        # HELLO's heartbeat + login + start + end + rate, all kept for later.
        assert wait_for(lambda: service.outbox.depth() == 5)
        assert wait_for(lambda: service.status()["sender"]["state"] == "backing_off")
        assert service.status()["status"] == "degraded"
    finally:
        service.stop(drain_timeout=0.5)


def test_outbox_alarm_then_busy(tmp_path, keypad, caplog):
    service = make_service(tmp_path, max_events=8, warn_ratio=0.5)
    try:
        with caplog.at_level(logging.ERROR, logger="hardware_proxy.service"):
            for _ in range(3):
                keypad.customer(2)
            assert wait_for(lambda: service.outbox.level == "full")
            assert wait_for(lambda: service.counters["refused_full"] > 0)
        messages = [record.getMessage() for record in caplog.records]
        assert any("OUTBOX WARNING" in message for message in messages), messages
        assert any("OUTBOX FULL" in message for message in messages), messages
        assert keypad.unacked > 0, "refused presses stay on the keypad, not lost"
        kinds = {error["kind"] for error in service.status()["errors"]}
        assert {"outbox_warning", "outbox_full"} <= kinds
    finally:
        service.stop(drain_timeout=0.2)


def test_event_uid_is_the_identity_of_a_press():
    """C2: serial, keypad time and type; boot and SEQ only when the clock is unset."""
    assert event_uid("K", 1, 7, 1000, "rate") == "K:1000:rate"
    assert event_uid("K", 2, 3, 1000, "rate") == "K:1000:rate"  # re-sent after a reboot
    assert event_uid("K", 1, 7, 1000, "start") != event_uid("K", 1, 7, 1000, "rate")
    assert event_uid("K", 1, 7, 1001, "rate") != event_uid("K", 1, 7, 1000, "rate")
    assert event_uid("K", 0xAB, 7, 0, "end") == "K:b000000ab:s7:end"  # clock unset
    assert event_uid("K", 0xAB, 8, 0, "end") != event_uid("K", 0xAB, 7, 0, "end")
    serial = "X" * 32  # the longest serial the protocol allows fits
    assert len(event_uid(serial, 0xFFFFFFFF, 65535, 0, "heartbeat")) <= 64
    assert len(event_uid(serial, 0, 0, p.MAX_TIME_MS, "heartbeat")) <= 64
    long = event_uid("Y" * 80, 1, 2, 1764489600123, "rate")  # another proxy's serials
    assert len(long) == 64 and long.startswith("Y" * 47 + "~")
    assert long != event_uid("Y" * 80, 1, 2, 1764489600124, "rate")


def test_autodetect_keeps_keypads_and_drops_other_ports(tmp_path, keypad, monkeypatch):
    """A new USB-serial port is asked to identify; only a keypad's HELLO keeps it open."""
    import os
    import pty
    import tty

    from hardware_proxy import service as service_module

    monkeypatch.setattr(service_module, "IDENTIFY_TIMEOUT", 1.0)
    service = make_service(tmp_path)
    silent_master, silent_slave = pty.openpty()  # some other serial device: never answers
    tty.setraw(silent_master)
    tty.setraw(silent_slave)
    silent_path = os.ttyname(silent_slave)
    other_pad = VirtualKeypad("SVC-02", key_count=4, time_scale=0.05, heartbeats=False)
    other_path = other_pad.open_pty(str(tmp_path / "tty-SVC-02"))
    other_pad.start()
    try:
        service._on_port_added(other_path)
        service._on_port_added(silent_path)
        assert wait_for(lambda: "SVC-02" in service.devices), "the keypad said HELLO"
        assert wait_for(lambda: silent_path not in service.links, timeout=5), "silent port closed"
        assert other_path in service.links
        other_pad.customer(1)
        assert other_pad.wait_idle(10)
        assert service.devices["SVC-02"].events_stored == 3
    finally:
        other_pad.stop()
        os.close(silent_master)
        os.close(silent_slave)
        service.stop(drain_timeout=0.2)

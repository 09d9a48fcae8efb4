"""hardware_proxy.outbox: the durable queue between the keypads and Odoo."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hardware_proxy.outbox import Outbox, OutboxFull, OutboxItem

ROOT = Path(__file__).resolve().parents[1]


def event(uid: str, device: str = "KP-1", **extra) -> dict:
    return {"id": uid, "device": device, "type": "rate", "time": 1_700_000_000_000, **extra}


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


def uids(items) -> list[str]:
    return [item.uid for item in items]


def test_add_peek_delete_in_order(outbox):
    assert outbox.add([event(f"e{n}", key=n % 4 + 1) for n in range(5)]) == 5
    items = outbox.peek(3)
    assert uids(items) == ["e0", "e1", "e2"]
    assert isinstance(items[0], OutboxItem)
    assert items[1].payload == event("e1", key=2)
    assert items[1].device == "KP-1"
    assert items[0].attempts == 0
    assert items[0].rowid < items[1].rowid < items[2].rowid
    assert outbox.depth() == 5, "peek removes nothing"
    assert outbox.delete(["e1", "e0", "unknown"]) == 2
    assert uids(outbox.peek(10)) == ["e2", "e3", "e4"]
    outbox.add([event("e5")])
    assert uids(outbox.peek(10)) == ["e2", "e3", "e4", "e5"]
    assert outbox.delete([]) == 0


def test_duplicate_uid_is_ignored(outbox):
    assert outbox.add([event("a"), event("b")]) == 2
    assert outbox.add([event("b", key=4), event("c"), event("c")]) == 1
    items = outbox.peek(10)
    assert uids(items) == ["a", "b", "c"]
    assert "key" not in items[1].payload, "the first copy of an id is the one kept"


def test_add_requires_id_and_device(outbox):
    for bad in ({"device": "KP-1"}, {"id": "x"}, {"id": "", "device": "KP-1"}, "x"):
        with pytest.raises(ValueError):
            outbox.add([event("ok-before"), bad])
    assert outbox.depth() == 0, "nothing of a refused call is written"
    assert outbox.add([]) == 0


def test_reopening_keeps_events_and_attempts(tmp_path):
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    box.add([event("x1"), event("x2", "KP-2", employee="刘洋")])
    box.mark_attempt(["x2"])
    box.park("x1", "unknown_device: device KP-1 is not registered")
    before = box.peek(10)
    box.close()
    box.close()  # idempotent
    with pytest.raises(sqlite3.ProgrammingError):
        box.depth()

    again = Outbox(str(path))
    try:
        assert again.peek(10) == before
        assert again.peek(10)[0].payload["employee"] == "刘洋"
        assert again.peek(10)[0].attempts == 1
        assert again.dead_letter_count() == 1
        assert again.add([event("x2")]) == 0, "an id held before the restart is still known"
    finally:
        again.close()
    journal = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_mark_attempt(outbox):
    outbox.add([event("m1"), event("m2")])
    outbox.mark_attempt(["m1", "m2"])
    outbox.mark_attempt(["m2", "gone"])
    outbox.mark_attempt([])
    assert [item.attempts for item in outbox.peek(2)] == [1, 2]


def test_park_moves_to_dead_letters(outbox):
    outbox.add([event("p1"), event("p2", "KP-2", key=9), event("p3")])
    outbox.mark_attempt(["p2"])
    assert outbox.park("p2", "unknown_key: key 9 is not on the rating scale")
    assert outbox.park("p3", "too_old: device time is too old")
    assert not outbox.park("p2", "again"), "p2 is no longer queued"
    assert not outbox.park("nope", "never queued")
    assert uids(outbox.peek(10)) == ["p1"]
    assert outbox.depth() == 1
    assert outbox.dead_letter_count() == 2
    letters = outbox.dead_letters()
    assert [letter["uid"] for letter in letters] == ["p3", "p2"], "newest first"
    assert letters[1]["reason"] == "unknown_key: key 9 is not on the rating scale"
    assert letters[1]["device"] == "KP-2"
    assert letters[1]["payload"] == event("p2", "KP-2", key=9)
    assert letters[1]["attempts"] == 1
    assert letters[1]["parked_at"] <= time.time()
    assert len(outbox.dead_letters(limit=1)) == 1
    # The same event accepted and refused again replaces its dead letter.
    outbox.add([event("p2", "KP-2", key=9)])
    assert outbox.park("p2", "unknown_key: still not on the scale")
    assert outbox.dead_letter_count() == 2
    assert outbox.dead_letters(1)[0]["reason"] == "unknown_key: still not on the scale"


def test_oldest_age(outbox):
    assert outbox.oldest_age() is None
    outbox.add([event("o1")])
    time.sleep(0.05)
    outbox.add([event("o2")])
    assert 0.05 <= outbox.oldest_age() < 5
    outbox.delete(["o1", "o2"])
    assert outbox.oldest_age() is None


def test_level_and_size_limit(tmp_path):
    box = Outbox(tmp_path / "small.db", max_events=10, warn_ratio=0.8)
    try:
        box.add([event(f"s{n}") for n in range(7)])
        assert box.level == "ok"
        box.add([event("s7")])
        assert box.level == "warning"
        with pytest.raises(OutboxFull):
            box.add([event(f"t{n}") for n in range(3)])  # 8 + 3 > 10: none of them
        assert box.depth() == 8
        assert "t0" not in uids(box.peek(20))
        box.add([event("s8"), event("s9")])
        assert box.level == "full"
        with pytest.raises(OutboxFull):
            box.add([event("s10")])
        assert box.depth() == 10
        box.delete(["s0", "s1", "s2"])
        assert box.level == "ok"
        box.park("s3", "test")
        assert box.add([event("s10")]) == 1, "dead letters do not count against the limit"
    finally:
        box.close()
    with pytest.raises(ValueError):
        Outbox(tmp_path / "bad.db", max_events=0)


def test_concurrent_add_from_threads(outbox):
    """Several ports write while the sender peeks, deletes and parks."""
    errors = []
    stop = threading.Event()

    def writer(port: int):
        try:
            for n in range(100):
                outbox.add([event(f"w{port}-{n}", f"KP-{port}"), event(f"w{port}-{n}-b")])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    removed = []

    def consumer():
        while not stop.is_set():
            items = outbox.peek(7)
            outbox.mark_attempt(uids(items))
            if items:
                outbox.delete(uids(items[1:]))
                outbox.park(items[0].uid, "test")
                removed.extend(uids(items))

    threads = [threading.Thread(target=writer, args=(port,)) for port in range(6)]
    reader = threading.Thread(target=consumer)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stop.set()
    reader.join(30)
    assert not errors
    remaining = uids(outbox.peek(10_000))
    assert len(set(removed)) == len(removed), "nothing handed out twice after its removal"
    assert sorted(remaining + removed) == sorted(
        f"w{port}-{n}{suffix}" for port in range(6) for n in range(100) for suffix in ("", "-b")
    )
    for port in range(6):
        mine = [uid for uid in remaining if uid.startswith(f"w{port}-")]
        order = [int(uid.split("-")[1]) for uid in mine]
        assert order == sorted(order), "each writer's events stay in its order"


CHILD = """
import sys
from hardware_proxy.outbox import Outbox

box = Outbox(sys.argv[1])
start = int(sys.argv[2])
n = start
while True:
    batch = [{"id": f"c{n + i}", "device": "KP-CRASH", "type": "rate", "key": 1,
              "time": 1700000000000 + n + i, "pad": "x" * 200} for i in range(3)]
    box.add(batch)
    print(" ".join(event["id"] for event in batch), flush=True)
    n += 3
"""


def run_and_kill(path: Path, start: int, at_least: int) -> list[str]:
    """Run a child adding events in a tight loop; SIGKILL it after `at_least` commits."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(start)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(30, child.kill)
    watchdog.start()
    reported = []
    try:
        for line in child.stdout:
            reported += line.split()
            if len(reported) >= at_least:
                os.kill(child.pid, signal.SIGKILL)  # mid-loop: most likely inside a commit
                break
        child.wait(10)
        # Lines the child flushed before it died are still in the pipe.
        reported += child.stdout.read().split()
    finally:
        watchdog.cancel()
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    return reported


def test_crash_safety_sigkill(tmp_path):
    """Every event the writer was told is committed survives a SIGKILL, once."""
    path = tmp_path / "crash.db"
    reported = run_and_kill(path, 0, 300)
    # The reopened file recovers its WAL; a second writer is killed the same way.
    reported += run_and_kill(path, 100_000, 150)
    assert len(reported) >= 450

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [row[0] for row in db.execute("SELECT uid FROM outbox ORDER BY rowid")]
    finally:
        db.close()
    assert len(stored) == len(set(stored)), "no event stored twice"
    missing = set(reported) - set(stored)
    assert not missing, f"{len(missing)} committed events lost, e.g. {sorted(missing)[:5]}"
    # At most the one batch each writer committed but had no time to report.
    assert len(stored) - len(reported) <= 2 * 3
    numbers = [int(uid[1:]) for uid in stored]
    first_run = [n for n in numbers if n < 100_000]
    assert first_run == list(range(len(first_run))), "committed in order, without holes"

    box = Outbox(path)
    try:
        assert box.depth() == len(stored)
        assert uids(box.peek(5)) == ["c0", "c1", "c2", "c3", "c4"]
    finally:
        box.close()


# --------------------------------------------------------------------------- held frames


def test_held_frames_until_hello(tmp_path):
    """Frames of a port not identified yet: held once each, durable, then released in
    order as events of the keypad that said HELLO (issue 12, C3)."""
    box = Outbox(tmp_path / "outbox.db", max_events=4)
    try:
        assert box.hold("/dev/ttyUSB0", b"frame-1", 1000)
        assert not box.hold("/dev/ttyUSB0", b"frame-1", 1050), "a retransmission"
        assert box.hold("/dev/ttyUSB0", b"frame-2", 1100)
        assert box.hold("/dev/ttyUSB1", b"frame-1", 1200), "another port"
        assert box.held_counts() == {"/dev/ttyUSB0": 2, "/dev/ttyUSB1": 1}
        assert box.depth() == 0 and box.held_count() == 3
        box.add([event("already-queued")])
        assert box.level == "full", "held frames count towards the limit"
        with pytest.raises(OutboxFull):
            box.hold("/dev/ttyUSB0", b"frame-3", 1300)
    finally:
        box.close()
    box = Outbox(tmp_path / "outbox.db", max_events=4)  # a restart: still held
    try:
        assert [(h.frame, h.received_ms) for h in box.held("/dev/ttyUSB0")] == [
            (b"frame-1", 1000),
            (b"frame-2", 1100),
        ]
        held, added = box.release(
            "/dev/ttyUSB0",
            lambda h: event("already-queued" if h.frame == b"frame-2" else "new", "KP-9"),
        )
        assert held == 2 and [e["id"] for e in added] == ["new"]
        assert uids(box.peek(10)) == ["already-queued", "new"]
        assert box.held_counts() == {"/dev/ttyUSB1": 1}
        assert box.release("/dev/ttyUSB0", lambda h: event("x")) == (0, [])
        assert box.release("/dev/ttyUSB1", lambda h: None) == (1, [])  # dropped
        assert box.held_count() == 0
    finally:
        box.close()

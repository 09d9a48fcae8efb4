"""Durable FIFO of device events waiting for Odoo: SQLite in WAL mode, fsync on commit.

`Outbox.add()` returns only after its transaction is on disk (``synchronous=FULL``), so
the service may ACK a keypad frame as soon as it returns: a crash, a power cut or a
SIGKILL after that point loses nothing. Event ids are unique in the table, so a frame the
keypad retransmits is stored once. The sender reads the oldest events with `peek()`,
deletes them when Odoo confirmed them and parks the ones Odoo refused in the
``dead_letter`` table with Odoo's reason, where an operator can see them.

Frames that arrive on a port before its keypad said HELLO (PROTOCOL.md section 5, host
rule 6) are not events yet: nobody knows which keypad sent them. `hold()` keeps each one
durably in the ``held`` table under its port (the keypad is ACKed, so it must survive a
crash); `release()` turns a port's held frames into events of the keypad whose HELLO
came, in the order they arrived, and deletes them, in one transaction. Held frames count
towards `max_events` like queued events.

One connection serves every thread of the process, behind one lock; each method is one
short transaction.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_logger = logging.getLogger("hardware_proxy.outbox")

LEVEL_OK = "ok"
LEVEL_WARNING = "warning"
LEVEL_FULL = "full"

# SQLite's default limit of host parameters per statement is 999 on old builds.
_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT UNIQUE NOT NULL,
    device TEXT,
    payload TEXT,
    attempts INT,
    created_at REAL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    uid TEXT PRIMARY KEY,
    device TEXT,
    payload TEXT,
    reason TEXT,
    parked_at REAL,
    attempts INT
);
CREATE INDEX IF NOT EXISTS dead_letter_parked_at ON dead_letter (parked_at);
CREATE TABLE IF NOT EXISTS held (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    port TEXT NOT NULL,
    frame BLOB NOT NULL,
    received_ms INTEGER NOT NULL,
    UNIQUE (port, frame)
);
"""


class OutboxFull(Exception):
    """The outbox holds its maximum number of events: nothing of the call was written."""


@dataclass(frozen=True)
class HeldFrame:
    """A keypad frame received on `port` before the port's HELLO: not attributed yet."""

    rowid: int
    port: str
    frame: bytes
    received_ms: int


@dataclass(frozen=True)
class OutboxItem:
    rowid: int
    uid: str
    device: str
    payload: dict
    attempts: int
    created_at: float


class Outbox:
    """The events the proxy has accepted and Odoo has not confirmed yet."""

    def __init__(
        self, path: str | os.PathLike, *, max_events: int = 500_000, warn_ratio: float = 0.8
    ):
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        if not 0 < warn_ratio <= 1:
            raise ValueError("warn_ratio must be in (0, 1]")
        self.path = os.fspath(path)
        self.max_events = max_events
        self.warn_ratio = warn_ratio
        self._lock = threading.Lock()
        directory = os.path.dirname(self.path)
        if directory and self.path != ":memory:":
            os.makedirs(directory, exist_ok=True)
        # isolation_level=None: no implicit transactions, each method says BEGIN itself.
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            _logger.warning("outbox journal_mode=%s path=%s (WAL not available)", mode, self.path)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    # ------------------------------------------------------------------ writing
    def add(self, events: list[dict]) -> int:
        """Store events durably; returns how many were new (known ids are ignored).

        All or nothing: one transaction, committed (fsync) before this returns. Raises
        `OutboxFull` without writing anything when the outbox cannot take them all.
        """
        rows = []
        now = time.time()
        for event in events:
            uid, device = _event_key(event)
            rows.append((uid, device, json.dumps(event, ensure_ascii=False), 0, now))
        if not rows:
            return 0
        with self._transaction() as db:
            self._check_room(db, len(rows))
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO outbox (uid, device, payload, attempts, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            return db.total_changes - before

    def hold(self, port: str, frame: bytes, received_ms: int) -> bool:
        """Keep a frame of a port whose keypad is not identified yet; False if held already.

        The same bytes on the same port (a retransmission whose ACK was lost) are held
        once. Durable when this returns, like `add()`; raises `OutboxFull` when full.
        """
        if not port:
            raise ValueError("a held frame needs its port")
        with self._transaction() as db:
            known = db.execute(
                "SELECT 1 FROM held WHERE port = ? AND frame = ?", (port, bytes(frame))
            ).fetchone()
            if known:
                return False
            self._check_room(db, 1)
            db.execute(
                "INSERT INTO held (port, frame, received_ms) VALUES (?, ?, ?)",
                (port, bytes(frame), int(received_ms)),
            )
            return True

    def held(self, port: str | None = None) -> list[HeldFrame]:
        """The held frames (of one port, or all), oldest first."""
        sql = "SELECT rowid, port, frame, received_ms FROM held"
        args: tuple = ()
        if port is not None:
            sql, args = sql + " WHERE port = ?", (port,)
        with self._lock:
            rows = self._connection().execute(sql + " ORDER BY rowid", args).fetchall()
        return [HeldFrame(rowid, port_, bytes(frame), ms) for rowid, port_, frame, ms in rows]

    def held_counts(self) -> dict[str, int]:
        """Held frames per port (only ports that hold some)."""
        with self._lock:
            rows = (
                self._connection()
                .execute("SELECT port, COUNT(*) FROM held GROUP BY port ORDER BY port")
                .fetchall()
            )
        return dict(rows)

    def release(
        self, port: str, build: Callable[[HeldFrame], dict | None]
    ) -> tuple[int, list[dict]]:
        """Attribute a port's held frames: `build` makes each one's event (None: drop it).

        One transaction: the events join the outbox in the order their frames arrived
        (an id already queued is ignored) and the held frames are deleted. Returns how
        many frames were held and the events that were new to the outbox.
        """
        with self._transaction() as db:
            rows = db.execute(
                "SELECT rowid, port, frame, received_ms FROM held WHERE port = ? ORDER BY rowid",
                (port,),
            ).fetchall()
            added = []
            now = time.time()
            for rowid, port_, frame, received_ms in rows:
                event = build(HeldFrame(rowid, port_, bytes(frame), received_ms))
                if event is None:
                    continue
                uid, device = _event_key(event)
                cursor = db.execute(
                    "INSERT OR IGNORE INTO outbox (uid, device, payload, attempts, created_at) "
                    "VALUES (?, ?, ?, 0, ?)",
                    (uid, device, json.dumps(event, ensure_ascii=False), now),
                )
                if cursor.rowcount:
                    added.append(event)
            db.execute("DELETE FROM held WHERE port = ?", (port,))
            return len(rows), added

    def delete(self, uids: Iterable[str]) -> int:
        """Remove events Odoo confirmed; returns how many were there."""
        uids = list(uids)
        if not uids:
            return 0
        with self._transaction() as db:
            deleted = 0
            for chunk in _chunks(uids):
                marks = ",".join("?" * len(chunk))
                deleted += db.execute(f"DELETE FROM outbox WHERE uid IN ({marks})", chunk).rowcount
            return deleted

    def park(self, uid: str, reason: str) -> bool:
        """Move one event to the dead letters with the reason; False if it is not queued.

        A uid parked before (the same event added and refused again) is overwritten.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT device, payload, attempts FROM outbox WHERE uid = ?", (uid,)
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "INSERT OR REPLACE INTO dead_letter "
                "(uid, device, payload, reason, parked_at, attempts) VALUES (?, ?, ?, ?, ?, ?)",
                (uid, row[0], row[1], reason, time.time(), row[2]),
            )
            db.execute("DELETE FROM outbox WHERE uid = ?", (uid,))
            return True

    def mark_attempt(self, uids: Iterable[str]) -> None:
        """Count one more delivery attempt for these events."""
        uids = list(uids)
        if not uids:
            return
        with self._transaction() as db:
            for chunk in _chunks(uids):
                marks = ",".join("?" * len(chunk))
                db.execute(
                    f"UPDATE outbox SET attempts = attempts + 1 WHERE uid IN ({marks})", chunk
                )

    # ------------------------------------------------------------------ reading
    def peek(self, limit: int) -> list[OutboxItem]:
        """The `limit` oldest events, in the order they were added; nothing is removed."""
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT rowid, uid, device, payload, attempts, created_at FROM outbox "
                    "ORDER BY rowid LIMIT ?",
                    (max(0, int(limit)),),
                )
                .fetchall()
            )
        return [
            OutboxItem(
                rowid=rowid,
                uid=uid,
                device=device,
                payload=json.loads(payload),
                attempts=attempts or 0,
                created_at=created_at,
            )
            for rowid, uid, device, payload, attempts, created_at in rows
        ]

    def depth(self) -> int:
        """Events queued for Odoo (held frames not included)."""
        return self._scalar("SELECT COUNT(*) FROM outbox")

    def held_count(self) -> int:
        return self._scalar("SELECT COUNT(*) FROM held")

    def dead_letter_count(self) -> int:
        return self._scalar("SELECT COUNT(*) FROM dead_letter")

    def dead_letters(self, limit: int = 50) -> list[dict]:
        """The most recently parked events first."""
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT uid, device, reason, parked_at, payload, attempts FROM dead_letter "
                    "ORDER BY parked_at DESC, rowid DESC LIMIT ?",
                    (max(0, int(limit)),),
                )
                .fetchall()
            )
        return [
            {
                "uid": uid,
                "device": device,
                "reason": reason,
                "parked_at": parked_at,
                "payload": json.loads(payload),
                "attempts": attempts or 0,
            }
            for uid, device, reason, parked_at, payload, attempts in rows
        ]

    def oldest_age(self) -> float | None:
        """Seconds since the oldest queued event was added; None when the outbox is empty."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT created_at FROM outbox ORDER BY rowid LIMIT 1")
                .fetchone()
            )
        return None if row is None else max(0.0, time.time() - row[0])

    @property
    def level(self) -> str:
        """Fill level: ``ok``, ``warning`` (warn_ratio of max_events or above) or ``full``.

        Queued events and held frames both count.
        """
        depth = self._scalar("SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM held)")
        if depth >= self.max_events:
            return LEVEL_FULL
        if depth >= self.warn_ratio * self.max_events:
            return LEVEL_WARNING
        return LEVEL_OK

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; ROLLBACK on any exception."""
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _check_room(self, db: sqlite3.Connection, count: int) -> None:
        used = db.execute(
            "SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM held)"
        ).fetchone()[0]
        if used + count > self.max_events:
            raise OutboxFull(
                f"outbox holds {used} of at most {self.max_events} events; cannot add {count}"
            )

    def _scalar(self, sql: str):
        with self._lock:
            return self._connection().execute(sql).fetchone()[0]

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("the outbox is closed")
        return self._db


def _event_key(event: dict) -> tuple[str, str]:
    if not isinstance(event, dict):
        raise ValueError(f"an event must be a dict, not {type(event).__name__}")
    uid, device = event.get("id"), event.get("device")
    if not isinstance(uid, str) or not uid:
        raise ValueError(f"event without an id: {event!r}")
    if not isinstance(device, str) or not device:
        raise ValueError(f"event {uid} without a device")
    return uid, device


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]

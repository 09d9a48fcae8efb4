"""Deliver the outbox to Odoo in batches: delete what Odoo confirmed, park what it refused.

The rules (hardware_proxy/DESIGN.md, "never lost, never twice"):

- an event leaves the outbox only when Odoo answered ``stored``, ``duplicate`` or ``ok``
  for it (matched by position and by id), or, answered ``error``, into the dead letters
  with Odoo's message;
- a failed call (network, timeout, 5xx, authentication) deletes nothing; the same events
  are sent again after an exponential backoff with full jitter;
- while Odoo cannot be reached at all (connection refused, timed out: no HTTP answer),
  a cheap probe (``GET /web/health``) runs every ``probe_interval`` seconds during the
  backoff, and the batch goes out as soon as Odoo answers it: a backlog starts draining
  within about a second of Odoo's return instead of after a backoff of up to
  ``backoff_max``. When Odoo answered but failed (5xx, a database error) or refused the
  key, the backoff is waited out: probing would only hammer a struggling server;
- a batch Odoo refuses as a whole is split in halves until the event it chokes on is
  alone, and that one is parked.

Odoo stores each event id once per device, so sending an event again after a crash
between Odoo's reply and the delete is harmless: it comes back ``duplicate``.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
import urllib.request
from collections.abc import Callable

from .config import DEFAULT_BATCH_SIZE
from .odoo_client import OdooAuthError, OdooClient, OdooError, OdooRejected, OdooUnavailable
from .outbox import Outbox, OutboxItem

_logger = logging.getLogger("hardware_proxy.sender")

IDLE = "idle"
SENDING = "sending"
BACKING_OFF = "backing_off"
AUTH_FAILED = "auth_failed"
STOPPED = "stopped"

# Odoo's per-event statuses that mean "Odoo has it": the event may leave the outbox.
DELIVERED = {"stored", "duplicate", "ok"}


class _Unmatched(Exception):
    """Odoo's reply did not answer some events of the batch; they stay queued."""


class Sender(threading.Thread):
    """The thread that empties the outbox into Odoo."""

    def __init__(
        self,
        outbox: Outbox,
        client: OdooClient,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        backoff_initial: float = 0.5,
        backoff_max: float = 60.0,
        idle_wait: float = 1.0,
        on_device_replies: Callable[[dict], None] | None = None,
        on_results: Callable[[list[tuple[dict, dict | None]]], None] | None = None,
        rng: random.Random | None = None,
        probe_interval: float = 1.0,
        probe: Callable[[], bool] | None = None,
    ):
        super().__init__(name="hardware-proxy-sender", daemon=True)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.idle_wait = idle_wait
        self.on_device_replies = on_device_replies
        # Called after on_device_replies with (event, Odoo's answer or None) per event of
        # a delivered batch, in order: the service tells keypads Odoo's verdicts.
        self.on_results = on_results
        self._rng = rng or random.Random()
        # While Odoo is unreachable: is it back? (None: no probing, the backoff is waited out.)
        self.probe_interval = probe_interval
        self._probe = probe if probe is not None else health_probe(getattr(client, "url", None))
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._drain_deadline = 0.0
        self._stats_lock = threading.Lock()
        self._state = IDLE
        self._failing: str | None = None  # AUTH_FAILED or BACKING_OFF until a call succeeds
        self._last_success_at: float | None = None
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._next_attempt_at: float | None = None
        self._consecutive_failures = 0
        self._sent_total = 0
        self._duplicates_total = 0
        self._acknowledged_total = 0
        self._parked_total = 0
        self._batches_total = 0

    # ------------------------------------------------------------------ control
    def wake(self) -> None:
        """New events are queued: send now rather than after idle_wait (not during a backoff)."""
        self._wakeup.set()

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Send what is queued for up to drain_timeout seconds, then stop the thread.

        Whatever is not confirmed by then stays in the outbox for the next start. A call
        still in flight at the deadline is cut off (its events stay queued as well).
        """
        self._drain_deadline = time.monotonic() + max(0.0, drain_timeout)
        self._stopping.set()
        self._wakeup.set()
        if not self.is_alive():
            self._set_state(STOPPED)
            return
        self.join(max(0.0, drain_timeout) + 0.5)
        if self.is_alive():
            _logger.warning("stop: a call to Odoo is still running; cutting it off")
            self.client.close()
            self.join(5.0)
        if self.is_alive():
            _logger.error("stop: the sender thread did not end")

    def status(self) -> dict:
        """A snapshot for /health and the status page."""
        with self._stats_lock:
            status = {
                "state": self._state,
                "last_success_at": self._last_success_at,
                "last_error": self._last_error,
                "last_error_at": self._last_error_at,
                "next_attempt_at": self._next_attempt_at,
                "consecutive_failures": self._consecutive_failures,
                "sent_total": self._sent_total,
                "duplicates_total": self._duplicates_total,
                "acknowledged_total": self._acknowledged_total,
                "parked_total": self._parked_total,
                "batches_total": self._batches_total,
            }
        try:
            status["queue_depth"] = self.outbox.depth()
            status["dead_letters"] = self.outbox.dead_letter_count()
        except Exception as error:  # a closed outbox must not break the status page
            status["queue_depth"] = status["dead_letters"] = None
            status["outbox_error"] = repr(error)
        return status

    # ------------------------------------------------------------------ thread
    def run(self) -> None:
        _logger.info(
            "sender started odoo=%s batch_size=%d queue_depth=%s",
            getattr(self.client, "url", "?"),
            self.batch_size,
            _safe_depth(self.outbox),
        )
        try:
            while not self._stopping.is_set():
                self._wakeup.clear()
                try:
                    sent = self._send_one_batch()
                except Exception as error:
                    self._back_off(self._on_failure(error), error)
                    continue
                if not sent:
                    self._set_state(IDLE)
                    self._wakeup.wait(self.idle_wait)
            self._drain()
        finally:
            self._set_state(STOPPED)
            _logger.info("sender stopped queue_depth=%s", _safe_depth(self.outbox))

    def _drain(self) -> None:
        """After stop(): deliver what is queued until empty, a failure or the deadline."""
        while time.monotonic() < self._drain_deadline:
            try:
                if not self._send_one_batch():
                    return
            except Exception as error:
                self._on_failure(error)
                return

    def _send_one_batch(self) -> bool:
        """Deliver the oldest batch; False when the outbox is empty. Raises on failure."""
        items = self.outbox.peek(self.batch_size)
        if not items:
            return False
        if self._failing is None:  # a retry keeps showing why it is retrying
            self._set_state(SENDING)
        self._deliver(items)
        self._on_success()
        return True

    def _deliver(self, items: list[OutboxItem]) -> None:
        """Post items; split them when Odoo refuses the whole batch."""
        try:
            try:
                result = self.client.post_events([item.payload for item in items])
            except OdooError:
                # Count failed attempts only: a durable write before every send would
                # add an fsync to the latency of every press.
                self.outbox.mark_attempt(item.uid for item in items)
                raise
        except OdooRejected as error:
            if len(items) > 1:
                half = len(items) // 2
                _logger.warning(
                    "batch refused, splitting size=%d code=%s error=%s",
                    len(items),
                    error.code,
                    error,
                )
                self._deliver(items[:half])
                self._deliver(items[half:])
                return
            reason = f"{error.code}: {error.message}" if error.code else error.message
            self._park(items[0], reason)
            return
        with self._stats_lock:
            self._batches_total += 1
        self._apply(items, result)

    def _apply(self, items: list[OutboxItem], result: dict) -> None:
        """Delete what Odoo has, park what it refused, pass its device replies on."""
        results = result.get("results") or []
        by_id = {}
        for answer in results:
            if isinstance(answer, dict) and answer.get("id") is not None:
                by_id.setdefault(answer["id"], answer)
        delivered, refused, unmatched, answered = [], [], [], []
        counts = {"stored": 0, "duplicate": 0, "ok": 0}
        for position, item in enumerate(items):
            answer = results[position] if position < len(results) else None
            # Odoo answers `"id": null` for an event without a usable id: in place, that
            # answer is this item's (the proxy's ids are always usable, so it is rare).
            if not isinstance(answer, dict) or answer.get("id") not in (None, item.uid):
                answer = by_id.get(item.uid)  # out of place: trust only an answer naming it
            status = answer.get("status") if isinstance(answer, dict) else None
            answered.append((item.payload, answer if isinstance(answer, dict) else None))
            if status in DELIVERED:
                delivered.append(item.uid)
                counts[status] += 1
            elif status == "error":
                refused.append((item, answer))
            else:
                unmatched.append(item.uid)
        self.outbox.delete(delivered)
        for item, answer in refused:
            self._park(item, f"{answer.get('code', 'error')}: {answer.get('message', '')}")
        with self._stats_lock:
            self._sent_total += counts["stored"]
            self._duplicates_total += counts["duplicate"]
            self._acknowledged_total += counts["ok"]
        _logger.debug(
            "batch delivered size=%d stored=%d duplicate=%d ok=%d parked=%d unmatched=%d",
            len(items),
            counts["stored"],
            counts["duplicate"],
            counts["ok"],
            len(refused),
            len(unmatched),
        )
        devices = result.get("devices")
        if devices and self.on_device_replies is not None:
            try:
                self.on_device_replies(devices)
            except Exception:
                _logger.exception("on_device_replies failed devices=%s", ",".join(devices))
        if self.on_results is not None:
            try:
                self.on_results(answered)
            except Exception:
                _logger.exception("on_results failed size=%d", len(answered))
        if unmatched:
            raise _Unmatched(
                f"Odoo's reply did not answer {len(unmatched)} of {len(items)} events "
                f"(first {unmatched[0]}); they stay queued"
            )

    def _park(self, item: OutboxItem, reason: str) -> None:
        if self.outbox.park(item.uid, reason):
            with self._stats_lock:
                self._parked_total += 1
            _logger.warning(
                "event parked uid=%s device=%s attempts=%d reason=%s",
                item.uid,
                item.device,
                item.attempts + 1,
                reason,
            )

    # ------------------------------------------------------------------ state
    def _on_success(self) -> None:
        with self._stats_lock:
            failures = self._consecutive_failures
            self._consecutive_failures = 0
            self._failing = None
            self._state = SENDING
            self._last_success_at = time.time()
            self._next_attempt_at = None
        if failures:
            _logger.info("odoo reachable again after failures=%d", failures)

    def _on_failure(self, error: Exception) -> float:
        """Record a failed call; returns how long to wait before the next one."""
        if isinstance(error, OdooAuthError):
            state, delay = AUTH_FAILED, self.backoff_max
        else:
            state = BACKING_OFF
            with self._stats_lock:
                exponent = min(self._consecutive_failures, 62)
            cap = min(self.backoff_max, self.backoff_initial * 2**exponent)
            delay = self._rng.uniform(0, cap)
        with self._stats_lock:
            previous = self._failing
            self._failing = state
            self._consecutive_failures += 1
            failures = self._consecutive_failures
            self._last_error = f"{type(error).__name__}: {error}"
            self._last_error_at = time.time()
            self._next_attempt_at = self._last_error_at + delay
            self._state = state
        if state == AUTH_FAILED:
            log = _logger.error if previous != AUTH_FAILED else _logger.debug
            log(
                "odoo refused the API key: fix the key or the device user in Odoo "
                "error=%s retry_in=%.1fs",
                error,
                delay,
            )
        elif isinstance(error, (OdooUnavailable, _Unmatched)):
            log = _logger.warning if previous != BACKING_OFF else _logger.info
            log("odoo call failed failures=%d error=%s retry_in=%.1fs", failures, error, delay)
        else:
            _logger.exception(
                "unexpected error failures=%d retry_in=%.1fs", failures, delay, exc_info=error
            )
        return delay

    def _back_off(self, delay: float, error: Exception) -> None:
        """Wait `delay` before the next attempt; cut short when a probe finds Odoo back.

        Only after a failure without any HTTP answer (Odoo down, restarting, the network
        gone): that is when Odoo's return must be noticed at once. A probe that fails
        costs a refused connection, or at most its short timeout.
        """
        unreachable = (
            isinstance(error, OdooUnavailable) and error.status is None and error.code is None
        )
        if not unreachable or self._probe is None or delay <= self.probe_interval:
            self._stopping.wait(delay)
            return
        deadline = time.monotonic() + delay
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self._stopping.wait(min(self.probe_interval, left)):
                return
            if deadline - time.monotonic() <= 0:
                return
            try:
                back = self._probe()
            except Exception:  # a probe must never stop the sender
                _logger.debug("probe failed", exc_info=True)
                back = False
            if back:
                _logger.info(
                    "odoo answers again: retrying now instead of in %.1fs",
                    deadline - time.monotonic(),
                )
                with self._stats_lock:
                    self._next_attempt_at = time.time()
                return

    def _set_state(self, state: str) -> None:
        with self._stats_lock:
            self._state = state


def health_probe(url: str | None, timeout: float = 2.0) -> Callable[[], bool] | None:
    """A probe of Odoo's ``/web/health`` below `url` (True: HTTP 200); None for a URL
    that is not http(s) (test doubles). No proxy from the environment, like the client."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    target = url.rstrip("/") + "/web/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def probe() -> bool:
        try:
            with opener.open(target, timeout=timeout) as reply:
                return reply.status == 200
        except (OSError, ValueError, http.client.HTTPException):
            return False

    return probe


def _safe_depth(outbox: Outbox) -> int | None:
    try:
        return outbox.depth()
    except Exception:
        return None

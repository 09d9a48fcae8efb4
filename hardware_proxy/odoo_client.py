"""One JSON-RPC call per batch of device events, with errors typed by what to do next.

`OdooClient.post_events()` posts to ``/service_evaluation/device/events`` (see
docs/device-api.md) over one keep-alive HTTP connection and returns the JSON-RPC
``result``. Failures of the whole call are sorted for the sender:

- `OdooUnavailable`: Odoo could not answer (network, timeout, 5xx, a reverse proxy's
  error page, a reply that is not JSON-RPC): retry the same batch later.
- `OdooAuthError`: the API key is missing, wrong, expired or not a device user's:
  retry slowly, an operator must act.
- `OdooRejected`: Odoo refused this batch as a whole: split it to find the culprit.

The API key is sent as a bearer token and never appears in a log line or an exception.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import logging
import socket
import threading
from urllib.parse import urlsplit

_logger = logging.getLogger("hardware_proxy.odoo_client")

DEFAULT_ROUTE = "/service_evaluation/device/events"

# JSON-RPC error names (data.name) that say "the server cannot serve now", not "this batch
# is bad": retrying later is right; splitting and parking the batch would be wrong.
_TRANSIENT_ERROR_NAMES = (
    "OperationalError",
    "InterfaceError",
    "SerializationFailure",
    "TransactionRollbackError",
    "DeadlockDetected",
    "LockNotAvailable",
    "QueryCanceled",
    "AdminShutdown",
    "CannotConnectNow",
    "TooManyConnections",
    "MemoryError",
    "NotFound",  # route unknown: the addon is not installed in this database (yet)
    "ServiceUnavailable",
)
_AUTH_ERROR_NAMES = ("Unauthorized", "AccessDenied", "Forbidden")

# A keep-alive socket the server closed while idle fails on reuse with one of these;
# the request never reached Odoo's application, so one retry on a fresh socket is safe.
_STALE_SOCKET_ERRORS = (
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


class OdooError(Exception):
    """A failed call; `code` is Odoo's error code or name, `status` the HTTP status."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(f"{code}: {message}" if code and not message.startswith(code) else message)
        self.message = message
        self.code = code
        self.status = status


class OdooUnavailable(OdooError):
    """Odoo did not answer usefully: network, timeout, 5xx, not JSON-RPC. Retry later."""


class OdooAuthError(OdooError):
    """The API key is missing, wrong or expired, or its user is not a Service Device."""


class OdooRejected(OdooError):
    """Odoo refused the whole batch (malformed_batch, batch_too_large, a server error)."""


class OdooClient:
    """Posts batches of device events to Odoo over one keep-alive connection."""

    def __init__(
        self,
        url: str,
        db: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        route: str = DEFAULT_ROUTE,
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the Odoo URL must be http(s)://host[:port][/path], not {url!r}")
        self.url = url
        self.db = db
        self.timeout = timeout
        self._api_key = api_key
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/" + route.lstrip("/")
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closes = 0  # close() calls: a call cut off by close() is not retried

    def __repr__(self) -> str:
        return f"<OdooClient {self.url} db={self.db}>"

    def post_events(self, events: list[dict]) -> dict:
        """POST the events; returns the JSON-RPC result: {"results": [...], "devices": {...}}.

        Raises OdooUnavailable, OdooAuthError or OdooRejected (see the module docstring).
        """
        request_id = next(self._ids)
        body = json.dumps(
            {"jsonrpc": "2.0", "method": "call", "id": request_id, "params": {"events": events}},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {self._api_key}",
        }
        if self.db:
            headers["X-Odoo-Database"] = self.db
        with self._lock:
            status, data = self._post(body, headers)
        return _result(status, data)

    def close(self) -> None:
        """Drop the connection (the next call opens a new one).

        Safe from another thread while a call is in flight: shutting the socket down wakes
        the blocked call, which then fails with OdooUnavailable.
        """
        self._closes += 1
        conn = self._conn
        if conn is None:
            return
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        conn.close()

    # ------------------------------------------------------------------ transport
    def _post(self, body: bytes, headers: dict) -> tuple[int, bytes]:
        closes = self._closes
        for attempt in (1, 2):
            conn = self._connection()
            reused = conn.sock is not None
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except _STALE_SOCKET_ERRORS as error:
                conn.close()
                if reused and attempt == 1 and closes == self._closes:
                    _logger.debug("stale keep-alive socket host=%s error=%r", self._host, error)
                    continue
                raise OdooUnavailable(f"connection lost: {error!r}") from None
            except (OSError, http.client.HTTPException) as error:
                # Refused, unreachable, DNS, TLS, timeout, a truncated reply...
                conn.close()
                raise OdooUnavailable(f"cannot reach {self.url}: {error!r}") from None
            if response.will_close:
                conn.close()
            return response.status, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
        return self._conn


def _result(status: int, data: bytes) -> dict:
    """The JSON-RPC result of a reply, or the typed error it stands for."""
    snippet = data[:200].decode("utf-8", "replace").strip()
    if status in (401, 403):
        raise OdooAuthError(f"HTTP {status}: {snippet}", status=status)
    if status == 413:  # a reverse proxy's body size limit: a smaller batch gets through
        raise OdooRejected("HTTP 413: batch too large for the server", code="http_413", status=413)
    if status != 200:
        raise OdooUnavailable(f"HTTP {status}: {snippet}", status=status)
    try:
        reply = json.loads(data)
    except ValueError:
        raise OdooUnavailable(f"reply is not JSON: {snippet}", status=status) from None
    if not isinstance(reply, dict):
        raise OdooUnavailable(f"reply is not a JSON-RPC object: {snippet}", status=status)
    if reply.get("error") is not None:
        _raise_rpc_error(reply["error"])
    result = reply.get("result")
    if not isinstance(result, dict):
        raise OdooUnavailable(f"reply without a result object: {snippet}", status=status)
    error = result.get("error")
    if error:
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        if code == "not_a_device":
            raise OdooAuthError(message, code=code, status=status)
        raise OdooRejected(message, code=code or "refused", status=status)
    if not isinstance(result.get("results"), list):
        raise OdooUnavailable("result without a results list", status=status)
    return result


def _raise_rpc_error(error) -> None:
    if not isinstance(error, dict):
        raise OdooRejected(str(error), code="error")
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or error.get("message") or name).strip()
    short = name.rsplit(".", 1)[-1]
    if any(marker in name for marker in _AUTH_ERROR_NAMES):
        raise OdooAuthError(message, code=name)
    if short in _TRANSIENT_ERROR_NAMES:
        raise OdooUnavailable(message, code=name)
    raise OdooRejected(message, code=name or str(error.get("code", "error")))

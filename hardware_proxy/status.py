"""Loopback status page (/) and JSON health endpoint (/health) of the proxy."""

from __future__ import annotations

import html
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_logger = logging.getLogger("hardware_proxy.status")


class StatusServer:
    def __init__(self, service, host: str = "127.0.0.1", port: int = 8079):
        self.service = service
        handler = type("Handler", (_Handler,), {"service": service})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="status", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StatusServer:
        self.thread.start()
        _logger.info("status page url=%s", self.url)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    service = None

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/health":
            status = self.service.status()
            body = json.dumps(status, ensure_ascii=False, default=str).encode()
            # 503 lets a monitor alert on a degraded proxy without parsing the body.
            self._reply(200 if status["status"] == "ok" else 503, "application/json", body)
        elif path == "/":
            self._reply(
                200, "text/html; charset=utf-8", render_page(self.service.status()).encode()
            )
        else:
            self._reply(404, "text/plain", b"not found")

    def _reply(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        _logger.debug("status request " + format, *args)


def _table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


STYLE = (
    "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse;margin-bottom:1em}"
    " td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    " .ok{color:#080} .degraded{color:#b00}"
)
DEVICE_COLUMNS = [
    "serial", "state", "url", "teller", "last_frame_age", "events_stored", "retransmissions",
    "firmware",
]  # fmt: skip


def render_page(status: dict) -> str:
    queue, sender = status["queue"], status["sender"]
    state = html.escape(status["status"])
    summary = (
        f"Queue: <b>{queue['depth']}</b> events ({html.escape(queue['level'])}, "
        f"limit {queue['max_events']}, oldest {queue['oldest_age'] or 0:.0f} s) · "
        f"Sender: <b>{html.escape(str(sender.get('state')))}</b>, "
        f"last delivery {html.escape(str(sender.get('last_success_at')))} · "
        f"Dead letters: <b>{status['dead_letters']['count']}</b>"
    )
    sections = [
        ("Devices", _table(status["devices"], DEVICE_COLUMNS)),
        ("Ports", _table(status["links"], ["url", "state", "device", "held", "last_error"])),
        ("Dead letters", _table(status["dead_letters"]["latest"], ["uid", "device", "reason"])),
        ("Recent errors", _table(status["errors"], ["kind", "where", "message"])),
    ]
    body = "".join(f"<h2>{title}</h2>{table}" for title, table in sections)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="5">'
        f"<title>hardware_proxy: {state}</title><style>{STYLE}</style></head><body>"
        f'<h1>hardware_proxy <span class="{state}">{state}</span></h1><p>{summary}</p>'
        f"{body}</body></html>"
    )

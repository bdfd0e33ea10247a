"""A model server built on the standard library's `http.server` alone, as the world has them: HTTP/1.0, a
404 for anything but `POST /v1/responses` (so a WebSocket upgrade is answered `404` with no body length and
the connection closed), and no knowledge of WebSockets. It answers each POST with the next scripted response
rendered as SSE by `codex_actors.testing.script` (only the event rendering is shared with our scripted server;
the HTTP handling is the stdlib's).

    with plain_model_server([response(text_message("hi"))]) as server:
        ... server.url ...                 # http://127.0.0.1:PORT/v1
        server.requests                    # [PlainRequest(method, path, at, body)], `at` in time.monotonic() s

A scripted entry `{"status": 500}` is answered with that status and a JSON error body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

from codex_actors.testing.script import responses_events


@attrs.frozen
class PlainRequest:
    method: str
    path: str
    at: float
    body: Any


class PlainModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[dict[str, Any]], *, repeat_last: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.repeat_last = repeat_last
        self.requests: list[PlainRequest] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def posts(self) -> list[PlainRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    def next_entry(self) -> dict[str, Any] | None:
        with self.lock:
            if not self.script:
                return None
            return self.script[0] if self.repeat_last and len(self.script) == 1 else self.script.pop(0)


class _Handler(BaseHTTPRequestHandler):
    server: PlainModelServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def _record(self, body: Any) -> None:
        with self.server.lock:
            self.server.requests.append(PlainRequest(self.command, self.path, time.monotonic(), body))

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._record(None)
        self.send_response(404)
        self.end_headers()
        self.wfile.write(b"not found")

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        self._record(json.loads(raw or b"null"))
        entry = self.server.next_entry() if self.path.split("?")[0] == "/v1/responses" else None
        if entry is None:
            self.send_response(404)
            self.end_headers()
            return
        if "status" in entry:
            self.send_response(int(entry["status"]))
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"error": entry.get("error") or {"message": "scripted failure"}}).encode())
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for event in responses_events(entry, f"resp_{len(self.server.posts())}"):
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())


@contextmanager
def plain_model_server(script: list[dict[str, Any]], *, repeat_last: bool = False) -> Iterator[PlainModelServer]:
    """Serve `script` on 127.0.0.1 from a stdlib `ThreadingHTTPServer` in a thread, joined on exit. With
    `repeat_last`, a one-entry script answers every request."""
    server = PlainModelServer(script, repeat_last=repeat_last)
    thread = threading.Thread(target=server.serve_forever, name="plain-http-server", kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()

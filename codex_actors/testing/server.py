"""A scripted model server: real HTTP/1.1 + WebSocket on 127.0.0.1, answering each request with the next scripted
response (format in `codex_actors.testing.script`), recording every request, injecting faults.

Endpoints: `POST /v1/responses` (SSE), WebSocket upgrade on `/v1/responses` (`response.create` frames, spec
agent-core 3.3), `POST /v1/chat/completions` (SSE chunks, spec 3.4; one JSON `chat.completion` for `"stream": false`); other
paths get 404. Each HTTP connection
serves one request and closes. When the script runs out, requests get HTTP 400 (or a WebSocket error
frame) saying so.

In tests:

    async with serve_scripted_model([response(text_message("hi"))]) as server:
        provider = ProviderInfo.from_table("test", {"base_url": server.url})
        ...
        assert server.requests[0].body["input"] == [...]

As a process (for CLI tests): `python -m codex_actors.testing.server --script FILE.json [--port 0]
[--log FILE.jsonl] [--no-websocket] [--status FILE.json] [--models ID,ID]` prints its base URL (`http://127.0.0.1:PORT/v1`) as the
first stdout line and appends each request as one JSON line `{"transport","method","path","headers","body"}` to
the log; on SIGTERM it writes `{"errors": [...], "remaining": N}` to the status file and exits.

`--stateless` (instead of `--script`; in Python `ScriptedModelServer(responder=stateless.answer)`) answers each
request from its own input (`codex_actors.testing.stateless`), so many sessions can share one server; such a
server keeps HTTP/1.1 connections alive (a client's connection pool is used as with a real API), keeps no
request list unless logging, and refuses WebSocket upgrades.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable

import attrs
import h11
import trio
import trio_websocket

from codex_actors.model.nursery import background_nursery
from codex_actors.model.stream_proxy import ForwardingStream
from codex_actors.testing.script import chat_chunks, chat_completion, responses_events

_UPGRADE = re.compile(rb"\r\nupgrade:[ \t]*websocket", re.IGNORECASE)
_MAX_HEAD = 1 << 20


@attrs.frozen
class RecordedRequest:
    """One request as the server saw it. `transport` is "http" or "websocket"; `headers` has lower-case names;
    `body` is the decoded JSON (the `response.create` frame for WebSocket), or the raw text if not JSON."""

    transport: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


class _ReplayStream(ForwardingStream):
    """A stream that first returns bytes already read (the request head), then reads from `inner`."""

    def __init__(self, inner: trio.abc.Stream, prefix: bytes) -> None:
        super().__init__(inner)
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix, b""
            return data
        return await self.inner.receive_some(max_bytes)


async def _wait_for_peer_to_leave(stream: trio.abc.Stream) -> None:
    try:
        while await stream.receive_some(65536):
            pass
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


class ScriptedModelServer:
    """The server. `script` is a list of scripted responses (see `script`); `add()` appends more. `websocket=False`
    refuses WebSocket upgrades with HTTP 426 (without consuming the script). `log_path` appends each request as
    a JSON line. `models`: model ids `GET /v1/models` lists (OpenAI's `{"object": "list", "data": [...]}`);
    None answers it 404, like servers that list none. After `await nursery.start(server.run)`, `url` is the
    base URL to give a provider and `requests` the recorded requests in arrival order."""

    def __init__(
        self, script: list[dict[str, Any]] | None = None, *, websocket: bool = True, log_path: str | Path | None = None,
        models: list[str] | None = None,
        responder: Callable[[str, Any], dict[str, Any]] | None = None, keep_requests: bool = True,
    ) -> None:
        if script is not None and not isinstance(script, list):
            raise TypeError("the script must be a list of scripted responses")
        self._script = list(script or [])
        # `responder(wire, body) -> scripted response`: answer from the request itself instead of the script.
        self._responder = responder
        self.keep_requests = keep_requests
        self.answered_total = 0
        self.connections = 0  # TCP connections accepted so far
        self._answered = 0
        self.websocket = websocket
        self.log_path = Path(log_path) if log_path is not None else None
        self.models = list(models) if models is not None else None
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *entries: dict[str, Any]) -> None:
        """Append scripted responses."""
        self._script.extend(entries)

    @property
    def remaining(self) -> int:
        return len(self._script) - self._answered

    def _next(self, wire: str = "responses", body: Any = None) -> tuple[dict[str, Any] | None, str]:
        self.answered_total += 1
        if self._responder is not None:
            return self._responder(wire, body), f"resp_{self.answered_total}"
        if self._answered >= len(self._script):
            return None, ""
        entry = self._script[self._answered]
        self._answered += 1
        return entry, str(entry.get("id") or f"resp_{self._answered}")

    def _exhausted_message(self) -> str:
        return f"scripted model server: no scripted response left for request #{len(self.requests)}"

    def _record(self, request: RecordedRequest) -> None:
        if self.keep_requests:
            self.requests.append(request)
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(request.to_json()) + "\n")

    async def run(self, *, host: str = "127.0.0.1", port: int = 0, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Listen on `host:port` (0 = any free port) and serve until cancelled."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            task_status.started(self)
            await trio.serve_listeners(self._handle, listeners, handler_nursery=nursery)

    async def _handle(self, stream: trio.abc.Stream) -> None:
        self.connections += 1
        try:
            async with stream:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = await stream.receive_some(65536)
                    if not data or len(head) > _MAX_HEAD:
                        return
                    head += data
                if _UPGRADE.search(head.split(b"\r\n\r\n", 1)[0]):
                    await self._serve_websocket(_ReplayStream(stream, head))
                else:
                    await self._serve_http(stream, head)
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            pass  # the client went away; nothing to answer
        except Exception as exc:  # keep serving other connections; tests can assert on `errors`
            self.errors.append(f"{type(exc).__name__}: {exc}")
            print(f"scripted model server: {type(exc).__name__}: {exc}", file=sys.stderr)

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def _serve_http(self, stream: trio.abc.Stream, head: bytes) -> None:
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(head)
        while await self._serve_one_http(stream, conn) and self._responder is not None:
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _serve_one_http(self, stream: trio.abc.Stream, conn: h11.Connection) -> bool:
        """Answer one request on `conn`; True when the answer was sent whole (the connection may serve another)."""
        close = [] if self._responder is not None else [("connection", "close")]
        request: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data and request is None:
                    return False  # the client closed an idle kept-alive connection
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return False
        assert request is not None
        path = request.target.decode("latin-1")
        text = body.decode("utf-8", "replace")
        try:
            payload: Any = json.loads(text) if text else None
        except ValueError:
            payload = text
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        self._record(RecordedRequest("http", request.method.decode(), path, headers, payload))

        async def send(event: Any) -> None:
            await stream.send_all(conn.send(event))

        async def send_json(status: int, obj: Any, extra: list[tuple[str, str]] = ()) -> None:
            data = json.dumps(obj).encode()
            await send(h11.Response(status_code=status, headers=[
                ("content-type", "application/json"), ("content-length", str(len(data))), *close,
                *extra]))
            await send(h11.Data(data=data))
            await send(h11.EndOfMessage())

        route = path.split("?", 1)[0].rstrip("/")
        if route == "/v1/responses":
            wire = "responses"
        elif route == "/v1/chat/completions":
            wire = "chat"
        elif route == "/v1/models" and request.method == b"GET" and self.models is not None:
            await send_json(200, {"object": "list", "data": [{"id": model, "object": "model", "owned_by": "scripted"}
                                                             for model in self.models]})
            return
        else:
            await send_json(404, {"error": {"code": "not_found", "message": f"no such endpoint: {path}"}})
            return True
        entry, response_id = self._next(wire, payload)
        if entry is None:
            await send_json(400, {"error": {"code": "script_exhausted", "message": self._exhausted_message()}})
            return True
        if entry.get("delay"):
            await trio.sleep(float(entry["delay"]))
        if "status" in entry:
            extra = [("retry-after", str(entry["retry_after"]))] if entry.get("retry_after") is not None else []
            await send_json(int(entry["status"]), {"error": entry.get("error") or {}}, extra)
            return True
        streamed = not (isinstance(payload, dict) and payload.get("stream") is False)
        if wire == "chat" and entry.get("refuse_streaming_with_tools") and streamed \
                and isinstance(payload, dict) and payload.get("tools"):
            # What llama-cpp-python's server does: 200 and an event stream that ends without a single event.
            self._answered -= 1  # the entry answers the client's next (non-streaming) request
            await send(h11.Response(status_code=200, headers=[
                ("content-type", "text/event-stream; charset=utf-8"), ("connection", "close")]))
            await send(h11.EndOfMessage())
            return False
        if wire == "chat" and not streamed:
            await send_json(200, chat_completion(entry, response_id))
            return True
        if wire == "responses":
            payloads = [json.dumps(e) for e in responses_events(entry, response_id)]
        else:
            # Like OpenAI's: the usage chunk only for a request asking for it with stream_options.
            options = payload.get("stream_options") if isinstance(payload, dict) else None
            payloads = chat_chunks(entry, response_id,
                                   include_usage=isinstance(options, dict) and options.get("include_usage") is True)
        await send(h11.Response(status_code=200, headers=[
            ("content-type", "text/event-stream"), ("cache-control", "no-cache"), *close,
            *((k, str(v)) for k, v in (entry.get("headers") or {}).items())]))
        for index, payload_text in enumerate(payloads):
            if entry.get("drop_after") == index:
                return False  # leaving closes the socket without the terminating chunk
            if entry.get("malformed_after") == index:
                await send(h11.Data(data=b"data: {this is not json\n\n"))
                return False
            if entry.get("silence_after") == index:
                await _wait_for_peer_to_leave(stream)
                return False
            await send(h11.Data(data=f"data: {payload_text}\n\n".encode()))
        await send(h11.EndOfMessage())
        return True

    # -- WebSocket -------------------------------------------------------------------------------------------

    async def _serve_websocket(self, stream: _ReplayStream) -> None:
        async with trio.open_nursery() as nursery:
            request = await trio_websocket.wrap_server_stream(nursery, stream)
            if request.path.split("?", 1)[0] != "/v1/responses":
                await request.reject(404, body=f"no such endpoint: {request.path}".encode())
                nursery.cancel_scope.cancel()
                return
            if not self.websocket or self._responder is not None:
                await request.reject(426, body=b"websocket transport disabled on this scripted server")
                nursery.cancel_scope.cancel()
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
            path = request.path
            ws = await request.accept()
            try:
                await self._websocket_session(ws, stream, path, headers)
            finally:
                nursery.cancel_scope.cancel()

    async def _websocket_session(
        self, ws: trio_websocket.WebSocketConnection, stream: _ReplayStream, path: str, headers: dict[str, str]
    ) -> None:
        while True:
            try:
                message = await ws.get_message()
            except trio_websocket.ConnectionClosed:
                return
            try:
                frame: Any = json.loads(message)
            except ValueError:
                frame = message
            self._record(RecordedRequest("websocket", "GET", path, headers, frame))
            entry, response_id = self._next()
            if entry is None:
                await ws.send_message(json.dumps({"type": "error", "status": 400, "error": {
                    "code": "script_exhausted", "message": self._exhausted_message()}}))
                continue
            if entry.get("delay"):
                await trio.sleep(float(entry["delay"]))
            if "status" in entry:
                frame_headers = {"retry-after": str(entry["retry_after"])} if entry.get("retry_after") else {}
                await ws.send_message(json.dumps({"type": "error", "status": int(entry["status"]),
                                                  "error": entry.get("error") or {}, "headers": frame_headers}))
                continue
            for index, event in enumerate(responses_events(entry, response_id)):
                if entry.get("drop_after") == index:
                    await stream.inner.aclose()  # cut the TCP connection without a close frame
                    return
                if entry.get("malformed_after") == index:
                    await ws.send_message("{this is not json")
                    break
                if entry.get("silence_after") == index:
                    break
                await ws.send_message(json.dumps(event))


@asynccontextmanager
async def serve_scripted_model(
    script: list[dict[str, Any]] | None = None, *, websocket: bool = True, log_path: str | Path | None = None,
    responder: Callable[[str, Any], dict[str, Any]] | None = None, models: list[str] | None = None,
) -> AsyncIterator[ScriptedModelServer]:
    """Run a `ScriptedModelServer` on 127.0.0.1 (free port) for the duration of the block (`responder`,
    `models`: see the class; `codex_actors.testing.stateless.answer` makes it the stateless model)."""
    server = ScriptedModelServer(script, websocket=websocket, log_path=log_path, responder=responder,
                                 models=models)
    async with background_nursery() as nursery:
        await nursery.start(server.run)
        yield server


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m codex_actors.testing.server`."""
    parser = argparse.ArgumentParser(prog="python -m codex_actors.testing.server", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--script", help="JSON file: a list of scripted responses")
    source.add_argument("--stateless", action="store_true",
                        help="answer each request from its own input (codex_actors.testing.stateless)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--log", help="append each request as one JSON line to this file")
    parser.add_argument("--no-websocket", action="store_true", help="refuse WebSocket upgrades (HTTP 426)")
    parser.add_argument("--models", help="comma-separated model ids GET /v1/models lists (default: 404)")
    parser.add_argument("--status", help="on SIGTERM, write {\"errors\": [...], \"remaining\": N} here, then exit")
    args = parser.parse_args(argv)
    script: list[dict[str, Any]] | None = None
    if not args.stateless:
        try:
            script = json.loads(Path(args.script).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"cannot read script {args.script}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(script, list) or not all(isinstance(e, dict) for e in script):
            print(f"script {args.script} must be a JSON list of objects", file=sys.stderr)
            return 2

    async def serve() -> None:
        from codex_actors.testing.stateless import answer

        server = ScriptedModelServer(script, websocket=not args.no_websocket, log_path=args.log,
                                     models=args.models.split(",") if args.models is not None else None,
                                     responder=answer if args.stateless else None,
                                     keep_requests=not args.stateless)
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                await nursery.start(functools.partial(server.run, port=args.port))
                print(server.url, flush=True)
                async for _ in signals:
                    # What a test asserts on: server-side errors and scripted responses nobody requested.
                    if args.status:
                        Path(args.status).write_text(json.dumps({"errors": server.errors,
                                                                 "remaining": server.remaining}))
                    nursery.cancel_scope.cancel()
                    break

    try:
        trio.run(serve)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

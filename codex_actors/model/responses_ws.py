"""Responses API over WebSocket (spec agent-core 3.3): one cached connection, `response.create` frames,
incremental requests with `previous_response_id`.

Incremental rule: when the new request's non-input fields equal the previous request's and its `input` strictly
extends (previous input + the items the server returned), only the new items are sent, with
`previous_response_id`. Any failure drops the connection and the incremental state.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import trio
import trio_websocket

from codex_actors.model import events as ev
from codex_actors.model.http_sse import idle_timeout_error
from codex_actors.model.prompt import item_json
from codex_actors.model.provider import ProviderInfo
from codex_actors.model.sse import ResponsesStreamParser
from codex_actors.model.ws_upgrade import UpgradeRefused, open_client_websocket

OPENAI_BETA = "responses_websockets=2026-02-06"
# Once the TCP (and TLS) connection is up, a WebSocket server answers the upgrade at once; a server that stays
# silent this long (seconds) does not speak WebSocket, and the request falls back to HTTP.
UPGRADE_TIMEOUT_S = 3.0

Emit = Callable[[ev.ResponseEvent], Awaitable[None]]


def incremental_input(
    body: dict[str, Any], previous_body: dict[str, Any] | None, returned: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """The new input items when `body` may be sent incrementally after `previous_body`, else None (pure)."""
    if previous_body is None:
        return None
    strip = lambda b: {k: v for k, v in b.items() if k != "input"}  # noqa: E731
    if strip(body) != strip(previous_body):
        return None
    base = list(previous_body["input"]) + returned
    new = body["input"]
    if len(new) <= len(base) or new[: len(base)] != base:
        return None
    return new[len(base):]


class ResponsesWebSocket:
    """The WebSocket transport of one ModelClient. Lives in the client's nursery; `aclose()` closes the socket."""

    def __init__(self, nursery: trio.Nursery, provider: ProviderInfo, headers: Mapping[str, str]) -> None:
        self._nursery = nursery
        self._provider = provider
        self._headers = {**headers, "OpenAI-Beta": OPENAI_BETA}
        self._conn: trio_websocket.WebSocketConnection | None = None
        self._scope: trio.CancelScope | None = None
        self._previous_body: dict[str, Any] | None = None
        self._previous_response_id: str | None = None
        self._returned: list[dict[str, Any]] = []

    async def _hold(
        self, url: str, extra: list[tuple[bytes, bytes]], *, task_status=trio.TASK_STATUS_IGNORED
    ) -> None:
        """Own one connection in the client's nursery until `_reset` cancels it. Errors before the upgrade
        completes go to the caller of `nursery.start`; a connection that breaks later simply ends (the next
        request sees it closed and reconnects)."""
        started = False
        failure: Exception | None = None  # raised outside the reader's nursery, so it comes out unwrapped
        try:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as reader:
                    try:
                        conn = await open_client_websocket(
                            reader, url, extra_headers=extra, max_message_size=64 * 1024 * 1024,
                            connect_timeout_s=self._provider.websocket_connect_timeout_ms / 1000,
                            upgrade_timeout_s=min(UPGRADE_TIMEOUT_S,
                                                  self._provider.websocket_connect_timeout_ms / 1000),
                        )
                    except Exception as exc:  # noqa: BLE001 - re-raised below
                        failure = exc
                        reader.cancel_scope.cancel()
                    else:
                        started = True
                        task_status.started((conn, scope))
                        try:
                            await trio.sleep_forever()
                        finally:
                            with trio.CancelScope(shield=True), trio.move_on_after(1):
                                await conn.aclose()
        except Exception:
            if not started:
                raise
        if failure is not None:
            raise failure

    async def _connect(self) -> trio_websocket.WebSocketConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        url = self._provider.url("responses", websocket=True)
        extra = [(k.encode(), v.encode()) for k, v in self._headers.items()]
        try:
            self._conn, self._scope = await self._nursery.start(self._hold, url, extra)
        except UpgradeRefused as exc:
            raise ev.WebSocketUnavailable(
                f"WebSocket upgrade to {url} refused ({exc.reason})",
                codex_error_info="response_stream_connection_failed",
                http_status=exc.status,
            ) from exc
        except (OSError, trio.TooSlowError, trio_websocket.HandshakeError) as exc:
            raise ev.ModelError(
                f"WebSocket connection to {url} failed: {exc or type(exc).__name__}",
                codex_error_info="response_stream_connection_failed",
                retryable=True,
            ) from exc
        return self._conn

    async def _reset(self) -> None:
        self._previous_body = None
        self._previous_response_id = None
        self._returned = []
        conn, self._conn = self._conn, None
        scope, self._scope = self._scope, None
        if conn is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await conn.aclose()
        if scope is not None:
            scope.cancel()

    async def run(self, body: dict[str, Any], emit: Emit) -> ev.Completed:
        """Send one `response.create` frame and stream its events to `emit`. Returns Completed; raises
        ModelError (retryable for dropped sockets / idle timeouts), WebSocketUnavailable on a refused upgrade."""
        try:
            conn = await self._connect()
            new_items = incremental_input(body, self._previous_body, self._returned)
            frame: dict[str, Any] = {"type": "response.create", **body}
            if new_items is not None and self._previous_response_id:
                frame["input"] = new_items
                frame["previous_response_id"] = self._previous_response_id
            parser = ResponsesStreamParser()
            returned: list[dict[str, Any]] = []
            await conn.send_message(json.dumps(frame))
            while not parser.done:
                with trio.move_on_after(self._provider.stream_idle_timeout_ms / 1000) as idle:
                    message = await conn.get_message()
                if idle.cancelled_caught:
                    raise idle_timeout_error()
                for event in parser.feed_text(message if isinstance(message, str) else message.decode()):
                    if isinstance(event, ev.OutputItemDone):
                        returned.append(item_json(event.item))
                    await emit(event)
            completed = parser.finish()
        except trio_websocket.ConnectionClosed as exc:
            await self._reset()
            raise ev.ModelError(
                f"WebSocket closed before response.completed ({exc.reason})",
                codex_error_info="response_stream_disconnected",
                retryable=True,
            ) from exc
        except BaseException:
            await self._reset()
            raise
        self._previous_body = body
        self._previous_response_id = completed.response_id
        self._returned = returned
        return completed

    async def aclose(self) -> None:
        await self._reset()

"""The ModelClient: one model + provider, transport choice, the retry layers of spec agent-core 2.5, and
exactly-once delivery of output items across retries.

Delivery semantics (what a consumer of `stream()` can rely on):
- Provisional events (`OutputItemAdded`, text / reasoning / tool-input deltas) are delivered live, as they
  arrive, so a UI can show text while it streams.
- `OutputItemDone` events are held per attempt and released, in order, just before that attempt's `Completed`.
  An attempt that breaks (dropped stream, idle timeout, 5xx, 429, `response.failed` retryable) therefore never
  delivered a final item; its retry starts clean. Each final item is delivered exactly once, so the session can
  record it and run tool calls without ever seeing one twice.
- When an attempt that already delivered provisional events is retried, an `AttemptDiscarded` event comes before
  the retry's events: everything provisional since the stream began (or since the previous AttemptDiscarded)
  belongs to a response that will never complete. `Created` is delivered at most once per stream.
- Each retry is announced through `notify` as a protocol `StreamError("Reconnecting... n/m")`; the switch from
  WebSocket to HTTP as a `Warning("Falling back from WebSockets to HTTPS transport")`.
- A failure that is not retried, or the last one once the budget is spent, ends the stream by raising
  ModelError from the iteration.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import trio

from codex_actors.model import events as ev
from codex_actors.model.http_sse import backoff_s, final
from codex_actors.model.nursery import background_nursery
from codex_actors.model.prompt import Prompt, build_responses_body
from codex_actors.model.provider import ProviderInfo
from codex_actors.model.responses_http import run_responses_http
from codex_actors.model.tls import verify_setting
from codex_actors.protocol.events import EventMsg, StreamError, Warning

FALLBACK_WARNING = "Falling back from WebSockets to HTTPS transport"

Notify = Callable[[EventMsg], Awaitable[None]]

# The WebSocket URLs whose server refused the upgrade in this process. A refusal is a property of the server,
# so later clients of the same provider (a resumed thread, the next job of a batch) go straight to HTTP instead
# of asking again. Only ever added to.
_websocket_refused: set[str] = set()


@attrs.frozen
class _Failure:
    error: ev.ModelError


class ModelStream:
    """Async iterator of `ResponseEvent`s for one request; raises ModelError when the request fails for good."""

    def __init__(self, receive: trio.MemoryReceiveChannel) -> None:
        self._receive = receive

    def __aiter__(self) -> ModelStream:
        return self

    async def __anext__(self) -> ev.ResponseEvent:
        try:
            item = await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if isinstance(item, _Failure):
            raise item.error
        return item


class ModelClient:
    """Talks to one model of one provider. Build with `async with ModelClient.open(provider, model) as client:`.

    - `provider`: a `ProviderInfo` (spec 3.5); its `wire_api` picks Responses or Chat Completions, and
      `supports_websockets` the WebSocket transport for Responses (until a fallback to HTTP, which is permanent;
      a refused upgrade is remembered for the process, so later clients of that provider start on HTTP).
    - `notify`: async callback receiving `StreamError` (each retry) and `Warning` (WebSocket fallback; a chat
      answer cut at the provider's `max_output_tokens`) protocol messages; the session forwards them as events.
    - `extra_headers`: added to every request (e.g. `session_id`, `originator`, `x-client-request-id`).
    - `env`: where API keys and env headers are read (default `os.environ`).
    - `request_sent`: a `trio.Event` set once the first request's body has been written (httpx's `trace`
      request extension, set by `open`), or when the first stream ends, whichever comes first; the session
      starts the work a first request does not need after it (issue 21).
    Raises `ProviderError` at open when the provider's API key variable is missing.
    """

    def __init__(
        self,
        provider: ProviderInfo,
        model: str,
        *,
        http: httpx.AsyncClient,
        nursery: trio.Nursery,
        notify: Notify | None = None,
        extra_headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.request_sent = trio.Event()
        self._http = http
        self._notify = notify
        self._headers = {**provider.headers(os.environ if env is None else env), **(extra_headers or {})}
        self._ws = None
        if provider.supports_websockets and provider.wire_api == "responses" \
                and provider.url("responses", websocket=True) not in _websocket_refused:
            # Imported only here: trio-websocket and wsproto cost ~40 ms of start-up.
            from codex_actors.model.responses_ws import ResponsesWebSocket

            self._ws = ResponsesWebSocket(nursery, provider, self._headers)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        provider: ProviderInfo,
        model: str,
        *,
        notify: Notify | None = None,
        extra_headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> AsyncIterator[ModelClient]:
        """Open the HTTP client and the nursery holding a cached WebSocket; close both on exit. With `http` (an open
        client shared by many model clients, e.g. the sessions of `codex-actors batch`), requests use its
        connection pool and it is left open: its owner closes it; `request_sent` is then set from the start (the
        first request of a shared pool is no session's start-up to wait for)."""
        sent = trio.Event()

        async def trace(event_name: str, info: Mapping[str, Any]) -> None:
            if event_name.endswith("send_request_body.complete"):
                sent.set()

        async def watch_first_request(request: httpx.Request) -> None:
            if not sent.is_set():
                request.extensions["trace"] = trace  # httpx's documented `trace` request extension

        if http is not None:
            sent.set()
            owned: Any = contextlib.nullcontext(http)
        else:
            verify = verify_setting(provider.base_url, os.environ)  # httpx reads proxy variables from os.environ
            owned = httpx.AsyncClient(verify=verify, event_hooks={"request": [watch_first_request]})
        async with owned as http, \
                background_nursery() as nursery:
            client = cls(provider, model, http=http, nursery=nursery, notify=notify,
                         extra_headers=extra_headers, env=env)
            client.request_sent = sent
            try:
                yield client
            finally:
                await client.aclose()

    @property
    def transport(self) -> str:
        """"chat", "websocket" or "http": what the next request will use."""
        if self.provider.wire_api == "chat":
            return "chat"
        return "websocket" if self._ws is not None else "http"

    async def aclose(self) -> None:
        """Close the cached WebSocket, if any."""
        if self._ws is not None:
            await self._ws.aclose()

    @asynccontextmanager
    async def stream(self, prompt: Prompt) -> AsyncIterator[ModelStream]:
        """Send `prompt` and yield a `ModelStream` of response events (semantics in the module docstring).
        Leaving the block early cancels the request."""
        send, receive = trio.open_memory_channel(0)
        async with background_nursery() as nursery:
            nursery.start_soon(self._produce, prompt, send)
            yield ModelStream(receive)

    async def _produce(self, prompt: Prompt, send: trio.MemorySendChannel) -> None:
        async with send:
            try:
                await self._run_with_retries(prompt, send.send)
            except ev.ModelError as exc:
                await send.send(_Failure(exc))
            finally:
                self.request_sent.set()  # a WebSocket request, or one that failed before its body went out

    async def _attempt(self, prompt: Prompt, emit: Callable[[ev.ResponseEvent], Awaitable[None]]) -> None:
        if self.provider.wire_api == "chat":
            from codex_actors.model.chat_http import run_chat_http  # the chat wire only: ~10 ms of start-up

            await run_chat_http(self._http, self.provider, self.model, prompt, self._headers, emit, self._warn)
            return
        body = build_responses_body(self.model, prompt)
        if self._ws is not None:
            await self._ws.run(body, emit)
        else:
            await run_responses_http(self._http, self.provider, body, self._headers, emit)

    async def _warn(self, message: str) -> None:
        if self._notify is not None:
            await self._notify(Warning(message=message))

    async def _fall_back_to_http(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.aclose()
        await self._warn(FALLBACK_WARNING)

    async def _run_with_retries(self, prompt: Prompt, deliver: Callable[[Any], Awaitable[None]]) -> None:
        max_retries = self.provider.stream_max_retries
        retries = 0
        created_sent = False
        while True:
            held: list[ev.OutputItemDone] = []
            provisional = False

            async def emit(event: ev.ResponseEvent) -> None:
                nonlocal provisional, created_sent
                if isinstance(event, ev.OutputItemDone):
                    held.append(event)
                    return
                if isinstance(event, ev.Created):
                    if not created_sent:
                        created_sent = True
                        await deliver(event)
                    return
                if isinstance(event, ev.Completed):
                    for done in held:
                        await deliver(done)
                    held.clear()
                elif not isinstance(event, ev.RateLimits):
                    provisional = True
                await deliver(event)

            try:
                await self._attempt(prompt, emit)
                return
            except ev.WebSocketUnavailable:
                _websocket_refused.add(self.provider.url("responses", websocket=True))
                await self._fall_back_to_http()
                continue
            except ev.ModelError as exc:
                if not exc.retryable:
                    raise
                if retries >= max_retries:
                    if self._ws is not None:
                        await self._fall_back_to_http()
                        if provisional:
                            await deliver(ev.AttemptDiscarded(FALLBACK_WARNING, exc.message))
                        retries = 0
                        continue
                    if max_retries == 0:
                        raise
                    raise final(exc, max_retries) from exc
                retries += 1
                message = f"Reconnecting... {retries}/{max_retries}"
                if self._notify is not None:
                    await self._notify(
                        StreamError(message=message, codex_error_info=exc.codex_error_info,
                                    additional_details=exc.message)
                    )
                if provisional:
                    await deliver(ev.AttemptDiscarded(message, exc.message))
                await trio.sleep(exc.delay_s if exc.delay_s is not None else backoff_s(retries))

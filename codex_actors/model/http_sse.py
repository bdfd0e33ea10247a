"""One streaming POST whose answer is Server-Sent Events, with the HTTP request retry layer (spec agent-core
2.5 layer 1) and the idle timeout (2.5 item 3). Shared by the Responses and Chat Completions wires; the Chat wire
also uses the non-streaming `post_json` with the same retry layer."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import httpx_sse
import trio

from codex_actors.model.events import ModelError
from codex_actors.model.http_errors import connection_error, error_from_status

IDLE_TIMEOUT_MESSAGE = "idle timeout waiting for SSE"
# After the last event a stream's end (its final chunk) is read for at most this long, so that a kept-alive
# connection goes back to the client's pool instead of being closed half-read.
DRAIN_S = 0.05
BACKOFF_BASE_S = 0.2


def backoff_s(attempt: int) -> float:
    """Delay before retry number `attempt` (1-based): 200 ms × 2^(attempt-1) × jitter[0.9, 1.1], in seconds."""
    return BACKOFF_BASE_S * (2 ** (attempt - 1)) * random.uniform(0.9, 1.1)


def idle_timeout_error() -> ModelError:
    return ModelError(IDLE_TIMEOUT_MESSAGE, codex_error_info="response_stream_disconnected", retryable=True)


def broken_stream_error(exc: BaseException) -> ModelError:
    """The retryable error of an answer that broke off after its status line."""
    return ModelError(
        f"stream error: {exc or type(exc).__name__}", codex_error_info="response_stream_disconnected", retryable=True
    )


def final(error: ModelError, retries: int) -> ModelError:
    """The error that ends a request after `retries` retries, not retryable any more. Used by both retry layers:
    the request layer (so the stream layer does not start a spent budget over) and the client's stream layer."""
    if retries == 0:
        error.retryable = False
        return error
    return ModelError(
        f"exceeded retry limit ({retries} retries), last error: {error.message}",
        codex_error_info="response_too_many_failed_attempts",
        http_status=error.http_status,
    )


async def _send_with_request_retries(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    request_max_retries: int,
    idle_timeout_s: float,
    key_hint: str | None,
    refused_error: ModelError | None,
) -> httpx.Response:
    """Send and return the streaming response once it has a 2xx status. Connect / transport errors and 5xx are
    retried silently up to `request_max_retries` times (not 429, which the stream layer handles), so a request
    makes at most `request_max_retries + 1` attempts: the error that ends them is raised as not retryable.
    Other statuses raise the mapped ModelError. Waiting longer than `idle_timeout_s` for the status line raises the
    idle-timeout error. A refused connection raises `refused_error` at once when one is given."""
    attempt = 0
    while True:
        try:
            with trio.move_on_after(idle_timeout_s) as idle:
                response = await http.send(request, stream=True)
            if idle.cancelled_caught:
                raise idle_timeout_error()
        except httpx.ConnectError as exc:
            if refused_error is not None:
                raise refused_error from exc
            error = connection_error(exc, str(request.url))
        except httpx.TransportError as exc:
            error = connection_error(exc, str(request.url))
        else:
            if 200 <= response.status_code < 300:
                return response
            try:
                body = (await response.aread()).decode("utf-8", "replace")
            except httpx.HTTPError:
                body = ""
            finally:
                await response.aclose()
            error = error_from_status(
                response.status_code, body, response.headers, url=str(request.url), key_hint=key_hint
            )
            if not 500 <= response.status_code < 600:
                raise error
        if attempt >= request_max_retries:
            # One retry budget per request (as codex-client): the stream layer must not start it over.
            raise final(error, request_max_retries)
        attempt += 1
        await trio.sleep(backoff_s(attempt))


async def stream_sse_post(
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str],
    *,
    request_max_retries: int,
    idle_timeout_s: float,
    on_headers: Callable[[httpx.Headers], Awaitable[None]],
    on_data: Callable[[str], Awaitable[bool]],
    key_hint: str | None = None,
    refused_error: ModelError | None = None,
) -> None:
    """POST `body` as JSON to `url` with `Accept: text/event-stream`, call `on_headers` once the status is 2xx,
    then `on_data(data)` for each SSE event's data until it returns True or the stream ends. No event within
    `idle_timeout_s` seconds raises the retryable ModelError "idle timeout waiting for SSE"; a broken stream
    raises a retryable ModelError; HTTP errors raise per `http_errors.error_from_status`; a refused connection
    raises `refused_error` when given (else it is retried like other transport errors)."""
    request = http.build_request(
        "POST", url, json=body, headers={**headers, "Accept": "text/event-stream"}, timeout=httpx.Timeout(None)
    )
    response = await _send_with_request_retries(
        http, request, request_max_retries=request_max_retries, idle_timeout_s=idle_timeout_s, key_hint=key_hint,
        refused_error=refused_error,
    )
    try:
        await on_headers(response.headers)
        events = httpx_sse.EventSource(response).aiter_sse().__aiter__()
        while True:
            with trio.move_on_after(idle_timeout_s) as idle:
                try:
                    sse = await events.__anext__()
                except StopAsyncIteration:
                    return
                except (httpx.HTTPError, httpx_sse.SSEError) as exc:
                    raise broken_stream_error(exc) from exc
            if idle.cancelled_caught:
                raise idle_timeout_error()
            if await on_data(sse.data):
                await _drain(events)
                return
    finally:
        with trio.CancelScope(shield=True):
            await response.aclose()


async def _drain(events: Any) -> None:
    """Read what is left of a finished stream (normally just its end), for at most DRAIN_S seconds."""
    with trio.move_on_after(DRAIN_S):
        try:
            async for _ in events:
                pass
        except (httpx.HTTPError, httpx_sse.SSEError):
            pass


async def post_json(
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str],
    *,
    request_max_retries: int,
    idle_timeout_s: float,
    key_hint: str | None = None,
    refused_error: ModelError | None = None,
) -> tuple[httpx.Headers, Any]:
    """POST `body` as JSON to `url` and return (response headers, decoded JSON answer), with the same request
    retries and error mapping as `stream_sse_post`. `idle_timeout_s` bounds the wait for the status line and
    for the body (seconds); a body that is not JSON or breaks off raises a retryable ModelError."""
    request = http.build_request(
        "POST", url, json=body, headers={**headers, "Accept": "application/json"}, timeout=httpx.Timeout(None)
    )
    response = await _send_with_request_retries(
        http, request, request_max_retries=request_max_retries, idle_timeout_s=idle_timeout_s, key_hint=key_hint,
        refused_error=refused_error,
    )
    try:
        with trio.move_on_after(idle_timeout_s) as idle:
            try:
                raw = await response.aread()
            except httpx.HTTPError as exc:
                raise broken_stream_error(exc) from exc
        if idle.cancelled_caught:
            raise idle_timeout_error()
    finally:
        with trio.CancelScope(shield=True):
            await response.aclose()
    try:
        return response.headers, json.loads(raw)
    except ValueError as exc:
        raise ModelError(
            f"malformed response body: {exc}: {raw[:200]!r}",
            codex_error_info="response_stream_disconnected",
            retryable=True,
        ) from exc

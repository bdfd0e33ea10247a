"""Responses API over HTTP SSE: one attempt = one `POST {base_url}/responses` (spec agent-core 3.1, 3.2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from codex_actors.model import events as ev
from codex_actors.model.http_errors import no_local_server_error
from codex_actors.model.http_sse import stream_sse_post
from codex_actors.model.provider import ProviderInfo
from codex_actors.model.sse import ResponsesStreamParser, rate_limits_from_headers

Emit = Callable[[ev.ResponseEvent], Awaitable[None]]


async def run_responses_http(
    http: httpx.AsyncClient,
    provider: ProviderInfo,
    body: dict[str, Any],
    headers: Mapping[str, str],
    emit: Emit,
) -> ev.Completed:
    """Stream one response, passing each typed event to `emit` in order (rate-limit snapshots from the
    response headers first). Returns the Completed event; raises ModelError (retryable or not)."""
    parser = ResponsesStreamParser()

    async def on_headers(response_headers: httpx.Headers) -> None:
        for snapshot in rate_limits_from_headers(response_headers):
            await emit(ev.RateLimits(snapshot))

    async def on_data(data: str) -> bool:
        for event in parser.feed_text(data):
            await emit(event)
        return parser.done

    await stream_sse_post(
        http,
        provider.url("responses"),
        body,
        headers,
        request_max_retries=provider.request_max_retries,
        idle_timeout_s=provider.stream_idle_timeout_ms / 1000,
        on_headers=on_headers,
        on_data=on_data,
        key_hint=provider.env_key,
        refused_error=no_local_server_error(provider),
    )
    return parser.finish()

"""Chat Completions over HTTP SSE: one attempt = one `POST {base_url}/chat/completions` (spec agent-core 3.4)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from codex_actors.model import events as ev
from codex_actors.model.chat import ChatStreamParser, build_chat_body
from codex_actors.model.http_errors import no_local_server_error
from codex_actors.model.http_sse import stream_sse_post
from codex_actors.model.prompt import Prompt
from codex_actors.model.provider import ProviderInfo
from codex_actors.model.sse import rate_limits_from_headers

Emit = Callable[[ev.ResponseEvent], Awaitable[None]]


async def run_chat_http(
    http: httpx.AsyncClient,
    provider: ProviderInfo,
    model: str,
    prompt: Prompt,
    headers: Mapping[str, str],
    emit: Emit,
) -> ev.Completed:
    """Stream one chat completion as typed response events to `emit`. Returns Completed; raises ModelError."""
    freeform = frozenset(spec["name"] for spec in prompt.tools if spec.get("type") == "custom")
    parser = ChatStreamParser(freeform)

    async def on_headers(response_headers: httpx.Headers) -> None:
        for snapshot in rate_limits_from_headers(response_headers):
            await emit(ev.RateLimits(snapshot))

    async def on_data(data: str) -> bool:
        for event in parser.feed_text(data):
            await emit(event)
        return parser.done

    await stream_sse_post(
        http,
        provider.url("chat/completions"),
        build_chat_body(model, prompt),
        headers,
        request_max_retries=provider.request_max_retries,
        idle_timeout_s=provider.stream_idle_timeout_ms / 1000,
        on_headers=on_headers,
        on_data=on_data,
        key_hint=provider.env_key,
        refused_error=no_local_server_error(provider),
    )
    completed = None
    for event in parser.finish():
        await emit(event)
        completed = event
    assert isinstance(completed, ev.Completed)
    return completed

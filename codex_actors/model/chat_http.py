"""Chat Completions over HTTP: one attempt = one streamed `POST {base_url}/chat/completions` (spec agent-core
3.4), or two when the server refuses to stream an answer that offers tools.

Some local servers cannot stream every answer when tools are offered: llama-cpp-python's server with
`--chat_format chatml-function-calling` decides between a message and a tool call first, streams a message, but
for a tool call raises "Automatic streaming tool choice is not supported" after it has sent its 200 status line,
so the stream breaks off before its first chunk. When a streamed request with tools fails like that (an HTTP
error status, or a stream that ends or breaks before any chunk), the same request is sent once more with
`stream: false` and the whole answer is turned into the same response events (`ChatStreamParser.feed_completion`).
A failure after the first chunk is a dropped stream like any other and goes to the client's retry layer.

With the provider's `max_output_tokens` set, each request carries `max_tokens`; an answer cut at that cap is
kept as it is, and `warn` is told so (the user sees a Warning event saying which key to raise).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from codex_actors.model import events as ev
from codex_actors.model.chat import ChatStreamParser, build_chat_body
from codex_actors.model.http_errors import no_local_server_error
from codex_actors.model.http_sse import post_json, stream_sse_post
from codex_actors.model.prompt import Prompt
from codex_actors.model.provider import ProviderInfo
from codex_actors.model.sse import rate_limits_from_headers

Emit = Callable[[ev.ResponseEvent], Awaitable[None]]
Warn = Callable[[str], Awaitable[None]]


def unstreamed(body: dict[str, Any]) -> dict[str, Any]:
    """The same request without streaming (`stream_options` is only allowed on a streamed request)."""
    return {**{k: v for k, v in body.items() if k != "stream_options"}, "stream": False}


def truncation_warning(provider: ProviderInfo) -> str:
    """The warning for an answer cut at the provider's `max_output_tokens` cap."""
    return (
        f"the model's answer was cut off at {provider.max_output_tokens} tokens "
        f"(model_providers.{provider.id}.max_output_tokens)"
    )


def _refused_streaming(error: ev.ModelError) -> bool:
    """Whether a streamed request that got no chunk failed the way a server refusing to stream fails: an error
    status (not auth, rate limits or a context window that a plain request would hit just the same), or a
    stream that broke off or ended."""
    if error.codex_error_info in ("unauthorized", "usage_limit_exceeded", "context_window_exceeded"):
        return False
    if error.http_status is not None:
        return error.http_status != 429 and error.http_status >= 400
    return error.codex_error_info == "response_stream_disconnected"


async def run_chat_http(
    http: httpx.AsyncClient,
    provider: ProviderInfo,
    model: str,
    prompt: Prompt,
    headers: Mapping[str, str],
    emit: Emit,
    warn: Warn | None = None,
) -> ev.Completed:
    """Stream one chat completion as typed response events to `emit` (with the non-streaming fallback of the
    module docstring); `warn` gets `truncation_warning` when the answer hit `max_output_tokens`. Returns
    Completed; raises ModelError."""
    freeform = frozenset(spec["name"] for spec in prompt.tools if spec.get("type") == "custom")
    parser = ChatStreamParser(freeform, capped=provider.max_output_tokens is not None)
    body = build_chat_body(model, prompt, provider.max_output_tokens)
    refused_error = no_local_server_error(provider)
    chunks = 0

    async def on_headers(response_headers: httpx.Headers) -> None:
        for snapshot in rate_limits_from_headers(response_headers):
            await emit(ev.RateLimits(snapshot))

    async def on_data(data: str) -> bool:
        nonlocal chunks
        chunks += 1
        for event in parser.feed_text(data):
            await emit(event)
        return parser.done

    try:
        await stream_sse_post(
            http,
            provider.url("chat/completions"),
            body,
            headers,
            # With tools, an error status may be the server refusing to stream: fall back at once, not after
            # the request retries (the non-streaming request has its own).
            request_max_retries=0 if "tools" in body else provider.request_max_retries,
            idle_timeout_s=provider.stream_idle_timeout_ms / 1000,
            on_headers=on_headers,
            on_data=on_data,
            key_hint=provider.env_key,
            refused_error=refused_error,
        )
        events = parser.finish()
    except ev.ModelError as error:
        if "tools" not in body or chunks or error is refused_error or not _refused_streaming(error):
            raise
        response_headers, answer = await post_json(
            http,
            provider.url("chat/completions"),
            unstreamed(body),
            headers,
            request_max_retries=provider.request_max_retries,
            idle_timeout_s=provider.stream_idle_timeout_ms / 1000,
            key_hint=provider.env_key,
            refused_error=refused_error,
        )
        await on_headers(response_headers)
        events = parser.feed_completion(answer) + parser.finish()
    if parser.truncated and warn is not None:
        await warn(truncation_warning(provider))
    for event in events:
        await emit(event)
    assert isinstance(events[-1], ev.Completed)
    return events[-1]

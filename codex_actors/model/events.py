"""Typed response events yielded by the model client, and the error type it raises (spec agent-core 3.2).

Every wire (Responses SSE, Responses WebSocket, Chat Completions) is parsed into these same events, so the
session sees one model of the world. Items are the protocol's `ResponseItem` classes; an item type the protocol
does not know (e.g. `web_search_call`) arrives as `OtherItem` carrying its raw JSON.
"""

from __future__ import annotations

from typing import Any

import attrs

from codex_actors.protocol.items import ResponseItem


@attrs.frozen
class OtherItem:
    """A conversation item of a type the protocol does not model; `raw` is its JSON object (spec 1.4 "other")."""

    raw: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.raw.get("type", ""))


Item = ResponseItem | OtherItem


@attrs.frozen
class TokenUsage:
    """Token counts of one response (tokens), mapped from the Responses `usage` object (spec 3.2)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0
    cache_write_input_tokens: int = 0

    @classmethod
    def from_responses_usage(cls, usage: dict[str, Any]) -> TokenUsage:
        """From `{input_tokens, input_tokens_details.{cached_tokens, cache_write_tokens}, output_tokens,
        output_tokens_details.reasoning_tokens, total_tokens}`; missing numbers count as 0."""
        in_details = usage.get("input_tokens_details") or {}
        out_details = usage.get("output_tokens_details") or {}
        return cls(
            input_tokens=int(usage.get("input_tokens") or 0),
            cached_input_tokens=int(in_details.get("cached_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            reasoning_output_tokens=int(out_details.get("reasoning_tokens") or 0),
            total_tokens=int(usage.get("total_tokens") or 0),
            cache_write_input_tokens=int(in_details.get("cache_write_tokens") or 0),
        )

    def to_json(self) -> dict[str, int]:
        """The protocol's `TokenUsage` object (spec 1.3), as used in `token_count.info`."""
        return attrs.asdict(self)


class ResponseEvent:
    """Base of the events a model stream yields."""


@attrs.frozen
class Created(ResponseEvent):
    """`response.created`: the server accepted the request."""


@attrs.frozen
class OutputItemAdded(ResponseEvent):
    """`response.output_item.added`: an item started (text may still be empty). Provisional, see `client`."""

    item: Item


@attrs.frozen
class OutputItemDone(ResponseEvent):
    """`response.output_item.done`: the authoritative full item."""

    item: Item


@attrs.frozen
class OutputTextDelta(ResponseEvent):
    """`response.output_text.delta`: a piece of the active assistant message."""

    delta: str
    item_id: str | None = None


@attrs.frozen
class ToolCallInputDelta(ResponseEvent):
    """`response.custom_tool_call_input.delta`: a piece of a freeform tool call's input (apply_patch progress)."""

    delta: str
    item_id: str | None = None
    call_id: str | None = None


@attrs.frozen
class ReasoningSummaryDelta(ResponseEvent):
    """`response.reasoning_summary_text.delta`."""

    delta: str
    summary_index: int = 0


@attrs.frozen
class ReasoningSummaryPartAdded(ResponseEvent):
    """`response.reasoning_summary_part.added`: a new summary section starts (section break)."""

    summary_index: int = 0


@attrs.frozen
class ReasoningContentDelta(ResponseEvent):
    """`response.reasoning_text.delta`: raw reasoning text."""

    delta: str
    content_index: int = 0


@attrs.frozen
class RateLimits(ResponseEvent):
    """A `RateLimitSnapshot` (spec 1.3) read from response headers or a `codex.rate_limits` frame."""

    snapshot: dict[str, Any]


@attrs.frozen
class Completed(ResponseEvent):
    """`response.completed`: the response is over; `token_usage` is None when the server sent no usage."""

    response_id: str
    token_usage: TokenUsage | None = None


@attrs.frozen
class AttemptDiscarded(ResponseEvent):
    """The stream broke and is being retried: every provisional event since the last `Completed` (item added,
    text / reasoning / tool-input deltas) belongs to a response that will never complete. Consumers drop what
    they showed from it; no `OutputItemDone` of that attempt was or will be delivered. `message` is the
    "Reconnecting... n/m" text, `reason` the error that caused the retry."""

    message: str
    reason: str


class ModelError(Exception):
    """A model request failed. `message` is user-facing; `codex_error_info` is the snake_case tag of spec 1.3
    (e.g. "context_window_exceeded", "unauthorized", "response_stream_disconnected"); `retryable` says whether
    the retry layers of spec 2.5 may try again; `delay_s` is a server hint in seconds (Retry-After, "try again
    in N s"), or None; `http_status` is the HTTP status when one was received."""

    def __init__(
        self,
        message: str,
        *,
        codex_error_info: str = "other",
        retryable: bool = False,
        delay_s: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.codex_error_info = codex_error_info
        self.retryable = retryable
        self.delay_s = delay_s
        self.http_status = http_status

    def __repr__(self) -> str:
        return (
            f"ModelError({self.message!r}, codex_error_info={self.codex_error_info!r}, "
            f"retryable={self.retryable}, delay_s={self.delay_s}, http_status={self.http_status})"
        )


class WebSocketUnavailable(ModelError):
    """The server refused the WebSocket upgrade (e.g. HTTP 426): use HTTP SSE instead. Defined here rather than
    in `responses_ws` so that the client can catch it without importing the WebSocket transport."""

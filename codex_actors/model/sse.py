"""Pure parsing of Responses stream events (SSE `data:` JSON or WebSocket frames) into typed response events,
the error mapping of `response.failed`, and rate-limit headers (spec agent-core 3.2). No I/O here.

Rules, as h11 states its own: feed one decoded JSON event at a time to `ResponsesStreamParser.feed`; it returns
the events to deliver. `response.completed` ends the stream (`done` becomes true; later input is ignored).
`response.failed` holds its error until the stream closes; `finish()` at close raises the held error, or a
retryable "stream closed before response.completed" when no completion was seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from codex_actors.model import events as ev
from codex_actors.model.prompt import parse_item

CONTEXT_WINDOW_MESSAGE = (
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before "
    "retrying."
)
QUOTA_MESSAGE = "Quota exceeded. Check your plan and billing details."
USAGE_NOT_INCLUDED_MESSAGE = "To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus."
SERVER_OVERLOADED_MESSAGE = "Selected model is at capacity. Please try a different model."
CLOSED_BEFORE_COMPLETED = "stream closed before response.completed"

_TRY_AGAIN = re.compile(r"try again in\s*(\d+(?:\.\d+)?)\s*(ms|s|seconds?)\b", re.IGNORECASE)


def retry_delay_from_message(message: str) -> float | None:
    """The server's hint "try again in 1.5s" / "... in 250ms" as seconds, or None (spec 2.5)."""
    match = _TRY_AGAIN.search(message or "")
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000.0 if match.group(2).lower() == "ms" else value


def error_from_failed(response: Mapping[str, Any] | None) -> ev.ModelError:
    """Map `response.failed`'s `response.error` to a ModelError (spec 3.2): context_length_exceeded,
    insufficient_quota, usage_not_included, cyber_policy, invalid_prompt and server overload are fatal;
    anything else is retryable with an optional delay parsed from the message."""
    error = (response or {}).get("error") or {}
    code = error.get("code") or ""
    message = error.get("message") or "response.failed without an error message"
    if code == "context_length_exceeded":
        return ev.ModelError(CONTEXT_WINDOW_MESSAGE, codex_error_info="context_window_exceeded")
    if code == "insufficient_quota":
        return ev.ModelError(QUOTA_MESSAGE, codex_error_info="usage_limit_exceeded")
    if code == "usage_not_included":
        return ev.ModelError(USAGE_NOT_INCLUDED_MESSAGE, codex_error_info="usage_limit_exceeded")
    if code == "cyber_policy":
        return ev.ModelError(message, codex_error_info="cyber_policy")
    if code == "invalid_prompt":
        return ev.ModelError(message, codex_error_info="bad_request")
    if code in ("server_is_overloaded", "slow_down"):
        return ev.ModelError(SERVER_OVERLOADED_MESSAGE, codex_error_info="server_overloaded")
    return ev.ModelError(
        message,
        codex_error_info="response_stream_disconnected",
        retryable=True,
        delay_s=retry_delay_from_message(message),
    )


def decode_stream_event(data: str) -> dict[str, Any]:
    """One stream event's JSON object (an SSE `data:` payload or a WebSocket frame, on either wire).

    Malformed JSON or a non-object is a retryable ModelError (spec 2.5: JSON errors are retried)."""
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise ev.ModelError(
            f"malformed stream event: {exc}: {data[:200]!r}",
            codex_error_info="response_stream_disconnected",
            retryable=True,
        ) from exc
    if not isinstance(payload, dict):
        raise ev.ModelError(
            f"malformed stream event: expected a JSON object, got {data[:200]!r}",
            codex_error_info="response_stream_disconnected",
            retryable=True,
        )
    return payload


class ResponsesStreamParser:
    """Sans-I/O state of one Responses stream. `feed(json_event)` → events; `finish()` at stream close."""

    def __init__(self) -> None:
        self.done = False
        self.completed: ev.Completed | None = None
        self.error: ev.ModelError | None = None

    def feed_text(self, data: str) -> list[ev.ResponseEvent]:
        """Decode one SSE `data:` payload / WebSocket text frame and `feed` it. Malformed JSON is a retryable
        ModelError (spec 2.5: JSON errors are retried)."""
        return self.feed(decode_stream_event(data))

    def feed(self, event: Mapping[str, Any]) -> list[ev.ResponseEvent]:
        """Events for one decoded stream event; unknown types are ignored (spec 3.2 table)."""
        if self.done:
            return []
        kind = event.get("type")
        if kind == "response.created":
            return [ev.Created()]
        if kind == "response.output_item.added" and isinstance(event.get("item"), dict):
            return [ev.OutputItemAdded(parse_item(event["item"]))]
        if kind == "response.output_item.done" and isinstance(event.get("item"), dict):
            return [ev.OutputItemDone(parse_item(event["item"]))]
        if kind == "response.output_text.delta":
            return [ev.OutputTextDelta(str(event.get("delta", "")), event.get("item_id"))]
        if kind == "response.custom_tool_call_input.delta":
            return [ev.ToolCallInputDelta(str(event.get("delta", "")), event.get("item_id"), event.get("call_id"))]
        if kind == "response.reasoning_summary_text.delta":
            return [ev.ReasoningSummaryDelta(str(event.get("delta", "")), int(event.get("summary_index") or 0))]
        if kind == "response.reasoning_summary_part.added":
            return [ev.ReasoningSummaryPartAdded(int(event.get("summary_index") or 0))]
        if kind == "response.reasoning_text.delta":
            return [ev.ReasoningContentDelta(str(event.get("delta", "")), int(event.get("content_index") or 0))]
        if kind == "codex.rate_limits":
            return [ev.RateLimits({k: v for k, v in event.items() if k != "type"})]
        if kind == "response.completed":
            response = event.get("response") or {}
            usage = response.get("usage")
            self.completed = ev.Completed(
                response_id=str(response.get("id") or ""),
                token_usage=ev.TokenUsage.from_responses_usage(usage) if isinstance(usage, dict) else None,
            )
            self.done = True
            return [self.completed]
        if kind == "response.failed":
            self.error = error_from_failed(event.get("response"))
            self.done = True
            return []
        if kind == "response.incomplete":
            details = (event.get("response") or {}).get("incomplete_details") or {}
            reason = details.get("reason") or "unknown"
            self.error = ev.ModelError(
                f"Incomplete response returned, reason: {reason}",
                codex_error_info="response_stream_disconnected",
                retryable=True,
            )
            self.done = True
            return []
        if kind == "error":
            self.error = error_frame(event)
            self.done = True
            return []
        return []

    def finish(self) -> ev.Completed:
        """Call when the stream closed: the Completed event, or raises the held / "closed early" ModelError."""
        if self.error is not None:
            raise self.error
        if self.completed is None:
            raise ev.ModelError(
                CLOSED_BEFORE_COMPLETED, codex_error_info="response_stream_disconnected", retryable=True
            )
        return self.completed


def error_frame(event: Mapping[str, Any]) -> ev.ModelError:
    """A WebSocket `{"type":"error","status"?,"error":{code,message}}` frame as a ModelError (spec 3.3):
    mapped like an HTTP status when one is given, `websocket_connection_limit_reached` is retryable."""
    error = event.get("error") or {}
    code = error.get("code") or ""
    message = error.get("message") or str(code) or "error frame without a message"
    status = event.get("status") or event.get("status_code")
    if code == "websocket_connection_limit_reached":
        return ev.ModelError(message, codex_error_info="response_stream_disconnected", retryable=True)
    if isinstance(status, int):
        from codex_actors.model.http_errors import error_from_status

        return error_from_status(status, json.dumps({"error": error}), event.get("headers") or {})
    return error_from_failed({"error": error})


_FAMILY = re.compile(r"^x-(?P<id>[a-z0-9_-]+?)-primary-used-percent$")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _window(headers: Mapping[str, str], prefix: str) -> dict[str, Any] | None:
    used = _float(headers.get(f"{prefix}-used-percent"))
    if used is None:
        return None
    window: dict[str, Any] = {"used_percent": used}
    minutes = _float(headers.get(f"{prefix}-window-minutes"))
    if minutes is not None:
        window["window_minutes"] = int(minutes)
    resets = _float(headers.get(f"{prefix}-reset-at"))
    if resets is not None:
        window["resets_at"] = int(resets)
    return window


def rate_limits_from_headers(headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """RateLimitSnapshots (spec 1.3) from `x-codex-primary-*`, `x-codex-secondary-*`, `x-codex-credits-*` and the
    `x-<limit_id>-…` families (spec 3.2). Header names are matched case-insensitively. [] when none present."""
    lower = {k.lower(): v for k, v in headers.items()}
    snapshots = []
    for limit_id in sorted({m.group("id") for k in lower if (m := _FAMILY.match(k))}):
        snapshot: dict[str, Any] = {"limit_id": limit_id}
        name = lower.get(f"x-{limit_id}-limit-name")
        if name:
            snapshot["limit_name"] = name
        for which in ("primary", "secondary"):
            window = _window(lower, f"x-{limit_id}-{which}")
            if window is not None:
                snapshot[which] = window
        if limit_id == "codex" and "x-codex-credits-has-credits" in lower:
            snapshot["credits"] = {
                "has_credits": lower["x-codex-credits-has-credits"].lower() == "true",
                "unlimited": lower.get("x-codex-credits-unlimited", "").lower() == "true",
                "balance": lower.get("x-codex-credits-balance"),
            }
        snapshots.append(snapshot)
    return snapshots

"""Pure parsing: Responses stream events, failure mapping, rate-limit headers (spec agent-core 3.2)."""

import pytest

from codex_actors.model import events as ev
from codex_actors.model.http_errors import error_from_status, retry_after_seconds
from codex_actors.model.sse import (
    CONTEXT_WINDOW_MESSAGE,
    ResponsesStreamParser,
    rate_limits_from_headers,
    retry_delay_from_message,
)
from codex_actors.protocol.items import FunctionCall, Reasoning


def test_stream_events_become_typed_events_and_completed_ends_the_stream():
    parser = ResponsesStreamParser()
    out = []
    for event in [
        {"type": "response.created", "response": {"id": "r1"}},
        {"type": "response.in_progress"},
        {"type": "response.output_item.added", "item": {"type": "reasoning", "id": "rs", "summary": []}},
        {"type": "response.reasoning_summary_part.added", "summary_index": 1},
        {"type": "response.reasoning_summary_text.delta", "delta": "thinking", "summary_index": 1},
        {"type": "response.reasoning_text.delta", "delta": "raw", "content_index": 2},
        {"type": "response.output_item.done", "item": {"type": "function_call", "id": "fc", "name": "shell",
                                                       "arguments": "{}", "call_id": "c1"}},
        {"type": "response.output_item.done", "item": {"type": "web_search_call", "id": "ws", "status": "done"}},
        {"type": "response.completed", "response": {"id": "r1", "usage": {
            "input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 6,
            "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 16}}},
        {"type": "response.output_text.delta", "delta": "after the end"},
    ]:
        out.extend(parser.feed(event))
    assert out == [
        ev.Created(),
        ev.OutputItemAdded(Reasoning(summary=[])),
        ev.ReasoningSummaryPartAdded(1),
        ev.ReasoningSummaryDelta("thinking", 1),
        ev.ReasoningContentDelta("raw", 2),
        ev.OutputItemDone(FunctionCall(name="shell", arguments="{}", call_id="c1")),
        ev.OutputItemDone(ev.OtherItem({"type": "web_search_call", "id": "ws", "status": "done"})),
        ev.Completed("r1", ev.TokenUsage(10, 4, 6, 2, 16)),
    ]
    assert parser.finish() == out[-1]


def test_stream_that_closes_before_completed_is_a_retryable_error():
    parser = ResponsesStreamParser()
    parser.feed({"type": "response.created"})
    with pytest.raises(ev.ModelError, match="^stream closed before response.completed$") as info:
        parser.finish()
    assert info.value.retryable


@pytest.mark.parametrize(
    ("code", "info", "retryable"),
    [
        ("context_length_exceeded", "context_window_exceeded", False),
        ("insufficient_quota", "usage_limit_exceeded", False),
        ("invalid_prompt", "bad_request", False),
        ("server_is_overloaded", "server_overloaded", False),
        ("rate_limit_exceeded", "response_stream_disconnected", True),
    ],
)
def test_response_failed_is_held_until_close_and_mapped_by_code(code, info, retryable):
    parser = ResponsesStreamParser()
    parser.feed({"type": "response.failed", "response": {"error": {"code": code, "message": "try again in 1.5s"}}})
    assert parser.done
    with pytest.raises(ev.ModelError) as caught:
        parser.finish()
    assert (caught.value.codex_error_info, caught.value.retryable) == (info, retryable)
    if code == "context_length_exceeded":
        assert caught.value.message == CONTEXT_WINDOW_MESSAGE
    if retryable:
        assert caught.value.delay_s == 1.5


def test_incomplete_response_names_its_reason():
    parser = ResponsesStreamParser()
    parser.feed({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}})
    with pytest.raises(ev.ModelError, match="^Incomplete response returned, reason: max_output_tokens$"):
        parser.finish()


def test_malformed_event_data_is_a_retryable_error_quoting_the_data():
    with pytest.raises(ev.ModelError, match="malformed stream event") as info:
        ResponsesStreamParser().feed_text("{nope")
    assert info.value.retryable and "{nope" in info.value.message


def test_retry_hints_in_messages_and_headers():
    assert retry_delay_from_message("Rate limit reached. Please try again in 250ms.") == 0.25
    assert retry_delay_from_message("try again in 2 seconds") == 2.0
    assert retry_delay_from_message("no hint") is None
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("garbage") is None


def test_rate_limit_headers_become_snapshots():
    headers = {
        "X-Codex-Primary-Used-Percent": "12.5", "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-at": "1700000000", "x-codex-secondary-used-percent": "40",
        "x-codex-credits-has-credits": "true", "x-codex-credits-unlimited": "false", "x-codex-credits-balance": "9",
        "x-other-primary-used-percent": "1", "x-other-limit-name": "Other",
    }
    assert rate_limits_from_headers(headers) == [
        {"limit_id": "codex", "primary": {"used_percent": 12.5, "window_minutes": 300, "resets_at": 1700000000},
         "secondary": {"used_percent": 40.0},
         "credits": {"has_credits": True, "unlimited": False, "balance": "9"}},
        {"limit_id": "other", "limit_name": "Other", "primary": {"used_percent": 1.0}},
    ]
    assert rate_limits_from_headers({"content-type": "text/event-stream"}) == []


def test_http_statuses_map_to_actionable_errors():
    e401 = error_from_status(401, '{"error":{"message":"bad key"}}', {}, key_hint="OPENAI_API_KEY")
    assert e401.message == "Unauthorized (HTTP 401): bad key. Check the API key in $OPENAI_API_KEY."
    assert not e401.retryable
    e404 = error_from_status(404, "", {}, url="http://h/v1/responses")
    assert e404.message == "Not found (HTTP 404) at http://h/v1/responses. Check the provider's base_url and the model name."
    e400 = error_from_status(400, '{"error":{"code":"context_length_exceeded","message":"too long"}}', {})
    assert (e400.message, e400.codex_error_info, e400.retryable) == (CONTEXT_WINDOW_MESSAGE, "context_window_exceeded", False)
    e429 = error_from_status(429, "{}", {"Retry-After": "7"})
    assert (e429.retryable, e429.delay_s) == (True, 7.0)
    e503 = error_from_status(503, "upstream down", {})
    assert (e503.message, e503.retryable) == ("Server error (HTTP 503): upstream down", True)

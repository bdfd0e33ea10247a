"""The ModelClient against the scripted server over real sockets: Responses over HTTP SSE (spec 2.3, 2.5, 3.1, 3.2)."""

import pytest
import trio

from codex_actors.model import events as ev
from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.provider import ProviderError, ProviderInfo
from codex_actors.model.sse import CONTEXT_WINDOW_MESSAGE
from codex_actors.protocol.events import StreamError
from codex_actors.protocol.items import CustomToolCall, FunctionCall, Message, OutputText
from codex_actors.testing import (
    custom_tool_call,
    error_response,
    function_call,
    reasoning,
    response,
    serve_scripted_model,
    text_message,
    usage,
)

from .helpers import Notes, collect, done_items, provider, text_after_last_discard, user

PROMPT = Prompt(input=[user("hi")], instructions="be kind")


async def test_streamed_text_answer_arrives_as_deltas_then_the_final_message_and_usage():
    script = [response(reasoning("planning"), text_message("Hello there, friend!"), usage=usage(12, 5, cached=2))]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m") as client:
            events = await collect(client, PROMPT)
    deltas = [e.delta for e in events if isinstance(e, ev.OutputTextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, friend!"
    assert [e.delta for e in events if isinstance(e, ev.ReasoningSummaryDelta)] != []
    assert done_items(events)[1] == Message("assistant", [OutputText("Hello there, friend!")])
    assert events[-1] == ev.Completed("resp_1", ev.TokenUsage(12, 2, 5, 0, 17))
    assert isinstance(events[0], ev.Created)


async def test_two_function_calls_and_a_custom_tool_call_come_back_in_order():
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"
    script = [response(
        function_call("exec_command", {"cmd": "ls"}, "call_1"),
        function_call("exec_command", {"cmd": "pwd"}, "call_2"),
        custom_tool_call("apply_patch", patch, "call_3"),
    )]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m") as client:
            events = await collect(client, PROMPT)
    assert done_items(events) == [
        FunctionCall(name="exec_command", arguments='{"cmd": "ls"}', call_id="call_1"),
        FunctionCall(name="exec_command", arguments='{"cmd": "pwd"}', call_id="call_2"),
        CustomToolCall(call_id="call_3", name="apply_patch", input=patch),
    ]
    assert "".join(e.delta for e in events if isinstance(e, ev.ToolCallInputDelta)) == patch


async def test_request_carries_instructions_tools_items_and_headers():
    tools = [{"type": "function", "name": "exec_command", "description": "d", "strict": False,
              "parameters": {"type": "object", "properties": {}}}]
    prompt = Prompt(input=[user("fix the bug")], instructions="base", tools=tools, parallel_tool_calls=True,
                    prompt_cache_key="thread-7")
    async with serve_scripted_model([response(text_message("ok"))]) as server:
        info = ProviderInfo.from_table("p", {"base_url": server.url, "env_key": "SCRIPTED_KEY",
                                             "http_headers": {"X-Static": "1"}, "query_params": {"v": "2"}})
        async with ModelClient.open(info, "gpt-x", env={"SCRIPTED_KEY": "sk-test"},
                                    extra_headers={"session_id": "thread-7"}) as client:
            await collect(client, prompt)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/v1/responses?v=2")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["x-static"] == "1" and request.headers["session_id"] == "thread-7"
    assert request.headers["accept"] == "text/event-stream"
    assert request.body == {
        "model": "gpt-x", "instructions": "base",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]}],
        "tools": tools, "tool_choice": "auto", "parallel_tool_calls": True, "store": False, "stream": True,
        "include": [], "prompt_cache_key": "thread-7",
    }


async def test_missing_api_key_fails_at_open_naming_the_variable():
    info = ProviderInfo.from_table("p", {"base_url": "http://127.0.0.1:9/v1", "env_key": "NOPE_KEY"})
    with pytest.raises(ProviderError, match="Missing environment variable: `NOPE_KEY`"):
        async with ModelClient.open(info, "m", env={}):
            pass


async def test_dropped_stream_is_retried_and_nothing_streamed_is_delivered_twice():
    answer = [function_call("exec_command", {"cmd": "ls"}, "call_1"), text_message("All files listed.")]
    script = [response(*answer, drop_after=7), response(*answer)]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m", notify=notes) as client:
            events = await collect(client, PROMPT)
    assert len(server.requests) == 2
    assert notes.texts == ["Reconnecting... 1/5"]
    assert isinstance(notes.messages[0], StreamError)
    # the broken attempt streamed provisional output, then was declared void before the retry
    discards = [e for e in events if isinstance(e, ev.AttemptDiscarded)]
    assert [d.message for d in discards] == ["Reconnecting... 1/5"]
    assert events.index(discards[0]) > 0
    # every final item exactly once, the text shown once
    assert done_items(events) == [FunctionCall(name="exec_command", arguments='{"cmd": "ls"}', call_id="call_1"),
                                  Message("assistant", [OutputText("All files listed.")])]
    assert text_after_last_discard(events) == "All files listed."
    assert sum(isinstance(e, ev.Created) for e in events) == 1
    assert sum(isinstance(e, ev.Completed) for e in events) == 1


@pytest.mark.parametrize("fault", [
    {"malformed_after": 2},
    {"drop_after": 0},
    {"failed": {"code": "server_error", "message": "oops, try again in 10ms"}},
])
async def test_broken_streams_are_retried_until_one_completes(fault):
    script = [response(text_message("partial"), **fault), response(text_message("partial"), **fault),
              response(text_message("fine"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m", notify=notes) as client:
            events = await collect(client, PROMPT)
    assert notes.texts == ["Reconnecting... 1/5", "Reconnecting... 2/5"]
    assert done_items(events) == [Message("assistant", [OutputText("fine")])]
    assert text_after_last_discard(events) == "fine"


async def test_server_errors_are_retried_at_the_request_layer_silently():
    script = [error_response(500), error_response(502), response(text_message("up again"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, request_max_retries=2), "m", notify=notes) as client:
            events = await collect(client, PROMPT)
    assert len(server.requests) == 3 and notes.texts == []
    assert done_items(events) == [Message("assistant", [OutputText("up again")])]


async def test_persistent_server_errors_fail_once_the_request_budget_is_spent():
    """One retry budget per request, as codex-client: the stream layer does not start a spent one over."""
    script = [error_response(500, message="boom")] * 2
    notes = Notes()
    async with serve_scripted_model(script) as server:
        info = provider(server.url, request_max_retries=1, stream_max_retries=1)
        async with ModelClient.open(info, "m", notify=notes) as client:
            with pytest.raises(ev.ModelError) as caught:
                await collect(client, PROMPT)
    assert caught.value.message == "exceeded retry limit (1 retries), last error: Server error (HTTP 500): boom"
    assert caught.value.codex_error_info == "response_too_many_failed_attempts"
    assert len(server.requests) == 2 and notes.texts == []


async def test_rate_limit_honours_retry_after_then_succeeds():
    script = [error_response(429, retry_after="1", code="rate_limit_exceeded", message="slow down"),
              response(text_message("ok"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m", notify=notes) as client:
            start = trio.current_time()
            events = await collect(client, PROMPT)
            elapsed = trio.current_time() - start
    assert elapsed >= 0.9
    assert notes.texts == ["Reconnecting... 1/5"]
    assert notes.messages[0].additional_details == "Rate limited (HTTP 429): slow down"
    assert done_items(events) == [Message("assistant", [OutputText("ok")])]


async def test_delayed_answer_within_the_idle_timeout_is_awaited():
    script = [response(text_message("late but fine"), delay=0.3)]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, stream_idle_timeout_ms=5000), "m") as client:
            events = await collect(client, PROMPT)
    assert done_items(events) == [Message("assistant", [OutputText("late but fine")])]


async def test_idle_timeout_fires_on_a_silent_stream_and_the_retry_succeeds():
    script = [response(text_message("never finished"), silence_after=2), response(text_message("done"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, stream_idle_timeout_ms=200), "m", notify=notes) as client:
            events = await collect(client, PROMPT)
    assert notes.messages[0].additional_details == "idle timeout waiting for SSE"
    assert done_items(events) == [Message("assistant", [OutputText("done")])]


async def test_idle_timeout_without_retries_left_fails_with_the_idle_message():
    script = [response(text_message("never finished"), silence_after=1)]
    async with serve_scripted_model(script) as server:
        info = provider(server.url, stream_idle_timeout_ms=200, stream_max_retries=0)
        async with ModelClient.open(info, "m") as client:
            with pytest.raises(ev.ModelError, match="^idle timeout waiting for SSE$"):
                await collect(client, PROMPT)


@pytest.mark.parametrize(("entry", "message"), [
    (error_response(401, message="invalid key"), "Unauthorized (HTTP 401): invalid key. Check the provider's credentials."),
    (error_response(400, message="bad tool schema"), "Invalid request (HTTP 400): bad tool schema"),
    (error_response(400, code="context_length_exceeded", message="too long"), CONTEXT_WINDOW_MESSAGE),
    (response(failed={"code": "context_length_exceeded", "message": "too long"}), CONTEXT_WINDOW_MESSAGE),
    (error_response(403, message="no access"), "Forbidden (HTTP 403): no access. Check the provider's credentials."),
])
@pytest.mark.unused_script_ok  # the answer after the error is there to be taken by a retry that must not happen
async def test_client_errors_are_not_retried_and_say_what_to_do(entry, message):
    notes = Notes()
    async with serve_scripted_model([entry, response(text_message("must not be used"))]) as server:
        async with ModelClient.open(provider(server.url), "m", notify=notes) as client:
            with pytest.raises(ev.ModelError) as caught:
                await collect(client, PROMPT)
    assert caught.value.message == message
    assert len(server.requests) == 1 and notes.texts == []


async def test_unknown_endpoint_404_points_at_base_url():
    async with serve_scripted_model([]) as server:
        info = provider(server.url.replace("/v1", "/wrong"))
        async with ModelClient.open(info, "m") as client:
            with pytest.raises(ev.ModelError, match=r"^Not found \(HTTP 404\) at http://127.0.0.1:\d+/wrong/responses"):
                await collect(client, PROMPT)


async def test_leaving_a_stream_early_cancels_it_and_the_client_stays_usable():
    script = [response(text_message("a long answer " * 5), silence_after=3), response(text_message("next"))]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m") as client:
            async with client.stream(PROMPT) as stream:
                async for event in stream:
                    if isinstance(event, ev.OutputTextDelta):
                        break
            events = await collect(client, PROMPT)
    assert done_items(events) == [Message("assistant", [OutputText("next")])]


async def test_cancelling_while_waiting_for_the_status_line_returns_promptly():
    script = [response(text_message("too late"), delay=30), response(text_message("next"))]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url), "m") as client:
            start = trio.current_time()
            with trio.move_on_after(0.2) as scope:
                await collect(client, PROMPT)
            assert scope.cancelled_caught
            assert trio.current_time() - start < 5
            events = await collect(client, PROMPT)
    assert done_items(events) == [Message("assistant", [OutputText("next")])]

"""Responses over WebSocket against the scripted server (spec agent-core 3.3, 2.5 fallback)."""

from codex_actors.model import events as ev
from codex_actors.model.client import FALLBACK_WARNING, ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.responses_ws import incremental_input
from codex_actors.protocol.events import StreamError, Warning
from codex_actors.protocol.items import FunctionCall, FunctionCallOutput, Message, OutputText
from codex_actors.testing import error_response, function_call, response, serve_scripted_model, text_message

from .helpers import Notes, collect, done_items, provider, user

USER_JSON = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]}


async def test_second_request_sends_previous_response_id_and_only_new_items():
    script = [response(function_call("exec_command", {"cmd": "ls"}, "call_1"), id="resp_a"),
              response(text_message("two files"), id="resp_b")]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, supports_websockets=True), "m") as client:
            assert client.transport == "websocket"
            history = [user("list files")]
            first = await collect(client, Prompt(input=history, instructions="base"))
            history += done_items(first)
            history.append(FunctionCallOutput(call_id="call_1", output="a\nb\n"))
            second = await collect(client, Prompt(input=history, instructions="base"))
    assert done_items(second) == [Message("assistant", [OutputText("two files")])]
    assert [r.transport for r in server.requests] == ["websocket", "websocket"]
    first_frame, second_frame = (r.body for r in server.requests)
    assert first_frame["type"] == "response.create" and "previous_response_id" not in first_frame
    assert first_frame["input"] == [USER_JSON]
    assert second_frame["previous_response_id"] == "resp_a"
    assert second_frame["input"] == [{"type": "function_call_output", "call_id": "call_1", "output": "a\nb\n"}]
    assert {k: v for k, v in second_frame.items() if k not in ("input", "previous_response_id")} == \
        {k: v for k, v in first_frame.items() if k != "input"}
    assert server.requests[0].headers["openai-beta"] == "responses_websockets=2026-02-06"


def test_incremental_only_when_fields_match_and_input_strictly_extends():
    prev = {"model": "m", "input": [{"a": 1}]}
    returned = [{"b": 2}]
    assert incremental_input({"model": "m", "input": [{"a": 1}, {"b": 2}, {"c": 3}]}, prev, returned) == [{"c": 3}]
    assert incremental_input({"model": "m", "input": [{"a": 1}, {"b": 2}]}, prev, returned) is None
    assert incremental_input({"model": "other", "input": [{"a": 1}, {"b": 2}, {"c": 3}]}, prev, returned) is None
    assert incremental_input({"model": "m", "input": [{"x": 0}, {"b": 2}, {"c": 3}]}, prev, returned) is None
    assert incremental_input({"model": "m", "input": [{"a": 1}]}, None, []) is None


async def test_killed_socket_is_retried_then_falls_back_to_http_for_good():
    answer = [function_call("exec_command", {"cmd": "ls"}, "call_1")]
    script = [response(*answer, drop_after=2), response(*answer, drop_after=2), response(*answer),
              response(text_message("over http"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        info = provider(server.url, supports_websockets=True, stream_max_retries=1)
        async with ModelClient.open(info, "m", notify=notes) as client:
            events = await collect(client, Prompt(input=[user("list files")]))
            assert client.transport == "http"
            later = await collect(client, Prompt(input=[user("again")]))
    assert [type(m) for m in notes.messages] == [StreamError, Warning]
    assert notes.texts == ["Reconnecting... 1/1", FALLBACK_WARNING]
    assert [r.transport for r in server.requests] == ["websocket", "websocket", "http", "http"]
    assert done_items(events) == [FunctionCall(name="exec_command", arguments='{"cmd": "ls"}', call_id="call_1")]
    assert sum(isinstance(e, ev.AttemptDiscarded) for e in events) == 2
    assert done_items(later) == [Message("assistant", [OutputText("over http")])]
    # a fresh HTTP request carries the whole history, never previous_response_id
    assert "previous_response_id" not in server.requests[3].body


async def test_refused_upgrade_falls_back_to_http_without_spending_the_script():
    notes = Notes()
    async with serve_scripted_model([response(text_message("hi"))], websocket=False) as server:
        async with ModelClient.open(provider(server.url, supports_websockets=True), "m", notify=notes) as client:
            events = await collect(client, Prompt(input=[user("hello")]))
    assert notes.texts == [FALLBACK_WARNING]
    assert [r.transport for r in server.requests] == ["http"]
    assert done_items(events) == [Message("assistant", [OutputText("hi")])]


async def test_error_frames_are_mapped_like_http_statuses():
    script = [error_response(429, retry_after="0", message="busy"), response(text_message("ok"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, supports_websockets=True), "m", notify=notes) as client:
            events = await collect(client, Prompt(input=[user("hello")]))
    assert notes.texts == ["Reconnecting... 1/5"]
    assert notes.messages[0].additional_details == "Rate limited (HTTP 429): busy"
    assert [r.transport for r in server.requests] == ["websocket", "websocket"]
    assert done_items(events) == [Message("assistant", [OutputText("ok")])]


async def test_cancelled_websocket_request_resets_the_connection_and_the_next_one_is_whole():
    script = [response(text_message("slow " * 10), silence_after=3), response(text_message("fresh"))]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, supports_websockets=True), "m") as client:
            async with client.stream(Prompt(input=[user("one")])) as stream:
                async for event in stream:
                    if isinstance(event, ev.OutputTextDelta):
                        break
            events = await collect(client, Prompt(input=[user("one"), user("two")]))
            assert client.transport == "websocket"
    assert done_items(events) == [Message("assistant", [OutputText("fresh")])]
    second = server.requests[1].body
    assert "previous_response_id" not in second and len(second["input"]) == 2

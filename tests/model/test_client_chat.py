"""The Chat Completions wire against the scripted server (spec agent-core 3.4)."""

import json

import pytest

from codex_actors.model import events as ev
from codex_actors.model.chat import ChatStreamParser
from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.sse import CONTEXT_WINDOW_MESSAGE
from codex_actors.protocol.items import CustomToolCall, FunctionCall, FunctionCallOutput, Message, OutputText
from codex_actors.testing import custom_tool_call, function_call, response, serve_scripted_model, text_message, usage

from .helpers import Notes, collect, done_items, provider, text_after_last_discard, user

PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Apply a patch.",
              "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}
SHELL_TOOL = {"type": "function", "name": "shell", "description": "Run.",
              "parameters": {"type": "object", "properties": {"command": {"type": "array"}}}}


async def test_tool_calls_streamed_in_pieces_are_reassembled():
    patch = "*** Begin Patch\n*** Add File: x.py\n+print(1)\n*** End Patch\n"
    script = [response(
        function_call("shell", {"command": ["ls", "-la"]}, "call_a"),
        function_call("shell", {"command": ["pwd"]}, "call_b"),
        custom_tool_call("apply_patch", patch, "call_c"),
        usage=usage(30, 9),
    )]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, wire_api="chat"), "llama") as client:
            assert client.transport == "chat"
            events = await collect(client, Prompt(input=[user("go")], tools=[SHELL_TOOL, PATCH_TOOL]))
    assert done_items(events) == [
        FunctionCall(name="shell", arguments=json.dumps({"command": ["ls", "-la"]}), call_id="call_a"),
        FunctionCall(name="shell", arguments=json.dumps({"command": ["pwd"]}), call_id="call_b"),
        CustomToolCall(call_id="call_c", name="apply_patch", input=patch),
    ]
    assert events[-1] == ev.Completed("resp_1", ev.TokenUsage(30, 0, 9, 0, 39))
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["tool_choice"] == "auto" and request.body["stream"] is True


async def test_text_answer_streams_and_tool_results_map_back_into_messages():
    history = [
        user("list"),
        FunctionCall(name="shell", arguments='{"command":["ls"]}', call_id="call_a"),
        FunctionCallOutput(call_id="call_a", output="a.txt\n"),
    ]
    async with serve_scripted_model([response(text_message("There is one file: a.txt."))]) as server:
        async with ModelClient.open(provider(server.url, wire_api="chat"), "llama") as client:
            events = await collect(client, Prompt(input=history, instructions="sys", tools=[SHELL_TOOL]))
    assert "".join(e.delta for e in events if isinstance(e, ev.OutputTextDelta)) == "There is one file: a.txt."
    assert done_items(events) == [Message("assistant", [OutputText("There is one file: a.txt.")])]
    assert server.requests[0].body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "list"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "shell", "arguments": '{"command":["ls"]}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "a.txt\n"},
    ]


async def test_chat_stream_dropped_mid_way_is_retried_once_cleanly():
    script = [response(text_message("half an answer"), drop_after=2), response(text_message("whole answer"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, wire_api="chat"), "llama", notify=notes) as client:
            events = await collect(client, Prompt(input=[user("q")]))
    assert notes.texts == ["Reconnecting... 1/5"]
    assert done_items(events) == [Message("assistant", [OutputText("whole answer")])]
    assert text_after_last_discard(events) == "whole answer"


def test_finish_reason_length_is_the_context_window_error():
    parser = ChatStreamParser()
    with pytest.raises(ev.ModelError) as caught:
        parser.feed({"id": "x", "choices": [{"delta": {"content": "a"}, "finish_reason": "length"}]})
    assert (caught.value.message, caught.value.retryable) == (CONTEXT_WINDOW_MESSAGE, False)


def test_reasoning_deltas_become_a_reasoning_item_and_missing_ids_get_positions():
    parser = ChatStreamParser()
    out = parser.feed({"id": "x", "choices": [{"delta": {"reasoning": {"text": "hmm"}}}]})
    out += parser.feed({"id": "x", "choices": [{"delta": {"tool_calls": [
        {"index": 0, "function": {"name": "shell", "arguments": "{\"a\""}}]}}]})
    out += parser.feed({"id": "x", "choices": [{"delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": ":1}"}}]}, "finish_reason": "tool_calls"}]})
    out += parser.finish()
    assert ev.ReasoningContentDelta("hmm") in out
    assert [e.item for e in out if isinstance(e, ev.OutputItemDone)][1] == \
        FunctionCall(name="shell", arguments='{"a":1}', call_id="call_0")
    assert out[-1] == ev.Completed("x", None)


def test_chat_stream_ending_without_finish_reason_or_done_is_retryable():
    parser = ChatStreamParser()
    parser.feed({"id": "x", "choices": [{"delta": {"content": "a"}}]})
    with pytest.raises(ev.ModelError, match="^stream closed before response.completed$"):
        parser.finish()

"""The `oss` provider and what real local chat servers need (issue 11; spec agent-core 3.4, 3.5)."""

import socket

import pytest

from codex_actors.config.schema import defaults
from codex_actors.model import events as ev
from codex_actors.model.chat import build_chat_body
from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.provider import BUILTIN_PROVIDERS, ProviderError, ProviderInfo
from codex_actors.protocol.items import FunctionCall, FunctionCallOutput, Message, OutputText

from codex_actors.testing import error_response, function_call, response, serve_scripted_model, text_message, usage

from .helpers import Notes, collect, done_items, user

SHELL_TOOL = {"type": "function", "name": "shell", "description": "Run.",
              "parameters": {"type": "object", "properties": {"command": {"type": "array"}}}}


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def oss_provider(url: str) -> ProviderInfo:
    return ProviderInfo.from_table("oss", {**BUILTIN_PROVIDERS["oss"], "base_url": url}, env={})


def test_oss_is_a_keyless_chat_provider_on_ollamas_port_by_default():
    provider = ProviderInfo.from_table("oss", BUILTIN_PROVIDERS["oss"], env={})
    assert (provider.base_url, provider.wire_api, provider.api_key({})) == ("http://localhost:11434/v1", "chat", None)
    assert defaults()["model_providers"]["oss"] == BUILTIN_PROVIDERS["oss"]


def test_oss_base_url_comes_from_the_environment_when_set():
    env = {"CODEX_ACTORS_OSS_BASE_URL": "http://127.0.0.1:8080/v1/"}
    assert ProviderInfo.from_table("oss", BUILTIN_PROVIDERS["oss"], env=env).base_url == "http://127.0.0.1:8080/v1"
    # Only the oss provider reads it.
    assert ProviderInfo.from_table("ollama", BUILTIN_PROVIDERS["ollama"], env=env).base_url == \
        "http://localhost:11434/v1"


def test_oss_base_url_from_a_config_table_is_used_when_the_environment_says_nothing():
    table = {**BUILTIN_PROVIDERS["oss"], "base_url": "http://127.0.0.1:9000/v1"}
    assert ProviderInfo.from_table("oss", table, env={"CODEX_ACTORS_OSS_BASE_URL": ""}).base_url == \
        "http://127.0.0.1:9000/v1"


def test_tools_are_offered_with_tool_choice_auto_and_empty_assistant_text_is_an_empty_string():
    # llama-cpp-python's server reads a missing tool_choice as "none", and answers `content: null` with a 500.
    history = [
        user("list"),
        Message("assistant", []),
        FunctionCall(name="shell", arguments='{"command":["ls"]}', call_id="call_a"),
        FunctionCallOutput(call_id="call_a", output="a.txt\n"),
    ]
    body = build_chat_body("m", Prompt(input=history, tools=[SHELL_TOOL]))
    assert body["tool_choice"] == "auto"
    assistant = [m for m in body["messages"] if m["role"] == "assistant"]
    assert [m["content"] for m in assistant] == ["", ""]
    assert "tool_choice" not in build_chat_body("m", Prompt(input=[user("hi")]))


@pytest.mark.parametrize(("provider_id", "advice"), [
    ("oss", "start one with `ollama serve` (or set CODEX_ACTORS_OSS_BASE_URL)"),
    ("ollama", "start one with `ollama serve`"),
    ("lmstudio", "start one with `lms server start` (LM Studio)"),
])
async def test_no_local_server_listening_is_one_line_saying_how_to_start_one_without_retrying(provider_id, advice):
    url = closed_port_url()
    provider = ProviderInfo.from_table(provider_id, {**BUILTIN_PROVIDERS[provider_id], "base_url": url}, env={})
    notes = Notes()
    async with ModelClient.open(provider, "m", notify=notes, env={}) as client:
        with pytest.raises(ev.ModelError) as caught:
            await collect(client, Prompt(input=[user("hi")]))
    assert caught.value.message == f"no local model server at {url}: {advice}"
    assert not caught.value.retryable
    assert notes.texts == []


async def test_a_refused_connection_to_a_remote_provider_is_still_retried():
    url = closed_port_url()
    provider = ProviderInfo.from_table("corp", {"base_url": url, "wire_api": "chat", "request_max_retries": 1,
                                                "stream_max_retries": 3}, env={})
    notes = Notes()
    async with ModelClient.open(provider, "m", notify=notes, env={}) as client:
        with pytest.raises(ev.ModelError) as caught:
            await collect(client, Prompt(input=[user("hi")]))
    assert notes.texts == []  # retried once by the request layer (silent), not started over by the stream layer
    assert caught.value.message.startswith(f"exceeded retry limit (1 retries), last error: Connection to {url}")


def test_a_whole_chat_completion_becomes_the_events_its_stream_would_have_given():
    from codex_actors.model.chat import ChatStreamParser

    parser = ChatStreamParser()
    events = parser.feed_completion({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_0", "type": "function",
                            "function": {"name": "shell", "arguments": '{"command": ["ls"]}'}}]}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    })
    events += parser.finish()
    assert events == [
        ev.Created(),
        ev.OutputItemDone(FunctionCall(name="shell", arguments='{"command": ["ls"]}', call_id="call_0")),
        ev.Completed("chatcmpl-1", ev.TokenUsage(12, 0, 5, 0, 17)),
    ]
    text = ChatStreamParser()
    events = text.feed_completion({"id": "c2", "choices": [{"message": {"role": "assistant", "content": "hi"},
                                                            "finish_reason": "stop"}]}) + text.finish()
    assert [e for e in events if isinstance(e, ev.OutputItemDone)] == [
        ev.OutputItemDone(Message("assistant", [OutputText("hi")]))]


def test_an_answer_that_is_not_a_chat_completion_is_a_retryable_error():
    from codex_actors.model.chat import ChatStreamParser

    with pytest.raises(ev.ModelError) as caught:
        ChatStreamParser().feed_completion({"detail": "Not Found"})
    assert caught.value.retryable
    assert caught.value.message == (
        "malformed chat completion: expected an object with a choices list, got \"{'detail': 'Not Found'}\"")


async def test_a_server_refusing_to_stream_a_tool_call_gets_the_same_request_once_more_without_streaming():
    script = [response(function_call("shell", {"command": ["ls"]}, "call_0"), usage=usage(40, 6),
                       refuse_streaming_with_tools=True)]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(oss_provider(server.url), "smollm2", notify=notes, env={}) as client:
            events = await collect(client, Prompt(input=[user("list files")], tools=[SHELL_TOOL]))
    assert done_items(events) == [FunctionCall(name="shell", arguments='{"command": ["ls"]}', call_id="call_0")]
    assert events[-1] == ev.Completed("resp_1", ev.TokenUsage(40, 0, 6, 0, 46))
    streamed, whole = server.requests
    assert (streamed.body["stream"], whole.body["stream"]) == (True, False)
    assert streamed.body["stream_options"] == {"include_usage": True} and "stream_options" not in whole.body
    assert {**streamed.body, "stream": False} == {**whole.body, "stream_options": {"include_usage": True}}
    assert notes.texts == []


async def test_a_refused_stream_of_a_text_answer_falls_back_too_and_keeps_the_text():
    script = [response(text_message("hello"), refuse_streaming_with_tools=True)]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(oss_provider(server.url), "smollm2", env={}) as client:
            events = await collect(client, Prompt(input=[user("hi")], tools=[SHELL_TOOL]))
    assert done_items(events) == [Message("assistant", [OutputText("hello")])]
    assert [r.body["stream"] for r in server.requests] == [True, False]


async def test_without_tools_an_empty_stream_is_retried_as_a_stream():
    script = [response(text_message("lost"), drop_after=0), response(text_message("hello"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(oss_provider(server.url), "smollm2", notify=notes, env={}) as client:
            events = await collect(client, Prompt(input=[user("hi")]))
    assert done_items(events) == [Message("assistant", [OutputText("hello")])]
    assert [r.body["stream"] for r in server.requests] == [True, True]
    assert notes.texts == ["Reconnecting... 1/5"]


async def test_a_stream_with_tools_that_breaks_after_its_first_chunk_is_retried_as_a_stream():
    script = [response(text_message("half an answer"), drop_after=2), response(text_message("whole answer"))]
    notes = Notes()
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(oss_provider(server.url), "smollm2", notify=notes, env={}) as client:
            events = await collect(client, Prompt(input=[user("q")], tools=[SHELL_TOOL]))
    assert done_items(events) == [Message("assistant", [OutputText("whole answer")])]
    assert [r.body["stream"] for r in server.requests] == [True, True]
    assert notes.texts == ["Reconnecting... 1/5"]


async def test_auth_errors_on_a_streamed_request_with_tools_are_not_sent_again_unstreamed():
    async with serve_scripted_model([error_response(401, message="bad key")]) as server:
        async with ModelClient.open(oss_provider(server.url), "smollm2", env={}) as client:
            with pytest.raises(ev.ModelError) as caught:
                await collect(client, Prompt(input=[user("q")], tools=[SHELL_TOOL]))
    assert caught.value.http_status == 401
    assert [r.body["stream"] for r in server.requests] == [True]


def test_max_output_tokens_is_sent_as_max_tokens_and_only_when_set():
    capped = ProviderInfo.from_table("oss", {**BUILTIN_PROVIDERS["oss"], "max_output_tokens": 256}, env={})
    assert capped.max_output_tokens == 256
    assert build_chat_body("m", Prompt(input=[user("hi")]), capped.max_output_tokens)["max_tokens"] == 256
    assert "max_tokens" not in build_chat_body("m", Prompt(input=[user("hi")]))
    assert ProviderInfo.from_table("oss", BUILTIN_PROVIDERS["oss"], env={}).max_output_tokens is None


@pytest.mark.parametrize(("table", "message"), [
    ({"base_url": "http://x/v1", "wire_api": "chat", "max_output_tokens": 0},
     "model_providers.p.max_output_tokens must be a positive integer, got 0"),
    ({"base_url": "http://x/v1", "wire_api": "chat", "max_output_tokens": "many"},
     "model_providers.p.max_output_tokens must be a positive integer, got 'many'"),
    ({"base_url": "http://x/v1", "max_output_tokens": 100},
     'model_providers.p.max_output_tokens is only supported with wire_api = "chat"'),
])
def test_a_bad_max_output_tokens_is_refused_naming_the_key(table, message):
    with pytest.raises(ProviderError) as caught:
        ProviderInfo.from_table("p", table, env={})
    assert str(caught.value) == message


async def test_an_answer_cut_at_the_cap_keeps_its_text_completes_and_warns():
    script = [response(text_message("The sea is"), usage=usage(30, 4), finish_reason="length")]
    notes = Notes()
    table = {**BUILTIN_PROVIDERS["oss"], "max_output_tokens": 4}
    async with serve_scripted_model(script) as server:
        provider = ProviderInfo.from_table("oss", {**table, "base_url": server.url}, env={})
        async with ModelClient.open(provider, "smollm2", notify=notes, env={}) as client:
            events = await collect(client, Prompt(input=[user("Write about the sea.")]))
    assert server.requests[0].body["max_tokens"] == 4
    assert done_items(events) == [Message("assistant", [OutputText("The sea is")])]
    assert events[-1] == ev.Completed("resp_1", ev.TokenUsage(30, 0, 4, 0, 34))
    assert notes.texts == ["the model's answer was cut off at 4 tokens (model_providers.oss.max_output_tokens)"]


async def test_without_a_cap_a_length_finish_is_still_the_context_window_error():
    script = [response(text_message("The sea is"), finish_reason="length")]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(oss_provider(server.url), "smollm2", env={}) as client:
            with pytest.raises(ev.ModelError) as caught:
                await collect(client, Prompt(input=[user("Write about the sea.")]))
    assert caught.value.codex_error_info == "context_window_exceeded"
    assert len(server.requests) == 1

"""The reasoning of the turn in progress goes back to a chat server on the neighbouring assistant message (spec
agent-core 3.4), so a local reasoning model keeps its thoughts across its own tool calls."""

from codex_actors.model.chat import build_chat_body
from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.protocol.items import FunctionCall, FunctionCallOutput, Message, OutputText, Reasoning
from codex_actors.testing import function_call, reasoning, response, serve_scripted_model

from .helpers import collect, done_items, provider, user


def thought(text: str) -> Reasoning:
    return Reasoning(summary=[], content=[{"type": "reasoning_text", "text": text}])


CALL = FunctionCall(name="shell", arguments='{"command":["ls"]}', call_id="call_a")
OUTPUT = FunctionCallOutput(call_id="call_a", output="a.txt\n")


def assistant_messages(history: list) -> list[dict]:
    return [m for m in build_chat_body("m", Prompt(input=history))["messages"] if m["role"] == "assistant"]


def test_reasoning_before_a_tool_call_rides_on_the_tool_call_message():
    [message] = assistant_messages([user("list"), thought("I should "), thought("look."), CALL, OUTPUT])
    assert message["reasoning"] == "I should look."
    assert message["tool_calls"][0]["id"] == "call_a"


def test_reasoning_after_an_assistant_message_attaches_to_that_message():
    history = [user("hi"), thought("a"), Message("assistant", [OutputText("hello")]), thought("then b"), CALL, OUTPUT]
    first, second = assistant_messages(history)
    assert (first["content"], first["reasoning"]) == ("hello", "athen b")
    assert "reasoning" not in second


def test_a_new_user_message_leaves_the_previous_turns_reasoning_behind():
    history = [user("list"), thought("I should look."), CALL, OUTPUT, Message("assistant", [OutputText("a.txt")]),
               user("thanks")]
    assert all("reasoning" not in m for m in assistant_messages(history))
    # ...and reasoning from before the last user message is never sent, even mid-turn.
    history += [thought("new thought"), FunctionCall(name="shell", arguments="{}", call_id="call_b")]
    messages = assistant_messages(history)
    assert [m.get("reasoning") for m in messages] == [None, None, "new thought"]


def test_blank_reasoning_is_not_sent():
    [message] = assistant_messages([user("list"), thought("  "), CALL, OUTPUT])
    assert "reasoning" not in message


async def test_streamed_reasoning_comes_back_on_the_next_request_of_the_turn():
    script = [response(reasoning("Need the listing."), function_call("shell", {"command": ["ls"]}, "call_a")),
              response()]
    async with serve_scripted_model(script) as server:
        async with ModelClient.open(provider(server.url, wire_api="chat"), "llama", env={}) as client:
            first = done_items(await collect(client, Prompt(input=[user("list")])))
            await collect(client, Prompt(input=[user("list"), *first, OUTPUT]))
    assistant = [m for m in server.requests[1].body["messages"] if m["role"] == "assistant"]
    assert [m["reasoning"] for m in assistant] == ["Need the listing."]

"""`codex-actors exec --oss --json` against a real model (SmolLM2-135M-Instruct in llama-cpp-python's server).

Protocol behaviour only, never the quality of an answer: what streams, which events come in which order, that a
tool call the model makes is well formed, executed, and its output returned to the model, and that the turn ends.
"""

from __future__ import annotations

import json

import trio

from codex_actors.model import events as ev
from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.provider import BUILTIN_PROVIDERS, ProviderInfo
from codex_actors.protocol.items import InputText, Message

from conftest import CHAT_MODEL, MAX_OUTPUT_TOKENS, RUN_TIMEOUT_S, TOOL_MODEL

BUDGET_MESSAGE = "turn stopped: the model made more than 3 tool calls in one turn (max_tool_calls_per_turn)"


async def test_the_oss_provider_streams_a_plain_answer_in_pieces(model_url):
    table = {**BUILTIN_PROVIDERS["oss"], "base_url": model_url, "max_output_tokens": MAX_OUTPUT_TOKENS}
    provider = ProviderInfo.from_table("oss", table, env={})
    prompt = Prompt(input=[Message("user", [InputText("Write one sentence about the sea.")])])
    with trio.fail_after(RUN_TIMEOUT_S):
        async with ModelClient.open(provider, CHAT_MODEL, env={}) as client:
            async with client.stream(prompt) as stream:
                events = [event async for event in stream]
    deltas = [e.delta for e in events if isinstance(e, ev.OutputTextDelta)]
    done = [e.item for e in events if isinstance(e, ev.OutputItemDone)]
    assert len(deltas) > 1, events
    assert done == [Message("assistant", done[0].content)] and done[0].text() == "".join(deltas)
    assert isinstance(events[0], ev.Created) and isinstance(events[-1], ev.Completed)


def test_a_plain_question_gets_an_answer_and_the_turn_completes(run_exec):
    run = run_exec("What is the capital of France? Answer in one sentence.", "-m", CHAT_MODEL,
                   "-c", "max_tool_calls_per_turn=3")
    assert run.returncode == 0, run.stderr
    assert run.types()[:2] == ["thread.started", "turn.started"]
    assert run.types()[-1] == "turn.completed"
    [answer] = run.items("agent_message")
    assert answer["text"].strip()
    assert run.lines[-1]["usage"]["input_tokens"] >= 0


def test_a_tool_call_is_executed_and_its_output_returned_to_the_model_until_the_turn_ends(run_exec):
    run = run_exec("Run the shell command `ls` with the exec_command tool.", "-m", TOOL_MODEL,
                   "-c", "max_tool_calls_per_turn=3")
    calls = run.response_items("function_call")
    outputs = run.response_items("function_call_output")
    assert calls, f"the model made no tool call: {run.lines}"
    # Every call the session ran has its output recorded under the same call_id, in the order of the calls.
    assert [o["call_id"] for o in outputs] == [c["call_id"] for c in calls][:len(outputs)]
    assert len(outputs) >= min(len(calls), 3)
    for call, output in zip(calls, outputs):
        # A call id and a tool name always; arguments that are a JSON object (the server's grammar lets the model
        # put raw control characters inside strings, hence strict=False), or, when the model's arguments ran into
        # the max_tokens cap mid-string, an output that tells the model they did not parse.
        assert call["call_id"] and call["name"], call
        if not _is_json_object(call["arguments"]):
            assert "failed to parse function arguments" in json.dumps(output["output"]), (call, output)
    # The turn ended: with an answer, or at the budget of 3 tool calls with the budget's message.
    last = run.lines[-1]
    if last["type"] == "turn.completed":
        assert run.returncode == 0, run.stderr
    else:
        assert last == {"type": "turn.failed", "error": {"message": BUDGET_MESSAGE}}
        assert run.returncode == 1
    started = {line["item"]["id"] for line in run.lines if line["type"] == "item.started"}
    completed = {line["item"]["id"] for line in run.lines if line["type"] == "item.completed"}
    assert started <= completed


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text, strict=False), dict)
    except ValueError:
        return False


def test_an_answer_cut_at_max_output_tokens_is_kept_with_a_warning_and_the_turn_completes(run_exec):
    # The run's own -c comes after the tier's cap, so it wins: 16 tokens cannot hold a long story.
    run = run_exec("Tell me a long story about the sea.", "-m", CHAT_MODEL,
                   "-c", "model_providers.oss.max_output_tokens=16")
    assert run.returncode == 0, run.stderr
    [warning] = run.items("error")
    assert warning["message"] == "the model's answer was cut off at 16 tokens (model_providers.oss.max_output_tokens)"
    [answer] = run.items("agent_message")
    assert answer["text"].strip()
    assert run.types()[-1] == "turn.completed"

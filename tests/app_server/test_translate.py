"""The event-to-notification translator, sans I/O, checked against the SDK's generated v2 models (the real
schema): every notification it produces must validate as the model the SDK would parse it into."""

from __future__ import annotations

import base64

import pytest

from codex_actors.app_server.translate import ThreadTranslator
from codex_actors.protocol import events

openai_codex = pytest.importorskip("openai_codex", reason="bin/test installs openai-codex==0.163.0 (--no-deps)")
from openai_codex.generated.notification_registry import NOTIFICATION_MODELS  # noqa: E402


def feed_all(translator, messages, turn_id="turn-1"):
    out = []
    for msg in messages:
        out += translator.feed(msg, turn_id)
    for method, params in out:
        model = NOTIFICATION_MODELS.get(method)
        assert model is not None, f"{method} is not a notification the SDK knows"
        model.model_validate(params)
    return out


def exec_end(call_id, exit_code, output):
    return events.ExecCommandEnd(call_id=call_id, turn_id="turn-1", command=["/bin/bash", "-lc", "ls"], cwd="/w",
                                 stdout=output, stderr="", aggregated_output=output, exit_code=exit_code,
                                 duration={"secs": 1, "nanos": 500_000_000}, formatted_output=output, status="completed")


def test_a_turn_with_a_command_and_a_streamed_answer_becomes_v2_notifications():
    translator = ThreadTranslator("thread-1")
    out = feed_all(translator, [
        events.TaskStarted(turn_id="turn-1", started_at=100),
        events.UserMessage(message="list"),
        events.ExecCommandBegin(call_id="c1", turn_id="turn-1", command=["/bin/bash", "-lc", "ls"], cwd="/w"),
        events.ExecCommandOutputDelta(call_id="c1", stream="stdout", chunk=base64.b64encode(b"a.py\n").decode()),
        exec_end("c1", 0, "a.py\n"),
        events.AgentMessageDelta(delta="Fo"),
        events.AgentMessageDelta(delta="und."),
        events.AgentMessage(message="Found."),
        events.TokenCount(info={"total_token_usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}}),
        events.TaskComplete(turn_id="turn-1", last_agent_message="Found."),
    ])
    methods = [m for m, _ in out]
    assert methods == ["turn/started", "item/started", "item/completed", "item/started",
                       "item/commandExecution/outputDelta", "item/completed", "item/started",
                       "item/agentMessage/delta", "item/agentMessage/delta", "item/completed",
                       "thread/tokenUsage/updated", "turn/completed"]
    command = out[5][1]["item"]
    assert (command["status"], command["exitCode"], command["durationMs"]) == ("completed", 0, 1500)
    assert out[4][1]["delta"] == "a.py\n"
    message_id = out[6][1]["item"]["id"]
    assert out[7][1]["itemId"] == message_id and out[9][1]["item"] == {
        "type": "agentMessage", "id": message_id, "text": "Found.", "phase": None}
    turn = out[-1][1]["turn"]
    assert turn["status"] == "completed" and [i["type"] for i in turn["items"]] == [
        "userMessage", "commandExecution", "agentMessage"]


def test_an_error_fails_the_turn_and_an_abort_interrupts_the_next():
    translator = ThreadTranslator("thread-1")
    failed = feed_all(translator, [
        events.TaskStarted(turn_id="turn-1"),
        events.Error(message="model said no", codex_error_info="http_connection_failed"),
        events.TaskComplete(turn_id="turn-1"),
    ])
    assert failed[1][1]["error"] == {"message": "model said no", "codexErrorInfo": "other", "additionalDetails": None}
    assert failed[-1][1]["turn"]["status"] == "failed"
    assert failed[-1][1]["turn"]["error"]["message"] == "model said no"
    aborted = feed_all(translator, [
        events.TaskStarted(turn_id="turn-2"),
        events.ExecCommandBegin(call_id="c2", turn_id="turn-2", command=["sleep", "9"], cwd="/w"),
        events.TurnAborted(reason="interrupted", turn_id="turn-2"),
    ], turn_id="turn-2")
    assert [m for m, _ in aborted] == ["turn/started", "item/started", "item/completed", "turn/completed"]
    assert aborted[2][1]["item"]["status"] == "failed"
    assert aborted[-1][1]["turn"]["status"] == "interrupted"
    assert [t["id"] for t in translator.turns] == ["turn-1", "turn-2"]

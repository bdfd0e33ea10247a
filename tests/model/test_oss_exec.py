"""`codex-actors exec --oss` end to end against the scripted server behaving like llama-cpp-python's (issue 11):
the real CLI in a subprocess, the server reached through $CODEX_ACTORS_OSS_BASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import trio

from codex_actors.testing import function_call, response, serve_scripted_model, text_message

from .test_oss import closed_port_url

PLAN = {"plan": [{"step": "look around", "status": "in_progress"}]}


async def exec_oss(tmp_path: Path, base_url: str, *args: str) -> subprocess.CompletedProcess:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEX_API_KEY")}
    env.update({"CODEX_ACTORS_HOME": str(home), "CODEX_ACTORS_OSS_BASE_URL": base_url, "NO_COLOR": "1"})
    argv = [sys.executable, "-m", "codex_actors", "exec", "--oss", "--json", "--skip-git-repo-check", *args]
    with trio.fail_after(60):
        return await trio.run_process(argv, cwd=work, env=env, stdin=b"", capture_stdout=True, capture_stderr=True,
                                      check=False)


async def test_exec_oss_runs_a_tool_call_the_server_would_not_stream_and_finishes_the_turn(tmp_path):
    script = [response(function_call("update_plan", PLAN, "call_1"), refuse_streaming_with_tools=True),
              response(text_message("done"))]
    async with serve_scripted_model(script) as server:
        done = await exec_oss(tmp_path, server.url, "plan it")
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [line["type"] for line in lines] == [
        "thread.started", "turn.started", "item.started", "item.completed", "item.completed", "turn.completed"]
    assert lines[2]["item"]["type"] == "todo_list"
    assert lines[3]["item"] == {"id": "item_1", "type": "agent_message", "text": "done"}
    assert [r.body["stream"] for r in server.requests] == [True, False, True]
    assert server.requests[2].body["messages"][-2:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "update_plan", "arguments": json.dumps(PLAN)}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Plan updated"},
    ]


async def test_exec_oss_with_no_server_listening_fails_at_once_with_one_line_saying_how_to_start_one(tmp_path):
    url = closed_port_url()
    done = await exec_oss(tmp_path, url, "hello")
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    failed = lines[-1]
    assert failed["type"] == "turn.failed"
    assert failed["error"]["message"].startswith(f"no local model server at {url}: start one with `ollama serve`")
    assert "\n" not in failed["error"]["message"]
    assert [line for line in done.stderr.decode().splitlines() if line.startswith("ERROR:")] == [
        f"ERROR: {failed['error']['message']}"]


async def test_exec_oss_with_a_cap_sends_it_and_a_tool_call_cut_short_goes_back_to_the_model_as_an_error(tmp_path):
    # The model hits max_output_tokens in the middle of the call's arguments: the call still runs (and fails
    # to parse), the model hears why, and the turn goes on to an answer instead of failing.
    cut = function_call("update_plan", PLAN, "call_1")
    cut["arguments"] = cut["arguments"][:12]
    script = [response(cut, finish_reason="length"), response(text_message("done"))]
    async with serve_scripted_model(script) as server:
        done = await exec_oss(tmp_path, server.url, "-c", "model_providers.oss.max_output_tokens=16", "plan it")
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert {"type": "item.completed", "item": {
        "id": "item_0", "type": "error",
        "message": "the model's answer was cut off at 16 tokens (model_providers.oss.max_output_tokens)"}} in lines
    assert lines[-2]["item"]["text"] == "done" and lines[-1]["type"] == "turn.completed"
    assert [r.body["max_tokens"] for r in server.requests] == [16, 16]
    [tool] = [m for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert tool["tool_call_id"] == "call_1"
    assert "failed to parse" in tool["content"], tool

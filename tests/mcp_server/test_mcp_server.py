"""`codex-actors mcp-server` driven by the official `mcp` SDK's stdio client: `codex` delegates a task (a shell
command and an answer), `codex-reply` continues the same thread, events stream as progress notifications."""

from __future__ import annotations

import json
import sys
import tempfile

import pytest
import trio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, response, text_message
from tests.app_server.helpers import provider_overrides, server_env
from tests.cli.test_exec import UUID, user_texts


def mcp_server_params(url, tmp_path, work) -> StdioServerParameters:
    """`codex-actors mcp-server` in `work`, pointed at the scripted model at `url`."""
    args = ["-m", "codex_actors"]
    for value in provider_overrides(url):
        args += ["-c", value]
    return StdioServerParameters(command=sys.executable, args=[*args, "mcp-server"], env=server_env(tmp_path / "home"),
                                 cwd=str(work))


async def test_mcp_client_delegates_a_task_and_continues_it(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    script = [response(function_call("exec_command", {"cmd": "echo delegated-output"}, "call_1")),
              response(text_message("Task done.")),
              response(text_message("Follow-up done."))]
    progress: list[dict] = []

    async def on_progress(value, total, message):
        progress.append(json.loads(message))

    async with serve_scripted_model(script, websocket=False) as server:
        params = mcp_server_params(server.url, tmp_path, work)
        with tempfile.TemporaryFile() as stderr, trio.fail_after(90):
            async with Client(stdio_client(params, errlog=stderr)) as client:
                tools = await client.list_tools()
                assert {t.name for t in tools.tools} == {"codex", "codex-reply"}
                first = await client.call_tool("codex", {"prompt": "run the thing", "sandbox": "workspace-write",
                                                         "cwd": str(work)}, progress_callback=on_progress)
                assert not first.is_error, first
                assert first.content[0].text == "Task done."
                thread_id = first.structured_content["threadId"]
                assert UUID.match(thread_id)
                second = await client.call_tool("codex-reply", {"threadId": thread_id, "prompt": "and then?"})
                assert second.content[0].text == "Follow-up done."
                assert second.structured_content["threadId"] == thread_id
                unknown = await client.call_tool("codex-reply", {"threadId": "nope", "prompt": "hi"})
                assert unknown.is_error and "nope" in unknown.content[0].text
                bad = await client.call_tool("codex", {"prompt": "x", "sandbox": "everything"})
                assert bad.is_error and "sandbox" in bad.content[0].text
    kinds = [event["type"] for event in progress]
    assert "exec_command_begin" in kinds and "task_complete" in kinds
    [end] = [event for event in progress if event["type"] == "exec_command_end"]
    assert "delegated-output" in end["aggregated_output"]
    assert user_texts(server.requests[2].body)[-2:] == ["run the thing", "and then?"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # a handshake-era client (as Codex's callers are) asked with
# elicitation/create, and an MCP 2026-07-28 one (no server-to-client requests) asked through input_required results
async def test_approvals_are_asked_of_the_client_as_elicitations(tmp_path, mode):
    from mcp_types import ElicitResult

    work = tmp_path / "work"
    work.mkdir()
    patch = "*** Begin Patch\n*** Add File: patched.txt\n+yes\n*** End Patch\n"
    script = [response(function_call("exec_command", {"cmd": "touch approved.txt"}, "call_ok")),
              response(function_call("exec_command", {"cmd": "touch declined.txt"}, "call_no")),
              response(function_call("apply_patch", {"input": patch}, "call_patch")),
              response(text_message("Asked three times.")),
              response(function_call("exec_command", {"cmd": "touch unasked.txt"}, "call_quiet")),
              response(text_message("Not asked."))]
    asked: list[str] = []
    answers = iter([ElicitResult(action="accept"), ElicitResult(action="decline"),
                    ElicitResult(action="accept", content={"decision": "approved_for_session"})])

    async def on_elicit(ctx, params):
        asked.append(params.message)
        return next(answers)

    async with serve_scripted_model(script, websocket=False) as server:
        params = mcp_server_params(server.url, tmp_path, work)
        call = {"prompt": "make files", "sandbox": "workspace-write", "approval-policy": "untrusted", "cwd": str(work)}
        with tempfile.TemporaryFile() as stderr, trio.fail_after(90):
            async with Client(stdio_client(params, errlog=stderr), elicitation_callback=on_elicit, mode=mode) as client:
                result = await client.call_tool("codex", call)
                assert result.content[0].text == "Asked three times.", result
            async with Client(stdio_client(params, errlog=stderr), mode=mode) as silent:  # declares no elicitation
                quiet = await silent.call_tool("codex", {**call, "prompt": "one more"})
                assert quiet.content[0].text == "Not asked.", quiet
    assert asked == [f"Allow Codex to run `bash -lc 'touch approved.txt'` in `{work}`?",
                     f"Allow Codex to run `bash -lc 'touch declined.txt'` in `{work}`?",
                     "Allow Codex to apply proposed code changes?"]
    assert sorted(p.name for p in work.iterdir()) == ["approved.txt", "patched.txt"]
    outputs = [item for r in server.requests for item in r.body["input"] if item.get("type") == "function_call_output"]
    assert any(o["call_id"] == "call_quiet" for o in outputs)  # answered (denied) without a question

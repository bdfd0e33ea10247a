"""The official Codex Python SDK (`openai-codex` 0.163.0 from PyPI, installed by bin/test with --no-deps) driving
`bin/codex-actors app-server` unchanged: only `codex_bin` and the provider overrides are ours.

The SDK is synchronous (a reader thread per client), so each scenario runs in a worker thread while the
scripted model server answers on the trio thread.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, response, text_message, usage
from tests.app_server.helpers import CLI, provider_overrides, server_env
from tests.cli.test_exec import UUID, user_texts

openai_codex = pytest.importorskip("openai_codex", reason="bin/test installs openai-codex==0.163.0 (--no-deps)")
from openai_codex import AsyncCodex, Codex, CodexConfig, Sandbox  # noqa: E402
from openai_codex.client import CodexClient  # noqa: E402
from openai_codex.generated import v2_all as v2  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def sdk_turn_start_pool():
    """AsyncCodex starts turns on a process-wide pool of the SDK (`async_client._TURN_START_EXECUTOR`) that
    is never shut down; its worker is started here, before the per-test thread-leak check looks."""
    from openai_codex import async_client

    async_client._TURN_START_EXECUTOR.submit(lambda: None).result()


def sdk_config(url: str, tmp_path: Path) -> CodexConfig:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return CodexConfig(codex_bin=str(CLI), config_overrides=provider_overrides(url), env=server_env(tmp_path / "home"),
                       cwd=str(work))


def items_of(result, kind):
    return [item.root for item in result.items if isinstance(item.root, kind)]


async def test_sdk_runs_turns_lists_reads_and_resumes_from_a_second_client(tmp_path):
    script = [
        response(function_call("exec_command", {"cmd": "echo output-from-the-shell"}, "call_1"),
                 usage=usage(100, 10, cached=40, reasoning=3)),
        response(text_message("First answer."), usage=usage(120, 5)),
        response(text_message("Second answer."), usage=usage(150, 6)),
        response(text_message("Third answer."), usage=usage(170, 7)),
    ]

    def scenario(config: CodexConfig) -> dict:
        with Codex(config) as codex:
            assert codex.metadata.serverInfo.name == "codex-actors"
            thread = codex.thread_start(sandbox=Sandbox.workspace_write)
            first = thread.run("list the files")
            turn = thread.turn("and now summarise")
            streamed = list(turn.stream())
            listed = codex.thread_list()
            read = thread.read(include_turns=True)
            models = codex.models()
            account = codex.account()
        with Codex(config) as again:
            resumed = again.thread_resume(thread.id)
            third = resumed.run("one more thing")
        return {"thread": thread.id, "first": first, "streamed": streamed, "listed": listed, "read": read,
                "models": models, "account": account, "third": third}

    async with serve_scripted_model(script, websocket=False, models=["o3", "gpt-5.3-codex", "local-coder"]) as server:
        with trio.fail_after(120):
            out = await trio.to_thread.run_sync(scenario, sdk_config(server.url, tmp_path))

    assert UUID.match(out["thread"])
    first = out["first"]
    assert first.status == v2.TurnStatus.completed
    assert first.final_response == "First answer."
    [command] = items_of(first, v2.CommandExecutionThreadItem)
    assert command.command == "/bin/bash -lc 'echo output-from-the-shell'"
    assert command.aggregated_output.endswith("output-from-the-shell\n")
    assert (command.exit_code, command.status) == (0, v2.CommandExecutionStatus.completed)
    assert [m.text for m in items_of(first, v2.AgentMessageThreadItem)] == ["First answer."]
    assert first.usage.total.input_tokens == 220 and first.usage.total.cached_input_tokens == 40
    assert first.usage.total.output_tokens == 15 and first.usage.total.reasoning_output_tokens == 3

    methods = [n.method for n in out["streamed"]]
    assert methods[0] == "turn/started" and methods[-1] == "turn/completed"
    deltas = "".join(n.payload.delta for n in out["streamed"] if n.method == "item/agentMessage/delta")
    assert deltas == "Second answer."
    assert out["streamed"][-1].payload.turn.status == v2.TurnStatus.completed

    listed = [t for t in out["listed"].data if t.id == out["thread"]]
    assert len(listed) == 1 and listed[0].preview == "list the files"
    turns = out["read"].thread.turns
    assert len(turns) == 2
    assert [i.root.text for i in turns[1].items if isinstance(i.root, v2.AgentMessageThreadItem)] == ["Second answer."]
    # model/list: what the provider's /v1/models lists, the configured model marked default
    assert [(m.model, m.is_default) for m in out["models"].data] == [
        ("o3", False), ("gpt-5.3-codex", True), ("local-coder", False)]
    assert out["models"].next_cursor is None
    assert out["account"].account is not None

    assert out["third"].final_response == "Third answer."
    posts = [r for r in server.requests if r.method == "POST"]
    assert [r.path for r in server.requests if r.method == "GET"] == ["/v1/models"]
    assert user_texts(posts[3].body)[-3:] == ["list the files", "and now summarise", "one more thing"]
    assert "Second answer." in json.dumps(posts[3].body["input"])


async def test_sdk_interrupts_a_running_turn(tmp_path):
    script = [response(function_call("exec_command", {"cmd": "sleep 30", "yield_time_ms": 30000}, "call_sleep")),
              response(text_message("After the interrupt."))]

    def scenario(config: CodexConfig) -> tuple:
        with Codex(config) as codex:
            thread = codex.thread_start()
            turn = thread.turn("wait forever")
            seen = []
            for notification in turn.stream():
                seen.append(notification)
                if notification.method == "item/started" and notification.payload.item.root.id == "call_sleep":
                    turn.interrupt()
            after = thread.run("try again")
        return seen, after

    async with serve_scripted_model(script, websocket=False) as server:
        with trio.fail_after(60):
            seen, after = await trio.to_thread.run_sync(scenario, sdk_config(server.url, tmp_path))
    assert seen[-1].method == "turn/completed"
    assert seen[-1].payload.turn.status == v2.TurnStatus.interrupted
    [sleep] = [n.payload.item.root for n in seen if n.method == "item/completed" and n.payload.item.root.id == "call_sleep"]
    assert sleep.status != v2.CommandExecutionStatus.in_progress
    assert after.final_response == "After the interrupt."


async def test_sdk_approval_handler_answers_command_approvals(tmp_path):
    script = [
        response(function_call("exec_command", {"cmd": "touch approved.txt"}, "call_ok")),
        response(function_call("exec_command", {"cmd": "touch declined.txt"}, "call_no")),
        response(text_message("Both asked.")),
    ]
    asked = []

    def handler(method, params):
        asked.append((method, params))
        return {"decision": "accept" if "approved" in params["command"] else "decline"}

    def scenario(config: CodexConfig):
        with CodexClient(config, approval_handler=handler) as client:
            client.initialize()
            started = client.thread_start({"approvalPolicy": "untrusted", "sandbox": "workspace-write"})
            turn = client.turn_start(started.thread.id, "make two files")
            items = []
            client.register_turn_notifications(turn.turn.id)
            while True:
                note = client.next_turn_notification(turn.turn.id)
                if note.method == "item/completed":
                    items.append(note.payload.item.root)
                if note.method == "turn/completed":
                    return items, note.payload

    async with serve_scripted_model(script, websocket=False) as server:
        with trio.fail_after(60):
            items, completed = await trio.to_thread.run_sync(scenario, sdk_config(server.url, tmp_path))
    work = tmp_path / "work"
    assert [m for m, _ in asked] == ["item/commandExecution/requestApproval"] * 2
    assert asked[0][1]["itemId"] == "call_ok" and asked[0][1]["threadId"] and asked[0][1]["turnId"]
    assert (work / "approved.txt").exists() and not (work / "declined.txt").exists()
    commands = {i.id: i.status for i in items if isinstance(i, v2.CommandExecutionThreadItem)}
    assert commands == {"call_ok": v2.CommandExecutionStatus.completed, "call_no": v2.CommandExecutionStatus.declined}
    assert completed.turn.status == v2.TurnStatus.completed


async def test_a_granular_policy_from_the_sdk_rejects_a_category_without_asking(tmp_path):
    escalate = {"cmd": "touch outside.txt", "sandbox_permissions": "require_escalated", "justification": "x"}
    script = [response(function_call("exec_command", escalate, "call_esc")), response(text_message("Refused."))]
    asked = []
    granular = {"granular": {"sandbox_approval": False, "rules": True, "mcp_elicitations": True}}

    def handler(method, params):
        asked.append(method)
        return {"decision": "accept"}

    def scenario(config: CodexConfig):
        with CodexClient(config, approval_handler=handler) as client:
            client.initialize()
            started = client.thread_start({"approvalPolicy": granular, "approvalsReviewer": "user"})
            turn = client.turn_start(started.thread.id, "escalate")
            client.register_turn_notifications(turn.turn.id)
            while True:
                note = client.next_turn_notification(turn.turn.id)
                if note.method == "turn/completed":
                    return started, note.payload

    async with serve_scripted_model(script, websocket=False) as server:
        with trio.fail_after(60):
            started, completed = await trio.to_thread.run_sync(scenario, sdk_config(server.url, tmp_path))
    assert started.approval_policy.root.granular.sandbox_approval is False
    assert asked == [] and completed.turn.status == v2.TurnStatus.completed
    assert not (tmp_path / "work" / "outside.txt").exists()
    [output] = [i for i in server.requests[1].body["input"] if i.get("call_id") == "call_esc" and "output" in i]
    assert "approval required by policy" in output["output"]  # rejected by the policy, nobody asked


async def test_async_sdk_runs_two_turns_and_lists_the_thread(tmp_path):
    script = [response(text_message("Async one.")), response(text_message("Async two."))]

    def scenario(config: CodexConfig):
        async def flow():
            async with AsyncCodex(config) as codex:
                thread = await codex.thread_start()
                one = await thread.run("first")
                two = await thread.run("second")
                listed = await codex.thread_list()
                return thread.id, one, two, listed
        return asyncio.run(flow())

    async with serve_scripted_model(script, websocket=False) as server:
        with trio.fail_after(60):
            thread_id, one, two, listed = await trio.to_thread.run_sync(scenario, sdk_config(server.url, tmp_path))
    assert (one.final_response, two.final_response) == ("Async one.", "Async two.")
    assert thread_id in [t.id for t in listed.data]
    assert user_texts(server.requests[1].body)[-2:] == ["first", "second"]

"""The session with the real tool registry: commands, approvals, interruption, apply_patch via the shell."""

import json
import os
import subprocess

import trio

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import function_call, response, serve_scripted_model, text_message

from tests.session.test_rollout_resume import config_for


def turn(text, cwd):
    """Input under the session's own settings (a `user_turn` op would replace them with its context)."""
    return ops.UserInputOp(items=[ops.TextInput(text)])


def outputs(request):
    return {i["call_id"]: i["output"] for i in request.body["input"] if i["type"] == "function_call_output"}


def descendants_alive(marker):
    result = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [p for p in result.stdout.split() if int(p) != os.getpid()]


async def test_exec_command_runs_in_the_workspace_and_reports_output(tmp_path):
    script = [response(function_call("exec_command", {"cmd": "echo hello > made.txt && cat made.txt", "login": False}, "c1")),
              response(text_message("done"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("make it", config.cwd))
            seen = await session.wait_for(events.TaskComplete)
    kinds = [type(e.msg).TYPE for e in seen]
    assert kinds.index("exec_command_begin") < kinds.index("exec_command_end")
    assert (config.cwd / "made.txt").read_text() == "hello\n"
    text = outputs(server.requests[1])["c1"]
    assert text.startswith("Chunk ID: ")
    assert "Process exited with code 0\n" in text and text.endswith("Output:\nhello\n")


async def test_read_only_sandbox_denial_reaches_the_model(tmp_path):
    script = [response(function_call("exec_command", {"cmd": "touch nope.txt", "login": False}, "c1")),
              response(text_message("blocked"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("try", config.cwd))
            await session.wait_for(events.TaskComplete)
    assert not (config.cwd / "nope.txt").exists()
    text = outputs(server.requests[1])["c1"]
    assert "Process exited with code 1" in text
    assert "Read-only file system" in text or "Permission denied" in text


async def test_untrusted_policy_asks_before_unsafe_commands_and_denial_reaches_model(tmp_path):
    script = [response(function_call("exec_command", {"cmd": "ls"}, "safe"),
                       function_call("exec_command", {"cmd": "touch asked.txt"}, "unsafe")),
              response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=untrusted")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("go", config.cwd))
            seen = await session.wait_for(events.ExecApprovalRequest)
            request = seen[-1].msg
            assert request.call_id == "unsafe" and request.command == ["bash", "-lc", "touch asked.txt"]
            await session.submit(ops.ExecApproval(id="unsafe", decision="denied"))
            await session.wait_for(events.TaskComplete)
    assert not (config.cwd / "asked.txt").exists()
    results = outputs(server.requests[1])
    assert results["unsafe"] == "exec command rejected by user"
    assert "Process exited with code 0" in results["safe"]


async def test_never_policy_refuses_escalation_requests(tmp_path):
    args = {"cmd": "echo hi", "sandbox_permissions": "require_escalated", "justification": "need it"}
    script = [response(function_call("exec_command", args, "c1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "approval_policy=never")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("go", config.cwd))
            await session.wait_for(events.TaskComplete)
    assert outputs(server.requests[1])["c1"] == (
        "approval policy is never; reject command — you should not ask for escalated permissions if the "
        "approval policy is never")


async def test_interrupt_stops_a_long_command_and_its_children(tmp_path):
    marker = f"sleep 3{os.getpid() % 1000}"
    script = [response(function_call("exec_command", {"cmd": f"{marker} & {marker}; wait",
                                                      "yield_time_ms": 30000, "login": False}, "c1"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("sleep", config.cwd))
            await session.wait_for(events.ExecCommandBegin)
            with trio.fail_after(10):
                while len(descendants_alive(marker)) < 2:
                    await trio.sleep(0.05)
            await session.submit(ops.Interrupt())
            seen = await session.wait_for(events.TurnAborted)
            assert any(isinstance(e.msg, events.ExecCommandEnd) for e in seen)
            assert descendants_alive(marker) == []


async def test_patch_through_exec_command_is_routed_to_apply_patch(tmp_path):
    cmd = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: via_shell.txt\n+hi\n*** End Patch\nEOF"
    script = [response(function_call("exec_command", {"cmd": cmd}, "c1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("patch", config.cwd))
            seen = await session.wait_for(events.TaskComplete)
    assert (config.cwd / "via_shell.txt").read_text() == "hi\n"
    assert "patch_apply_end" in [type(e.msg).TYPE for e in seen]
    assert outputs(server.requests[1])["c1"] == "Success. Updated the following files:\nA via_shell.txt\n"


async def test_clean_background_terminals_kills_a_process_left_running_after_its_turn(tmp_path):
    marker = f"sleep 4{os.getpid() % 1000}"
    script = [response(function_call("exec_command", {"cmd": marker, "yield_time_ms": 250, "login": False}, "c1")),
              response(text_message("left it running"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("start it", config.cwd))
            await session.wait_for(events.TaskComplete)
            assert descendants_alive(marker)  # the turn ended, the process did not
            await session.submit(ops.CleanBackgroundTerminals())
            [end] = [e.msg for e in await session.wait_for(events.ExecCommandEnd)
                     if isinstance(e.msg, events.ExecCommandEnd)]
            assert end.call_id == "c1"
            assert descendants_alive(marker) == []
    assert "Process running with session ID" in outputs(server.requests[1])["c1"]

"""What an approval answer does to a running turn (spec agent-core 1.3, 2.4, 5.3 steps 4-5, "Approval caching"):
`abort` interrupts the whole turn, an approved escalation runs outside the sandbox, and a sandbox denial under
`untrusted` / `on-failure` is offered for an unsandboxed re-run."""

import json

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import custom_tool_call, function_call, response, serve_scripted_model, text_message

from tests.session.test_exec_tools import outputs, turn
from tests.session.test_rollout_resume import config_for

RETRY_REASON = "command failed; retry without sandbox?"


def custom_outputs(request):
    return {i["call_id"]: i["output"] for i in request.body["input"] if i["type"] == "custom_tool_call_output"}


def user_texts(request):
    return [part["text"] for i in request.body["input"] if i.get("type") == "message" and i["role"] == "user"
            for part in i["content"] if part.get("type") == "input_text"]


async def _abort_then_continue(config, server, approval_event, op_type):
    """Run a turn up to its approval prompt, answer `abort`, then run one more turn; returns both turns' events."""
    async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
        await session.submit(turn("go", config.cwd))
        prompt = (await session.wait_for(approval_event))[-1].msg
        await session.submit(op_type(id=prompt.call_id, decision="abort"))
        aborted = await session.wait_for(events.TurnAborted)
        await session.submit(turn("next", config.cwd))
        after = await session.wait_for(events.TaskComplete)
    return aborted, after


async def test_abort_answer_to_a_command_prompt_interrupts_the_turn_and_the_next_turn_runs(tmp_path):
    script = [response(function_call("exec_command", {"cmd": "touch asked.txt"}, "c1")),
              response(text_message("fresh start"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=untrusted")
        aborted, after = await _abort_then_continue(config, server, events.ExecApprovalRequest, ops.ExecApproval)
    assert aborted[-1].msg.reason == "interrupted"
    assert not any(isinstance(e.msg, (events.TaskComplete, events.ExecCommandBegin)) for e in aborted)
    assert not (config.cwd / "asked.txt").exists()
    assert after[-1].msg.last_agent_message == "fresh start"
    assert len(server.requests) == 2  # the aborted turn never went back to the model
    assert outputs(server.requests[1])["c1"].startswith("aborted by user after ")
    assert any(text.startswith("<turn_aborted>") for text in user_texts(server.requests[1]))


async def test_abort_answer_to_a_patch_prompt_interrupts_the_turn_and_the_next_turn_runs(tmp_path):
    patch = "*** Begin Patch\n*** Add File: never.txt\n+no\n*** End Patch\n"
    script = [response(custom_tool_call("apply_patch", patch, "p1")), response(text_message("moving on"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=untrusted")
        aborted, after = await _abort_then_continue(config, server, events.ApplyPatchApprovalRequest,
                                                    ops.PatchApproval)
    assert aborted[-1].msg.reason == "interrupted"
    assert not any(isinstance(e.msg, (events.TaskComplete, events.PatchApplyBegin)) for e in aborted)
    assert not (config.cwd / "never.txt").exists()
    assert after[-1].msg.last_agent_message == "moving on"
    assert custom_outputs(server.requests[1])["p1"].startswith("aborted by user after ")


async def _answer_each_prompt(config, decision):
    """One turn; every exec approval request is answered with `decision`. Returns the requests' reasons."""
    reasons = []
    async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
        await session.submit(turn("go", config.cwd))
        while True:
            last = (await session.wait_for((events.ExecApprovalRequest, events.TaskComplete)))[-1].msg
            if isinstance(last, events.TaskComplete):
                return reasons
            reasons.append(last.reason)
            await session.submit(ops.ExecApproval(id=last.call_id, decision=decision))


ESCALATED_WRITE = {"cmd": "echo out > escalated.txt", "login": False, "sandbox_permissions": "require_escalated",
                   "justification": "write outside the read-only sandbox?"}


async def test_approved_escalation_runs_outside_the_read_only_sandbox(tmp_path):
    script = [response(function_call("exec_command", ESCALATED_WRITE, "c1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only", "approval_policy=on-request")
        reasons = await _answer_each_prompt(config, "approved")
    assert reasons == ["write outside the read-only sandbox?"]
    assert (config.cwd / "escalated.txt").read_text() == "out\n"
    assert "Process exited with code 0" in outputs(server.requests[1])["c1"]


async def test_execpolicy_amendment_answer_approves_the_escalated_command(tmp_path):
    script = [response(function_call("exec_command", ESCALATED_WRITE, "c1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only", "approval_policy=on-request")
        amendment = {"approved_execpolicy_amendment": {"proposed_execpolicy_amendment": ["echo"]}}
        await _answer_each_prompt(config, amendment)
    assert (config.cwd / "escalated.txt").read_text() == "out\n"


async def test_denied_escalation_does_not_run(tmp_path):
    script = [response(function_call("exec_command", ESCALATED_WRITE, "c1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only", "approval_policy=on-request")
        reasons = await _answer_each_prompt(config, "denied")
    assert len(reasons) == 1
    assert not (config.cwd / "escalated.txt").exists()
    assert outputs(server.requests[1])["c1"] == "exec command rejected by user"


async def test_escalation_request_is_refused_before_running_outside_on_request(tmp_path):
    script = [response(function_call("exec_command", ESCALATED_WRITE, "c1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only", "approval_policy=untrusted")
        reasons = await _answer_each_prompt(config, "approved")
    assert reasons == []
    assert not (config.cwd / "escalated.txt").exists()
    assert outputs(server.requests[1])["c1"].startswith("approval policy is untrusted; reject command")


async def _denied_shell_write(tmp_path, approval_policy, decision):
    """A `shell` write under a read-only sandbox; returns (prompt reasons, the model's JSON result, workspace)."""
    call = function_call("shell", {"command": ["bash", "-c", "echo again > retried.txt"]}, "s1")
    async with serve_scripted_model([response(call), response(text_message("ok"))]) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only", f"approval_policy={approval_policy}")
        reasons = await _answer_each_prompt(config, decision)
    return reasons, json.loads(outputs(server.requests[1])["s1"]), config.cwd


async def test_sandbox_denied_shell_command_is_rerun_unsandboxed_when_approved(tmp_path):
    reasons, result, cwd = await _denied_shell_write(tmp_path, "on-failure", "approved")
    assert reasons == [RETRY_REASON]
    assert (cwd / "retried.txt").read_text() == "again\n"
    assert result["metadata"]["exit_code"] == 0


async def test_sandbox_denied_shell_command_keeps_its_failure_when_the_retry_is_denied(tmp_path):
    reasons, result, cwd = await _denied_shell_write(tmp_path, "on-failure", "denied")
    assert reasons == [RETRY_REASON]
    assert not (cwd / "retried.txt").exists()
    assert result["metadata"]["exit_code"] == 1
    assert "Read-only file system" in result["output"] or "Permission denied" in result["output"]


async def test_sandbox_denial_under_on_request_goes_to_the_model_without_a_prompt(tmp_path):
    reasons, result, cwd = await _denied_shell_write(tmp_path, "on-request", "approved")
    assert reasons == []
    assert not (cwd / "retried.txt").exists()
    assert result["metadata"]["exit_code"] == 1


async def test_sandbox_denied_exec_command_is_rerun_unsandboxed_under_untrusted(tmp_path):
    call = function_call("exec_command", {"cmd": "echo again > retried.txt", "login": False}, "c1")
    script = [response(call), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only", "approval_policy=untrusted")
        reasons = await _answer_each_prompt(config, "approved")
    assert reasons == [None, RETRY_REASON]  # the untrusted command prompt, then the retry offer
    assert (config.cwd / "retried.txt").read_text() == "again\n"
    assert "Process exited with code 0" in outputs(server.requests[1])["c1"]


async def test_a_retried_command_shows_one_begin_and_one_end_carrying_the_final_result(tmp_path):
    for decision, exit_code in (("approved", 0), ("denied", 1)):
        base = tmp_path / decision
        base.mkdir()
        call = function_call("shell", {"command": ["bash", "-c", "echo again > retried.txt"]}, "s1")
        async with serve_scripted_model([response(call), response(text_message("ok"))]) as server:
            config = config_for(base, server.url, "sandbox_mode=read-only", "approval_policy=on-failure")
            seen = []
            async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
                await session.submit(turn("go", config.cwd))
                while not isinstance(seen[-1].msg if seen else None, events.TaskComplete):
                    seen += await session.wait_for((events.ExecApprovalRequest, events.TaskComplete))
                    if isinstance(seen[-1].msg, events.ExecApprovalRequest):
                        await session.submit(ops.ExecApproval(id=seen[-1].msg.call_id, decision=decision))
        begins = [e.msg for e in seen if isinstance(e.msg, events.ExecCommandBegin)]
        ends = [e.msg for e in seen if isinstance(e.msg, events.ExecCommandEnd)]
        assert [(b.call_id, len(ends), ends[0].exit_code) for b in begins] == [("s1", 1, exit_code)], decision

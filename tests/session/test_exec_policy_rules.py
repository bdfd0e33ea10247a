"""Execpolicy rules in a session (spec agent-core 5.3 step 2, "Approval caching"): rules from
`$CODEX_ACTORS_HOME/rules/*.rules` decide before the heuristics, an `approved_execpolicy_amendment` answer
persists an allow rule, and a broken file is reported without losing the others."""

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import function_call, response, serve_scripted_model, text_message

from tests.session.test_exec_tools import outputs, turn
from tests.session.test_rollout_resume import config_for

NO_TOUCH = 'prefix_rule(pattern=["touch"], decision="forbidden", justification="no new files here")\n'


def write_rules(tmp_path, name, text):
    rules = tmp_path / "home" / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / name).write_text(text)


def touch(name, call_id):
    return response(function_call("exec_command", {"cmd": f"touch {name}", "login": False}, call_id))


async def test_a_forbidden_rule_refuses_the_command_with_its_justification(tmp_path):
    write_rules(tmp_path, "default.rules", NO_TOUCH)
    write_rules(tmp_path, "broken.rules", "import os\n")
    write_rules(tmp_path, "set.rules", 'prefix_rule(pattern={["a"]})\n')  # a TypeError inside literal_eval
    script = [touch("x.txt", "c1"), response(text_message("refused"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=never")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("make it", config.cwd))
            seen = await session.wait_for(events.TaskComplete)
    assert outputs(server.requests[1])["c1"] == "`touch x.txt` rejected: no new files here"
    assert not (config.cwd / "x.txt").exists()
    warnings = [e.msg.message for e in seen if isinstance(e.msg, events.Warning)]
    broken = tmp_path / "home" / "rules" / "broken.rules"
    as_set = tmp_path / "home" / "rules" / "set.rules"
    assert warnings == [f"execpolicy rules file not loaded: {broken}:1: only prefix_rule(...) calls are supported",
                        f"execpolicy rules file not loaded: {as_set}:1: pattern must be a literal (a string or a list)"]


async def test_ignore_rules_leaves_the_rules_files_out(tmp_path):
    write_rules(tmp_path, "default.rules", NO_TOUCH)
    script = [touch("x.txt", "c1"), response(text_message("made"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=never",
                            "ignore_rules=true")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("make it", config.cwd))
            await session.wait_for(events.TaskComplete)
    assert (config.cwd / "x.txt").exists()


async def test_an_approved_amendment_runs_the_command_and_its_rule_spares_later_prompts_also_next_session(tmp_path):
    script = [touch("a.txt", "c1"), touch("a.txt", "c2"), response(text_message("done")),
              touch("a.txt", "c3"), response(text_message("done again"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=untrusted")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("touch it twice", config.cwd))
            request = (await session.wait_for(events.ExecApprovalRequest))[-1].msg
            assert request.proposed_execpolicy_amendment == {"command": ["touch", "a.txt"]}
            await session.submit(ops.ExecApproval(id=request.call_id, decision={
                "approved_execpolicy_amendment": {"proposed_execpolicy_amendment": {"command": ["touch", "a.txt"]}}}))
            seen = await session.wait_for(events.TaskComplete)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("once more", config.cwd))
            later = await session.wait_for(events.TaskComplete)
    assert (tmp_path / "home" / "rules" / "default.rules").read_text() == \
        'prefix_rule(pattern=["touch", "a.txt"], decision="allow")\n'
    assert not any(isinstance(e.msg, events.ExecApprovalRequest) for e in [*seen, *later])  # c2, c3: no prompt
    for index, call_id in ((2, "c2"), (4, "c3")):
        assert "Process exited with code 0" in outputs(server.requests[index])[call_id]

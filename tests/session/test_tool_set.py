"""The tool set a session offers from config (spec agent-core 4.1-4.4): `shell_command` when
`features.unified_exec = false`, the approval parameters described, `login` only when `allow_login_shell`."""

from __future__ import annotations

import json

from codex_actors.config import load_config
from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, response, text_message


def config_for(tmp_path, url, *extra):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    empty = tmp_path / "codex"
    empty.mkdir(exist_ok=True)
    provider = f'model_providers.x={{name="x",base_url="{url}",wire_api="responses",stream_max_retries=1}}'
    return load_config(cwd=work, environ={"CODEX_ACTORS_HOME": str(tmp_path / "home"), "CODEX_HOME": str(empty)},
                       overrides=["model_provider=x", provider, "features.code_mode=false", "approval_policy=never",
                                  "sandbox_mode=workspace-write", *extra])


def offered(body) -> dict[str, dict]:
    return {tool["name"]: tool for tool in body["tools"] if "name" in tool}


def output_of(body, call_id: str) -> str:
    return next(i["output"] for i in body["input"] if i.get("type") == "function_call_output" and i["call_id"] == call_id)


async def run_turn(config, text="go"):
    async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
        await session.submit(ops.UserInputOp(items=[ops.TextInput(text)]))
        return await session.wait_for(events.TaskComplete)


async def test_without_unified_exec_the_model_gets_shell_command_and_its_text_output(tmp_path):
    # login=false: the machine's login profile may print its own noise under the sandbox.
    script = [response(function_call("shell_command", {"command": "echo hi; exit 3", "login": False}, "c1")),
              response(text_message("done"))]
    async with serve_scripted_model(script, websocket=False) as server:
        seen = await run_turn(config_for(tmp_path, server.url, "features.unified_exec=false"))
    tools = offered(server.requests[0].body)
    assert "shell_command" in tools and "exec_command" not in tools and "write_stdin" not in tools
    assert tools["shell_command"]["parameters"]["required"] == ["command"]
    text = output_of(server.requests[1].body, "c1")
    lines = text.splitlines()
    assert lines[0] == "Exit code: 3" and lines[1].startswith("Wall time: ") and lines[1].endswith(" seconds")
    assert lines[2:] == ["Output:", "hi"]
    ends = [e.msg for e in seen if isinstance(e.msg, events.ExecCommandEnd)]
    assert [(e.exit_code, e.command[1:]) for e in ends] == [(3, ["-c", "echo hi; exit 3"])]


async def test_unified_exec_stays_the_default_and_approval_parameters_are_described(tmp_path):
    async with serve_scripted_model([response(text_message("ok"))], websocket=False) as server:
        await run_turn(config_for(tmp_path, server.url))
    tools = offered(server.requests[0].body)
    assert "exec_command" in tools and "shell_command" not in tools
    properties = tools["exec_command"]["parameters"]["properties"]
    assert properties["sandbox_permissions"]["enum"] == ["use_default", "require_escalated"]
    for name in ("sandbox_permissions", "justification", "prefix_rule"):
        assert "require_escalated" in properties[name]["description"]
    assert "login" in properties


async def test_login_is_offered_only_when_login_shells_are_allowed(tmp_path):
    script = [response(function_call("shell_command", {"command": "shopt -q login_shell && echo login || echo plain",
                                                       "login": True}, "c1")),
              response(text_message("done"))]
    async with serve_scripted_model(script, websocket=False) as server:
        await run_turn(config_for(tmp_path, server.url, "features.unified_exec=false", "allow_login_shell=false"))
    tools = offered(server.requests[0].body)
    assert "login" not in tools["shell_command"]["parameters"]["properties"]
    assert output_of(server.requests[1].body, "c1").splitlines()[-1] == "plain"
    async with serve_scripted_model([response(text_message("ok"))], websocket=False) as server:
        await run_turn(config_for(tmp_path, server.url, "allow_login_shell=false"))
    assert "login" not in offered(server.requests[0].body)["exec_command"]["parameters"]["properties"]
    assert json.dumps(offered(server.requests[0].body)["exec_command"]).count("login") == 0


async def test_tool_output_token_limit_caps_what_a_command_returns(tmp_path):
    command = {"cmd": "seq 1 3000", "login": False, "max_output_tokens": 50000}
    script = [response(function_call("exec_command", command, "c1")), response(text_message("done"))]
    async with serve_scripted_model(script, websocket=False) as server:
        await run_turn(config_for(tmp_path, server.url, "tool_output_token_limit=40"))
    text = output_of(server.requests[1].body, "c1")
    assert "tokens truncated" in text and "\n1\n" in text and "3000" in text
    assert len(text) < 1000  # 3000 lines of output do not reach the model whole

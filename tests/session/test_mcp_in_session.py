"""MCP servers from config reach the model as `mcp__server__tool` tools in a real session."""

import json
import sys
from pathlib import Path

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import custom_tool_call, function_call, response, serve_scripted_model, text_message

from tests.session.test_rollout_resume import config_for

ECHO_SERVER = Path(__file__).parent.parent / "mcp" / "servers" / "echo_server.py"


def write_user_config(tmp_path, text):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(text)


async def test_model_calls_an_mcp_tool_and_a_broken_server_is_a_warning(tmp_path):
    write_user_config(tmp_path, f"""
[mcp_servers.echo]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(ECHO_SERVER))}, "stdio"]

[mcp_servers.broken]
command = {json.dumps(str(tmp_path / "no-such-server"))}
""")
    script = [response(function_call("mcp__echo__echo", {"message": "ping"}, "m1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            first = [await session.next_event(), await session.next_event()]
            assert isinstance(first[0].msg, events.SessionConfigured)
            assert isinstance(first[1].msg, events.Warning) and "broken" in first[1].msg.message
            startup = [e.msg for e in await session.wait_for(events.McpStartupComplete)]
            [error] = [e.status["error"] for e in startup if isinstance(e, events.McpStartupUpdate)
                       and e.server == "broken"]
            assert startup == [
                events.McpStartupUpdate(server="echo", status={"state": "ready"}),
                events.McpStartupUpdate(server="broken", status={"state": "failed", "error": error}),
                events.McpStartupComplete(ready=["echo"], failed=[{"server": "broken", "error": error}]),
            ]
            assert error in first[1].msg.message
            await session.submit(ops.UserTurn(items=[ops.TextInput("echo")], cwd=str(config.cwd),
                                              approval_policy="never", sandbox_policy={"type": "read-only"},
                                              model="m"))
            seen = await session.wait_for(events.TaskComplete)
    kinds = [type(e.msg).TYPE for e in seen]
    assert kinds.index("mcp_tool_call_begin") < kinds.index("mcp_tool_call_end")
    tools = [t.get("name") for t in server.requests[0].body["tools"]]
    assert "mcp__echo__echo" in tools
    [output] = [i for i in server.requests[1].body["input"] if i["type"] == "function_call_output"]
    assert "ping" in json.dumps(output["output"])


async def test_a_code_mode_cell_gets_the_full_call_tool_result(tmp_path):
    write_user_config(tmp_path, f"""
[mcp_servers.echo]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(ECHO_SERVER))}, "stdio"]
""")
    source = "\n".join([
        'const {content, structuredContent, isError} = await tools.mcp__echo__echo({message: "ping"});',
        'text(JSON.stringify({echo: structuredContent.echo, isError, blocks: content.length}));',
        'const bad = await tools.mcp__echo__echo({});',
        'text(JSON.stringify({isError: bad.isError, mentions: JSON.stringify(bad.content).includes("message")}));',
        'text(String(typeof tools.mcp__echo__echo));',
    ])
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(ops.UserTurn(items=[ops.TextInput("echo")], cwd=str(config.cwd),
                                              approval_policy="never", sandbox_policy={"type": "read-only"},
                                              model="m"))
            await session.wait_for(events.TaskComplete)
    [output] = [i for i in server.requests[1].body["input"] if i["type"] == "custom_tool_call_output"]
    lines = [part["text"] for part in output["output"]]
    assert lines[0].startswith("Script completed")
    first = json.loads(lines[1])
    assert first["echo"] == "ECHOING: ping" and first["isError"] is False
    assert json.loads(lines[2]) == {"isError": True, "mentions": True}
    assert lines[3] == "function"

"""MCP as Codex has it, against real servers (server-everything from npm, mcp-server-time from PyPI): the
resource tools and their shapes (direct and in code mode), approvals per annotations and `approval_mode`,
images on the chat wire."""

from __future__ import annotations

import json

from codex_actors.config import load_config
from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import custom_tool_call, function_call, response, serve_scripted_model, text_message
from tests.mcp.real_servers import everything_command, venv_command

DOC = "demo://resource/static/document/architecture.md"


def config_for(tmp_path, url, servers: str, *extra, wire_api="responses"):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(servers)
    codex = tmp_path / "codex"
    codex.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    provider = f'model_providers.x={{name="x",base_url="{url}",wire_api="{wire_api}",stream_max_retries=1}}'
    return load_config(cwd=work, environ={"CODEX_ACTORS_HOME": str(home), "CODEX_HOME": str(codex)},
                       overrides=["model_provider=x", provider, "sandbox_mode=workspace-write", *extra])


def everything(extra: str = "") -> str:
    return (f'[mcp_servers.everything]\ncommand = {json.dumps(everything_command())}\nargs = ["stdio"]\n'
            f"startup_timeout_sec = 60.0\n{extra}")


def time_server(extra: str = "") -> str:
    return f'[mcp_servers.time]\ncommand = {json.dumps(venv_command("mcp-server-time"))}\n{extra}'


def outputs(body) -> dict[str, object]:
    return {i["call_id"]: i["output"] for i in body["input"]
            if i.get("type") in ("function_call_output", "custom_tool_call_output")}


async def one_turn(config, *, answer: str | None = None):
    """Run one turn; answer every approval request with `answer`. Returns (events, approval requests)."""
    asked = []
    async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
        await session.submit(ops.UserInputOp(items=[ops.TextInput("go")]))
        seen = []
        while True:
            batch = await session.wait_for((events.ExecApprovalRequest, events.TaskComplete), timeout=90)
            seen += batch
            last = batch[-1].msg
            if isinstance(last, events.TaskComplete):
                return seen, asked
            asked.append(last)
            await session.submit(ops.ExecApproval(id=last.call_id, decision=answer))


async def test_resource_tools_list_templates_and_read_in_codex_shapes(tmp_path):
    script = [
        response(function_call("list_mcp_resources", {}, "r1"),
                 function_call("list_mcp_resource_templates", {"server": "everything"}, "r2"),
                 function_call("read_mcp_resource", {"server": "everything", "uri": DOC}, "r3"),
                 function_call("list_mcp_resources", {"cursor": "abc"}, "r4"),
                 function_call("read_mcp_resource", {"server": "nope", "uri": DOC}, "r5")),
        response(text_message("read it")),
    ]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, everything() + time_server(), "approval_policy=never")
        seen, _ = await one_turn(config)
    tools = [t.get("name") for t in server.requests[0].body["tools"]]
    assert {"list_mcp_resources", "list_mcp_resource_templates", "read_mcp_resource"} <= set(tools)
    out = outputs(server.requests[1].body)
    listed = json.loads(out["r1"])
    assert list(listed) == ["resources"]  # every server; time has none
    doc = next(r for r in listed["resources"] if r["uri"] == DOC)
    assert doc == {"server": "everything", "name": "architecture.md", "uri": DOC,
                   "description": doc["description"], "mimeType": "text/markdown"}
    templates = json.loads(out["r2"])
    assert templates["server"] == "everything"
    assert {"server": "everything", "name": "Dynamic Text Resource",
            "uriTemplate": "demo://resource/dynamic/text/{resourceId}",
            "description": templates["resourceTemplates"][0]["description"], "mimeType": "text/plain"} \
        in templates["resourceTemplates"]
    read = json.loads(out["r3"])
    assert (read["server"], read["uri"]) == ("everything", DOC)
    [content] = read["contents"]
    assert content["uri"] == DOC and content["mimeType"] == "text/markdown" and content["text"].strip()
    assert out["r4"] == "cursor can only be used when a server is specified"
    assert out["r5"] == "resources/read failed: unknown MCP server `nope` (known: everything, time)"
    ends = {e.msg.call_id: e.msg for e in seen if isinstance(e.msg, events.McpToolCallEnd)}
    assert ends["r1"].invocation == {"server": "codex", "tool": "list_mcp_resources", "arguments": None}
    assert ends["r3"].invocation["server"] == "everything" and "Ok" in ends["r3"].result
    assert ends["r5"].result == {"Err": out["r5"]}


async def test_a_code_mode_cell_reads_resources_through_tools(tmp_path):
    source = "\n".join([
        'const listed = JSON.parse(await tools.list_mcp_resources({server: "everything"}));',
        'text(String(listed.resources.some(r => r.uri.endsWith("architecture.md"))));',
        f'const read = JSON.parse(await tools.read_mcp_resource({{server: "everything", uri: "{DOC}"}}));',
        'text(read.contents[0].mimeType);',
    ])
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        await one_turn(config_for(tmp_path, server.url, everything(), "approval_policy=never"))
    lines = [part["text"] for part in outputs(server.requests[1].body)["x1"]]
    assert lines[1:] == ["true", "text/markdown"], lines


async def test_mcp_calls_are_asked_about_unless_read_only_and_approval_mode_decides(tmp_path):
    script = [
        response(function_call("mcp__everything__echo", {"message": "hi"}, "c1"),  # readOnlyHint: never asked
                 function_call("mcp__everything__gzip_file_as_resource",  # openWorldHint, not read-only: asked
                               {"name": "a.gz", "data": "data:text/plain;base64,aGk="}, "c2"),
                 function_call("mcp__time__get_current_time", {"timezone": "UTC"}, "c3")),  # approval_mode prompt
        response(text_message("ok")),
    ]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url,
                            everything() + time_server('[mcp_servers.time.tools.get_current_time]\n'
                                                       'approval_mode = "prompt"\n'),
                            "approval_policy=on-request")
        seen, asked = await one_turn(config, answer="denied")
    # The server's own tool names (the model sees them sanitized: mcp__everything__gzip_file_as_resource).
    assert sorted(a.command[1] for a in asked) == ["everything/gzip-file-as-resource", "time/get_current_time"]
    gzip = next(a for a in asked if a.command[1] == "everything/gzip-file-as-resource")
    assert gzip.command[0] == "mcp" and json.loads(gzip.command[2])["name"] == "a.gz"
    assert gzip.reason == 'Allow the everything MCP server to run tool "gzip-file-as-resource"?'
    out = outputs(server.requests[1].body)
    assert "ECHO" in json.dumps(out["c1"]).upper()
    assert out["c2"] == out["c3"] == "err: user rejected MCP tool call"
    ends = {e.msg.call_id: e.msg for e in seen if isinstance(e.msg, events.McpToolCallEnd)}
    assert ends["c2"].result == {"Err": "user rejected MCP tool call"}


async def test_approve_mode_and_never_policy_run_without_asking(tmp_path):
    script = [response(function_call("mcp__everything__gzip_file_as_resource",
                                     {"name": "b.gz", "data": "data:text/plain;base64,aGk="}, "c1")),
              response(text_message("ok"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, everything('default_tools_approval_mode = "approve"\n'),
                            "approval_policy=untrusted")
        _, asked = await one_turn(config)
    assert asked == []
    assert "b.gz" in json.dumps(outputs(server.requests[1].body)["c1"])


async def test_an_mcp_image_reaches_the_model_on_the_chat_wire(tmp_path):
    script = [response(function_call("mcp__everything__get_tiny_image", {}, "i1")), response(text_message("seen"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, everything(), "approval_policy=never", wire_api="chat")
        await one_turn(config)
    messages = server.requests[1].body["messages"]
    tool_index = next(i for i, m in enumerate(messages) if m["role"] == "tool" and m["tool_call_id"] == "i1")
    follow = messages[tool_index + 1]
    assert follow["role"] == "user"
    assert follow["content"][0] == {"type": "text", "text": "Image output of tool call i1:"}
    image = follow["content"][1]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")


async def test_resources_and_tools_over_streamable_http(tmp_path):
    import socket
    import subprocess

    import trio

    with socket.socket() as probe:  # a free port for the server to listen on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = everything_command()
    proc = await trio.lowlevel.open_process([binary, "streamableHttp"], env={**__import__("os").environ,
                                                                              "PORT": str(port)},
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with trio.fail_after(60):
            seen = b""
            while b"listening on port" not in seen:
                chunk = await proc.stderr.receive_some(4096)
                assert chunk, f"server-everything exited: {seen.decode(errors='replace')}"
                seen += chunk
        script = [response(function_call("list_mcp_resources", {"server": "web"}, "r1"),
                           function_call("mcp__web__echo", {"message": "over http"}, "c1")),
                  response(text_message("ok"))]
        async with serve_scripted_model(script) as server:
            config = config_for(tmp_path, server.url,
                                f'[mcp_servers.web]\nurl = "http://127.0.0.1:{port}/mcp"\nstartup_timeout_sec = 30.0\n',
                                "approval_policy=on-request")
            _, asked = await one_turn(config)
    finally:
        proc.terminate()
        with trio.move_on_after(10):
            await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await proc.stderr.aclose()
    assert asked == []  # echo is read-only
    out = outputs(server.requests[1].body)
    listed = json.loads(out["r1"])
    assert listed["server"] == "web" and any(r["uri"] == DOC for r in listed["resources"])
    assert "over http" in json.dumps(out["c1"])


async def test_fetch_server_reads_a_local_page_and_prompt_mode_asks_every_time(tmp_path):
    """mcp-server-fetch (PyPI) against the stdlib http.server: its `fetch` tool is read-only, so only
    `approval_mode = "prompt"` makes it ask, and then on every call (no session-wide approval, as in Codex)."""
    import socket
    import subprocess
    import sys

    import trio

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body><h1>Hello from http.server</h1></body></html>")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = await trio.lowlevel.open_process([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                            "--directory", str(site)], stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/index.html"
    try:
        with trio.fail_after(30):
            await web.stdout.receive_some(100)  # "Serving HTTP on ..."
        script = [response(function_call("mcp__fetch__fetch", {"url": url}, "f1"),
                           function_call("mcp__fetch__fetch", {"url": url, "raw": True}, "f2")),
                  response(text_message("ok"))]
        async with serve_scripted_model(script) as server:
            fetch = (f'[mcp_servers.fetch]\ncommand = {json.dumps(venv_command("mcp-server-fetch"))}\n'
                     'args = ["--ignore-robots-txt", "--allow-private-ips"]\nstartup_timeout_sec = 60.0\n'
                     '[mcp_servers.fetch.tools.fetch]\napproval_mode = "prompt"\n')
            _, asked = await one_turn(config_for(tmp_path, server.url, fetch, "approval_policy=untrusted"),
                                      answer="approved_for_session")
    finally:
        web.terminate()
        await web.wait()
        await web.stdout.aclose()
    assert [a.command[1] for a in asked] == ["fetch/fetch", "fetch/fetch"]
    out = outputs(server.requests[1].body)
    assert "Hello from http.server" in json.dumps(out["f1"])
    assert "<h1>Hello from http.server</h1>" in json.dumps(out["f2"])

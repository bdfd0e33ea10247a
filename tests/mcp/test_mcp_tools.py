"""MCP servers as tools, end to end: real SDK-written servers over stdio and streamable HTTP, called through
the router handlers the session uses (spec agent-core 4.8, code-mode 7 items 39 to 41)."""

import json
import os

import pytest
import trio

from codex_actors.actors import ActorCrashed, start_actor
from codex_actors.mcp import McpManager, McpStartupError
from codex_actors.protocol.events import McpToolCallBegin, McpToolCallEnd
from codex_actors.protocol.items import InputImage, InputText
from codex_actors.tools.mcp import code_mode_call
from codex_actors.tools.router import ToolCall, ToolError, ToolRouter

from tests.mcp.mcp_helpers import Events, http_echo_server, running_manager, stdio_server


def call(name, arguments, call_id="call-1"):
    payload = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call_id=call_id, name=name, kind="function", payload=payload)


def process_exited(pid):
    """True once `pid` has exited, reaped or not (a zombie counts)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def process_gone(pid):
    """True once `pid` has exited and been reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_echo_over_stdio_and_http_reaches_the_model_with_begin_and_end_events():
    async with http_echo_server() as url:
        servers = {"echo": stdio_server(), "web": {"url": url, "http_headers": {"X-Team": "core"}}}
        async with running_manager(servers) as (listing, handlers):
            assert listing.ready == ("echo", "web") and listing.warnings == ()
            assert "mcp__echo__echo" in handlers and "mcp__web__echo" in handlers
            assert "mcp__echo__echo_tool" in handlers  # raw name "echo-tool"
            router = ToolRouter(list(handlers.values()))
            spec = handlers["mcp__echo__echo"].spec()
            assert spec["type"] == "function" and spec["strict"] is False
            assert spec["description"] == "Echo the message back."
            assert spec["parameters"]["required"] == ["message"]
            structured = handlers["mcp__echo__echo"].output_schema["properties"]["structuredContent"]
            assert structured["required"] == ["echo", "env"]

            for name in ("mcp__echo__echo", "mcp__web__echo"):
                recorder = Events()
                result = await router.run(call(name, {"message": "ping"}), recorder.ctx)
                assert result.success
                assert json.loads(result.output) == {"echo": "ECHOING: ping", "env": None}
                begin, end = recorder.events
                server = name.split("__")[1]
                invocation = {"server": server, "tool": "echo", "arguments": {"message": "ping"}}
                assert begin == McpToolCallBegin(call_id="call-1", invocation=invocation)
                assert isinstance(end, McpToolCallEnd) and end.invocation == invocation
                assert set(end.duration) == {"secs", "nanos"}
                assert end.result["Ok"]["structuredContent"] == {"echo": "ECHOING: ping", "env": None}

            dashed = await router.run(call("mcp__echo__echo_tool", {"message": "x"}), Events().ctx)
            assert json.loads(dashed.output) == {"result": "dash: x"}
            header = await router.run(call("mcp__web__header", {"name": "x-team"}), Events().ctx)
            assert json.loads(header.output) == {"result": "core"}
            pid = json.loads((await router.run(call("mcp__echo__pid", ""), Events().ctx)).output)["result"]
        assert process_gone(pid), "stopping the manager must stop and reap the stdio server"


async def test_code_mode_gets_the_whole_call_tool_result_and_mcp_errors_resolve():
    async with running_manager({"echo": stdio_server()}) as (_, handlers):
        handler = handlers["mcp__echo__echo"]
        ok = await code_mode_call(handler, call("mcp__echo__echo", {"message": "ping"}), Events().ctx)
        assert ok["structuredContent"]["echo"] == "ECHOING: ping"
        assert ok["isError"] is False and ok["content"] == []
        assert set(ok) == {"content", "structuredContent", "isError", "_meta"}

        recorder = Events()
        missing = await code_mode_call(handler, call("mcp__echo__echo", {}), recorder.ctx)
        assert missing["isError"] is True and missing["structuredContent"] is None
        assert len(missing["content"]) == 1 and "message" in missing["content"][0]["text"]
        assert recorder.events[-1].result["Ok"]["isError"] is True

        direct = await ToolRouter([handler]).run(call("mcp__echo__echo", {}), Events().ctx)
        assert direct.success is False
        assert "Field required" in json.loads(direct.output)[0]["text"]

        try:
            await code_mode_call(handler, call("mcp__echo__echo", "[1]"), Events().ctx)
        except ToolError as exc:
            assert str(exc) == "err: arguments must be a JSON object, got list"
        else:
            raise AssertionError("non-object arguments must reject")


async def test_invalid_json_arguments_answer_err_without_calling_the_server():
    async with running_manager({"echo": stdio_server()}) as (_, handlers):
        recorder = Events()
        result = await handlers["mcp__echo__echo"].handle(call("mcp__echo__echo", "{nope"), recorder.ctx)
        assert result.success is False
        assert result.output.startswith("err: Expecting property name enclosed in double quotes")
        assert recorder.events == []


async def test_an_image_result_reaches_the_model_as_input_image():
    async with running_manager({"echo": stdio_server()}) as (_, handlers):
        result = await handlers["mcp__echo__image"].handle(call("mcp__echo__image", ""), Events().ctx)
        assert result.success
        text, image = result.output
        assert text == InputText(text="a pixel")
        assert isinstance(image, InputImage) and image.image_url.startswith("data:image/png;base64,iVBORw0KGgo")


async def test_a_hanging_tool_times_out_with_a_clear_message_and_the_server_stays_usable():
    async with running_manager({"slow": stdio_server(tool_timeout_sec=1)}) as (_, handlers):
        recorder = Events()
        with trio.fail_after(20):
            result = await handlers["mcp__slow__hang"].handle(call("mcp__slow__hang", ""), recorder.ctx)
        message = "tool call to `slow/hang` timed out after 1 seconds (tool_timeout_sec)"
        assert result.success is False and result.output == f"err: {message}"
        assert recorder.events[-1].result == {"Err": message}
        again = await handlers["mcp__slow__echo"].handle(call("mcp__slow__echo", {"message": "hi"}), Events().ctx)
        assert json.loads(again.output)["echo"] == "ECHOING: hi"


async def test_a_call_cancelled_by_its_caller_leaves_the_server_usable():
    async with running_manager({"slow": stdio_server()}) as (_, handlers):
        with trio.move_on_after(1) as scope:
            await handlers["mcp__slow__hang"].handle(call("mcp__slow__hang", ""), Events().ctx)
        assert scope.cancelled_caught
        again = await handlers["mcp__slow__echo"].handle(call("mcp__slow__echo", {"message": "hi"}), Events().ctx)
        assert json.loads(again.output)["echo"] == "ECHOING: hi"


async def test_a_crashing_server_is_restarted_once_then_reported():
    async with running_manager({"crashy": stdio_server(max_restarts=1)}) as (_, handlers):
        async def run(tool, arguments=""):
            return await handlers[f"mcp__crashy__{tool}"].handle(call(f"mcp__crashy__{tool}", arguments), Events().ctx)

        first_pid = json.loads((await run("pid")).output)["result"]
        crashed = await run("crash")
        assert crashed.success is False
        assert crashed.output.startswith("err: MCP server `crashy` went away during the call to `crash`")
        assert crashed.output.endswith("it will be restarted on the next call")

        restarted = await run("echo", {"message": "back"})
        assert json.loads(restarted.output)["echo"] == "ECHOING: back"
        second_pid = json.loads((await run("pid")).output)["result"]
        assert second_pid != first_pid and process_gone(first_pid)

        crashed_again = await run("crash")
        assert crashed_again.output.endswith("it will not be restarted (max_restarts = 1 used up)")
        refused = await run("echo", {"message": "again"})
        assert refused.success is False
        assert refused.output == (
            "err: MCP server `crashy` is not running (it exited or lost its connection) and was restarted "
            "1 of max_restarts = 1 times; not restarting it again"
        )


async def test_startup_failures_become_warnings_and_the_other_servers_still_work(tmp_path):
    pidfile = tmp_path / "slow.pid"
    sleeper = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    servers = {
        "echo": stdio_server(),
        "exits": {"command": "python3", "args": ["-c", "import sys; sys.stderr.write('no config found'); sys.exit(3)"]},
        "missing": {"command": "/nonexistent/mcp-server"},
        "slow": {"command": "python3", "args": ["-c", sleeper], "startup_timeout_sec": 1},
        "both": {"command": "x", "url": "http://127.0.0.1:1/mcp"},
        "off": {"command": "/nonexistent/never-started", "enabled": False},
    }
    with trio.fail_after(40):
        async with running_manager(servers) as (listing, handlers):
            assert listing.ready == ("echo",)
            failed = dict(listing.failed)
            assert set(failed) == {"both", "exits", "missing", "slow"}
            assert "no config found" in failed["exits"]
            assert "/nonexistent/mcp-server" in failed["missing"]
            assert failed["slow"].startswith("timed out after 1 seconds")
            assert process_gone(int(pidfile.read_text())), "a server that timed out must be stopped"
            assert failed["both"] == "mcp_servers.both: set either command (stdio) or url (streamable HTTP), not both"
            assert listing.warnings[0] == f"MCP client for `both` failed to start: {failed['both']}"
            assert len(listing.warnings) == 4
            assert all(name.startswith("mcp__echo__") for name in handlers)
            ok = await handlers["mcp__echo__echo"].handle(call("mcp__echo__echo", {"message": "x"}), Events().ctx)
            assert ok.success


async def test_environment_cwd_and_tool_filters_follow_the_config(tmp_path):
    os.environ["MCP_TEST_FORWARDED"] = "forwarded-value"
    try:
        table = stdio_server(
            env={"MCP_TEST_SET": "set-value"},
            env_vars=["MCP_TEST_FORWARDED"],
            cwd=str(tmp_path),
            enabled_tools=["echo", "cwd", "crash"],
            disabled_tools=["crash"],
        )
        async with running_manager({"cfg": table}) as (_, handlers):
            assert sorted(handlers) == ["mcp__cfg__cwd", "mcp__cfg__echo"]

            async def echo_env(var):
                result = await handlers["mcp__cfg__echo"].handle(
                    call("mcp__cfg__echo", {"message": "m", "env_var": var}), Events().ctx
                )
                return json.loads(result.output)["env"]

            assert await echo_env("MCP_TEST_SET") == "set-value"
            assert await echo_env("MCP_TEST_FORWARDED") == "forwarded-value"
            cwd = await handlers["mcp__cfg__cwd"].handle(call("mcp__cfg__cwd", ""), Events().ctx)
            assert json.loads(cwd.output)["result"] == str(tmp_path)
    finally:
        del os.environ["MCP_TEST_FORWARDED"]


async def test_http_bearer_token_and_env_headers_are_sent():
    environ = {"MCP_TOKEN": "s3cret", "MCP_KEY": "key-1"}
    async with http_echo_server() as url:
        table = {"url": url, "bearer_token_env_var": "MCP_TOKEN", "env_http_headers": {"X-Key": "MCP_KEY"}}
        async with running_manager({"web": table}, environ=environ) as (_, handlers):
            async def header(name):
                result = await handlers["mcp__web__header"].handle(call("mcp__web__header", {"name": name}), Events().ctx)
                return json.loads(result.output)["result"]

            assert await header("authorization") == "Bearer s3cret"
            assert await header("x-key") == "key-1"
        async with running_manager({"web": table}, environ={}) as (listing, handlers):
            assert handlers == {}
            assert listing.warnings == (
                "MCP client for `web` failed to start: mcp_servers.web: environment variable MCP_TOKEN "
                "(bearer_token_env_var) is not set",
            )


async def test_a_server_that_exited_while_idle_is_restarted_by_the_next_call():
    async with running_manager({"idle": stdio_server()}) as (_, handlers):
        async def run(tool, arguments=""):
            return await handlers[f"mcp__idle__{tool}"].handle(call(f"mcp__idle__{tool}", arguments), Events().ctx)

        first_pid = json.loads((await run("pid")).output)["result"]
        assert json.loads((await run("exit_soon")).output) == {"result": "exiting"}
        with trio.fail_after(10):
            while not process_exited(first_pid):
                await trio.sleep(0.05)
        result = await run("echo", {"message": "still here"})
        if not result.success:
            # The call can race the connection noticing the exit; then it fails once, saying what comes next.
            assert result.output.endswith("; it will be restarted on the next call"), result.output
            result = await run("echo", {"message": "still here"})
        assert result.success and json.loads(result.output)["echo"] == "ECHOING: still here"
        assert process_gone(first_pid), "the restart must reap the exited server"


async def test_cancelling_the_manager_start_stops_servers_that_are_still_starting(tmp_path):
    pidfile = tmp_path / "starting.pid"
    sleeper = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    servers = {"starting": {"command": "python3", "args": ["-c", sleeper]}}
    cancel = trio.CancelScope()
    async with trio.open_nursery() as nursery:

        async def start():
            with cancel:
                await start_actor(nursery, McpManager(servers))
            assert cancel.cancelled_caught

        nursery.start_soon(start)
        with trio.fail_after(20):
            while not pidfile.exists() or not pidfile.read_text():
                await trio.sleep(0.05)
        cancel.cancel()
    assert process_gone(int(pidfile.read_text()))


async def test_a_required_server_that_fails_to_start_fails_the_manager():
    servers = {"must": {"command": "/nonexistent/mcp-server", "required": True}}
    async with trio.open_nursery() as nursery:
        with pytest.raises(ActorCrashed) as info:
            await start_actor(nursery, McpManager(servers))
    assert isinstance(info.value.cause, McpStartupError)
    assert str(info.value.cause).startswith("required MCP server `must` failed to start: ")

"""The exec/wait tool adapters: specs, wire shapes, argument errors (spec code-mode.md 1.1, 1.2, 1.4)."""

import json
import re

import pytest
import trio

from codex_actors.codemode import NestedToolSpec, open_code_mode_service
from codex_actors.tools.code_mode import (
    EXEC_GRAMMAR,
    exec_tool_spec,
    handle_exec,
    handle_wait,
    parse_wait_arguments,
    succeeded,
    wait_tool_spec,
)


async def no_tools(call):
    raise AssertionError(f"unexpected nested call {call}")


def test_exec_is_a_freeform_tool_with_a_lark_grammar():
    spec = exec_tool_spec([NestedToolSpec("view_image", "View.")], code_mode_only=True)
    assert (spec["type"], spec["name"]) == ("custom", "exec")
    assert spec["format"] == {"type": "grammar", "syntax": "lark", "definition": EXEC_GRAMMAR}
    assert "### `view_image`" in spec["description"]
    pragma_line = re.search(r"PRAGMA_LINE: /(.*)/\n", EXEC_GRAMMAR).group(1).replace("\\/", "/")
    assert re.fullmatch(pragma_line, '  // @exec: {"yield_time_ms": 5}')
    assert not re.fullmatch(pragma_line, "text(1)")


def test_wait_is_a_non_strict_function_tool():
    spec = wait_tool_spec()
    assert (spec["type"], spec["name"], spec["strict"]) == ("function", "wait", False)
    assert spec["parameters"]["required"] == ["cell_id"]
    assert spec["parameters"]["additionalProperties"] is False
    assert set(spec["parameters"]["properties"]) == {"cell_id", "yield_time_ms", "max_tokens", "terminate"}
    assert spec["description"].startswith("Waits on a yielded `exec` cell and returns new output or completion.")


def test_wait_arguments_defaults_and_errors():
    assert parse_wait_arguments('{"cell_id": "3"}') == {
        "cell_id": "3", "terminate": False, "yield_time_ms": 10000, "max_tokens": 10000}
    for bad, message in [
        ("[1]", "failed to parse function arguments: invalid type: expected struct WaitArgs"),
        ('{"cell_id": "1", "extra": 1}', "failed to parse function arguments: unknown field `extra`, expected one of "
                                         "`cell_id`, `yield_time_ms`, `max_tokens`, `terminate`"),
        ('{"cell_id": 1}', "failed to parse function arguments: invalid type for `cell_id`, expected a string"),
        ('{"cell_id": "1", "terminate": "yes"}',
         "failed to parse function arguments: invalid type for `terminate`, expected a boolean"),
    ]:
        with pytest.raises(ValueError) as info:
            parse_wait_arguments(bad)
        assert str(info.value) == message


async def test_exec_and_wait_wire_shapes_and_success_flags():
    async with open_code_mode_service(no_tools) as service:
        done = await handle_exec(service, "call-1", 'text("hi")')
        assert done["type"] == "custom_tool_call_output" and done["call_id"] == "call-1"
        assert re.fullmatch(r"Script completed\nWall time \d+\.\d seconds\nOutput:\n", done["output"][0]["text"])
        running = await handle_exec(service, "call-2", '// @exec: {"yield_time_ms": 0}\nawait new Promise(() => {})')
        header = running["output"][0]["text"]
        assert header.startswith("Script running with cell ID ") and succeeded(running)
        cell_id = header.split("\n")[0].rsplit(" ", 1)[1]
        stopped = await handle_wait(service, "call-3", json.dumps({"cell_id": cell_id, "terminate": True}))
        assert stopped["type"] == "function_call_output" and stopped["call_id"] == "call-3"
        assert stopped["output"][0]["text"].startswith("Script terminated\n") and succeeded(stopped)
        bad = await handle_exec(service, "call-4", '// @exec: {"foo": 1}\nx')
        assert bad["output"] == "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `foo`"
        assert not succeeded(bad)


async def test_notify_reaches_the_host_with_the_exec_call_id():
    seen = []

    async def notifier(cell_id, call_id, text):
        seen.append((call_id, text))

    async with open_code_mode_service(no_tools, notifier=notifier) as service:
        reply = await handle_exec(service, "call-7", 'notify("code_mode_notify_marker"); text("done")')
    assert reply["output"][1] == {"type": "input_text", "text": "done"}
    assert seen == [("call-7", "code_mode_notify_marker")]


async def test_exec_after_shutdown_reports_shutting_down():
    async with open_code_mode_service(no_tools) as service:
        pass
    reply = await handle_exec(service, "c", "text(1)")
    assert reply["output"] == "code mode session is shutting down"


async def test_wall_time_covers_the_whole_call():
    async with open_code_mode_service(no_tools) as service:
        reply = await handle_exec(service, "c", "await new Promise(r => setTimeout(r, 300)); text('x')")
    seconds = float(re.search(r"Wall time (\d+\.\d) seconds", reply["output"][0]["text"]).group(1))
    assert seconds >= 0.3


async def test_exec_and_wait_refuse_the_wrong_payload_kind():
    from codex_actors.tools.code_mode_host import ExecTool, WaitTool
    from codex_actors.tools.router import ToolCall, ToolError

    async with open_code_mode_service(no_tools, pool_size=0) as service:
        wait_tool = WaitTool(lambda: service)
        with pytest.raises(ToolError, match="^wait expects JSON arguments$"):
            await wait_tool.handle(ToolCall("w1", "wait", "custom", '{"cell_id": "1"}'), None)
        exec_tool = ExecTool(lambda: service, lambda: [])
        with pytest.raises(ToolError, match="^exec expects raw JavaScript source text$"):
            await exec_tool.handle(ToolCall("e1", "exec", "function", '{"code": "text(1)"}'), None)

"""Code mode inside a real session: nested tools, notify, cells across turns, code_mode_only, interrupts."""

import json

import trio

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import custom_tool_call, function_call, response, serve_scripted_model, text_message
from codex_actors.testing.os_threads import thread_alive

from tests.session.test_rollout_resume import config_for


def turn(text, cwd):
    """Input under the session's own settings (a `user_turn` op would replace them with its context)."""
    return ops.UserInputOp(items=[ops.TextInput(text)])


def exec_outputs(request):
    return [i for i in request.body["input"] if i["type"] == "custom_tool_call_output"]


def texts(output_item):
    return [part["text"] for part in output_item["output"] if part["type"] == "input_text"]


async def run_turns(tmp_path, script, prompts, *overrides):
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", *overrides)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            for prompt in prompts:
                await session.submit(turn(prompt, config.cwd))
                await session.wait_for(events.TaskComplete)
    return server, config


async def test_nested_builtin_tools_resolve_to_their_code_mode_values(tmp_path):
    source = "\n".join([
        'const r = await tools.exec_command({cmd: "printf code_mode_exec_marker", login: false});',
        'text(JSON.stringify({output: r.output, exit_code: r.exit_code, has_chunk: r.chunk_id.length > 0,',
        '                     has_session: "session_id" in r}));',
        'text(JSON.stringify(await tools.update_plan({plan: [{step: "x", status: "in_progress"}]})));',
        'text(JSON.stringify(await tools.apply_patch("*** Begin Patch\\n*** Add File: f.txt\\n+hello from code_mode\\n*** End Patch\\n")));',
        'try { await tools.exec_command({}); text("no-exception"); } catch (e) { text(`caught:${e?.message ?? String(e)}`); }',
    ])
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("done"))]
    server, config = await run_turns(tmp_path, script, ["go"])
    [output] = exec_outputs(server.requests[1])
    lines = texts(output)
    assert lines[0].startswith("Script completed\nWall time ")
    assert json.loads(lines[1]) == {"output": "code_mode_exec_marker", "exit_code": 0, "has_chunk": True,
                                    "has_session": False}
    assert lines[2] == "{}" and lines[3] == "{}"
    assert lines[4].startswith("caught:") and "no-exception" not in json.dumps(lines)
    assert (config.cwd / "f.txt").read_text() == "hello from code_mode\n"


async def test_notify_reaches_the_next_model_request(tmp_path):
    source = 'notify("code_mode_notify_marker"); await tools.update_plan({plan: []}); text("done");'
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("ok"))]
    server, _ = await run_turns(tmp_path, script, ["go"])
    outputs = exec_outputs(server.requests[1])
    notes = [o for o in outputs if o.get("name") == "exec"]
    assert len(notes) == 1 and notes[0]["call_id"] == "x1"
    assert "code_mode_notify_marker" in json.dumps(notes[0]["output"])


# Waits (bounded, in the shell) until the background cell has written the file.
WAIT_FOR_RESUMED = "timeout 10 sh -c 'until [ -s resumed.txt ]; do sleep 0.02; done'; cat resumed.txt"


async def test_a_yielded_cell_keeps_running_into_the_next_turn(tmp_path):
    source = ('text("before yield"); yield_control(); '
              'await tools.exec_command({cmd: "sleep 0.3; printf resumed > resumed.txt", login: false}); '
              'text("after yield");')
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("yielded")),
              response(function_call("exec_command", {"cmd": WAIT_FOR_RESUMED, "login": False}, "c2")),
              response(text_message("saw it"))]
    server, config = await run_turns(tmp_path, script, ["start", "check"])
    [first] = exec_outputs(server.requests[1])
    assert texts(first)[0].startswith("Script running with cell ID ")
    assert texts(first)[1] == "before yield"
    [check] = [i for i in server.requests[3].body["input"] if i.get("call_id") == "c2" and "output" in i]
    assert check["output"].endswith("Output:\nresumed")


async def test_code_mode_only_offers_exec_and_wait_and_nested_tools_still_work(tmp_path):
    source = 'const r = await tools.exec_command({cmd: "printf nested-ok", login: false}); text(r.output);'
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("ok"))]
    server, _ = await run_turns(tmp_path, script, ["go"], "features.code_mode_only=true")
    # beside them only the provider's own web search (default "cached"), which no cell could call anyway
    assert [t.get("name", t["type"]) for t in server.requests[0].body["tools"]] == ["exec", "wait", "web_search"]
    description = server.requests[0].body["tools"][0]["description"]
    assert "exec_command" in description
    [output] = exec_outputs(server.requests[1])
    assert texts(output)[1] == "nested-ok"


async def test_interrupting_a_busy_cell_stops_its_v8_thread(tmp_path):
    source = '// @exec: {"yield_time_ms": 30000}\nawait tools.update_plan({plan: []});\nwhile (true) {}'
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("after"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            service = session._session.services.code_mode
            await session.submit(turn("spin", config.cwd))
            await session.wait_for(events.PlanUpdate, timeout=10)  # the cell is past its tool call, spinning
            [cell_id] = service.live_cell_ids
            thread = service._cells[cell_id].runtime.native_thread_id
            assert thread_alive(thread)
            await session.submit(ops.Interrupt())
            seen = await session.wait_for(events.TurnAborted, timeout=10)
            assert seen[-1].msg.reason == "interrupted"
            # the cell's V8 isolate thread is gone by the time turn_aborted arrives
            assert not thread_alive(thread)
            await session.submit(turn("again", config.cwd))
            await session.wait_for(events.TaskComplete)
        [output] = exec_outputs(server.requests[1])
        assert output["output"].startswith("aborted by user after ")

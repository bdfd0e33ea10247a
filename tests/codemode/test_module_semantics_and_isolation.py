"""Issue 18 items 3-5: host internals out of the model's reach, no leak on a failed start, module semantics."""

import pytest
import trio

from codex_actors.codemode import CodeModeError, NestedToolSpec, open_code_mode_service, v8bridge
from codex_actors.codemode import service as service_module
from codex_actors.codemode.compile_errors import import_specifier
from codex_actors.codemode.runtime import MALFORMED_MESSAGE, V8Runtime
from codex_actors.tools.code_mode import handle_exec

from tests.codemode.helpers import Tools


@pytest.fixture
async def env():
    tools = Tools()
    async with open_code_mode_service(tools, pool_size=1) as service:
        yield service, tools


async def run(service, code):
    reply = await handle_exec(service, "call-1", code, tools=Tools.specs)
    return [item.get("text") for item in reply["output"][1:]]


# ---- item 3: nothing the script can touch reaches host state ------------------------------------------------

async def test_no_host_object_is_reachable_from_the_script(env):
    service, _ = env
    probe = ('text(String(globalThis[Symbol.for("codex.host")]));'
             'text(String(Object.getOwnPropertySymbols(globalThis).length));'
             'text(Object.getOwnPropertyNames(globalThis).filter(n => /host|codex|post|pull|receive/i.test(n)).join())')
    assert await run(service, probe) == ["undefined", "0", ""]


async def test_the_old_configure_attack_fails_only_that_cell(env):
    service, _ = env
    attack = ('const host = globalThis[Symbol.for("codex.host")];'
              'host.configure(JSON.stringify({tools: [{name: "evil", description: ""}], store: {}}));'
              'await tools.evil({});')
    out = await run(service, attack)
    assert out[-1].startswith("Script error:\nTypeError: Cannot read properties of undefined (reading 'configure')")
    assert await run(service, 'text("still alive")') == ["still alive"]


async def test_overriding_builtins_cannot_forge_host_messages(env):
    service, tools = env
    forge = ('String.prototype.charCodeAt = () => 0x7b; JSON.stringify = () => "{\\"t\\":\\"tool\\",\\"tool\\":99}";'
             'Array.prototype.push = () => 0; Map.prototype.get = () => undefined; Promise.prototype.then = null;'
             'text("ok"); text(await tools.sleep({ms: 0}))')
    assert await run(service, forge) == ["ok", "ok"]
    assert [call.tool_name for call in tools.calls] == ["sleep"]


async def test_a_warm_runtimes_first_exec_sees_no_trace_of_its_warm_up_job(env):
    # A pooled runtime ran host code at creation (text, load) so the exec path is compiled; the job's realm
    # must still be never-used: no output, store, timer or tool call of the warm-up shows.
    service, tools = env
    await service.wait_warm()
    code = ('text(String(load("k"))); text(String(setTimeout(() => {}, 0)));'
            'text(await tools.sleep({ms: 0})); store("a", 1)')
    reply = await handle_exec(service, "call-1", code, tools=Tools.specs)
    assert [item.get("text") for item in reply["output"][1:]] == ["undefined", "1", "ok"]
    assert [call.runtime_tool_call_id for call in tools.calls] == ["tool-1"]
    assert service.stored_value("a") == 1 and service.stored_value("k") is None


async def test_malformed_messages_fail_the_cell():
    v8bridge.load_v8()
    runtime = await trio.to_thread.run_sync(lambda: V8Runtime.create(max_heap_bytes=32 << 20))
    try:
        runtime._tool_count = 1
        for bad in ({"t": "tool", "id": "tool-1", "tool": 5, "input": None},
                    {"t": "tool", "id": "x", "tool": 0, "input": None},
                    {"t": "tool", "id": "tool-2", "tool": 0, "input": "{not json"},
                    {"t": "item", "item": {"type": "video"}},
                    {"t": "done", "error": 3, "writes": {}},
                    {"t": "nope"}):
            with pytest.raises((ValueError, KeyError, TypeError)):
                runtime._parse(bad)
        runtime._parse({"t": "tool", "id": "tool-3", "tool": 0, "input": None})
        with pytest.raises(ValueError):  # a call id is used once
            runtime._parse({"t": "tool", "id": "tool-3", "tool": 0, "input": None})
    finally:
        await trio.to_thread.run_sync(runtime.close_sync)
    assert MALFORMED_MESSAGE == "exec runtime sent a malformed message"


# ---- item 4: every failure path of a start closes what it took ----------------------------------------------

async def test_a_bad_tool_schema_fails_the_exec_and_leaks_nothing(env):
    service, _ = env
    base = v8bridge.context_count()
    bad = [NestedToolSpec("mcp__srv__bad", "Bad schema.", input_schema={"type": "object", "required": 5})]
    with pytest.raises(CodeModeError, match="^failed to initialize code mode runtime: "):
        await service.create_cell('text("x")', tools=bad)
    reply = await handle_exec(service, "call-2", 'text("x")', tools=bad)
    assert reply["output"].startswith("failed to initialize code mode runtime: ")
    assert v8bridge.context_count() == base
    assert (await service.execute('text("after")')).items[0].text == "after"


async def test_a_cell_that_cannot_be_built_closes_its_runtime(env, monkeypatch):
    service, _ = env

    def broken(*args, **kwargs):
        raise RuntimeError("cell construction failed")

    with trio.fail_after(10):
        await service._pool.filled()
    base = v8bridge.context_count()
    monkeypatch.setattr(service_module, "Cell", broken)
    with pytest.raises(RuntimeError, match="cell construction failed"):
        await service.create_cell('text("x")')
    assert v8bridge.context_count() == base - 1  # the warm runtime it took is gone, none leaked


# ---- item 5: module semantics --------------------------------------------------------------------------------

async def test_cell_code_is_strict(env):
    service, _ = env
    code = ('text(String(this === undefined));'
            'await new Promise(r => setTimeout(function () { text(String(this === undefined)); r(); }, 0));'
            'try { undeclared = 1; text("sloppy"); } catch (e) { text(e.name); }')
    assert await run(service, code) == ["true", "true", "ReferenceError"]


async def test_import_text_in_strings_and_templates_is_not_an_import(env):
    service, _ = env
    code = 'const a = `import x from "y"`;\nconst b = \'import z from "w"\';\n// import q from "r"\ntext(a + "|" + b)'
    assert await run(service, code) == ['import x from "y"|import z from "w"']


@pytest.mark.parametrize("code, specifier", [
    ('import x from "tools.js";\ntext("no")', "tools.js"),
    ('text("a");\n  import { a as b, "c-d" as e } from \'@openai/code_mode\';', "@openai/code_mode"),
    ('import "side-effect";', "side-effect"),
    ('import * as ns /* from "no" */ from "real";', "real"),
])
async def test_static_imports_are_refused_by_specifier(env, code, specifier):
    service, _ = env
    assert await run(service, code) == [f"Script error:\nUnsupported import in exec: {specifier}"]


def test_import_specifier_parses_the_declaration():
    assert import_specifier('x; import {from as f} from "m" with {type: "json"}', 3) == "m"
    assert import_specifier("import def, * as all from 'q'", 0) == "q"


async def test_error_stacks_show_the_users_lines_and_no_wrapper_frames(env):
    service, _ = env
    out = await run(service, 'text("a");\n\n  throw new Error("boom")')
    assert out == ["a", "Script error:\nError: boom\n    at exec_main.mjs:3:9"]
    out = await run(service, 'function f() { null.x }\nf()')
    assert out == ["Script error:\nTypeError: Cannot read properties of null (reading 'x')\n"
                   "    at f (exec_main.mjs:1:21)\n    at exec_main.mjs:2:1"]
    out = await run(service, 'await 0;\nconst e = new Error("late"); text(e.stack)')
    assert out == ["Error: late\n    at exec_main.mjs:2:11"]


async def test_syntax_errors_point_at_the_users_position(env):
    service, _ = env
    assert await run(service, 'text(1);\nlet x = ;') == ["Script error:\nSyntaxError: Unexpected token ';'\n"
                                                        "    at exec_main.mjs:2:9"]
    out = await run(service, 'text(1); }); (function () {')
    assert out[0].startswith("Script error:\nSyntaxError: ")


async def test_dynamic_import_rejects(env):
    service, _ = env
    out = await run(service, 'try { await import("x"); text("no"); } catch (e) { text("rejected"); }')
    assert out == ["rejected"]


# ---- module code has no top-level `return` and no `arguments` (found by a real parse) -------------------------

@pytest.mark.parametrize("code, position", [
    ("return 5", "1:1"),
    ('text("a");\n  if (true) { return }', "2:15"),
    ('const é = "ü"; return é', "1:16"),  # columns count UTF-16 units, as V8's do
])
async def test_a_top_level_return_is_a_syntax_error_as_in_a_module(env, code, position):
    service, _ = env
    reply = await handle_exec(service, "call-1", code, tools=Tools.specs)
    assert reply["output"][0]["text"].startswith("Script failed")
    expected = f"Script error:\nSyntaxError: Illegal return statement\n    at exec_main.mjs:{position}"
    assert reply["output"][1]["text"] == expected


async def test_return_inside_functions_arrows_methods_and_strings_is_not_top_level(env):
    service, _ = env
    code = ('function f() { return 1 } const g = () => { return 2 }; const o = { m() { return 3 } };\n'
            'class A { n() { return 4 } } const s = `return ${"return"}`;\n'
            'text([f(), g(), o.m(), new A().n(), s].join())')
    assert await run(service, code) == ["1,2,3,4,return return"]


async def test_top_level_arguments_is_not_defined_as_in_a_module(env):
    service, _ = env
    code = ('text(typeof arguments); text(String((() => typeof arguments)()));\n'
            'function f() { return arguments.length } text(f(1, 2));\n'
            'class A { m() { return arguments.length } } text(new A().m(1, 2, 3));\n'
            'const o = { arguments: 7 }; text(o.arguments);\n'
            'try { arguments } catch (e) { text(`${e.name}: ${e.message}`) }\n'
            'text("last"); arguments.length')
    reply = await handle_exec(service, "call-1", code, tools=Tools.specs)
    texts = [item.get("text") for item in reply["output"]]
    assert texts[1:7] == ["undefined", "undefined", "2", "3", "7", "ReferenceError: arguments is not defined"]
    assert texts[7] == "last"
    assert texts[8] == "Script error:\nReferenceError: arguments is not defined\n    at exec_main.mjs:6:15"


async def test_assigning_arguments_stays_v8s_strict_mode_error(env):
    service, _ = env
    reply = await handle_exec(service, "call-1", "arguments = 1", tools=Tools.specs)
    assert reply["output"][1]["text"].startswith(
        "Script error:\nSyntaxError: Unexpected eval or arguments in strict mode")

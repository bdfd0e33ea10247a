"""Spec code-mode.md section 7 scenarios through the real exec/wait adapters and real V8."""

import json
import re

import pytest
import trio

from codex_actors.codemode import open_code_mode_service, v8bridge
from codex_actors.tools.code_mode import handle_exec, handle_wait, succeeded

from tests.codemode.helpers import Tools

HEADER = re.compile(r"\A(Script (?:completed|failed|terminated|running with cell ID \d+))\nWall time \d+\.\d seconds\nOutput:\n\Z")


@pytest.fixture
async def env():
    tools = Tools()
    async with open_code_mode_service(tools) as service:
        yield service, tools


async def run(env, source, call_id="call-1"):
    service, tools = env
    return await handle_exec(service, call_id, source, tools=Tools.specs)


async def wait(env, **args):
    return await handle_wait(env[0], "wait-1", json.dumps(args))


def status(reply):
    match = HEADER.match(reply["output"][0]["text"])
    assert match, reply["output"][0]
    return match.group(1)


def texts(reply):
    return [item.get("text", item.get("image_url")) for item in reply["output"][1:]]


async def test_text_hi_completes_with_two_items(env):
    reply = await run(env, 'text("hi")')
    assert reply["type"] == "custom_tool_call_output" and reply["call_id"] == "call-1"
    assert status(reply) == "Script completed"
    assert reply["output"][1] == {"type": "input_text", "text": "hi"}
    assert len(reply["output"]) == 2 and succeeded(reply)


async def test_exit_ends_successfully_keeping_earlier_output(env):
    reply = await run(env, 'text("before"); exit(); text("after");')
    assert status(reply) == "Script completed" and texts(reply) == ["before"]


async def test_exit_after_await_is_success(env):
    reply = await run(env, 'text("a"); await tools.sleep({ms: 1}); exit(); text("b")')
    assert status(reply) == "Script completed" and texts(reply) == ["a"]


async def test_text_of_object_is_json(env):
    assert texts(await run(env, "text({ json: true })")) == ['{"json":true}']


async def test_text_of_undefined_and_no_argument(env):
    assert texts(await run(env, "text(undefined); text(); text(null); text(12n)")) == ["undefined", "undefined", "null", "12"]


async def test_circular_text_fails_the_cell(env):
    reply = await run(env, "const c={}; c.self=c; text(c);")
    assert status(reply) == "Script failed" and not succeeded(reply)
    assert reply["output"][1]["text"].startswith("Script error:")
    assert "Converting circular structure to JSON" in reply["output"][1]["text"]


async def test_thrown_error_keeps_output_and_shows_stack(env):
    reply = await run(env, 'text("before crash"); text("still before crash"); throw new Error("boom");')
    assert status(reply) == "Script failed"
    assert texts(reply)[:2] == ["before crash", "still before crash"]
    assert texts(reply)[2].startswith("Script error:\nError: boom\n    at exec_main.mjs:")
    assert len(reply["output"]) == 4


async def test_thrown_non_error_value_is_stringified(env):
    reply = await run(env, "throw 42")
    assert texts(reply) == ["Script error:\n42"]


async def test_syntax_error_fails_without_python_traceback(env):
    reply = await run(env, "let = = 3")
    assert status(reply) == "Script failed"
    assert "SyntaxError" in texts(reply)[0] and "Traceback" not in texts(reply)[0]


async def test_console_and_friends_are_absent(env):
    reply = await run(env, 'text([typeof console, typeof Atomics, typeof SharedArrayBuffer, typeof WebAssembly, '
                           'String(Object.hasOwn(globalThis, "console"))].join(","))')
    assert texts(reply) == ["undefined,undefined,undefined,undefined,false"]


async def test_intl_formats_french_dates(env):
    source = ('const d = new Date("2025-01-02T03:04:05Z"); const o = {weekday:"long", month:"long", day:"numeric", '
              'hour:"2-digit", minute:"2-digit", second:"2-digit", hour12:false, timeZone:"UTC"}; '
              'text(d.toLocaleString("fr-FR", o)); text(new Intl.DateTimeFormat("fr-FR", o).format(d));')
    assert texts(await run(env, source)) == ["jeudi 2 janvier à 03:04:05"] * 2


async def test_helpers_return_undefined_and_notify_adds_no_item(env):
    reply = await run(env, 'text(JSON.stringify([text("first"), image("data:image/png;base64,AAA"), '
                           'notify("ping")].map(v => v === undefined)))')
    assert reply["output"][1:] == [
        {"type": "input_text", "text": "first"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "high"},
        {"type": "input_text", "text": "[true,true,true]"},
    ]


@pytest.mark.parametrize(
    ("call", "url", "detail"),
    [
        ('image("data:image/png;base64,AAA")', "data:image/png;base64,AAA", "high"),
        ('image({image_url:"data:image/png;base64,AAA", detail:"low"})', "data:image/png;base64,AAA", "low"),
        ('image({image_url:"data:image/png;base64,AAA", detail:"high"}, "original")', "data:image/png;base64,AAA", "original"),
        ('image({type:"image", data:"iVBOR", mimeType:"image/png", _meta:{"codex/imageDetail":"original"}})',
         "data:image/png;base64,iVBOR", "original"),
        ('image({type:"image", data:"iVBOR", mimeType:"image/png", _meta:{"codex/imageDetail":"original"}}, "high")',
         "data:image/png;base64,iVBOR", "high"),
        ('image({type:"image", data:"QUJD"})', "data:application/octet-stream;base64,QUJD", "high"),
    ],
)
async def test_image_forms_and_details(env, call, url, detail):
    reply = await run(env, call)
    assert reply["output"][1:] == [{"type": "input_image", "image_url": url, "detail": detail}]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ('image({image_url:"data:x", detail:"medium"})', "image detail must be one of: auto, low, high, original"),
        ('image({content:[{type:"image", data:"x"}], isError:false})',
         "image expects a non-empty image URL string, an object with image_url and optional detail, or a raw MCP image block"),
        ('image("https://example.com/image.jpg")',
         "Tool call failed: remote image URLs are not supported in tool outputs. Pass a base64 data URI instead"),
        ('generatedImage({image_url:"http://example.com/a.png"})',
         "Tool call failed: remote image URLs are not supported in tool outputs. Pass a base64 data URI instead"),
        ('image("data:x", 3)', "image detail must be a string when provided"),
        ('image({type:"audio", data:"x"})', 'image only accepts MCP image blocks, got "audio"'),
        ('image({type:"image", data:""})', "image expected MCP image data"),
        ('image("")', "image expects a non-empty image URL string, an object with image_url and optional detail, or a raw MCP image block"),
    ],
)
async def test_image_errors_are_exact(env, call, error):
    reply = await run(env, call)
    assert status(reply) == "Script failed"
    assert reply["output"][1:] == [{"type": "input_text", "text": f"Script error:\n{error}"}]


async def test_generated_image_then_hint(env):
    reply = await run(env, 'generatedImage({image_url:"data:image/png;base64,AAA", output_hint:"generated image save hint"})')
    assert reply["output"][1:] == [
        {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "high"},
        {"type": "input_text", "text": "generated image save hint"},
    ]


async def test_store_then_load_in_same_session_only(env):
    await run(env, 'store("key","visible")')
    assert texts(await run(env, 'text(String(load("key")))')) == ["visible"]
    async with open_code_mode_service(Tools()) as other:
        reply = await handle_exec(other, "c", 'text(String(load("key")))')
    assert texts(reply) == ["undefined"]


async def test_stored_json_round_trips_as_a_copy(env):
    await run(env, 'store("nb",{title:"Notebook",items:[1,true,null]}); text("stored")')
    reply = await run(env, 'const v = load("nb"); v.title = "changed"; text(JSON.stringify(load("nb")))')
    assert texts(reply) == ['{"title":"Notebook","items":[1,true,null]}']


async def test_store_errors(env):
    reply = await run(env, 'store("f", () => 1)')
    assert texts(reply) == ['Script error:\nUnable to store "f". Only plain serializable objects can be stored.']
    reply = await run(env, 'store(Symbol("s"), 1)')
    assert texts(reply) == ["Script error:\nstore key must be a string"]
    reply = await run(env, 'load(Symbol("s"))')
    assert texts(reply) == ["Script error:\nload key must be a string"]


async def test_failed_script_still_commits_earlier_stores(env):
    await run(env, 'store("partial", 7); throw new Error("late")')
    assert texts(await run(env, 'text(load("partial"))')) == ["7"]


async def test_terminated_cell_writes_are_discarded(env):
    service, tools = env
    reply = await run(env, '// @exec: {"yield_time_ms": 50}\nstore("candidate","leaked"); await tools.block({});')
    cell_id = status(reply).rsplit(" ", 1)[1]
    assert status(await wait(env, cell_id=cell_id, terminate=True)) == "Script terminated"
    assert texts(await run(env, 'text(String(load("candidate")))')) == ["undefined"]
    assert tools.cancelled == ["block"]


async def test_timers(env):
    assert texts(await run(env, 'await new Promise(r => setTimeout(r, 10)); text("timer done")')) == ["timer done"]
    reply = await run(env, 'const a = Date.now(); await new Promise(r => setTimeout(r, 100)); text(String(Date.now() - a >= 100))')
    assert texts(reply) == ["true"]


async def test_timer_ids_clear_and_errors(env):
    reply = await run(env, 'const id = setTimeout(() => text("never"), 5); clearTimeout(id); clearTimeout(); '
                           'clearTimeout(-1); text(String(id)); await new Promise(r => setTimeout(r, 30));')
    assert texts(reply) == ["1"]
    assert texts(await run(env, "setTimeout(5)")) == ["Script error:\nsetTimeout expects a function callback"]
    assert texts(await run(env, 'clearTimeout(Symbol("x"))')) == ["Script error:\nclearTimeout expects a numeric timeout id"]


async def test_error_in_timer_callback_fails_the_cell(env):
    reply = await run(env, 'setTimeout(() => { throw new Error("tick") }, 1); await new Promise(r => setTimeout(r, 50)); text("x")')
    assert status(reply) == "Script failed" and texts(reply)[0].startswith("Script error:\nError: tick")


async def test_pending_timer_does_not_keep_cell_alive(env):
    reply = await run(env, 'setTimeout(() => text("late"), 5000); text("done")')
    assert status(reply) == "Script completed" and texts(reply) == ["done"]


async def test_busy_loop_yields_then_terminate_interrupts_it(env):
    reply = await run(env, '// @exec: {"yield_time_ms": 100}\ntext("phase 1");\nwhile (true) {}')
    header = status(reply)
    assert header.startswith("Script running with cell ID ") and texts(reply) == ["phase 1"]
    done = await wait(env, cell_id=header.rsplit(" ", 1)[1], terminate=True)
    assert done["type"] == "function_call_output" and status(done) == "Script terminated"
    assert len(done["output"]) == 1 and succeeded(done)


async def test_yield_control_phases_with_gates(env):
    service, tools = env
    reply = await run(env, 'text("phase 1"); yield_control(); await tools.gate({name:"2"}); text("phase 2"); '
                           'await tools.gate({name:"3"}); text("phase 3");')
    header = status(reply)
    cell_id = header.rsplit(" ", 1)[1]
    assert texts(reply) == ["phase 1"]
    tools.gate("2").set()
    second = await wait(env, cell_id=cell_id, yield_time_ms=1000)
    assert status(second) == header and texts(second) == ["phase 2"]
    tools.gate("3").set()
    third = await wait(env, cell_id=cell_id, yield_time_ms=1000)
    assert status(third) == "Script completed" and texts(third) == ["phase 3"]


async def test_two_cells_resume_independently(env):
    service, tools = env
    a = await run(env, 'text("a"); yield_control(); await tools.gate({name:"a"}); text("session a done")')
    b = await run(env, 'text("b"); yield_control(); await tools.gate({name:"b"}); text("session b done")')
    id_a, id_b = status(a).rsplit(" ", 1)[1], status(b).rsplit(" ", 1)[1]
    assert id_a != id_b
    tools.gate("a").set()
    assert texts(await wait(env, cell_id=id_a)) == ["session a done"]
    tools.gate("b").set()
    assert texts(await wait(env, cell_id=id_b)) == ["session b done"]


async def test_cell_finishing_in_background_is_collected_later(env):
    service, tools = env
    a = await run(env, 'yield_control(); await tools.gate({name:"a"}); text("session a done")')
    b = await run(env, 'yield_control(); await tools.gate({name:"b"}); text("session b done")')
    id_a, id_b = status(a).rsplit(" ", 1)[1], status(b).rsplit(" ", 1)[1]
    tools.gate("a").set()
    assert status(await wait(env, cell_id=id_b, yield_time_ms=200)).startswith("Script running")
    final = await wait(env, cell_id=id_a, terminate=True)
    assert (status(final), texts(final)) == ("Script completed", ["session a done"])
    await wait(env, cell_id=id_b, terminate=True)


async def test_exec_works_after_terminate(env):
    reply = await run(env, 'yield_control(); await tools.block({})')
    cell_id = status(reply).rsplit(" ", 1)[1]
    assert status(await wait(env, cell_id=cell_id, terminate=True)) == "Script terminated"
    after = await run(env, 'text("after terminate")')
    assert (status(after), texts(after)) == ("Script completed", ["after terminate"])
    assert status(await wait(env, cell_id=cell_id)) == "Script failed"


async def test_wait_on_unknown_cell(env):
    reply = await wait(env, cell_id="999999", yield_time_ms=1000)
    assert reply["output"] == [
        {"type": "input_text", "text": reply["output"][0]["text"]},
        {"type": "input_text", "text": "Script error:\nexec cell 999999 not found"},
    ]
    assert status(reply) == "Script failed" and not succeeded(reply)


async def test_wait_applies_its_own_token_budget(env):
    service, tools = env
    reply = await run(env, '// @exec: {"max_output_tokens": 100}\ntext("phase 1"); yield_control(); '
                           'await tools.gate({name:"g"}); text("token one token two token three token four token five token six token seven");')
    cell_id = status(reply).rsplit(" ", 1)[1]
    tools.gate("g").set()
    later = await wait(env, cell_id=cell_id, yield_time_ms=1000, max_tokens=6)
    assert re.fullmatch(r"Total output lines: 1\n\n.*…\d+ tokens truncated….*", later["output"][1]["text"], re.S)


async def test_exec_pragma_budget_truncates(env):
    reply = await run(env, '// @exec: {"max_output_tokens": 6}\ntext("token one token two token three token four token five token six")')
    assert len(reply["output"]) == 2
    assert reply["output"][1]["text"].startswith("Total output lines: 1\n\n")


async def test_notify_rejects_blank_text(env):
    for blank in ('""', '"   "'):
        reply = await run(env, f"notify({blank})")
        assert texts(reply) == ["Script error:\nnotify expects non-empty text"]


async def test_nested_tool_errors_are_catchable_strings(env):
    reply = await run(env, 'try { await tools.fail({}); text("no-exception"); } catch (e) { text(`caught:${e?.message ?? String(e)}`); }')
    assert texts(reply) == ["caught:tool exploded on purpose"] and succeeded(reply)


async def test_unexpected_dispatcher_exception_reaches_js_as_its_message_only():
    async def broken(call):
        raise RuntimeError("disk on fire")

    async with open_code_mode_service(broken) as service:
        reply = await handle_exec(service, "c", 'try { await tools.sleep({}) } catch (e) { text(String(e)) }',
                                  tools=Tools.specs)
    assert texts(reply) == ["disk on fire"]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("tools.sleep([1])", "tool `sleep` expects a JSON object for arguments"),
        ("tools.sleep(3)", "tool `sleep` expects a JSON object for arguments"),
        ("tools.patch({a:1})", "tool `patch` expects a string input"),
        ("tools.patch()", "tool `patch` expects a string input"),
        ("tools.exec({})", "exec cannot invoke itself"),
    ],
)
async def test_host_payload_rules_reject_with_exact_text(env, call, error):
    reply = await run(env, f"try {{ await {call}; }} catch (e) {{ text(String(e)); }}")
    assert texts(reply) == [error]


async def test_circular_tool_input_throws_synchronously(env):
    reply = await run(env, 'const c = {}; c.c = c; let p; try { p = tools.sleep(c); text("no"); } catch (e) { text("sync"); }')
    assert texts(reply) == ["sync"]


async def test_freeform_and_default_arguments_reach_the_dispatcher(env):
    service, tools = env
    reply = await run(env, 'text(JSON.stringify(await tools.patch("*** Begin Patch\\n*** End Patch\\n"))); '
                           'text(await tools.sleep())')
    assert texts(reply) == ["{}", "ok"]
    assert [(c.tool_name, c.kind, c.input) for c in tools.calls] == [
        ("patch", "freeform", "*** Begin Patch\n*** End Patch\n"), ("sleep", "function", "{}")]
    assert [c.runtime_tool_call_id for c in tools.calls] == ["tool-1", "tool-2"]


async def test_parallel_nested_calls_run_concurrently(env):
    # barrier_sleep answers only once two calls are in flight: one after the other, they would never answer.
    with trio.fail_after(10):
        reply = await run(env, 'text(JSON.stringify(await Promise.all([tools.barrier_sleep({}), tools.barrier_sleep({})])))')
    assert texts(reply) == ['["ok","ok"]']


async def test_mcp_echo_results_resolve_including_errors(env):
    reply = await run(env, 'const {content, structuredContent, isError} = await tools.echo({message:"ping"}); '
                           'text(structuredContent.echo); text(String(isError)); text(String(content.length)); '
                           'const bad = await tools.echo({}); text(JSON.stringify([bad.isError, bad.content.length, bad.structuredContent])); '
                           'text(bad.content[0].text)')
    assert texts(reply) == ["ECHOING: ping", "false", "0", "[true,1,null]", "missing field `message`"]


async def test_namespaced_dynamic_tool_and_all_tools(env):
    service, tools = env
    reply = await run(env, 'text(await tools.codex_app_hidden_dynamic_tool({city:"Paris"})); '
                           'const t = ALL_TOOLS.find(t => t.name === "codex_app_hidden_dynamic_tool"); '
                           'text(String(t.description.includes("declare const tools:") && t.description.includes("codex_app_hidden_dynamic_tool(args:"))); '
                           'text(typeof tools.echo + " " + Object.keys(tools).includes("echo"))')
    assert texts(reply) == ["hidden-ok", "true", "function true"]
    call = tools.calls[-1]
    assert (call.namespace, call.tool_name, json.loads(call.input)) == ("codex_app", "hidden_dynamic_tool", {"city": "Paris"})


async def test_globals_are_builtins_plus_helpers(env):
    reply = await run(env, "text(JSON.stringify(Object.getOwnPropertyNames(globalThis).sort()))")
    names = set(json.loads(texts(reply)[0]))
    helpers = {"ALL_TOOLS", "tools", "text", "image", "generatedImage", "store", "load", "notify", "yield_control",
               "exit", "setTimeout", "clearTimeout"}
    assert helpers <= names
    lowercase_extras = {n for n in names - helpers if n[0].islower() and n not in {
        "globalThis", "parseFloat", "parseInt", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent",
        "escape", "unescape", "eval", "isFinite", "isNaN", "undefined"}}
    assert lowercase_extras == set()
    assert not [n for n in names if n.startswith("__")]


async def test_imports_are_refused(env):
    reply = await run(env, 'import x from "tools.js";\ntext("no")')
    assert texts(reply) == ["Script error:\nUnsupported import in exec: tools.js"]
    reply = await run(env, 'try { await import("@openai/code_mode"); text("no"); } catch (e) { text("rejected"); }')
    assert texts(reply) == ["rejected"]


async def test_exec_input_errors_create_no_cell(env):
    service, tools = env
    reply = await run(env, "   ")
    assert reply["output"].startswith("exec expects raw JavaScript source text (non-empty).")
    assert not succeeded(reply) and service.live_cell_ids == []
    assert texts(await run(env, 'text("x")')) == ["x"]


async def test_wait_argument_errors(env):
    reply = await handle_wait(env[0], "w", "{not json")
    assert reply["output"].startswith("failed to parse function arguments: ")
    reply = await handle_wait(env[0], "w", "{}")
    assert reply["output"] == "failed to parse function arguments: missing field `cell_id`"


async def test_exec_without_service_is_unavailable():
    assert (await handle_exec(None, "c", "text(1)"))["output"] == "code mode is unavailable"


async def test_no_runtime_threads_outlive_the_service():
    async with open_code_mode_service(Tools()) as service:
        await handle_exec(service, "c", '// @exec: {"yield_time_ms": 10}\nwhile(true){}')
    assert v8bridge.context_count() == 0

"""Per-turn context (spec agent-core 1.2, 2.1 step 1, 2.2 step 2): a `user_turn` carries cwd, policies and model,
`override_turn_context` changes them without input; the session keeps them for later turns, tools and requests
use them, and the model is told what changed."""

import trio

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import function_call, response, serve_scripted_model, text_message

from tests.session.test_rollout_resume import config_for

WORKSPACE_WRITE = {"type": "workspace-write", "writable_roots": [], "network_access": False,
                   "exclude_tmpdir_env_var": False, "exclude_slash_tmp": False}


def user_turn(text, cwd, *, sandbox=None, approval="never", model="m", schema=None):
    return ops.UserTurn(items=[ops.TextInput(text)], cwd=str(cwd), approval_policy=approval,
                        sandbox_policy=sandbox or {"type": "read-only"}, model=model,
                        final_output_json_schema=schema)


def texts(body, role):
    return [part["text"] for item in body["input"] if item.get("role") == role for part in item["content"]]


def outputs(body):
    return {i["call_id"]: i["output"] for i in body["input"] if i.get("type") == "function_call_output"}


async def test_a_user_turns_sandbox_policy_is_used_by_its_commands_and_kept_by_later_input(tmp_path):
    touch = {"cmd": "touch made.txt", "login": False}
    script = [response(function_call("exec_command", touch, "c1")), response(text_message("made")),
              response(function_call("exec_command", {**touch, "cmd": "touch again.txt"}, "c2")),
              response(text_message("again"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=read-only")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(user_turn("make it", config.cwd, sandbox=WORKSPACE_WRITE))
            await session.wait_for(events.TaskComplete)
            await session.submit(ops.UserInputOp(items=[ops.TextInput("once more")]))
            await session.wait_for(events.TaskComplete)
    assert (config.cwd / "made.txt").exists() and (config.cwd / "again.txt").exists()
    assert "Process exited with code 0" in outputs(server.requests[3].body)["c2"]
    # The first request's permissions block already says workspace-write: the context applied before the turn.
    [permissions] = [t for t in texts(server.requests[0].body, "developer") if "<permissions instructions>" in t]
    assert "Filesystem sandboxing: `workspace-write`" in permissions


async def test_override_turn_context_changes_later_turns_and_the_model_hears_what_changed(tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    script = [response(text_message("first")),
              response(function_call("exec_command", {"cmd": "pwd", "login": False}, "c1")),
              response(text_message("second"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(ops.UserInputOp(items=[ops.TextInput("hi")]))
            await session.wait_for(events.TaskComplete)
            await session.submit(ops.OverrideTurnContext(cwd=str(other), approval_policy="untrusted",
                                                         model="other-model"))
            await session.submit(ops.UserInputOp(items=[ops.TextInput("where are you?")]))
            await session.wait_for(events.TaskComplete)
    first, second, third = (r.body for r in server.requests)
    assert (first["model"], second["model"], third["model"]) == (config.get("model"), "other-model", "other-model")
    assert outputs(third)["c1"].endswith(f"Output:\n{other}\n")
    # Only the diffs are added, once, after the first turn's context: new permissions, new environment.
    developer, user = texts(second, "developer"), texts(second, "user")
    assert len(developer) == len(texts(first, "developer")) + 1
    assert "Approval policy is `untrusted`" in developer[-1]
    assert f"<cwd>{other}</cwd>" in user[-2] and user[-1] == "where are you?"
    assert sum("<environment_context>" in t for t in texts(third, "user")) == 2


async def test_an_unchanged_context_adds_no_messages(tmp_path):
    script = [response(text_message("one")), response(text_message("two"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "approval_policy=never")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            for text in ("one", "two"):
                await session.submit(user_turn(text, config.cwd))
                await session.wait_for(events.TaskComplete)
    first, second = (r.body for r in server.requests)
    assert len(second["input"]) == len(first["input"]) + 2  # the answer and the new user message only


async def test_a_bad_turn_context_is_refused_with_an_error_naming_the_field_and_nothing_runs(tmp_path):
    async with serve_scripted_model([response(text_message("fine"))]) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.wait_for(events.SessionConfigured)
            bad = [
                (user_turn("x", config.cwd, approval="sometimes"),
                 "unknown approval_policy 'sometimes'; expected one of: untrusted, on-failure, on-request, never, "
                 "or { granular = { sandbox_approval, rules, mcp_elicitations } }"),
                (user_turn("x", "relative/dir"),
                 "cwd must be an absolute path to an existing directory, got 'relative/dir'"),
                (ops.OverrideTurnContext(sandbox_policy={"type": "no-sandbox"}),
                 'invalid sandbox_policy {"type": "no-sandbox"}: unknown sandbox mode \'no-sandbox\'; expected one '
                 'of read-only, workspace-write, danger-full-access'),
            ]
            for op, message in bad:
                await session.submit(op)
                with trio.fail_after(10):
                    event = await session.next_event()
                assert event.msg == events.Error(message=message, codex_error_info="bad_request")
            await session.submit(user_turn("fine?", config.cwd))
            await session.wait_for(events.TaskComplete)
    assert len(server.requests) == 1 and server.requests[0].body["model"] == "m"


async def test_a_user_turns_output_schema_applies_to_that_turn_only(tmp_path):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    script = [response(text_message('{"ok": true}')), response(text_message("free text"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(user_turn("structured", config.cwd, schema=schema))
            await session.wait_for(events.TaskComplete)
            await session.submit(user_turn("free", config.cwd))
            await session.wait_for(events.TaskComplete)
    first, second = (r.body for r in server.requests)
    assert first["text"]["format"]["schema"] == schema
    assert "format" not in second.get("text", {})


async def test_user_input_with_turn_context_applies_only_the_fields_it_sets(tmp_path):
    script = [response(text_message("one")), response(text_message("two"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "approval_policy=untrusted")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(ops.UserInputWithTurnContext(items=[ops.TextInput("one")], model="small-model"))
            await session.wait_for(events.TaskComplete)
            await session.submit(ops.UserInputOp(items=[ops.TextInput("two")]))
            await session.wait_for(events.TaskComplete)
    assert [r.body["model"] for r in server.requests] == ["small-model", "small-model"]
    [permissions] = [t for t in texts(server.requests[1].body, "developer") if "<permissions" in t]
    assert "Approval policy is `untrusted`" in permissions  # not touched by the op

import json

import trio
import trio.testing

from codex_actors.protocol import events, ops
from codex_actors.testing import custom_tool_call, error_response, function_call, response, text_message, usage
from codex_actors.tools.apply_patch_tool import ApplyPatchTool
from codex_actors.tools.plan import UpdatePlanTool

from tests.session.scripted import Blocking, Echo, scripted_session, user_turn


def types_of(seen):
    return [type(e.msg).TYPE for e in seen]


def input_of(request):
    return request.body["input"]


async def test_plain_answer_streams_and_completes(tmp_path):
    script = [response(text_message("Hello there."), usage=usage(10, 3))]
    async with scripted_session(script, tmp_path) as (session, server):
        sub = await session.submit(user_turn("hi", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
    kinds = types_of(seen)
    assert kinds[0] == "session_configured"
    assert kinds[1:4] == ["task_started", "user_message", "agent_message_delta"]
    assert kinds[-3:] == ["agent_message", "token_count", "task_complete"]
    done = seen[-1]
    assert done.id == sub and done.msg.last_agent_message == "Hello there."
    tokens = seen[-2].msg.info
    assert tokens["last_token_usage"]["total_tokens"] == 13
    body = server.requests[0].body
    assert body["instructions"] == "You are a test."
    roles = [(i["type"], i.get("role")) for i in input_of(server.requests[0])]
    assert roles == [("message", "developer"), ("message", "user"), ("message", "user")]
    assert input_of(server.requests[0])[-1]["content"] == [{"type": "input_text", "text": "hi"}]


async def test_tool_calls_run_and_outputs_return_in_call_order(tmp_path):
    script = [
        response(function_call("echo", {"text": "one"}, "c1"), function_call("update_plan", {
            "plan": [{"step": "s", "status": "in_progress"}]}, "c2"), function_call("echo", {"text": "three"}, "c3")),
        response(text_message("done")),
    ]
    async with scripted_session(script, tmp_path, handlers=[Echo(), UpdatePlanTool()]) as (session, server):
        await session.submit(user_turn("go", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
    assert "plan_update" in types_of(seen)
    second = input_of(server.requests[1])
    outputs = [(i["call_id"], i["output"]) for i in second if i["type"] == "function_call_output"]
    assert outputs == [("c1", "one"), ("c2", "Plan updated"), ("c3", "three")]
    calls = [i["call_id"] for i in second if i["type"] == "function_call"]
    assert calls == ["c1", "c2", "c3"]


async def test_interrupt_mid_tool_aborts_turn_and_tells_the_model(tmp_path):
    block = Blocking()
    script = [response(function_call("block", {}, "c1")), response(text_message("after"))]
    async with scripted_session(script, tmp_path, handlers=[block]) as (session, server):
        sub = await session.submit(user_turn("wait", tmp_path))
        with trio.fail_after(10):
            await block.started.wait()
        await session.submit(ops.Interrupt())
        seen = await session.wait_for(events.TurnAborted)
        assert block.cancelled
        assert seen[-1].msg.reason == "interrupted" and seen[-1].id == sub
        assert "task_complete" not in types_of(seen)
        # the next turn carries the aborted output and the marker
        await session.submit(user_turn("again", tmp_path))
        await session.wait_for(events.TaskComplete)
    second = input_of(server.requests[1])
    [output] = [i for i in second if i["type"] == "function_call_output"]
    assert output["output"].startswith("aborted by user after ")
    assert any("<turn_aborted>" in json.dumps(i) for i in second)


async def test_input_during_a_turn_is_steered_into_the_next_request(tmp_path):
    block = Blocking()
    script = [response(function_call("block", {}, "c1")), response(text_message("saw it"))]
    async with scripted_session(script, tmp_path, handlers=[block]) as (session, server):
        await session.submit(user_turn("start", tmp_path))
        with trio.fail_after(10):
            await block.started.wait()
        await session.submit(user_turn("also do this", tmp_path))
        block.gate.set()
        seen = await session.wait_for(events.TaskComplete)
    assert types_of(seen).count("task_started") == 1
    second = input_of(server.requests[1])
    assert second[-1]["content"] == [{"type": "input_text", "text": "also do this"}]
    assert second[-2]["type"] == "function_call_output"


async def test_input_arriving_while_a_turn_writes_its_end_starts_the_next_turn(tmp_path):
    """Input that comes after the turn's last request (here: while its end is being written, held open by the
    turn-complete hook) cannot steer that turn any more: it must start the next one, not vanish."""
    ending, release = trio.Event(), trio.Event()

    async def hold_the_end(info):
        if info["input-messages"] == ["first"]:
            ending.set()
            await release.wait()

    script = [response(text_message("one")), response(text_message("two"))]
    async with scripted_session(script, tmp_path, on_turn_complete=hold_the_end) as (session, server):
        await session.submit(user_turn("first", tmp_path))
        with trio.fail_after(10):
            await ending.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session.submit, user_turn("second", tmp_path))
            # Every task blocked: the session has taken the submission in while the first turn is still ending.
            await trio.testing.wait_all_tasks_blocked(cushion=0.01)
            release.set()
        seen = await session.wait_for(events.TaskComplete)
        if seen[-1].msg.last_agent_message == "one":
            seen = await session.wait_for(events.TaskComplete)
    assert seen[-1].msg.last_agent_message == "two"
    assert len(server.requests) == 2
    assert input_of(server.requests[1])[-1]["content"] == [{"type": "input_text", "text": "second"}]


async def test_steer_only_input_never_starts_a_turn(tmp_path):
    """`steer_input` (app-server `turn/steer`) steers a running turn; with no turn taking input (none runs, or
    it is writing its end) it is answered `not_steerable` and nothing is sent."""
    block, ending, release = Blocking(), trio.Event(), trio.Event()

    async def hold_the_end(info):
        ending.set()
        await release.wait()

    script = [response(function_call("block", {}, "c1")), response(text_message("saw it"))]
    async with scripted_session(script, tmp_path, handlers=[block], on_turn_complete=hold_the_end) as (
            session, server):
        assert (await session.ask(ops.SteerInput([ops.TextInput("too early")])))[1] == "not_steerable"
        await session.submit(user_turn("start", tmp_path))
        with trio.fail_after(10):
            await block.started.wait()
        assert (await session.ask(ops.SteerInput([ops.TextInput("also do this")])))[1] == "steered"
        block.gate.set()
        with trio.fail_after(10):
            await ending.wait()
        assert (await session.ask(ops.SteerInput([ops.TextInput("too late")])))[1] == "not_steerable"
        release.set()
        seen = await session.wait_for(events.TaskComplete)
    assert types_of(seen).count("task_started") == 1
    assert len(server.requests) == 2
    assert input_of(server.requests[1])[-1]["content"] == [{"type": "input_text", "text": "also do this"}]


async def test_model_failure_is_an_error_then_task_complete(tmp_path):
    script = [error_response(400, code="invalid_request_error", message="bad tool schema")]
    async with scripted_session(script, tmp_path) as (session, server):
        await session.submit(user_turn("hi", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
        error = next(e.msg for e in seen if isinstance(e.msg, events.Error))
        assert "bad tool schema" in error.message
        # the session stays usable
        server.add(response(text_message("fine now")))
        await session.submit(user_turn("again", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
        assert seen[-1].msg.last_agent_message == "fine now"


async def test_input_steered_into_a_request_that_fails_reaches_the_next_turn(tmp_path):
    """Input answered "steered" while the turn's request is in flight must not vanish when that request fails:
    it is recorded, so the next turn sends it."""
    script = [error_response(400, code="invalid_request_error", message="bad request", delay=1.0)]
    async with scripted_session(script, tmp_path) as (session, server):
        await session.submit(user_turn("start", tmp_path))
        await session.wait_for(events.UserMessage)
        assert (await session.ask(ops.SteerInput([ops.TextInput("also do this")])))[1] == "steered"
        seen = await session.wait_for(events.TaskComplete)
        assert any(isinstance(e.msg, events.Error) and "bad request" in e.msg.message for e in seen)
        server.add(response(text_message("did both")))
        await session.submit(user_turn("again", tmp_path))
        await session.wait_for(events.TaskComplete)
    texts = [c["text"] for i in input_of(server.requests[1]) if i["type"] == "message" for c in i["content"]]
    assert texts[-3:] == ["start", "also do this", "again"]


async def test_apply_patch_from_the_model_edits_the_file(tmp_path):
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-two\n+TWO\n*** End Patch"
    script = [response(custom_tool_call("apply_patch", patch, "p1")), response(text_message("patched"))]
    async with scripted_session(script, tmp_path, handlers=[ApplyPatchTool()]) as (session, server):
        await session.submit(user_turn("edit", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
    assert (tmp_path / "a.txt").read_text() == "one\nTWO\n"
    kinds = types_of(seen)
    assert kinds.index("patch_apply_begin") < kinds.index("patch_apply_end")
    [output] = [i for i in input_of(server.requests[1]) if i["type"] == "custom_tool_call_output"]
    assert output == {"type": "custom_tool_call_output", "call_id": "p1",
                      "output": "Success. Updated the following files:\nM a.txt\n"}


async def test_patch_needing_approval_waits_for_the_user(tmp_path):
    patch = "*** Begin Patch\n*** Add File: new.txt\n+hello\n*** End Patch"
    script = [response(custom_tool_call("apply_patch", patch, "p1")), response(text_message("ok")),
              response(custom_tool_call("apply_patch", patch.replace("new.txt", "other.txt"), "p2")),
              response(text_message("ok"))]
    async with scripted_session(script, tmp_path, handlers=[ApplyPatchTool()],
                                approval_policy="untrusted") as (session, server):
        await session.submit(user_turn("add", tmp_path))
        seen = await session.wait_for(events.ApplyPatchApprovalRequest)
        assert seen[-1].msg.call_id == "p1"
        assert not (tmp_path / "new.txt").exists()
        await session.submit(ops.PatchApproval(id="p1", decision="approved"))
        await session.wait_for(events.TaskComplete)
        assert (tmp_path / "new.txt").read_text() == "hello\n"
        await session.submit(user_turn("add another", tmp_path))
        await session.wait_for(events.ApplyPatchApprovalRequest)
        await session.submit(ops.PatchApproval(id="p2", decision="denied"))
        await session.wait_for(events.TaskComplete)
    assert not (tmp_path / "other.txt").exists()
    [denied] = [i for i in input_of(server.requests[3]) if i["type"] == "custom_tool_call_output"
                and i["call_id"] == "p2"]
    assert denied["output"] == "patch rejected by user"


async def test_turn_budget_ends_a_looping_turn(tmp_path):
    script = [response(function_call("echo", {"text": str(i)}, f"c{i}")) for i in range(4)]
    async with scripted_session(script, tmp_path, handlers=[Echo()], max_tool_calls_per_turn=3) as (session, _):
        await session.submit(user_turn("loop", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
    [error] = [e.msg for e in seen if isinstance(e.msg, events.Error)]
    assert error.message == ("turn stopped: the model made more than 3 tool calls in one turn "
                             "(max_tool_calls_per_turn)")


async def test_compaction_replaces_history_with_a_summary(tmp_path):
    script = [
        response(text_message("first answer"), usage=usage(900, 200)),
        response(text_message("SUMMARY: did the first thing")),
        response(text_message("second answer")),
    ]
    async with scripted_session(script, tmp_path, auto_compact_limit=1000) as (session, server):
        await session.submit(user_turn("first", tmp_path))
        await session.wait_for(events.TaskComplete)
        await session.submit(user_turn("second", tmp_path))
        seen = await session.wait_for(events.TaskComplete)
    assert "context_compacted" in types_of(seen)
    compact_request = input_of(server.requests[1])
    assert "CONTEXT CHECKPOINT COMPACTION" in json.dumps(compact_request[-1])
    third = json.dumps(input_of(server.requests[2]))
    assert "SUMMARY: did the first thing" in third
    assert "first answer" not in third

import base64
import json

import pytest
import trio
from trio.testing import wait_all_tasks_blocked

from codex_actors.protocol import events, items
from codex_actors.tools.plan import UpdatePlanTool
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult, ToolRouter
from codex_actors.tools.rwlock import ReadWriteLock
from codex_actors.tools.view_image import ViewImageTool

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Recorder:
    def __init__(self):
        self.events = []

    async def __call__(self, msg):
        self.events.append(msg)


def ctx(tmp_path, emit=None):
    return ToolContext(turn_id="t1", cwd=str(tmp_path), emit=emit or Recorder())


class Sleepy:
    """A trivial tool that records how many calls overlap."""

    kind = "function"

    def __init__(self, name, parallel, state):
        self.name, self.parallel, self.state = name, parallel, state

    def spec(self):
        return {"type": "function", "name": self.name, "parameters": {"type": "object", "properties": {}}}

    async def handle(self, call, ctx):
        self.state["now"] += 1
        self.state["max"] = max(self.state["max"], self.state["now"])
        await wait_all_tasks_blocked()  # every call the router lets run at once is inside by now
        self.state["now"] -= 1
        if call.payload == "fail":
            raise ToolError("it failed")
        return ToolResult("ok")


async def test_parallel_tools_overlap_and_exclusive_ones_run_alone(tmp_path):
    state = {"now": 0, "max": 0}
    router = ToolRouter([Sleepy("par", True, state), Sleepy("excl", False, state)])
    async with trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(router.run, ToolCall(f"c{i}", "par", "function", "{}"), ctx(tmp_path))
    assert state["max"] == 3
    state["max"] = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(router.run, ToolCall("a", "excl", "function", "{}"), ctx(tmp_path))
        nursery.start_soon(router.run, ToolCall("b", "par", "function", "{}"), ctx(tmp_path))
        nursery.start_soon(router.run, ToolCall("c", "excl", "function", "{}"), ctx(tmp_path))
    assert state["max"] == 1


async def test_unknown_tool_and_tool_errors_become_outputs(tmp_path):
    router = ToolRouter([Sleepy("par", True, {"now": 0, "max": 0})])
    out = await router.dispatch(ToolCall("c1", "nope", "function", "{}"), ctx(tmp_path))
    assert out == items.FunctionCallOutput(call_id="c1", output="unsupported call: nope")
    out = await router.dispatch(ToolCall("c2", "par", "custom", "fail"), ctx(tmp_path))
    assert out == items.CustomToolCallOutput(call_id="c2", output="it failed")


async def test_rwlock_writer_waiting_blocks_new_readers_and_cancelled_writer_releases_them():
    lock = ReadWriteLock()
    order = []

    async def reader(tag, release):
        async with lock.read():
            order.append(f"r{tag}+")
            if release is not None:
                await release.wait()
            order.append(f"r{tag}-")

    async def writer():
        async with lock.write():
            order.append("w+")
            order.append("w-")

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            release_r1 = trio.Event()
            nursery.start_soon(reader, 1, release_r1)
            await wait_all_tasks_blocked()  # r1 holds the lock
            nursery.start_soon(writer)
            await wait_all_tasks_blocked()  # the writer waits for r1
            nursery.start_soon(reader, 2, None)
            await wait_all_tasks_blocked()  # r2 waits behind the waiting writer
            assert order == ["r1+"]
            release_r1.set()
        assert order == ["r1+", "r1-", "w+", "w-", "r2+", "r2-"]

        async with trio.open_nursery() as nursery:
            release_r3 = trio.Event()
            nursery.start_soon(reader, 3, release_r3)
            await wait_all_tasks_blocked()
            doomed = trio.CancelScope()

            async def cancelled_writer():
                with doomed:
                    async with lock.write():
                        order.append("never")

            nursery.start_soon(cancelled_writer)
            await wait_all_tasks_blocked()  # the writer waits for r3, so new readers would queue behind it
            doomed.cancel()
            async with lock.read():  # the cancelled writer no longer holds new readers back
                order.append("r4")
            release_r3.set()
        assert "never" not in order and order[-3:] == ["r3+", "r4", "r3-"]


def test_malformed_arguments_are_a_model_facing_error():
    with pytest.raises(ToolError, match="^failed to parse function arguments: Expecting"):
        ToolCall("c", "x", "function", "{bad").arguments()
    with pytest.raises(ToolError, match="expected a JSON object"):
        ToolCall("c", "x", "function", "[1]").arguments()
    assert ToolCall("c", "x", "function", "  ").arguments() == {}


async def test_update_plan_emits_plan_update_and_validates(tmp_path):
    emit = Recorder()
    tool = UpdatePlanTool()
    plan = [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]
    result = await tool.handle(ToolCall("c", "update_plan", "function",
                                        json.dumps({"plan": plan, "explanation": "why"})), ctx(tmp_path, emit))
    assert result == ToolResult("Plan updated", code_mode_value={})
    assert emit.events == [events.PlanUpdate(plan=plan, explanation="why")]
    two_in_progress = [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}]
    with pytest.raises(ToolError, match="at most one step can be in_progress"):
        await tool.handle(ToolCall("c", "update_plan", "function", json.dumps({"plan": two_in_progress})),
                          ctx(tmp_path))
    with pytest.raises(ToolError, match="unknown field `extra`"):
        await tool.handle(ToolCall("c", "update_plan", "function", json.dumps({"plan": [], "extra": 1})),
                          ctx(tmp_path))
    with pytest.raises(ToolError, match="unknown status `done`"):
        await tool.handle(ToolCall("c", "update_plan", "function",
                                   json.dumps({"plan": [{"step": "a", "status": "done"}]})), ctx(tmp_path))


async def test_view_image_returns_data_url_and_refuses_non_images(tmp_path):
    (tmp_path / "pic.bin").write_bytes(PNG_1x1)
    (tmp_path / "notes.png").write_text("not an image")
    emit = Recorder()
    tool = ViewImageTool()
    result = await tool.handle(ToolCall("c9", "view_image", "function", '{"path": "pic.bin"}'), ctx(tmp_path, emit))
    [image] = result.output
    assert image.image_url == "data:image/png;base64," + base64.b64encode(PNG_1x1).decode()
    assert image.detail == "high"
    assert emit.events == [events.ViewImageToolCall(call_id="c9", path=str(tmp_path / "pic.bin"))]
    with pytest.raises(ToolError, match="is not a supported image"):
        await tool.handle(ToolCall("c", "view_image", "function", '{"path": "notes.png"}'), ctx(tmp_path))
    with pytest.raises(ToolError, match="unable to locate image at"):
        await tool.handle(ToolCall("c", "view_image", "function", '{"path": "missing.png"}'), ctx(tmp_path))
    with pytest.raises(ToolError, match="is not a file"):
        await tool.handle(ToolCall("c", "view_image", "function", '{"path": "."}'), ctx(tmp_path))

"""The argv `shell` tool (spec 4.2) with real processes."""

import base64
import json
import uuid

import trio

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.tools.router import ToolCall, ToolContext
from codex_actors.tools.shell import SHELL_TOOL, ShellTool
from codex_actors.tools.unified_exec import ExecContext
from tests.exec.proctable import assert_nothing_left

FULL = SandboxPolicy("danger-full-access")


class Recorder:
    def __init__(self):
        self.events = []

    async def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if e["type"] == kind]


def ctx(rec, cwd="/tmp"):
    return ExecContext(call_id="call-1", turn_id="turn-1", cwd=cwd, emit=rec)


async def test_output_is_the_json_string_with_exit_code_and_duration(tmp_path):
    rec = Recorder()
    out = await ShellTool(policy=FULL)({"command": ["bash", "-c", "pwd; echo oops >&2; exit 2"],
                                        "workdir": str(tmp_path)}, ctx(rec))
    payload = json.loads(out.text)
    # stdout and stderr are separate pipes, so their interleaving in the aggregate is not fixed
    assert sorted(payload["output"].splitlines()) == sorted([str(tmp_path), "oops"])
    assert payload["metadata"]["exit_code"] == 2
    assert payload["metadata"]["duration_seconds"] == round(payload["metadata"]["duration_seconds"], 1)
    begin, = rec.of("exec_command_begin")
    assert (begin["source"], begin["command"], begin["cwd"]) == ("agent", ["bash", "-c", "pwd; echo oops >&2; exit 2"],
                                                                str(tmp_path))
    streams = {(e["stream"], base64.b64decode(e["chunk"])) for e in rec.of("exec_command_output_delta")}
    assert ("stderr", b"oops\n") in streams
    end, = rec.of("exec_command_end")
    assert (end["stdout"], end["stderr"], end["exit_code"], end["status"]) == (f"{tmp_path}\n", "oops\n", 2, "failed")


async def test_timeout_kills_the_tree_exits_124_and_keeps_the_output():
    rec = Recorder()
    m = f"3{uuid.uuid4().int % 10**6:06d}"
    out = await ShellTool(policy=FULL)({"command": ["bash", "-c", f"echo before; sleep {m} & sleep {m}; wait"],
                                        "timeout_ms": 2000}, ctx(rec))  # bash prints in time, even under load
    payload = json.loads(out.text)
    assert payload["output"] == "command timed out after 2000 milliseconds\nbefore\n"
    assert payload["metadata"]["exit_code"] == 124
    assert rec.of("exec_command_end")[0]["exit_code"] == 124
    assert_nothing_left(m)


async def test_cancelled_call_emits_the_output_so_far_and_leaves_nothing():
    rec = Recorder()
    m = f"3{uuid.uuid4().int % 10**6:06d}"
    started = trio.Event()

    async def emit(event):
        await rec(event)
        if event["type"] == "exec_command_output_delta":
            started.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ShellTool(policy=FULL), {"command": ["bash", "-c", f"echo partial; sleep {m}"],
                                                    "timeout_ms": 60000}, ctx(emit))
        with trio.fail_after(10):
            await started.wait()
        nursery.cancel_scope.cancel()
    end, = rec.of("exec_command_end")
    assert (end["aggregated_output"], end["status"]) == ("partial\n", "failed")
    assert_nothing_left(m)


async def test_bad_arguments_and_missing_programs_are_reported_to_the_model():
    rec = Recorder()
    tool = ShellTool(policy=FULL)
    out = await tool({"command": "ls -l"}, ctx(rec))
    assert (out.text, out.success) == (
        "failed to parse function arguments: `command` must be a non-empty array of strings", False)
    out = await tool({"command": ["ls"], "timeout_ms": -5}, ctx(rec))
    assert out.text == "failed to parse function arguments: `timeout_ms` must be a positive number"
    assert rec.events == []
    out = await tool({"command": ["definitely-not-a-program"]}, ctx(rec))
    payload = json.loads(out.text)
    assert payload["metadata"]["exit_code"] == 127
    assert "cannot run definitely-not-a-program: No such file or directory" in payload["output"]


async def test_router_entry_point_and_spec():
    events = []

    async def emit(event):
        events.append(event)

    tool = ShellTool(policy=FULL)
    result = await tool.handle(ToolCall("c1", "shell", "function", '{"command": ["echo", "routed"]}'),
                               ToolContext(turn_id="t", cwd="/tmp", emit=emit))
    assert json.loads(result.output)["output"] == "routed\n"
    assert type(events[-1]).__name__ == "ExecCommandEnd"
    assert tool.spec() is SHELL_TOOL and SHELL_TOOL["parameters"]["required"] == ["command"]

"""Every approval policy x sandbox mode, end to end: does a patch reach the disk, and is the user asked first
(spec agent-core 5.3 "Patches")? Patches are written by this process, never inside the sandbox, so a patch
outside the writable roots must be asked about (or refused), never written because "allow" was taken to mean
"write it here" (as an on-failure / read-only patch under /var/tmp once was).

The outside target lives under /var/tmp: workspace-write counts /tmp (where pytest's tmp_path is) and $TMPDIR
as writable roots, as Codex does."""

import shutil
import uuid
from pathlib import Path

import pytest
import trio

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import custom_tool_call, response, serve_scripted_model, text_message

from tests.session.test_exec_tools import turn
from tests.session.test_rollout_resume import config_for

POLICIES = ["untrusted", "on-failure", "on-request", "never"]
MODES = ["read-only", "workspace-write", "danger-full-access"]


def expected(policy: str, mode: str, inside_cwd: bool) -> str:
    """"write" (no question), "ask", or "reject" (no question, not written)."""
    if policy == "untrusted":
        return "ask"
    if mode == "danger-full-access" or (mode == "workspace-write" and inside_cwd):
        return "write"
    return "reject" if policy == "never" else "ask"


@pytest.fixture
def outside():
    folder = Path("/var/tmp") / f"codex-actors-patch-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def run_patch_turn(tmp_path, target: Path, policy: str, mode: str, answer: str):
    """One turn whose model adds `target` with apply_patch; every patch question is answered `answer`.
    Returns (questions asked, what the model was told)."""
    patch = f"*** Begin Patch\n*** Add File: {target}\n+planted\n*** End Patch\n"
    script = [response(custom_tool_call("apply_patch", patch, "p1")), response(text_message("done"))]
    questions = []
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, f"sandbox_mode={mode}", f"approval_policy={policy}")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            with trio.fail_after(30):
                await session.submit(turn("go", config.cwd))
                while True:
                    last = (await session.wait_for((events.ApplyPatchApprovalRequest, events.TaskComplete)))[-1]
                    if isinstance(last.msg, events.TaskComplete):
                        break
                    questions.append(last.msg)
                    await session.submit(ops.PatchApproval(id=last.msg.call_id, decision=answer))
    [told] = [i["output"] for i in server.requests[1].body["input"] if i.get("call_id") == "p1"
              and i["type"] == "custom_tool_call_output"]
    return questions, told


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("where", ["outside", "cwd"])
async def test_a_patch_is_written_asked_about_or_refused_exactly_as_the_policies_say(
        tmp_path, outside, policy, mode, where):
    target = outside / "planted.txt" if where == "outside" else tmp_path / "work" / "planted.txt"
    want = expected(policy, mode, inside_cwd=where == "cwd")
    questions, told = await run_patch_turn(tmp_path, target, policy, mode, answer="denied")
    assert (len(questions), target.exists()) == {"write": (0, True), "ask": (1, False), "reject": (0, False)}[want]
    if want == "ask":
        assert told == "patch rejected by user"
    if want == "reject":
        assert "rejected by user approval settings" in told


@pytest.mark.parametrize("mode", ["read-only", "workspace-write"])
async def test_on_failure_asks_before_writing_outside_the_roots_and_writes_once_approved(tmp_path, outside, mode):
    target = outside / "approved.txt"
    questions, _ = await run_patch_turn(tmp_path, target, "on-failure", mode, answer="approved")
    assert [q.reason for q in questions] == ["command failed; retry without sandbox?"]
    assert target.read_text() == "planted\n"

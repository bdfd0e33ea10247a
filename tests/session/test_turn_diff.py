"""`turn_diff`: after a response whose patches changed files, the aggregate diff of the turn so far (spec
agent-core 1.3), in git's format."""

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.session.turn_diff import TurnDiffTracker
from codex_actors.testing import custom_tool_call, response, serve_scripted_model, text_message

from tests.session.test_rollout_resume import config_for

ADD_A = "*** Begin Patch\n*** Add File: a.txt\n+one\n*** End Patch\n"
EDIT_A_ADD_B = ("*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+two\n*** Add File: b.txt\n+bee\n"
                "*** End Patch\n")
BROKEN = "*** Begin Patch\n*** Update File: missing.txt\n@@\n-x\n+y\n*** End Patch\n"


async def test_each_response_that_patched_files_is_followed_by_the_turns_aggregate_diff(tmp_path):
    script = [response(custom_tool_call("apply_patch", ADD_A, "p1")),
              response(custom_tool_call("apply_patch", EDIT_A_ADD_B, "p2")),
              response(custom_tool_call("apply_patch", BROKEN, "p3")),
              response(text_message("done"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=never")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(ops.UserInputOp(items=[ops.TextInput("edit")]))
            seen = await session.wait_for(events.TaskComplete)
    diffs = [e.msg.unified_diff for e in seen if isinstance(e.msg, events.TurnDiff)]
    assert diffs == [
        "diff --git a/a.txt b/a.txt\nnew file mode 100644\n--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+one\n",
        # The second diff is of the whole turn: a.txt is still a new file, now with its second content.
        "diff --git a/a.txt b/a.txt\nnew file mode 100644\n--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+two\n"
        "diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+bee\n",
    ]  # the failed patch and the final answer changed nothing: no third diff
    kinds = [type(e.msg).TYPE for e in seen]
    assert kinds.index("turn_diff") > kinds.index("patch_apply_end")


def test_deleted_moved_unterminated_and_binary_files_diff_like_git(tmp_path):
    (tmp_path / "gone.txt").write_text("bye\n")
    (tmp_path / "old.txt").write_text("same\n")
    (tmp_path / "tail.txt").write_text("a\nb")
    (tmp_path / "blob.bin").write_bytes(b"\xff\x00")
    tracker = TurnDiffTracker(str(tmp_path))
    path = lambda name: str(tmp_path / name)  # noqa: E731
    tracker.record_baselines({path("gone.txt"): {"type": "delete"},
                              path("old.txt"): {"type": "update", "move_path": path("new.txt")},
                              path("tail.txt"): {"type": "update"}, path("blob.bin"): {"type": "update"}})
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "old.txt").rename(tmp_path / "new.txt")
    (tmp_path / "tail.txt").write_text("a\nc")
    (tmp_path / "blob.bin").write_bytes(b"\xfe\x00")
    tracker.record_baselines({path("tail.txt"): {"type": "update"}})  # a second patch keeps the first baseline
    assert tracker.unified_diff() == (
        "diff --git a/blob.bin b/blob.bin\nBinary files a/blob.bin and b/blob.bin differ\n"
        "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-bye\n"
        "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+same\n"
        "diff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-same\n"
        "diff --git a/tail.txt b/tail.txt\n--- a/tail.txt\n+++ b/tail.txt\n@@ -1,2 +1,2 @@\n a\n"
        "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
    )


async def test_a_patch_applied_from_a_code_mode_cell_is_in_the_turn_diff(tmp_path):
    source = f"await tools.apply_patch({ADD_A!r});\ntext('patched');"
    script = [response(custom_tool_call("exec", source, "x1")), response(text_message("done"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write", "approval_policy=never")
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(ops.UserInputOp(items=[ops.TextInput("edit")]))
            seen = await session.wait_for(events.TaskComplete)
    assert (config.cwd / "a.txt").read_text() == "one\n"
    diffs = [e.msg.unified_diff for e in seen if isinstance(e.msg, events.TurnDiff)]
    assert diffs == ["diff --git a/a.txt b/a.txt\nnew file mode 100644\n--- /dev/null\n+++ b/a.txt\n"
                     "@@ -0,0 +1 @@\n+one\n"]

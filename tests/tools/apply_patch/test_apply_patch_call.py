"""apply_patch end to end on real files in tmp_path: results, events, messages (agent-core spec 4.5, 1.3)."""

import os

import pytest

from codex_actors.tools.apply_patch import apply_patch_call


class Recorder:
    """An `emit` that keeps every event."""

    def __init__(self):
        self.events = []

    async def __call__(self, event):
        self.events.append(event)

    def types(self):
        return [e["type"] for e in self.events]


async def run(patch, cwd, **kw):
    emit = Recorder()
    output, ok = await apply_patch_call(patch, cwd, emit=emit, call_id="call-1", turn_id="turn-1", **kw)
    return output, ok, emit


def wrap(body):
    return f"*** Begin Patch\n{body}\n*** End Patch\n"


def tree(root):
    """Every file under root (relative path -> text), to compare before/after."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = open(full, encoding="utf-8", newline="").read()
    return out


async def test_add_file_creates_parent_directories_and_reports_success(tmp_path):
    output, ok, emit = await run(wrap("*** Add File: src/new/hello.txt\n+hello\n+world"), tmp_path)
    assert (output, ok) == ("Success. Updated the following files:\nA src/new/hello.txt\n", True)
    assert (tmp_path / "src/new/hello.txt").read_text() == "hello\nworld\n"
    changes = {str(tmp_path / "src/new/hello.txt"): {"type": "add", "content": "hello\nworld\n"}}
    assert emit.events == [
        {"type": "patch_apply_begin", "call_id": "call-1", "turn_id": "turn-1", "auto_approved": True,
         "changes": changes},
        {"type": "patch_apply_end", "call_id": "call-1", "turn_id": "turn-1", "stdout": output, "stderr": "",
         "success": True, "changes": changes, "status": "completed"},
    ]


async def test_update_with_context_changes_only_the_matched_lines(tmp_path):
    (tmp_path / "a.py").write_text("one\ntwo\nthree\nfour\nfive\n")
    output, ok, emit = await run(wrap("*** Update File: a.py\n@@\n two\n-three\n+THREE\n four"), tmp_path)
    assert (output, ok) == ("Success. Updated the following files:\nM a.py\n", True)
    assert (tmp_path / "a.py").read_text() == "one\ntwo\nTHREE\nfour\nfive\n"
    change = emit.events[0]["changes"][str(tmp_path / "a.py")]
    assert change == {"type": "update", "move_path": None,
                      "unified_diff": "@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n"}


async def test_anchor_picks_the_block_after_the_named_function(tmp_path):
    source = "def f():\n    return 1\n\ndef g():\n    return 1\n"
    (tmp_path / "m.py").write_text(source)
    _, ok, _ = await run(wrap("*** Update File: m.py\n@@ def g():\n-    return 1\n+    return 2"), tmp_path)
    assert ok
    assert (tmp_path / "m.py").read_text() == "def f():\n    return 1\n\ndef g():\n    return 2\n"


async def test_several_chunks_apply_in_order_and_a_pure_addition_appends(tmp_path):
    (tmp_path / "f.txt").write_text("a\nb\nc\nd\n")
    patch = wrap("*** Update File: f.txt\n@@\n-a\n+A\n@@\n c\n-d\n+D\n@@\n+tail")
    _, ok, _ = await run(patch, tmp_path)
    assert ok
    assert (tmp_path / "f.txt").read_text() == "A\nb\nc\nD\ntail\n"


async def test_move_writes_the_new_path_and_removes_the_old(tmp_path):
    (tmp_path / "old.txt").write_text("line\n")
    output, ok, emit = await run(wrap("*** Update File: old.txt\n*** Move to: sub/new.txt\n@@\n-line\n+line2"), tmp_path)
    assert (output, ok) == ("Success. Updated the following files:\nM sub/new.txt\n", True)
    assert not (tmp_path / "old.txt").exists()
    assert (tmp_path / "sub/new.txt").read_text() == "line2\n"
    change = emit.events[0]["changes"][str(tmp_path / "old.txt")]
    assert change["move_path"] == str(tmp_path / "sub/new.txt")


async def test_delete_removes_the_file_and_reports_its_content(tmp_path):
    (tmp_path / "gone.txt").write_text("bye\n")
    output, ok, emit = await run(wrap("*** Delete File: gone.txt"), tmp_path)
    assert (output, ok) == ("Success. Updated the following files:\nD gone.txt\n", True)
    assert not (tmp_path / "gone.txt").exists()
    assert emit.events[0]["changes"] == {str(tmp_path / "gone.txt"): {"type": "delete", "content": "bye\n"}}


async def test_summary_lists_added_then_modified_then_deleted(tmp_path):
    (tmp_path / "m.txt").write_text("x\n")
    (tmp_path / "d.txt").write_text("y\n")
    patch = wrap("*** Delete File: d.txt\n*** Update File: m.txt\n@@\n-x\n+z\n*** Add File: a.txt\n+new")
    output, ok, _ = await run(patch, tmp_path)
    assert (output, ok) == ("Success. Updated the following files:\nA a.txt\nM m.txt\nD d.txt\n", True)


async def test_end_of_file_marker_matches_the_last_occurrence(tmp_path):
    (tmp_path / "f.txt").write_text("x\nend\nx\nend\n")
    _, ok, _ = await run(wrap("*** Update File: f.txt\n@@\n x\n-end\n+END\n*** End of File"), tmp_path)
    assert ok
    assert (tmp_path / "f.txt").read_text() == "x\nend\nx\nEND\n"


async def test_update_of_a_file_without_final_newline_ends_with_one(tmp_path):
    (tmp_path / "f.txt").write_text("a\nb")
    _, ok, emit = await run(wrap("*** Update File: f.txt\n@@\n-a\n+A"), tmp_path)
    assert ok
    assert (tmp_path / "f.txt").read_text() == "A\nb\n"
    diff = emit.events[0]["changes"][str(tmp_path / "f.txt")]["unified_diff"]
    assert diff == "@@ -1,2 +1,2 @@\n-a\n-b\n\\ No newline at end of file\n+A\n+b\n"


@pytest.mark.parametrize(
    ("on_disk", "in_patch"),
    [
        ("    value = 1   \n", "    value = 1"),  # trailing whitespace
        ("\t  value = 1\n", "value = 1"),  # surrounding whitespace
        ("value \u2014 \u201cone\u201d \u2018x\u2019\u00a0= 1\n", "value - \"one\" 'x' = 1"),  # dashes, quotes, nbsp
    ],
)
async def test_fuzzy_matching_finds_lines_that_differ_in_whitespace_or_punctuation(tmp_path, on_disk, in_patch):
    (tmp_path / "f.py").write_text("before\n" + on_disk + "after\n")
    _, ok, _ = await run(wrap(f"*** Update File: f.py\n@@\n before\n-{in_patch}\n+value = 2\n after"), tmp_path)
    assert ok
    assert (tmp_path / "f.py").read_text() == "before\nvalue = 2\nafter\n"


async def test_a_heredoc_wrapped_patch_is_applied(tmp_path):
    patch = "<<'EOF'\n*** Begin Patch\n*** Add File: h.txt\n+hi\n*** End Patch\nEOF\n"
    output, ok, _ = await run(patch, tmp_path)
    assert (output, ok) == ("Success. Updated the following files:\nA h.txt\n", True)
    assert (tmp_path / "h.txt").read_text() == "hi\n"


async def test_absolute_paths_are_accepted(tmp_path):
    target = tmp_path / "abs.txt"
    output, ok, _ = await run(wrap(f"*** Add File: {target}\n+x"), "/")
    assert (output, ok) == (f"Success. Updated the following files:\nA {target}\n", True)
    assert target.read_text() == "x\n"


async def test_an_update_sees_a_file_added_earlier_in_the_same_patch(tmp_path):
    patch = wrap("*** Add File: f.txt\n+one\n+two\n*** Update File: f.txt\n@@\n-two\n+TWO")
    _, ok, _ = await run(patch, tmp_path)
    assert ok
    assert (tmp_path / "f.txt").read_text() == "one\nTWO\n"


@pytest.mark.parametrize(
    ("files", "body", "message"),
    [
        ({}, "*** Frobnicate: x",
         "invalid hunk at line 2, '*** Frobnicate: x' is not a valid hunk header. Valid hunk headers: "
         "'*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'"),
        ({"f.txt": "a\nb\n"}, "*** Update File: f.txt\n@@\n-zzz\n-yyy\n+b",
         "Failed to find expected lines in {root}/f.txt:\nzzz\nyyy"),
        ({"f.txt": "a\nb\n"}, "*** Update File: f.txt\n@@ class Missing\n-a\n+b",
         "Failed to find context 'class Missing' in {root}/f.txt"),
        ({}, "*** Update File: nope.txt\n@@\n-a\n+b",
         "Failed to read file to update {root}/nope.txt: No such file or directory"),
        ({}, "*** Delete File: nope.txt", "Failed to read {root}/nope.txt: No such file or directory"),
    ],
)
async def test_verification_failures_return_the_spec_message_and_emit_nothing(tmp_path, files, body, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    output, ok, emit = await run(wrap(body), tmp_path)
    assert (output, ok) == ("apply_patch verification failed: " + message.replace("{root}", str(tmp_path)), False)
    assert emit.events == []
    assert tree(tmp_path) == files


async def test_a_patch_without_begin_marker_is_reported_whole(tmp_path):
    output, ok, emit = await run("*** Add File: x\n+y\n*** End Patch", tmp_path)
    assert (output, ok) == (
        "apply_patch verification failed: invalid patch: The first line of the patch must be '*** Begin Patch'",
        False,
    )
    assert emit.events == []


async def test_a_failed_multi_file_patch_leaves_every_file_untouched(tmp_path):
    files = {"keep.txt": "keep\n", "a.txt": "alpha\n", "b.txt": "beta\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    patch = wrap(
        "*** Add File: new/added.txt\n+x\n"
        "*** Delete File: keep.txt\n"
        "*** Update File: a.txt\n*** Move to: moved.txt\n@@\n-alpha\n+ALPHA\n"
        "*** Update File: b.txt\n@@\n-not there\n+x"
    )
    output, ok, emit = await run(patch, tmp_path)
    assert (output, ok) == (f"apply_patch verification failed: Failed to find expected lines in {tmp_path}/b.txt:\nnot there", False)
    assert tree(tmp_path) == files
    assert not (tmp_path / "new").exists()
    assert emit.events == []


async def test_deleting_a_directory_is_refused(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inner.txt").write_text("x\n")
    output, ok, emit = await run(wrap("*** Delete File: dir"), tmp_path)
    assert (output, ok) == (f"apply_patch verification failed: Failed to delete file {tmp_path}/dir: Is a directory", False)
    assert (tmp_path / "dir" / "inner.txt").read_text() == "x\n"
    assert emit.events == []


async def test_a_write_the_os_refuses_rolls_back_earlier_writes(tmp_path):
    # Passes verification, then the OS rejects the over-long file name after the first two hunks were written.
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    too_long = "x" * 300
    patch = wrap(
        "*** Update File: a.txt\n@@\n-alpha\n+ALPHA\n*** Delete File: gone.txt\n*** Add File: dir/new.txt\n+n\n"
        f"*** Add File: {too_long}\n+y"
    )
    output, ok, emit = await run(patch, tmp_path)
    assert (output, ok) == (f"Failed to write file {tmp_path}/{too_long}: File name too long", False)
    assert tree(tmp_path) == {"a.txt": "alpha\n", "gone.txt": "bye\n"}
    assert not (tmp_path / "dir").exists()
    assert emit.types() == ["patch_apply_begin", "patch_apply_end"]
    end = emit.events[1]
    assert (end["success"], end["status"], end["stdout"], end["stderr"]) == (False, "failed", "", output)


async def test_an_empty_patch_is_rejected_without_events(tmp_path):
    output, ok, emit = await run("*** Begin Patch\n*** End Patch", tmp_path)
    assert (output, ok, emit.events) == ("patch rejected: empty patch", False, [])


async def test_assess_rejection_returns_its_reason_and_writes_nothing(tmp_path):
    seen = []

    async def assess(changes):
        seen.append(changes)
        return "reject:writing outside of the project; rejected by user approval settings"

    output, ok, emit = await run(wrap("*** Add File: x.txt\n+x"), tmp_path, assess=assess)
    assert (output, ok) == ("patch rejected: writing outside of the project; rejected by user approval settings", False)
    assert seen == [{str(tmp_path / "x.txt"): {"type": "add", "content": "x\n"}}]
    assert emit.events == []
    assert not (tmp_path / "x.txt").exists()


async def test_asked_and_approved_patch_is_not_auto_approved_and_begin_precedes_the_question(tmp_path):
    log = []

    async def emit(event):
        log.append(event["type"])

    async def assess(changes):
        return "ask"

    async def ask(changes):
        log.append("asked")
        return "approve"

    output, ok = await apply_patch_call(
        wrap("*** Add File: x.txt\n+x"), tmp_path, emit=emit, call_id="c", turn_id="t", assess=assess, ask=ask
    )
    assert ok and (tmp_path / "x.txt").read_text() == "x\n"
    assert log == ["patch_apply_begin", "asked", "patch_apply_end"]


async def test_user_denial_is_declined_and_reported_to_the_model(tmp_path):
    async def assess(changes):
        return "ask"

    async def ask(changes):
        return "deny"

    output, ok, emit = await run(wrap("*** Add File: x.txt\n+x"), tmp_path, assess=assess, ask=ask)
    assert (output, ok) == ("patch rejected by user", False)
    assert not (tmp_path / "x.txt").exists()
    begin, end = emit.events
    assert begin["auto_approved"] is False
    assert (end["status"], end["success"], end["stderr"]) == ("declined", False, "patch rejected by user")


async def test_an_unknown_assess_answer_is_a_programming_error(tmp_path):
    async def assess(changes):
        return "maybe"

    with pytest.raises(ValueError, match="assess\\(\\) answered 'maybe'"):
        await run(wrap("*** Add File: x.txt\n+x"), tmp_path, assess=assess)
    assert not (tmp_path / "x.txt").exists()

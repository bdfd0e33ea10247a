"""The lenient patch parser: hunk shapes and every parse error, compared whole (agent-core spec 4.5)."""

import pytest

from codex_actors.tools.apply_patch.parser import (
    AddFile,
    DeleteFile,
    InvalidHunkError,
    InvalidPatchError,
    PatchParseError,
    UpdateFile,
    UpdateFileChunk,
    parse_patch,
)


def test_parses_add_delete_and_update_with_move_and_anchor():
    parsed = parse_patch(
        "*** Begin Patch\n"
        "*** Add File: path/add.py\n+abc\n+\n+def\n"
        "*** Delete File: path/delete.py\n"
        "*** Update File: path/update.py\n*** Move to: path/update2.py\n"
        "@@ def f():\n-    pass\n+    return 123\n"
        "*** End Patch\n"
    )
    assert parsed.hunks == (
        AddFile(path="path/add.py", contents="abc\n\ndef\n"),
        DeleteFile(path="path/delete.py"),
        UpdateFile(
            path="path/update.py",
            move_path="path/update2.py",
            chunks=(UpdateFileChunk("def f():", ("    pass",), ("    return 123",)),),
        ),
    )


def test_first_chunk_may_omit_its_header_and_blank_lines_between_chunks_are_skipped():
    parsed = parse_patch(
        "*** Begin Patch\n*** Update File: f.py\n\n import foo\n+bar\n*** End of File\n\n\n@@ def g\n-x\n+y\n"
        "*** End Patch"
    )
    assert parsed.hunks[0].chunks == (
        UpdateFileChunk(None, ("import foo",), ("import foo", "bar"), is_end_of_file=True),
        UpdateFileChunk("def g", ("x",), ("y",)),
    )


def test_an_empty_line_inside_a_chunk_is_an_empty_context_line():
    parsed = parse_patch("*** Begin Patch\n*** Update File: f\n@@\n a\n\n-b\n*** End Patch")
    assert parsed.hunks[0].chunks[0] == UpdateFileChunk(None, ("a", "", "b"), ("a", ""))


def test_markers_tolerate_surrounding_whitespace_and_crlf_line_ends():
    parsed = parse_patch("  *** Begin Patch \r\n  *** Add File: foo  \r\n+hi\r\n *** End Patch  \r\n")
    assert parsed.hunks == (AddFile(path="foo", contents="hi\n"),)


@pytest.mark.parametrize("opener", ["<<EOF", "<<'EOF'", '<<"EOF"'])
def test_a_heredoc_wrapper_is_stripped(opener):
    parsed = parse_patch(f"{opener}\n*** Begin Patch\n*** Add File: foo\n+hi\n*** End Patch\nEOF\n")
    assert parsed.hunks == (AddFile(path="foo", contents="hi\n"),)
    assert parsed.patch == "*** Begin Patch\n*** Add File: foo\n+hi\n*** End Patch"


def test_other_unicode_line_breaks_stay_inside_their_line():
    parsed = parse_patch("*** Begin Patch\n*** Add File: foo\n+a\u2028b\x0cc\n*** End Patch")
    assert parsed.hunks == (AddFile(path="foo", contents="a\u2028b\x0cc\n"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bad", "invalid patch: The first line of the patch must be '*** Begin Patch'"),
        ("", "invalid patch: The first line of the patch must be '*** Begin Patch'"),
        ("*** Begin Patch\nbad", "invalid patch: The last line of the patch must be '*** End Patch'"),
        ("<<EOF\n*** Begin Patch\n*** Add File: a\nEOF", "invalid patch: The last line of the patch must be '*** End Patch'"),
        (
            "*** Begin Patch\n*** Frobnicate File: foo\n*** End Patch",
            "invalid hunk at line 2, '*** Frobnicate File: foo' is not a valid hunk header. Valid hunk headers: "
            "'*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'",
        ),
        (
            "*** Begin Patch\n*** Update File: test.py\n*** End Patch",
            "invalid hunk at line 2, Update file hunk for path 'test.py' is empty",
        ),
        (
            "*** Begin Patch\n*** Update File: a.py\n@@\n-x\n+y\n\nbad line\n*** End Patch",
            "invalid hunk at line 7, Expected update hunk to start with a @@ context marker, got: 'bad line'",
        ),
        (
            "*** Begin Patch\n*** Update File: a.py\n@@\nbad line\n*** End Patch",
            "invalid hunk at line 4, Unexpected line found in update hunk: 'bad line'. Every line should start "
            "with ' ' (context line), '+' (added line), or '-' (removed line)",
        ),
        (
            "*** Begin Patch\n*** Update File: a.py\n@@\n*** End of File\n*** End Patch",
            "invalid hunk at line 4, Update hunk does not contain any lines",
        ),
    ],
)
def test_malformed_patches_fail_with_the_spec_message(text, message):
    with pytest.raises(PatchParseError) as err:
        parse_patch(text)
    assert str(err.value) == message
    assert isinstance(err.value, (InvalidPatchError, InvalidHunkError))


def test_a_header_only_chunk_at_the_end_has_no_lines():
    # `@@` as the last line of the body; the line reported is the one after it, where lines were expected.
    with pytest.raises(InvalidHunkError) as err:
        parse_patch("*** Begin Patch\n*** Update File: a.py\n@@\n-x\n@@\n*** End Patch")
    assert str(err.value) == "invalid hunk at line 6, Update hunk does not contain any lines"

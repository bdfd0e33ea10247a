"""Property: any edit of any file, written as a patch, reproduces the edited file exactly (agent-core spec 4.5)."""

import difflib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_actors.tools.apply_patch import apply_plan, parse_patch, plan_patch

# Any characters but the line breaks the format splits on; each line gets a unique tag so context is unambiguous.
line_text = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12)


@st.composite
def edits(draw):
    """(old lines, new lines, old text ends with newline?, anchors?, end-of-file markers?)."""
    old = [f"{i}|{t}" for i, t in enumerate(draw(st.lists(line_text, max_size=25)))]
    new = list(old)
    fresh = iter(range(10_000))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(new)))
        if op == "insert" or not new or at == len(new):
            new[at:at] = [f"n{next(fresh)}|{t}" for t in draw(st.lists(line_text, min_size=1, max_size=3))]
        elif op == "delete":
            del new[at:at + draw(st.integers(1, 3))]
        else:
            new[at] = f"r{next(fresh)}|{draw(line_text)}"
    return old, new, draw(st.booleans()), draw(st.booleans()), draw(st.booleans())


def patch_for(path, old, new, anchors, eof_markers):
    """Our own patch writer: one `@@` chunk per difflib group with 3 lines of context, optionally anchored on
    the line just before the chunk, and optionally marking a chunk that reaches the end with `*** End of File`."""
    out = ["*** Begin Patch", f"*** Update File: {path}"]
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(3):
        first = group[0][1]
        out.append(f"@@ {old[first - 1]}" if anchors and first > 0 else "@@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in old[i1:i2])
            else:
                out.extend("-" + line for line in old[i1:i2])
                out.extend("+" + line for line in new[j1:j2])
        if eof_markers and group[-1][2] == len(old) and group[-1][2] > group[0][1]:
            out.append("*** End of File")
    out.append("*** End Patch")
    return "\n".join(out) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edit=edits())
def test_a_random_edit_expressed_as_a_patch_reproduces_the_edited_file(tmp_path, edit):
    old, new, final_newline, anchors, eof_markers = edit
    if old == new:
        return  # no change: nothing to express as a patch
    target = tmp_path / "file.txt"
    target.write_text("\n".join(old) + ("\n" if final_newline and old else ""), encoding="utf-8", newline="")
    plan = plan_patch(parse_patch(patch_for("file.txt", old, new, anchors, eof_markers)), tmp_path)
    apply_plan(plan)
    assert target.read_bytes().decode("utf-8") == "".join(line + "\n" for line in new)

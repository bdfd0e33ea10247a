"""The two tool specs the model can be offered for apply_patch (agent-core spec 4.5 and Appendix A).

* `freeform_tool_spec()`: a Responses API custom tool constrained by `APPLY_PATCH_LARK_GRAMMAR`; the model answers
  with a `custom_tool_call` whose `input` is the raw patch.
* `json_tool_spec()`: a function tool with one required string `input`, for providers without custom tools
  (chat-completions servers); its description carries the whole format, since nothing constrains the model.

Both are named `apply_patch`; a session offers one of them, never both.
"""

from __future__ import annotations

TOOL_NAME = "apply_patch"

APPLY_PATCH_LARK_GRAMMAR = r"""start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?

hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change_move? change?

filename: /(.+)/
add_line: "+" /(.*)/ LF -> line

change_move: "*** Move to: " filename LF
change: (change_context | change_line)+ eof_line?
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
eof_line: "*** End of File" LF

%import common.LF
"""

FREEFORM_DESCRIPTION = (
    "Use the `apply_patch` tool to edit files. This is a FREEFORM tool, so do not wrap the patch in JSON."
)

PATCH_FORMAT_DESCRIPTION = """Edit files by sending a patch in the apply_patch format as the `input` string.

A patch is plain text wrapped in an envelope:

*** Begin Patch
<one or more file operations>
*** End Patch

Each file operation starts with exactly one of these headers:

*** Add File: <path>      creates a file; every line after it starts with '+' and is a line of the new file.
*** Delete File: <path>   removes a file; nothing follows it.
*** Update File: <path>   edits a file in place; it may be followed by `*** Move to: <new path>` to rename it.

An Update File operation then lists its changes. Each change starts with a line `@@`, or `@@ <anchor>` where the
anchor is a line of the file (usually a class or function header) that comes before the change, and is followed
by lines that each start with one character:
  ' ' (space)  a context line, kept as it is
  '-'          a line to remove
  '+'          a line to add
Show 3 lines of context above and 3 below each change, without repeating lines shared with the previous change.
When 3 lines of context are not enough to say where a change goes, add an anchor, or several `@@ <anchor>` lines
in a row (e.g. the class, then the method). If a change must match the end of the file, put a line
`*** End of File` after its last line.

Grammar:
  patch      := "*** Begin Patch" NL file_op+ "*** End Patch" NL?
  file_op    := add | delete | update
  add        := "*** Add File: " path NL ("+" text NL)+
  delete     := "*** Delete File: " path NL
  update     := "*** Update File: " path NL ["*** Move to: " path NL] change*
  change     := ("@@" | "@@ " anchor) NL (( " " | "-" | "+") text NL)+ ["*** End of File" NL]

Example, adding a file, editing and renaming another, and deleting a third:

*** Begin Patch
*** Add File: docs/hello.txt
+Hello world
*** Update File: src/app.py
*** Move to: src/main.py
@@ def greet():
-    print("Hi")
+    print("Hello, world!")
*** Delete File: obsolete.txt
*** End Patch

Rules: always name the operation with its header, prefix every line of a new file with '+', and use paths
relative to the working directory, never absolute ones.
"""


def freeform_tool_spec() -> dict:
    """The custom (freeform, grammar-constrained) `apply_patch` tool spec, as sent in a Responses request's
    `tools` list: `{"type": "custom", "name", "description", "format": {"type": "grammar", "syntax": "lark",
    "definition"}}`."""
    return {
        "type": "custom",
        "name": TOOL_NAME,
        "description": FREEFORM_DESCRIPTION,
        "format": {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_LARK_GRAMMAR},
    }


def json_tool_spec() -> dict:
    """The function-tool `apply_patch` spec, `{"input": <patch text>}` as its only (required) argument, in the
    Responses shape (`{"type": "function", "name", "description", "strict", "parameters"}`); the chat wire
    wraps it as `{"type": "function", "function": {...}}` itself."""
    return {
        "type": "function",
        "name": TOOL_NAME,
        "description": PATCH_FORMAT_DESCRIPTION,
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "input": {"type": "string", "description": "The entire contents of the apply_patch command"},
            },
            "required": ["input"],
            "additionalProperties": False,
        },
    }

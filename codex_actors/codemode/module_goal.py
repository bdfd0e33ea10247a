"""What makes a cell's code behave as module code where a function body would not (spec code-mode.md 2.1, 2.5).

The cell runs as the body of a strict async function (see `prelude`): `this`, strictness, top-level `await` and
static `import` errors are then those of a module, but two things are not. A module has no `return` at its top
level (a SyntaxError) and no `arguments` binding (a reference to it is a ReferenceError, `typeof arguments` is
"undefined"); a function body has both. `module_source(code)` finds them with a real parse (tree-sitter's
JavaScript grammar and a query over its tree, not a pattern) and returns the code to compile, of the same length
on every line so V8's line and column numbers stay the user's own:

- a top-level `return` (outside any function, method or class body): the error text V8 gives for it in a module,
  `SyntaxError: Illegal return statement\\n    at exec_main.mjs:<line>:<column>`; nothing is compiled;
- a top-level reference to `arguments` (outside any non-arrow function or class body) becomes `THROW_ARGUMENTS()`
  (nine UTF-16 units, like `arguments`): a parameter of the cell's function that throws
  `ReferenceError: arguments is not defined`; `typeof arguments` becomes `undefined`. Assignments and bindings
  named `arguments` are left alone: strict mode already refuses them with V8's own SyntaxError.

Code that does not contain the words at all is returned untouched without parsing. Code the grammar cannot parse
is returned untouched too: V8 then reports its own SyntaxError.
"""

from __future__ import annotations

import functools
from typing import Any

from codex_actors.codemode.prelude import ENTRY_NAME, THROW_ARGUMENTS
ILLEGAL_RETURN = "SyntaxError: Illegal return statement"

_FUNCTIONS = frozenset({"function_expression", "function_declaration", "generator_function",
                        "generator_function_declaration", "method_definition"})
"""Nodes with their own `arguments` and `return`; an `arrow_function` has only its own `return`."""
_NOT_A_REFERENCE = frozenset({"variable_declarator", "formal_parameters", "array_pattern", "object_pattern",
                              "assignment_pattern", "rest_pattern", "catch_clause", "update_expression",
                              "pair_pattern", "import_specifier", "labeled_statement"})

_SCOPES_QUERY = ("(arrow_function) @arrow ["
                 + " ".join(f"({kind})" for kind in sorted(_FUNCTIONS | {"class_body"})) + "] @scope ")
_RETURN_QUERY = "(return_statement) @return "
_ARGUMENTS_QUERY = '((identifier) @arguments (#eq? @arguments "arguments"))'
"""The nodes the rules look at, and the scopes that hide them, found by tree-sitter itself: walking the tree from
Python cost about 0.6 ms per KiB of code, more than the parse (and a node's `parent` is found from the root). The
`arguments` pattern is only run on code with the word: its text test is made in Python for every identifier."""


def module_source(code: str) -> tuple[str, str | None]:
    """`(code to compile, None)`, or `(code, error text)` when the code has a top-level `return`. Only code
    containing one of the two words is parsed (about 0.4 ms per KiB here); the rules then look at the `return`
    statements and `arguments` identifiers the query found, and at the function, class and arrow spans around
    them."""
    find_arguments = "arguments" in code
    if not find_arguments and "return" not in code:
        return code, None
    import tree_sitter

    parser, query = _parser_and_query(find_arguments)
    data = code.encode("utf-8")
    tree = parser.parse(data)
    if tree.root_node.has_error:
        return code, None
    found = tree_sitter.QueryCursor(query).captures(tree.root_node)
    scopes = _spans(found.get("scope", ()))  # their own `return` and `arguments`
    arrows = _spans(found.get("arrow", ()))  # their own `return` only
    returns = [node for node in found.get("return", ()) if not _inside(node, scopes) and not _inside(node, arrows)]
    if returns:
        node = min(returns, key=lambda n: n.start_byte)  # the first in the code
        row, column = node.start_point
        position = f"{row + 1}:{_utf16_column(data, node.start_byte, column)}"
        return code, f"{ILLEGAL_RETURN}\n    at {ENTRY_NAME}:{position}"
    edits: list[tuple[int, int, bytes]] = []
    for node in found.get("arguments", ()):
        if not _inside(node, scopes) and _is_reference(node):
            edits.append((node.start_byte, node.end_byte,
                          b"undefined" if _under_typeof(node) else f"{THROW_ARGUMENTS}()".encode("utf-8")))
    if not edits:
        return code, None
    out, last = [], 0
    for start, end, replacement in sorted(edits):
        out += [data[last:start], replacement]
        last = end
    out.append(data[last:])
    return b"".join(out).decode("utf-8"), None


@functools.cache
def _parser_and_query(find_arguments: bool) -> tuple[Any, Any]:
    """tree-sitter's JavaScript parser and the rules' query (with the `arguments` pattern or without), loaded on
    first use (about 40 ms: not at import)."""
    import tree_sitter
    import tree_sitter_javascript

    language = tree_sitter.Language(tree_sitter_javascript.language())
    source = _SCOPES_QUERY + _RETURN_QUERY + (_ARGUMENTS_QUERY if find_arguments else "")
    return tree_sitter.Parser(language), tree_sitter.Query(language, source)


def load_parser() -> None:
    """Load the parser now (blocking, about 40 ms; the warm pool does it in a worker thread once it is full)."""
    _parser_and_query(False)
    _parser_and_query(True)


def _spans(nodes: Any) -> list[tuple[int, int]]:
    """The byte spans of `nodes`, outermost first where they nest."""
    return sorted((node.start_byte, -node.end_byte) for node in nodes)


def _inside(node: Any, spans: list[tuple[int, int]]) -> bool:
    """Whether `node` lies within one of `spans` (from `_spans`)."""
    start, end = node.start_byte, node.end_byte
    for span_start, negative_end in spans:
        if span_start > start:
            return False
        if end <= -negative_end:
            return True
    return False


def _is_reference(node: Any) -> bool:
    parent = node.parent
    if parent is None or parent.type in _NOT_A_REFERENCE:
        return False
    if parent.type in ("assignment_expression", "augmented_assignment_expression"):
        return parent.child_by_field_name("left") != node
    if parent.type == "unary_expression" and parent.child_by_field_name("operator").type == "delete":
        return False
    return True


def _under_typeof(node: Any) -> bool:
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent.parent
    return (parent is not None and parent.type == "unary_expression"
            and parent.child_by_field_name("operator").type == "typeof")


def _utf16_column(data: bytes, start_byte: int, byte_column: int) -> int:
    """The 1-based UTF-16 column (V8's) of the byte at `start_byte`, which is `byte_column` bytes into its line."""
    line_start = start_byte - byte_column
    return len(data[line_start:start_byte].decode("utf-8").encode("utf-16-le")) // 2 + 1

"""The cell's error text for code V8 refused to compile (spec code-mode.md 2.5, 1.2): V8's own message, placed at
the user's line and column in `exec_main.mjs`, and a static `import` named by its specifier."""

from __future__ import annotations

import json
import re

from codex_actors.codemode.prelude import ENTRY_NAME, LINE_OFFSET

_V8_POSITION = re.compile(r"\A[^\n]*?:(\d+): (.*?)\n(.*?)\n( *)\^", re.DOTALL)
_IMPORT_OUTSIDE_MODULE = "SyntaxError: Cannot use import statement outside a module"


def compile_error_text(message: str) -> str:
    """Turn mini-racer's text for an exception thrown by the cell's compile step (`<name>:<line>: <error>`,
    the source line, a caret line) into the cell's error text: `<error>\\n    at exec_main.mjs:<line>:<col>` with
    the user's own line. A static import becomes `Unsupported import in exec: <specifier>` (spec 2.5). A message
    without a position gives its first line, "" when empty."""
    match = _V8_POSITION.match(message)
    if match is None:
        return message.strip().split("\n", 1)[0]
    line = int(match.group(1)) - LINE_OFFSET
    error, column = match.group(2), len(match.group(4)) + 1
    if error == _IMPORT_OUTSIDE_MODULE:
        specifier = import_specifier(match.group(3), column - 1)
        if specifier is not None:
            return f"Unsupported import in exec: {specifier}"
    return f"{error}\n    at {ENTRY_NAME}:{line}:{column}"


def _unquote(literal: str) -> str:
    inner = literal[1:-1]
    if "\\" not in inner:
        return inner
    try:
        return json.loads('"' + inner.replace("\\'", "'").replace('"', '\\"') + '"')
    except ValueError:
        return inner


_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def import_specifier(source_line: str, start: int) -> str | None:
    """The module specifier of the import declaration whose `import` keyword V8 found at `start` of
    `source_line`: the string after `import` (side-effect form) or after `from` (spec 2.5). None if the
    declaration does not end on that line."""
    pos = start + len("import")
    after_from = True
    text = source_line
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                return None
            pos = end + 2
        elif text.startswith("//", pos):
            return None
        elif char in "\"'":
            end = pos + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                return None
            literal = text[pos: end + 1]
            if after_from:
                return _unquote(literal)
            pos = end + 1
        else:
            ident = _IDENT.match(text, pos)
            if ident is not None:
                after_from = ident.group() == "from"
                pos = ident.end()
            else:
                after_from = False
                pos += 1
    return None

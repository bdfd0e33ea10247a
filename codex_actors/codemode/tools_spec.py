"""What a cell knows about a nested tool: its spec, as handed over by the host (spec code-mode.md 2.4, 8.2)."""

from __future__ import annotations

from typing import Any

import attrs

FUNCTION = "function"
FREEFORM = "freeform"


def normalize_code_mode_identifier(raw: str) -> str:
    """Turn a raw tool name into a JS identifier (spec 8.2): `hidden-dynamic-tool` -> `hidden_dynamic_tool`,
    `9x` -> `_x`, empty -> `_`."""
    out = []
    for index, char in enumerate(raw):
        ok = char in "_$" or (char.isascii() and (char.isalpha() if index == 0 else char.isalnum()))
        out.append(char if ok else "_")
    return "".join(out) or "_"


@attrs.frozen
class NestedToolSpec:
    """One tool reachable as `tools.<global_name>` inside a cell.

    `name` and `namespace` are what the host receives back on a call; `kind` is `"function"` (JSON-object
    arguments) or `"freeform"` (a string input); schemas are JSON Schema dicts or None. The raw (flattened) name is
    `<namespace>_<name>` when a namespace is given, else `name` (spec 8.2).
    """

    name: str
    description: str = ""
    kind: str = attrs.field(default=FUNCTION, validator=attrs.validators.in_((FUNCTION, FREEFORM)))
    input_schema: Any = None
    output_schema: Any = None
    namespace: str | None = None

    @property
    def raw_name(self) -> str:
        return f"{self.namespace}_{self.name}" if self.namespace else self.name

    @property
    def global_name(self) -> str:
        return normalize_code_mode_identifier(self.raw_name)


@attrs.frozen
class NestedToolCall:
    """A request from a cell to the host's dispatcher (spec 2.4).

    `input` is the arguments JSON text for a function tool (`"{}"` when absent) or the string for a freeform tool.
    The dispatcher returns the tool's code-mode result (any JSON value) or raises `NestedToolError(text)`;
    any other exception is reported to JS as its message only (never a traceback).
    """

    cell_id: str
    runtime_tool_call_id: str
    tool_name: str
    namespace: str | None
    kind: str
    input: str


class NestedToolError(Exception):
    """Raised by a dispatcher to reject the JS promise with exactly `str(error)` (spec 2.4 Failure)."""

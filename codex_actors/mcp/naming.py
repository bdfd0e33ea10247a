"""Model-visible names of MCP tools (spec agent-core 4.8 "Naming"). Pure functions.

`mcp__<server>__<tool>`, with every character outside `[A-Za-z0-9_]` replaced by `_`, at most 64 characters.
An overlong name, or one equal to a name already given, is cut to leave room for `_` + the first 12 hex
digits of the SHA-1 of the raw (unsanitized) name.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable

MAX_TOOL_NAME_LENGTH = 64
_SUFFIX_HEX = 12
_ILLEGAL = re.compile(r"[^A-Za-z0-9_]")


def sanitize_tool_name(name: str) -> str:
    """Replace every character outside `[A-Za-z0-9_]` by `_` (`echo-tool` -> `echo_tool`)."""
    return _ILLEGAL.sub("_", name)


def qualify_tool_names(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Map each (server, tool) pair, in the given order, to its unique model-visible name.

    Returns {qualified name: (server, tool)}, in input order. A pair whose suffixed name still collides
    (only for an exact duplicate pair) is left out.
    """
    named: dict[str, tuple[str, str]] = {}
    for server, tool in pairs:
        raw = f"mcp__{server}__{tool}"
        name = sanitize_tool_name(raw)
        if len(name) > MAX_TOOL_NAME_LENGTH or name in named:
            digest = hashlib.sha1(raw.encode()).hexdigest()[:_SUFFIX_HEX]
            name = f"{name[: MAX_TOOL_NAME_LENGTH - _SUFFIX_HEX - 1]}_{digest}"
        if name not in named:
            named[name] = (server, tool)
    return named

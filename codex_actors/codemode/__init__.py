"""Code mode: model-written JavaScript run in fresh V8 realms, one OS thread per cell (spec code-mode.md).

A library: it never imports `codex_actors.session` or `codex_actors.tools`. The host hands a `CodeModeService` a
dispatcher for nested tool calls and, per exec, the `NestedToolSpec`s the cell may call.

Layers: `pragma`, `output`, `description` (pure functions) -> `core` (sans-I/O cell lifecycle) -> `v8bridge`
(the only module below mini-racer's public API) -> `runtime` (one context: its isolate thread, driven from trio)
and `pool` (warm runtimes) -> `cell` (trio driver of one core + runtime) -> `service` (registry, stored values).
"""

from codex_actors.codemode.core import CellOutcome, Completed, MissingCell, Terminated, Yielded
from codex_actors.codemode.description import (
    all_tools_metadata,
    build_exec_tool_description,
    build_wait_tool_description,
    render_code_mode_sample,
    render_json_schema_to_typescript,
)
from codex_actors.codemode.output import ImageItem, TextItem, build_content_items
from codex_actors.codemode.pragma import (
    DEFAULT_EXEC_YIELD_TIME_MS,
    DEFAULT_MAX_OUTPUT_TOKENS_PER_EXEC_CALL,
    DEFAULT_WAIT_YIELD_TIME_MS,
    ExecSource,
    PragmaError,
    parse_exec_source,
)
from codex_actors.codemode.service import (
    DEFAULT_MAX_HEAP_BYTES,
    CodeModeError,
    CodeModeService,
    open_code_mode_service,
)
from codex_actors.codemode.tools_spec import (
    NestedToolCall,
    NestedToolError,
    NestedToolSpec,
    normalize_code_mode_identifier,
)

PUBLIC_TOOL_NAME = "exec"
WAIT_TOOL_NAME = "wait"

__all__ = [
    "CellOutcome", "CodeModeError", "CodeModeService", "Completed", "DEFAULT_EXEC_YIELD_TIME_MS",
    "DEFAULT_MAX_HEAP_BYTES", "DEFAULT_MAX_OUTPUT_TOKENS_PER_EXEC_CALL", "DEFAULT_WAIT_YIELD_TIME_MS", "ExecSource",
    "ImageItem", "MissingCell", "NestedToolCall", "NestedToolError", "NestedToolSpec", "PUBLIC_TOOL_NAME",
    "PragmaError", "Terminated", "TextItem", "WAIT_TOOL_NAME", "Yielded", "all_tools_metadata",
    "build_content_items", "build_exec_tool_description", "build_wait_tool_description",
    "normalize_code_mode_identifier", "open_code_mode_service", "parse_exec_source", "render_code_mode_sample",
    "render_json_schema_to_typescript",
]

"""The model-facing `exec` (freeform) and `wait` (JSON function) tools over a `CodeModeService`.

Outputs are Responses items as plain dicts (spec agent-core 1.4, code-mode.md 1.1-1.2):
`{"type": "custom_tool_call_output", "call_id": ..., "output": [content items] | "<error text>"}` for exec and
`{"type": "function_call_output", "call_id": ..., "output": [content items] | "<error text>"}` for wait.
Success is false exactly when the header is `Script failed` or the output is an error string (see `succeeded`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from codex_actors.codemode import (
    DEFAULT_MAX_OUTPUT_TOKENS_PER_EXEC_CALL,
    DEFAULT_WAIT_YIELD_TIME_MS,
    PUBLIC_TOOL_NAME,
    WAIT_TOOL_NAME,
    CellOutcome,
    CodeModeError,
    CodeModeService,
    Completed,
    MissingCell,
    NestedToolSpec,
    PragmaError,
    Terminated,
    Yielded,
    build_content_items,
    build_exec_tool_description,
    build_wait_tool_description,
    parse_exec_source,
)
from codex_actors.codemode.pragma import DEFAULT_EXEC_YIELD_TIME_MS

EXEC_EXPECTS_RAW_SOURCE = "exec expects raw JavaScript source text"
"""What the router answers when `exec` receives a non-custom payload (spec 1.4)."""
WAIT_EXPECTS_JSON = "wait expects JSON arguments"
"""What the router answers when `wait` receives a payload that is not a function call (spec 1.2)."""

EXEC_GRAMMAR = r"""start: pragma_source | plain_source
pragma_source: PRAGMA_LINE NEWLINE SOURCE
plain_source: SOURCE

PRAGMA_LINE: /[ \t]*\/\/ @exec:[^\r\n]*/
NEWLINE: /\r?\n/
SOURCE: /[\s\S]+/
"""

WAIT_PARAMETERS = {
    "type": "object",
    "properties": {
        "cell_id": {"type": "string", "description": "The running cell to resume."},
        "yield_time_ms": {
            "type": "number",
            "description": "How long to wait for more output before yielding again (default 10000).",
        },
        "max_tokens": {"type": "number", "description": "Output token budget for this wait call (default 10000)."},
        "terminate": {"type": "boolean", "description": "If true, stop the cell instead of waiting."},
    },
    "required": ["cell_id"],
    "additionalProperties": False,
}


def exec_tool_spec(
    enabled: Sequence[NestedToolSpec] = (),
    deferred: Sequence[NestedToolSpec] = (),
    namespace_descriptions: dict[str, str] | None = None,
    code_mode_only: bool = False,
) -> dict[str, Any]:
    """The freeform `exec` tool with its Lark grammar (spec 1.1) and the description of spec 8.3."""
    return {
        "type": "custom",
        "name": PUBLIC_TOOL_NAME,
        "description": build_exec_tool_description(enabled, deferred, namespace_descriptions, code_mode_only),
        "format": {"type": "grammar", "syntax": "lark", "definition": EXEC_GRAMMAR},
    }


def wait_tool_spec() -> dict[str, Any]:
    """The non-strict JSON function tool `wait` (spec 1.2)."""
    return {
        "type": "function",
        "name": WAIT_TOOL_NAME,
        "description": build_wait_tool_description(),
        "strict": False,
        "parameters": WAIT_PARAMETERS,
    }


def succeeded(output_item: dict[str, Any]) -> bool:
    """The success flag of an exec/wait output item (spec 1.1): false for `Script failed` and for error strings."""
    output = output_item["output"]
    if isinstance(output, str):
        return False
    return not output[0]["text"].startswith("Script failed\n")


async def handle_exec(
    service: CodeModeService | None,
    call_id: str,
    input_text: str,
    *,
    tools: Sequence[NestedToolSpec] = (),
    supports_original_detail: bool = True,
) -> dict[str, Any]:
    """Run one `exec` call: parse the pragma, create a cell with `tools` as `tools.*`, wait for its first outcome.

    E1-E7 and service refusals come back as the output string (no cell is created).
    """
    started = time.monotonic()

    def reply(output: Any) -> dict[str, Any]:
        return {"type": "custom_tool_call_output", "call_id": call_id, "output": output}

    if service is None:
        return reply("code mode is unavailable")
    try:
        source = parse_exec_source(input_text)
        yield_ms = DEFAULT_EXEC_YIELD_TIME_MS if source.yield_time_ms is None else source.yield_time_ms
        budget = source.max_output_tokens
        outcome = await service.execute(source.code, yield_time_ms=yield_ms, tools=tools, exec_call_id=call_id)
    except (PragmaError, CodeModeError) as exc:
        return reply(str(exc))
    max_tokens = DEFAULT_MAX_OUTPUT_TOKENS_PER_EXEC_CALL if budget is None else budget
    return reply(render_outcome(outcome, started, max_tokens, supports_original_detail))


async def handle_wait(
    service: CodeModeService | None,
    call_id: str,
    arguments_json: str,
    *,
    supports_original_detail: bool = True,
) -> dict[str, Any]:
    """Run one `wait` call (spec 1.2): resume, poll or terminate a cell; argument errors come back as strings."""
    started = time.monotonic()

    def reply(output: Any) -> dict[str, Any]:
        return {"type": "function_call_output", "call_id": call_id, "output": output}

    if service is None:
        return reply("code mode is unavailable")
    try:
        args = parse_wait_arguments(arguments_json)
    except ValueError as exc:
        return reply(str(exc))
    try:
        if args["terminate"]:
            outcome = await service.terminate(args["cell_id"])
        else:
            outcome = await service.observe(args["cell_id"], args["yield_time_ms"])
    except CodeModeError as exc:
        return reply(str(exc))
    return reply(render_outcome(outcome, started, args["max_tokens"], supports_original_detail))


def parse_wait_arguments(arguments_json: str) -> dict[str, Any]:
    """Validate wait arguments; raises ValueError(`failed to parse function arguments: <err>`)."""
    prefix = "failed to parse function arguments: "
    try:
        args = json.loads(arguments_json)
    except ValueError as exc:
        raise ValueError(f"{prefix}{exc}") from None
    if not isinstance(args, dict):
        raise ValueError(f"{prefix}invalid type: expected struct WaitArgs")
    unknown = sorted(set(args) - set(WAIT_PARAMETERS["properties"]))
    if unknown:
        raise ValueError(f"{prefix}unknown field `{unknown[0]}`, expected one of `cell_id`, `yield_time_ms`, "
                         "`max_tokens`, `terminate`")
    if not isinstance(args.get("cell_id"), str):
        raise ValueError(f"{prefix}missing field `cell_id`" if "cell_id" not in args
                         else f"{prefix}invalid type for `cell_id`, expected a string")
    numbers = {}
    for key, default in (("yield_time_ms", DEFAULT_WAIT_YIELD_TIME_MS), ("max_tokens", 10000)):
        value = args.get(key)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{prefix}invalid value for `{key}`, expected a non-negative number")
        numbers[key] = int(value)
    terminate = args.get("terminate")
    if terminate is not None and not isinstance(terminate, bool):
        raise ValueError(f"{prefix}invalid type for `terminate`, expected a boolean")
    return {"cell_id": args["cell_id"], "terminate": bool(terminate), **numbers}


def render_outcome(
    outcome: CellOutcome, started: float, max_tokens: int, supports_original_detail: bool = True
) -> list[dict[str, Any]]:
    """Content items for a cell outcome (spec 1.1 header, 4.2): header, items, `Script error:` last on failure."""
    wall = time.monotonic() - started
    if isinstance(outcome, Yielded):
        status, items, error = f"Script running with cell ID {outcome.cell_id}", outcome.items, None
    elif isinstance(outcome, Terminated):
        status, items, error = "Script terminated", outcome.items, None
    elif isinstance(outcome, Completed):
        error = outcome.error_text
        status = "Script completed" if error is None else "Script failed"
        items = outcome.items
    else:
        assert isinstance(outcome, MissingCell)
        status, items, error = "Script failed", (), outcome.error_text
    return build_content_items(
        status, wall, items, error_text=error, max_tokens=max_tokens, supports_original_detail=supports_original_detail
    )

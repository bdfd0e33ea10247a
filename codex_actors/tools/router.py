"""The tool router: which tools the model is offered, and how one tool call becomes one output item.

Follows spec agent-core 2.3 ("Parallelism", "Feeding outputs back") and 4.1. Each handler declares its spec
(the JSON the model sees), whether it is parallel-safe, and an async `handle`. The router parses nothing
itself beyond the call's kind: function calls carry a JSON *string* of arguments, freeform (custom) calls raw
text. Errors a model should see (bad arguments, unknown tool, a handler's `ToolError`) become ordinary
outputs; anything else propagates and ends the turn.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Literal, Protocol

import attrs

from codex_actors.protocol import items
from codex_actors.tools.rwlock import ReadWriteLock
from codex_actors.tools.services import SessionServices

Emit = Callable[[Any], Awaitable[None]]


@attrs.frozen
class ToolCall:
    """One call the model made. `kind` is "function" (payload = JSON arguments string) or "custom"
    (payload = freeform input text)."""

    call_id: str
    name: str
    kind: Literal["function", "custom"]
    payload: str

    @classmethod
    def from_item(cls, item: items.ResponseItem) -> "ToolCall":
        """Build from a `function_call` or `custom_tool_call` item; raises TypeError for other items."""
        if isinstance(item, items.FunctionCall):
            return cls(item.call_id, item.name, "function", item.arguments)
        if isinstance(item, items.CustomToolCall):
            return cls(item.call_id, item.name, "custom", item.input)
        raise TypeError(f"not a tool call: {type(item).__name__}")

    def arguments(self) -> dict[str, Any]:
        """The parsed JSON arguments of a function call ({} for empty text).

        Raises ToolError("failed to parse function arguments: ...") for malformed JSON or a non-object."""
        if not self.payload.strip():
            return {}
        try:
            value = json.loads(self.payload)
        except json.JSONDecodeError as exc:
            raise ToolError(f"failed to parse function arguments: {exc}") from None
        if not isinstance(value, dict):
            raise ToolError("failed to parse function arguments: expected a JSON object")
        return value


@attrs.frozen
class ToolResult:
    """What a handler returns: model-facing `output` (text, or content items for images), `success` (kept
    internally, never serialised, as upstream) and `code_mode_value`: the JSON value a code-mode cell's
    `await tools.<name>(...)` resolves to when it differs from the plain text (spec code-mode 2.4: structured
    built-ins such as exec_command's `{chunk_id, output, exit_code, wall_time_seconds, session_id?}`)."""

    output: str | list[items.ContentItem]
    success: bool = True
    code_mode_value: Any = None


class ToolError(Exception):
    """A failure the model should read as the call's output (the turn goes on)."""


@attrs.frozen
class ToolContext:
    """Per-call context a handler may use: the turn id, the turn's cwd (absolute path string), an async
    `emit(EventMsg)` that streams events to the client, and `services`, the session's shared actors and
    settings as typed attributes (`SessionServices`: `processes`, `code_mode`, `approvals`, ...)."""

    turn_id: str
    cwd: str
    emit: Emit
    services: SessionServices = attrs.field(factory=SessionServices)


class ToolHandler(Protocol):
    """A tool: `name`, its model-facing `spec` dict, `parallel` (may overlap with other parallel calls),
    `kind` ("function" or "custom") and `handle(call, ctx) -> ToolResult` (raise ToolError for model-facing
    failures)."""

    name: str
    kind: Literal["function", "custom"]
    parallel: bool

    def spec(self) -> dict[str, Any]: ...

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult: ...


class ToolRouter:
    """Routes tool calls to handlers. `specs()` lists what the model is offered; `hidden` names tools
    that are callable (e.g. from a code-mode cell as `tools.*`) but not offered directly; `server_tools` maps
    the turn's sandbox mode (`"read-only"`, ...) to the specs of tools the model's provider runs itself (the
    Responses built-in `{"type": "web_search", ...}`), offered after the handlers' and never dispatched here."""

    def __init__(self, handlers: list[ToolHandler], *, hidden: frozenset[str] = frozenset(),
                 server_tools: Callable[[str | None], tuple[dict[str, Any], ...]] = lambda _mode: ()) -> None:
        self.handlers = {h.name: h for h in handlers}
        self.hidden = hidden
        self.server_tools = server_tools
        self._lock = ReadWriteLock()

    def specs(self, sandbox_mode: str | None = None) -> list[dict[str, Any]]:
        """The tool specs of one request; `sandbox_mode` is the turn's (it decides e.g. live web search)."""
        offered = [h.spec() for name, h in self.handlers.items() if name not in self.hidden]
        return offered + list(self.server_tools(sandbox_mode))

    def handler(self, name: str) -> ToolHandler | None:
        return self.handlers.get(name)

    async def run(self, call: ToolCall, ctx: ToolContext, *, exclusive: bool = True) -> ToolResult:
        """Run one call under the per-router lock (read for parallel-safe tools, write otherwise).

        `exclusive=False` skips the lock: for nested calls from a code-mode cell, whose `exec` call may hold it."""
        handler = self.handlers.get(call.name)
        if handler is None:
            return ToolResult(f"unsupported call: {call.name}", success=False)
        if not exclusive:
            try:
                return await handler.handle(call, ctx)
            except ToolError as exc:
                return ToolResult(str(exc), success=False)
        hold = self._lock.read if handler.parallel else self._lock.write
        async with hold():
            try:
                return await handler.handle(call, ctx)
            except ToolError as exc:
                return ToolResult(str(exc), success=False)

    async def dispatch(self, call: ToolCall, ctx: ToolContext) -> items.ResponseItem:
        """Run `call` and wrap its result as the matching output item with the same call_id."""
        result = await self.run(call, ctx)
        return output_item(call, result.output)


def output_item(call: ToolCall, output: str | list[items.ContentItem]) -> items.ResponseItem:
    """`function_call_output` for function calls, `custom_tool_call_output` for freeform calls."""
    if call.kind == "custom":
        return items.CustomToolCallOutput(call_id=call.call_id, output=output)
    return items.FunctionCallOutput(call_id=call.call_id, output=output)

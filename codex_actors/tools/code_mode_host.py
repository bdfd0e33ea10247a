"""The host side of code mode: the `exec` / `wait` router handlers, the nested-tool dispatcher a cell calls
through, and `notify()` delivery (spec code-mode 1.1, 1.2, 2.2, 2.4, 8.7).

Nested calls go to the same handlers as direct calls but skip the router's parallel/exclusive lock: the `exec`
call that started the cell may still hold it, and a cell's nested calls are concurrent by contract (2.4).
"""

from __future__ import annotations

import json
from typing import Any, Callable

import trio

from codex_actors.codemode import CodeModeService, NestedToolCall, NestedToolError, NestedToolSpec
from codex_actors.protocol.items import CONTENT_ITEMS, InputImage, InputText
from codex_actors.tools.code_mode import (
    EXEC_EXPECTS_RAW_SOURCE,
    WAIT_EXPECTS_JSON,
    exec_tool_spec,
    handle_exec,
    handle_wait,
    succeeded,
    wait_tool_spec,
)
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult, ToolRouter

CODE_MODE_TOOLS = ("exec", "wait")


def nested_tool_specs(router: ToolRouter) -> list[NestedToolSpec]:
    """Every routed tool except exec/wait, as a cell sees it (`tools.<name>`), including hidden ones."""
    specs = []
    for name, handler in router.handlers.items():
        if name in CODE_MODE_TOOLS:
            continue
        spec = handler.spec()
        specs.append(NestedToolSpec(
            name=name,
            description=spec.get("description", ""),
            kind="freeform" if handler.kind == "custom" else "function",
            input_schema=spec.get("parameters"),
            output_schema=getattr(handler, "output_schema", None),
        ))
    return specs


def plain_value(output: Any) -> str:
    """A plain tool output as a cell receives it: non-blank texts and image URLs joined with "\\n"."""
    if isinstance(output, str):
        return output
    parts = []
    for item in output:
        if isinstance(item, InputText) and item.text.strip():
            parts.append(item.text)
        elif isinstance(item, InputImage) and item.image_url.strip():
            parts.append(item.image_url)
    return "\n".join(parts)


def make_dispatcher(router_of: Callable[[], ToolRouter], context_of: Callable[[str], ToolContext]):
    """The dispatcher handed to CodeModeService: `router_of()` gives the session's router, `context_of(call_id)`
    the ToolContext of the turn that is active now (a cell may outlive the turn that started it)."""

    async def dispatch(call: NestedToolCall) -> Any:
        if call.namespace is None and call.tool_name == "exec":
            raise NestedToolError("exec cannot invoke itself")
        router = router_of()
        handler = router.handler(call.tool_name)
        if handler is None or call.tool_name in CODE_MODE_TOOLS:
            raise NestedToolError(f"tool `{call.tool_name}` is not enabled in exec")
        call_id = f"cell{call.cell_id}-{call.runtime_tool_call_id}"
        tool_call = ToolCall(call_id, call.tool_name, "custom" if handler.kind == "custom" else "function", call.input)
        ctx = context_of(call_id)
        try:
            if hasattr(handler, "code_mode_result"):
                return await handler.code_mode_result(tool_call, ctx)
            result = await router.run(tool_call, ctx, exclusive=False)
        except ToolError as exc:
            raise NestedToolError(str(exc)) from None
        if not result.success:
            raise NestedToolError(plain_value(result.output))
        return result.code_mode_value if result.code_mode_value is not None else plain_value(result.output)

    return dispatch


def _to_result(item: dict[str, Any]) -> ToolResult:
    output = item["output"]
    if not isinstance(output, str):
        output = [CONTENT_ITEMS.structure(part) for part in output]
    return ToolResult(output, success=succeeded(item))


class ExecTool:
    """The freeform `exec` tool: run JavaScript in a new cell (spec code-mode 1.1)."""

    name = "exec"
    kind = "custom"
    parallel = True

    def __init__(self, service_of: Callable[[], CodeModeService | None], nested: Callable[[], list[NestedToolSpec]],
                 *, code_mode_only: bool = False) -> None:
        self._service_of = service_of
        self._nested = nested
        self._code_mode_only = code_mode_only
        self._spec: dict[str, Any] | None = None

    def spec(self) -> dict[str, Any]:
        # Built once per tool set, not per exec (the description renders every nested tool's TypeScript).
        if self._spec is None:
            self._spec = exec_tool_spec(self._nested(), code_mode_only=self._code_mode_only)
        return self._spec

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        if call.kind != "custom":
            raise ToolError(EXEC_EXPECTS_RAW_SOURCE)
        service = self._service_of()
        try:
            item = await handle_exec(service, call.call_id, call.payload, tools=self._nested())
        except trio.Cancelled:
            # An interrupted turn stops its cells: terminate answers only once each V8 thread has exited.
            if service is not None:
                with trio.CancelScope(shield=True):
                    for cell_id in service.cells_of_call(call.call_id):
                        await service.terminate(cell_id)
            raise
        return _to_result(item)


class WaitTool:
    """The JSON `wait` tool: resume, poll or terminate a cell (spec code-mode 1.2)."""

    name = "wait"
    kind = "function"
    parallel = True

    def __init__(self, service_of: Callable[[], CodeModeService | None]) -> None:
        self._service_of = service_of

    def spec(self) -> dict[str, Any]:
        return wait_tool_spec()

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        if call.kind != "function":
            raise ToolError(WAIT_EXPECTS_JSON)
        service = self._service_of()
        try:
            item = await handle_wait(service, call.call_id, call.payload)
        except trio.Cancelled:
            # Interrupting a `wait` stops the cell it was waiting on, as interrupting its `exec` would.
            cell_id = _cell_id_of(call.payload)
            if service is not None and cell_id in service.live_cell_ids:
                with trio.CancelScope(shield=True):
                    await service.terminate(cell_id)
            raise
        return _to_result(item)


def _cell_id_of(arguments: str) -> str | None:
    try:
        value = json.loads(arguments).get("cell_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


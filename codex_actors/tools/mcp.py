"""MCP tools as router handlers (spec agent-core 4.8 "Schema", "Call", "Result to the model"; code-mode 2.4).

`mcp_tool_handlers(tool_list)` makes one `McpToolHandler` per tool of the manager's `McpToolList`. A direct
call parses the arguments, emits `mcp_tool_call_begin`, calls the server through its connection actor and
emits `mcp_tool_call_end` with `duration` and `result` (`{"Ok": CallToolResult}` or `{"Err": text}`), then
gives the model the converted result. `code_mode_call` runs the same call for a nested `tools.mcp__*` call
from a code-mode cell and returns the full CallToolResult dict instead.

Approval (spec 4.8 "Approval"): under `untrusted`, `on-request` and granular policies a call is asked about
first (an `exec_approval_request` whose command reads `mcp <server>/<tool> <arguments>`) unless the tool's
annotations say it is read-only (`needs_approval`), or its `approval_mode` says otherwise: "prompt" always
asks, "approve" never does. `approved_for_session` is remembered per server and tool. A refusal shows as a
failed call (`user rejected MCP tool call`). Under `never` and `on-failure` nothing is asked.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from codex_actors.mcp import McpCallError, McpTool, McpToolList, call_tool, model_output
from codex_actors.protocol.events import ExecApprovalRequest as ApprovalRequest
from codex_actors.protocol.events import McpToolCallBegin, McpToolCallEnd
from codex_actors.tools.approvals.policy import GranularApproval
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolHandler, ToolResult


def parse_mcp_arguments(payload: str) -> dict[str, Any] | None:
    """The arguments of an MCP call: None for empty (or blank) text, else a JSON object.

    Raises ValueError with the JSON error, or `arguments must be a JSON object, got <type>`."""
    if not payload.strip():
        return None
    value = json.loads(payload)
    if not isinstance(value, dict):
        raise ValueError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


REJECTED = "user rejected MCP tool call"
ASKING_POLICIES = ("untrusted", "on-request")


def needs_approval(annotations: dict[str, Any], approval_mode: str = "auto") -> bool:
    """Whether a call must be asked about (codex-rs `requires_mcp_tool_approval_for_mode`): mode "prompt" always,
    "approve" never; "auto": `destructiveHint: true` always, `readOnlyHint: true` never, otherwise unless both
    `destructiveHint` and `openWorldHint` are false (a missing hint counts as true, the MCP default)."""
    if approval_mode == "prompt":
        return True
    if approval_mode == "approve":
        return False
    if annotations.get("destructiveHint") is True:
        return True
    if annotations.get("readOnlyHint") is True:
        return False
    return annotations.get("destructiveHint", True) is not False or annotations.get("openWorldHint", True) is not False


def duration(seconds: float) -> dict[str, int]:
    """A serde Duration, `{"secs": whole seconds, "nanos": the rest in nanoseconds}`."""
    nanos_total = max(0, int(seconds * 1_000_000_000))
    return {"secs": nanos_total // 1_000_000_000, "nanos": nanos_total % 1_000_000_000}


def call_tool_result_schema(structured: dict[str, Any] | None) -> dict[str, Any]:
    """The output schema code mode renders as `CallToolResult<S>` (code-mode 8.5): content, isError,
    _meta, and `structuredContent` typed by the tool's own output schema (`{}` when it has none)."""
    return {
        "type": "object",
        "properties": {
            "content": {"type": "array", "items": {"type": "object"}},
            "structuredContent": structured if structured is not None else {},
            "isError": {"type": "boolean"},
            "_meta": {"type": "object"},
        },
        "required": ["content"],
    }


class McpToolHandler:
    """The router handler of one MCP tool. `name` is the qualified model-visible name; `parallel` follows
    the server's `supports_parallel_tool_calls`; `output_schema` is the CallToolResult schema code mode
    uses to describe the tool."""

    kind: Literal["function"] = "function"

    def __init__(self, tool: McpTool) -> None:
        self.tool = tool
        self.name = tool.qualified_name
        self.parallel = tool.parallel
        self.output_schema = call_tool_result_schema(tool.output_schema)

    def spec(self) -> dict[str, Any]:
        """`{"type":"function","name","description","strict":false,"parameters"}`, parameters being the MCP
        input schema with `properties: {}` added when missing."""
        parameters = dict(self.tool.input_schema)
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        return {
            "type": "function",
            "name": self.name,
            "description": self.tool.description,
            "strict": False,
            "parameters": parameters,
        }

    async def code_mode_result(self, call: ToolCall, ctx: ToolContext) -> dict[str, Any]:
        """What a nested `tools.<name>(...)` call from a code-mode cell resolves to: see `code_mode_call`."""
        return await code_mode_call(self, call, ctx)

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Direct call: invalid arguments -> `err: <reason>` (no events); a call that yields no result ->
        `err: <reason>`, failed; else the converted result, failed when `isError`."""
        try:
            arguments = parse_mcp_arguments(call.payload)
        except ValueError as exc:
            return ToolResult(f"err: {exc}", success=False)
        try:
            result = await self.call(call.call_id, arguments, ctx)
        except McpCallError as exc:
            return ToolResult(f"err: {exc}", success=False)
        output, success = model_output(result)
        return ToolResult(output, success=success)

    async def call(self, call_id: str, arguments: dict[str, Any] | None, ctx: ToolContext) -> dict[str, Any]:
        """Call the tool between `mcp_tool_call_begin` and `mcp_tool_call_end` events; return the
        CallToolResult dict (an MCP-level failure is a result with `isError: true`). Raises McpCallError."""
        invocation = {"server": self.tool.server, "tool": self.tool.tool, "arguments": arguments}
        if not await self._approved(call_id, arguments, ctx):
            await ctx.emit(McpToolCallBegin(call_id=call_id, invocation=invocation))
            await self._end(ctx, call_id, invocation, time.monotonic(), {"Err": REJECTED})
            raise McpCallError(REJECTED)
        await ctx.emit(McpToolCallBegin(call_id=call_id, invocation=invocation))
        started = time.monotonic()
        try:
            result = await call_tool(self.tool.connection, self.tool.tool, arguments)
        except McpCallError as exc:
            await self._end(ctx, call_id, invocation, started, {"Err": str(exc)})
            raise
        await self._end(ctx, call_id, invocation, started, {"Ok": result})
        return result

    async def _approved(self, call_id: str, arguments: dict[str, Any] | None, ctx: ToolContext) -> bool:
        settings = ctx.services.settings
        policy = getattr(settings, "approval_policy", "never")
        if not isinstance(policy, GranularApproval) and policy not in ASKING_POLICIES:
            return True
        if not needs_approval(self.tool.annotations, self.tool.approval_mode):
            return True
        remembered: set[tuple[str, str]] = ctx.services.mcp_approved_for_session
        key = (self.tool.server, self.tool.tool)
        if key in remembered and self.tool.approval_mode != "prompt":
            return True
        shown = json.dumps(arguments, ensure_ascii=False) if arguments else "{}"
        request = ApprovalRequest(
            call_id=call_id, turn_id=ctx.turn_id, command=["mcp", f"{self.tool.server}/{self.tool.tool}", shown],
            cwd=ctx.cwd, reason=f"Allow the {self.tool.server} MCP server to run tool \"{self.tool.tool}\"?")
        answer = await ctx.services.approvals.request(request)
        if answer == "approved_for_session":
            remembered.add(key)
        return answer in ("approved", "approved_for_session")

    @staticmethod
    async def _end(
        ctx: ToolContext, call_id: str, invocation: dict[str, Any], started: float, outcome: dict[str, Any]
    ) -> None:
        elapsed = duration(time.monotonic() - started)
        await ctx.emit(McpToolCallEnd(call_id=call_id, invocation=invocation, duration=elapsed, result=outcome))


def mcp_tool_handlers(tool_list: McpToolList) -> list[McpToolHandler]:
    """One handler per tool of the manager's listing, in its order."""
    return [McpToolHandler(tool) for tool in tool_list.tools]


async def code_mode_call(handler: ToolHandler, call: ToolCall, ctx: ToolContext) -> dict[str, Any]:
    """A nested `tools.mcp__<server>__<tool>(args)` call from a code-mode cell (code-mode 2.4): the full
    CallToolResult dict `{content, structuredContent, isError, _meta}`, also when `isError` is true.

    `call.payload` is the arguments JSON the host built. Raises ToolError (the promise rejects with its
    text) for invalid arguments or when the call yields no result; TypeError if `handler` is not an MCP
    tool handler."""
    if not isinstance(handler, McpToolHandler):
        raise TypeError(f"{call.name} is not an MCP tool")
    try:
        arguments = parse_mcp_arguments(call.payload)
    except ValueError as exc:
        raise ToolError(f"err: {exc}") from None
    try:
        return await handler.call(call.call_id, arguments, ctx)
    except McpCallError as exc:
        raise ToolError(str(exc)) from None

"""The router handlers of `exec_command` and `write_stdin` over a `UnifiedExec`, and the adapters the other shell
tools share: `exec_context` (a router call as an `ExecContext`) and `tool_result` (an `ExecToolOutput` as a router
`ToolResult`)."""

from __future__ import annotations

from typing import Any

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.tools.unified_exec import (
    EXEC_COMMAND_TOOL, WRITE_STDIN_TOOL, ExecContext, ExecToolOutput, UnifiedExec, without_login,
)


def exec_context(call: Any, ctx: Any) -> ExecContext:
    """An ExecContext for a router `ToolCall` + `ToolContext`: event dicts are turned into protocol
    `EventMsg` objects (one cattrs converter) before they reach the router's `emit`."""
    from codex_actors.protocol.events import EVENT_MSGS

    async def emit(event: dict[str, Any]) -> None:
        await ctx.emit(EVENT_MSGS.structure(event))

    return ExecContext(call.call_id, ctx.turn_id, ctx.cwd, emit)


def tool_result(out: ExecToolOutput) -> Any:
    """The router `ToolResult` of an `ExecToolOutput` (its structured value is what code mode sees)."""
    from codex_actors.tools.router import ToolResult

    return ToolResult(out.text, success=out.success, code_mode_value=out.structured)


class _UnifiedExecHandler:
    kind = "function"
    parallel = True
    name = ""
    _spec: dict[str, Any] = {}

    def __init__(self, unified: UnifiedExec | None = None) -> None:
        self._unified = unified

    def spec(self) -> dict[str, Any]:
        return self._spec

    def _target(self, ctx: Any) -> UnifiedExec:
        unified = self._unified or ctx.services.processes
        if unified is None:
            raise RuntimeError(f"{self.name}: no UnifiedExec given and none in ctx.services.processes")
        return unified


class ExecCommandTool(_UnifiedExecHandler):
    """Router handler for `exec_command`; uses the given `UnifiedExec`, else `ctx.services.processes`."""

    name = "exec_command"
    _spec = EXEC_COMMAND_TOOL

    def spec(self) -> dict[str, Any]:
        allowed = self._unified is None or self._unified.allows_login_shell
        return EXEC_COMMAND_TOOL if allowed else without_login(EXEC_COMMAND_TOOL)

    async def handle(self, call: Any, ctx: Any) -> Any:
        return tool_result(await self.run(call, ctx))

    async def run(self, call: Any, ctx: Any, *, policy: SandboxPolicy | None = None) -> ExecToolOutput:
        """Run the call under `policy` (None = the UnifiedExec's); the approval layer's entry point."""
        return await self._target(ctx).exec_command(call.arguments(), exec_context(call, ctx), policy=policy)


class WriteStdinTool(_UnifiedExecHandler):
    """Router handler for `write_stdin`; uses the given `UnifiedExec`, else `ctx.services.processes`."""

    name = "write_stdin"
    _spec = WRITE_STDIN_TOOL

    async def handle(self, call: Any, ctx: Any) -> Any:
        return tool_result(await self._target(ctx).write_stdin(call.arguments(), exec_context(call, ctx)))

"""`SessionServices`: the session's collaborators that tools reach through `ToolContext.services`, as typed
attributes (it replaces a string-keyed dict). The session creates it; `build_router` (tools/registry.py) fills
in the tool-owned actors it starts; `aclose` stops those, in reverse start order, when the session shuts down.

Types that live above `tools/` (the session's settings and approval broker) are described, not imported, so the
arrows keep pointing down: `settings` has `sandbox_policy`, `approval_policy`, `cwd`; `approvals` has
`async request(ApprovalRequest) -> decision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable

import attrs

from codex_actors.tools.approvals import ApprovalCache


@attrs.define
class SessionServices:
    """Shared by every tool call of one session. `exec_policy` may be replaced during the session (an
    "always allow" answer adds a rule); everything else is set once, at start-up."""

    settings: Any = None
    approvals: Any = None
    approval_cache: ApprovalCache = attrs.field(factory=ApprovalCache)
    session_id: str = ""
    tool_context: Callable[..., Any] | None = None
    notify_from_cell: Callable[[str, str, str], Awaitable[None]] | None = None
    exec_policy: Any = None  # tools.approvals ExecPolicy, None = no rules
    exec_policy_home: Path | None = None
    processes: Any = None  # tools.unified_exec.UnifiedExec
    mcp: Any = None  # ActorRef of the McpManager, when MCP servers are configured
    code_mode: Any = None  # codemode.service.CodeModeService, when code mode is on
    startup_warnings: list[str] = attrs.field(factory=list)
    mcp_startup: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None = None
    shell_snapshot: Any = None  # exec.shell_snapshot.ShellSnapshot, when config shell_snapshot is on
    # Start-up work the first model request does not need (code-mode pool, shell snapshot): callables the
    # session runs once that request is out (a callable may return an awaitable).
    after_first_request: list[Callable[[], Any]] = attrs.field(factory=list)
    mcp_approved_for_session: set[tuple[str, str]] = attrs.field(factory=set)  # (server, tool) answered "always"

    async def aclose(self) -> None:
        """Stop the tool-owned actors: code mode (cells, V8 threads), MCP connections, then the processes.
        Each returns only once its threads are joined / processes reaped. Idempotent."""
        if self.code_mode is not None:
            await self.code_mode.shutdown()
        if self.mcp is not None:
            await self.mcp.stop()
        if self.processes is not None:
            await self.processes.aclose()

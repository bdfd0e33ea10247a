"""Approval in front of the shell tools (spec agent-core 5.3 "Shell commands", 4.5 "Shell interception").

`GuardedShellTool` wraps `exec_command` or `shell`: a command spelling an `apply_patch` invocation is routed to
the apply_patch machinery; any other command is decided by the approval policy (known-safe list, dangerous
commands, escalation requests) and, when the policy asks, waits for the user's `exec_approval`. For
`exec_command` the approval comes before `exec_command_begin`, as upstream.
"""

from __future__ import annotations

import os
from typing import Any

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.protocol import events
from codex_actors.tools.apply_patch.shell_intercept import ImplicitInvocationError, intercept_argv, intercept_script
from codex_actors.tools.apply_patch_tool import run_patch
from codex_actors.tools.approvals import ApprovalCache, decide_command
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolHandler, ToolResult

REJECTED_BY_USER = "exec command rejected by user"


async def approve_command(argv: list[str], cwd: str, call_id: str, ctx: ToolContext, *,
                          sandbox_permissions: str | None, justification: str | None) -> str | None:
    """None when `argv` may run; otherwise the message the model gets instead of output."""
    settings = ctx.services["settings"]
    cache: ApprovalCache = ctx.services["approval_cache"]
    escalated = sandbox_permissions == "require_escalated"
    if cache.is_command_approved(argv, cwd=cwd, sandbox_permissions=sandbox_permissions):
        return None
    mode = SandboxPolicy.from_json(settings.sandbox_policy).mode
    decision = decide_command(argv, approval_policy=settings.approval_policy, sandbox_mode=mode,
                              requested_escalation=escalated)
    if decision.outcome == "allow":
        return None
    if decision.outcome == "forbidden":
        return decision.reason or REJECTED_BY_USER
    request = events.ExecApprovalRequest(call_id=call_id, turn_id=ctx.turn_id, command=argv, cwd=cwd,
                                         reason=justification or decision.reason)
    answer = await ctx.services["approvals"].request(request)
    if answer == "approved_for_session":
        cache.approve_command(argv, cwd=cwd, sandbox_permissions=sandbox_permissions)
    return None if answer in ("approved", "approved_for_session") else REJECTED_BY_USER


class GuardedShellTool:
    """`inner` (an `exec_command` or `shell` handler) behind apply_patch interception and approvals."""

    def __init__(self, inner: ToolHandler) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind = inner.kind
        self.parallel = inner.parallel

    def spec(self) -> dict[str, Any]:
        return self.inner.spec()

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        args = call.arguments()
        if self.name == "exec_command":
            cmd = args.get("cmd")
            if not isinstance(cmd, str):
                return await self.inner.handle(call, ctx)  # the handler words the argument error
            argv = ["bash", "-lc", cmd]
        else:
            argv = args.get("command")
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
                return await self.inner.handle(call, ctx)
        workdir = args.get("workdir")
        cwd = os.path.join(ctx.cwd, workdir) if isinstance(workdir, str) and workdir else ctx.cwd
        try:
            invocation = intercept_script(argv[2]) if self.name == "exec_command" else intercept_argv(argv)
        except ImplicitInvocationError as exc:
            raise ToolError(str(exc)) from None
        if invocation is not None:
            return await run_patch(invocation.patch, invocation.resolve_cwd(cwd), call.call_id, ctx)
        refusal = await approve_command(argv, cwd, call.call_id, ctx,
                                        sandbox_permissions=args.get("sandbox_permissions"),
                                        justification=args.get("justification"))
        if refusal is not None:
            raise ToolError(refusal)
        return await self.inner.handle(call, ctx)

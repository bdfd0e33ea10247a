"""Approval in front of the shell tools (spec agent-core 5.3 "Shell commands", 4.5 "Shell interception").

`GuardedShellTool` wraps `exec_command`, `shell_command` or `shell`: a command spelling an `apply_patch` invocation is routed to
the apply_patch machinery; any other command is decided by the approval policy (known-safe list, dangerous
commands, escalation requests) and, when the policy asks, waits for the user's `exec_approval`. For
`exec_command` the approval comes before `exec_command_begin`, as upstream. An approved escalation (or a command
every rule allows) runs its first attempt without the platform sandbox (step 4); a sandboxed run that fails with
a sandbox denial is offered for an unsandboxed re-run under `untrusted` / `on-failure` (step 5). An `abort`
answer never reaches this module's callers as a decision: the session interrupts the turn instead.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import attrs
import trio

from codex_actors.exec.policy import DANGER_FULL_ACCESS, SandboxPolicy
from codex_actors.protocol import events
from codex_actors.tools.apply_patch.shell_intercept import ImplicitInvocationError, intercept_argv, intercept_script
from codex_actors.tools.apply_patch_tool import run_patch
from codex_actors.tools.approvals import (
    RETRY_WITHOUT_SANDBOX_REASON, ApprovalCache, decide_command, is_sandbox_denial, offers_unsandboxed_retry,
    split_for_evaluation,
)
from codex_actors.tools.approvals.rules import ExecPolicy, allow_rule
from codex_actors.tools.approvals.safe_commands import normalize_shell
from codex_actors.tools.exec_policy_files import append_allow_rule
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult
from codex_actors.tools.unified_exec import ExecToolOutput
from codex_actors.tools.unified_exec_handlers import tool_result

REJECTED_BY_USER = "exec command rejected by user"
#: The policy of a command that runs outside the platform sandbox (as under danger-full-access).
UNSANDBOXED = SandboxPolicy(mode=DANGER_FULL_ACCESS)
#: Decision tags that let a command run. `approved_execpolicy_amendment` also persists the proposed allow rule
#: (spec 5.3 "Approval caching"; see `_persist_rule`).
APPROVED = ("approved", "approved_for_session", "approved_execpolicy_amendment")


@attrs.frozen
class CommandApproval:
    """The outcome of `approve_command`: `refusal` is the model's message instead of output (None = run);
    `run_unsandboxed`: the first attempt runs without the platform sandbox."""

    refusal: str | None = None
    run_unsandboxed: bool = False


async def approve_command(argv: list[str], cwd: str, call_id: str, ctx: ToolContext, *,
                          sandbox_permissions: str | None, justification: str | None,
                          prefix_rule: Any = None) -> CommandApproval:
    """Decide `argv` per spec 5.3 steps 1-4 (execpolicy rules from `services.exec_policy` first, then the
    heuristics), asking the user (`exec_approval_request`) when the policy says so. `prefix_rule` is the model's
    suggested allow rule (a list of words); the request proposes it, or the command itself when it is one
    simple command, as the rule an `approved_execpolicy_amendment` answer persists.

    A call requesting escalation under any policy but `on-request` is refused before running
    (`decide_command` words it). A denied prompt refuses with `exec command rejected by user`."""
    settings = ctx.services.settings
    cache: ApprovalCache = ctx.services.approval_cache
    escalated = sandbox_permissions == "require_escalated"
    if cache.is_command_approved(argv, cwd=cwd, sandbox_permissions=sandbox_permissions):
        return CommandApproval(run_unsandboxed=escalated)
    mode = SandboxPolicy.from_json(settings.sandbox_policy).mode
    rules: ExecPolicy | None = ctx.services.exec_policy
    decision = decide_command(argv, approval_policy=settings.approval_policy, sandbox_mode=mode,
                              requested_escalation=escalated, rule_lookup=rules.lookup if rules else None)
    if decision.outcome == "allow":
        return CommandApproval(run_unsandboxed=decision.run_unsandboxed)
    if decision.outcome == "forbidden":
        return CommandApproval(refusal=decision.reason or REJECTED_BY_USER)
    if not await _ask(argv, cwd, call_id, ctx, justification or decision.reason, sandbox_permissions,
                      proposal=_proposed_rule(argv, prefix_rule)):
        return CommandApproval(refusal=REJECTED_BY_USER)
    return CommandApproval(run_unsandboxed=decision.run_unsandboxed)


def _proposed_rule(argv: list[str], prefix_rule: Any) -> list[str] | None:
    if isinstance(prefix_rule, list) and prefix_rule and all(isinstance(w, str) and w for w in prefix_rule):
        return prefix_rule
    split = split_for_evaluation(normalize_shell(argv))
    return list(split.segments[0]) if split.kind == "plain" and len(split.segments) == 1 else None


async def _ask(argv: list[str], cwd: str, call_id: str, ctx: ToolContext, reason: str | None,
               sandbox_permissions: str | None, *, proposal: list[str] | None = None) -> bool:
    """Emit an `exec_approval_request` and wait; True when approved. `approved_for_session` is remembered;
    `approved_execpolicy_amendment` appends the proposed allow rule to `default.rules` and applies it now."""
    request = events.ExecApprovalRequest(
        call_id=call_id, turn_id=ctx.turn_id, command=argv, cwd=cwd, reason=reason,
        proposed_execpolicy_amendment={"command": proposal} if proposal else None)
    answer = await ctx.services.approvals.request(request)
    if answer == "approved_for_session":
        cache: ApprovalCache = ctx.services.approval_cache
        cache.approve_command(argv, cwd=cwd, sandbox_permissions=sandbox_permissions)
    if answer == "approved_execpolicy_amendment" and proposal:
        await _persist_rule(proposal, ctx)
    return answer in APPROVED


async def _persist_rule(prefix: list[str], ctx: ToolContext) -> None:
    rules: ExecPolicy = ctx.services.exec_policy or ExecPolicy()
    ctx.services.exec_policy = rules.with_rule(allow_rule(prefix, source="approved_execpolicy_amendment"))
    home = ctx.services.exec_policy_home
    if home is None:
        return
    try:
        await trio.to_thread.run_sync(append_allow_rule, home, prefix)
    except OSError as exc:
        await ctx.emit(events.Warning(message=f"the allow rule was applied to this session but not saved: {exc}"))


class ShellRunner(Protocol):
    """What `GuardedShellTool` wraps: a router handler that can also run a call under a given policy."""

    name: str
    kind: Any
    parallel: bool

    def spec(self) -> dict[str, Any]: ...

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult: ...

    async def run(self, call: ToolCall, ctx: ToolContext, *, policy: SandboxPolicy | None = None) -> ExecToolOutput: ...


class GuardedShellTool:
    """`inner` (an `exec_command` or `shell` handler) behind apply_patch interception and approvals."""

    def __init__(self, inner: ShellRunner) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind = inner.kind
        self.parallel = inner.parallel

    def spec(self) -> dict[str, Any]:
        return self.inner.spec()

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        args = call.arguments()
        script = args.get("cmd") if self.name == "exec_command" else args.get("command")
        if self.name == "exec_command":
            if not isinstance(script, str):
                return await self.inner.handle(call, ctx)  # the handler words the argument error
            argv = ["bash", "-lc", script]
        elif self.name == "shell_command":
            if not isinstance(script, str):
                return await self.inner.handle(call, ctx)
            argv = ["bash", "-lc", script]
        else:
            argv = args.get("command")
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
                return await self.inner.handle(call, ctx)
        workdir = args.get("workdir")
        cwd = os.path.join(ctx.cwd, workdir) if isinstance(workdir, str) and workdir else ctx.cwd
        try:
            invocation = intercept_script(script) if isinstance(script, str) else intercept_argv(argv)
        except ImplicitInvocationError as exc:
            raise ToolError(str(exc)) from None
        if invocation is not None:
            return await run_patch(invocation.patch, invocation.resolve_cwd(cwd), call.call_id, ctx)
        approval = await approve_command(argv, cwd, call.call_id, ctx,
                                         sandbox_permissions=args.get("sandbox_permissions"),
                                         justification=args.get("justification"),
                                         prefix_rule=args.get("prefix_rule"))
        if approval.refusal is not None:
            raise ToolError(approval.refusal)
        settings = ctx.services.settings
        session_policy = SandboxPolicy.from_json(settings.sandbox_policy)
        sandboxed = not approval.run_unsandboxed and not session_policy.is_unrestricted
        # One call shows one begin/end pair, as upstream: the first attempt's end is held back until it is
        # known whether a retry replaces it (and then the retry's begin is the one left out).
        first = _EndHold(ctx)
        try:
            # The policy of now, not of start-up: a user_turn / override_turn_context may have changed it.
            out = await self.inner.run(call, first.ctx, policy=session_policy if sandboxed else UNSANDBOXED)
        except BaseException:
            with trio.CancelScope(shield=True):  # an interrupted call still reports its end
                await first.release()
            raise
        first.holding = False
        # Step 5. A unified-exec process still running at its yield (exit_code None) cannot be re-run.
        if (sandboxed and out.exit_code is not None and is_sandbox_denial(out.exit_code, out.output)
                and offers_unsandboxed_retry(settings.approval_policy)
                and await _approve_retry(argv, cwd, call.call_id, ctx, args.get("sandbox_permissions"))):
            out = await self.inner.run(call, _without_begin(ctx), policy=UNSANDBOXED)
        else:
            await first.release()
        return tool_result(out)


class _EndHold:
    """A ToolContext whose `exec_command_end` events are held while `holding` (the events of a process that
    outlives the call, sent later, pass straight through once `holding` is False)."""

    def __init__(self, ctx: ToolContext) -> None:
        self.holding = True
        self._held: list[Any] = []
        self._emit = ctx.emit

        async def emit(msg: Any) -> None:
            if self.holding and isinstance(msg, events.ExecCommandEnd):
                self._held.append(msg)
            else:
                await self._emit(msg)

        self.ctx = attrs.evolve(ctx, emit=emit)

    async def release(self) -> None:
        """Stop holding and send what was held."""
        self.holding = False
        held, self._held = self._held, []
        for msg in held:
            await self._emit(msg)


def _without_begin(ctx: ToolContext) -> ToolContext:
    async def emit(msg: Any) -> None:
        if not isinstance(msg, events.ExecCommandBegin):
            await ctx.emit(msg)

    return attrs.evolve(ctx, emit=emit)


async def _approve_retry(argv: list[str], cwd: str, call_id: str, ctx: ToolContext,
                         sandbox_permissions: str | None) -> bool:
    """Ask whether to re-run a sandbox-denied command unsandboxed (spec 5.3 step 5); a command approved for
    the session is re-run without asking, and an `approved_for_session` answer is remembered."""
    cache: ApprovalCache = ctx.services.approval_cache
    if cache.is_command_approved(argv, cwd=cwd, sandbox_permissions=sandbox_permissions):
        return True
    return await _ask(argv, cwd, call_id, ctx, RETRY_WITHOUT_SANDBOX_REASON, sandbox_permissions)

"""The `apply_patch` tool for the router: freeform (custom grammar) and JSON (`{"input": patch}`) variants,
with the approval decision of spec agent-core 5.3 "Patches" and the prompt flow of 1.5."""

from __future__ import annotations

import os
from typing import Any

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.protocol import events
from codex_actors.tools.apply_patch import apply_patch_call, freeform_tool_spec, json_tool_spec
from codex_actors.tools.approvals import ApprovalCache, decide_patch
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult


def patch_assessor(ctx: ToolContext, call_id: str):
    """The `assess` and `ask` hooks of `apply_patch_call` for one call, bound to the session's policies."""
    settings = ctx.services["settings"]
    cache: ApprovalCache = ctx.services["approval_cache"]
    policy = SandboxPolicy.from_json(settings.sandbox_policy)
    roots = policy.effective_writable_roots(ctx.cwd)
    reason: str | None = None  # what `assess` found, shown with the question `ask` puts

    async def assess(changes: dict[str, Any]) -> str:
        nonlocal reason
        paths = _touched_paths(changes)
        if cache.is_patch_approved(paths, cwd=ctx.cwd):
            return "approve"
        decision = decide_patch(paths, approval_policy=settings.approval_policy, sandbox_mode=policy.mode,
                                writable_roots=roots, cwd=ctx.cwd)
        if decision.outcome == "allow":
            return "approve"
        if decision.outcome == "forbidden":
            return f"reject:{decision.reason}"
        reason = decision.reason
        return "ask"

    async def ask(changes: dict[str, Any]) -> str:
        request = events.ApplyPatchApprovalRequest(call_id=call_id, turn_id=ctx.turn_id, changes=changes,
                                                   reason=reason)
        # An `abort` answer interrupts the turn (the session cancels this wait); one that still arrives here (a
        # request outliving the turn) counts as a denial like every other non-approval.
        answer = await ctx.services["approvals"].request(request)
        if answer == "approved_for_session":
            cache.approve_patch(_touched_paths(changes), cwd=ctx.cwd)
        return "approve" if answer in ("approved", "approved_for_session") else "deny"

    return assess, ask


def _touched_paths(changes: dict[str, Any]) -> list[str]:
    paths = list(changes)
    paths += [c["move_path"] for c in changes.values() if c.get("type") == "update" and c.get("move_path")]
    return paths


class ApplyPatchTool:
    """`apply_patch`: freeform (`freeform=True`, the model sends the raw patch) or JSON `{"input": patch}`."""

    name = "apply_patch"
    parallel = False

    def __init__(self, *, freeform: bool = True) -> None:
        self.freeform = freeform
        self.kind = "custom" if freeform else "function"

    def spec(self) -> dict[str, Any]:
        return freeform_tool_spec() if self.freeform else json_tool_spec()

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        patch = call.payload if call.kind == "custom" else call.arguments().get("input")
        if not isinstance(patch, str):
            raise ToolError("failed to parse function arguments: missing field `input`")
        return await run_patch(patch, ctx.cwd, call.call_id, ctx)


async def run_patch(patch: str, cwd: str, call_id: str, ctx: ToolContext) -> ToolResult:
    """Verify, approve and apply `patch` relative to `cwd` (also used for patches sent through a shell tool)."""
    assess, ask = patch_assessor(ctx, call_id)
    output, success = await apply_patch_call(patch, os.path.abspath(cwd), emit=ctx.emit, call_id=call_id,
                                             turn_id=ctx.turn_id, assess=assess, ask=ask)
    return ToolResult(output, success, code_mode_value={} if success else None)

"""The apply_patch tool call: parse, verify, decide, apply, report (agent-core spec 4.5 "Verification & approval",
1.3 patch events, 5.3 "Patches").

Sequence for one call:
1. parse and dry-run in a worker thread; on failure return `apply_patch verification failed: <error>`, no events;
2. an empty patch is rejected (`patch rejected: empty patch`), no events;
3. `assess(changes)` (the session's safety check) answers `"approve"`, `"ask"` or `"reject:<reason>"`; a
   rejection returns `patch rejected: <reason>`, no events;
4. emit `patch_apply_begin{auto_approved}` (false exactly when the user is about to be asked); on `"ask"`, await
   `ask(changes)`: `"approve"` goes on, `"deny"` emits `patch_apply_end{status: "declined"}` and returns
   `patch rejected by user`;
5. write the files in a worker thread and emit `patch_apply_end{status: "completed" | "failed"}`.

Events are plain dicts with a `"type"` key and the field names of spec 1.3, handed to the injected `emit`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import trio

from .apply import PatchApplyError, PatchPlan, apply_plan, plan_patch
from .parser import PatchParseError, parse_patch

Changes = dict[str, dict]
Emit = Callable[[dict], Awaitable[None]]
Assess = Callable[[Changes], Awaitable[str]]
Ask = Callable[[Changes], Awaitable[str]]

USER_DENIED_MESSAGE = "patch rejected by user"


def verify_patch(patch_text: str, cwd: str | os.PathLike[str]) -> PatchPlan:
    """Parse `patch_text` and dry-run it against the files under `cwd` (blocking file reads).

    Raises `PatchParseError` or `PatchApplyError`; `str(err)` is the message after `apply_patch verification
    failed: `.
    """
    return plan_patch(parse_patch(patch_text), cwd)


async def apply_patch_call(
    patch_text: str,
    cwd: str | os.PathLike[str],
    *,
    emit: Emit,
    call_id: str,
    turn_id: str,
    assess: Assess | None = None,
    ask: Ask | None = None,
) -> tuple[str, bool]:
    """Run one apply_patch call and return `(output_text, success)` for the model.

    `patch_text` is the raw patch (freeform input, the JSON variant's `input`, or an intercepted shell command's
    patch); relative paths resolve against `cwd`. `emit(event_dict)` receives `patch_apply_begin` and
    `patch_apply_end`. `assess(changes)` defaults to approving everything; it returns `"approve"`, `"ask"` (then
    `ask(changes)` must be given and returns `"approve"` or `"deny"`) or `"reject:<reason>"`. `changes` maps
    absolute path to FileChange dict (spec 1.3).

    On success the output is `Success. Updated the following files:\\nA <path>\\nM <path>\\nD <path>\\n` (paths as
    the patch wrote them). Raises `ValueError` for a decision string outside that vocabulary.
    """
    try:
        plan = await trio.to_thread.run_sync(verify_patch, patch_text, cwd)
    except (PatchParseError, PatchApplyError) as e:
        return f"apply_patch verification failed: {e}", False
    if not plan.actions:
        return "patch rejected: empty patch", False

    decision = await assess(plan.changes) if assess is not None else "approve"
    if decision.startswith("reject:"):
        return f"patch rejected: {decision.removeprefix('reject:')}", False
    if decision not in ("approve", "ask"):
        raise ValueError(f"assess() answered {decision!r}; expected 'approve', 'ask' or 'reject:<reason>'")
    if decision == "ask" and ask is None:
        raise ValueError("assess() answered 'ask' but apply_patch_call was given no ask() hook")

    ids = {"call_id": call_id, "turn_id": turn_id}
    await emit({"type": "patch_apply_begin", **ids, "auto_approved": decision == "approve", "changes": plan.changes})

    async def end(stdout: str, stderr: str, status: str) -> None:
        await emit(
            {
                "type": "patch_apply_end",
                **ids,
                "stdout": stdout,
                "stderr": stderr,
                "success": status == "completed",
                "changes": plan.changes,
                "status": status,
            }
        )

    if decision == "ask":
        assert ask is not None
        answer = await ask(plan.changes)
        if answer == "deny":
            await end("", USER_DENIED_MESSAGE, "declined")
            return USER_DENIED_MESSAGE, False
        if answer != "approve":
            raise ValueError(f"ask() answered {answer!r}; expected 'approve' or 'deny'")

    try:
        await trio.to_thread.run_sync(apply_plan, plan)
    except PatchApplyError as e:
        await end("", str(e), "failed")
        return str(e), False
    summary = plan.summary()
    await end(summary, "", "completed")
    return summary, True

"""The approval broker: a tool call waiting for the user's decision, and the op that answers it.

Owned by the session actor. A tool handler calls `request(event)` (an ExecApprovalRequest or
ApplyPatchApprovalRequest event message); the broker emits it and waits until the session hands it the matching
`exec_approval` / `patch_approval` op via `resolve`. Decisions are ReviewDecision values (spec agent-core 1.3):
"approved", "approved_for_session", "denied", "abort", ... (a decision object such as
`{"approved_execpolicy_amendment": {...}}` is reduced to its tag).

An `abort` decision is not delivered to the waiting call: the session interrupts the turn instead, which cancels
the call with the rest of the turn (spec 1.3, 2.4). Only a request that outlived the turn's cancellation (one a
code-mode cell made outside the turn) receives "abort", and treats it as a denial.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import trio

from codex_actors.protocol import events


def decision_tag(decision: Any) -> str:
    """"approved" for "approved", "approved_execpolicy_amendment" for {"approved_execpolicy_amendment": {...}}."""
    if isinstance(decision, str):
        return decision
    if isinstance(decision, dict) and len(decision) == 1:
        return next(iter(decision))
    return "denied"


class ApprovalBroker:
    """Pending approval requests keyed by approval id (the call_id unless an approval_id was given)."""

    def __init__(self, emit: Callable[[events.EventMsg], Awaitable[None]]) -> None:
        self._emit = emit
        self._pending: dict[str, trio.MemorySendChannel] = {}

    async def request(self, event: events.ExecApprovalRequest | events.ApplyPatchApprovalRequest) -> str:
        """Emit `event` and wait for the decision tag. Cancellation (an interrupt) withdraws the request."""
        key = getattr(event, "approval_id", None) or event.call_id
        send, recv = trio.open_memory_channel(1)
        self._pending[key] = send
        try:
            await self._emit(event)
            return decision_tag(await recv.receive())
        finally:
            self._pending.pop(key, None)

    def waiting(self, approval_id: str) -> bool:
        """True while a request with this approval id waits for its decision."""
        return approval_id in self._pending

    def resolve(self, approval_id: str, decision: Any) -> bool:
        """Deliver a decision; False when nothing waits under that id (a late or unknown answer)."""
        send = self._pending.pop(approval_id, None)
        if send is None:
            return False
        send.send_nowait(decision)
        return True

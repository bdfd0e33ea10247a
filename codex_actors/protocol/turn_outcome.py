"""How a headless turn ends, decided from its events: one sans-I/O tracker fed by `exec` and `batch` alike.

Spec agent-core 6 (`codex exec`): the driver opens a session, submits one turn once `session_configured` arrives,
declines every approval request (approvals are `never`; one that still arrives is answered `denied`), and reads
the outcome from that turn's events:
- `error` events of the turn record the turn's error (the last one wins);
- `agent_message` events, then `task_complete.last_agent_message` when present, give the final answer;
- `task_complete` of the turn ends it `failed` when an error was recorded, else `completed`;
- `turn_aborted` of the turn ends it `interrupted` (error `turn interrupted`);
- a stream that ends before either is a `failed` turn (`the session ended before the turn did`).

The tracker touches no channel: `TurnTracker.feed(event)` returns the step the driver must take (`SubmitTurn`,
`Reply(op)`, `TurnEnded`, or None), and the driver does the I/O (`handle.submit`). Events of other submissions
(ids other than the turn's) never end the turn.
"""

from __future__ import annotations

import attrs

from codex_actors.protocol import events, ops

INTERRUPTED = "turn interrupted"
ENDED_EARLY = "the session ended before the turn did"


@attrs.define
class TurnOutcome:
    """How the turn ended: `status` "completed" | "failed" | "interrupted", or None while it runs; `error` the
    turn's last error message (also set for `interrupted`); `last_agent_message` the final answer, if any."""

    status: str | None = None
    error: str | None = None
    last_agent_message: str | None = None


@attrs.frozen
class SubmitTurn:
    """The session is configured: submit the turn now and hand its submission id to `turn_submitted`."""


@attrs.frozen
class Reply:
    """Submit `op` now (the `denied` answer to an approval request)."""

    op: ops.Op


@attrs.frozen
class TurnEnded:
    """The turn is over: stop reading events; `outcome` is final."""

    outcome: TurnOutcome


Step = SubmitTurn | Reply | TurnEnded | None


class TurnTracker:
    """Follows one headless turn (module docstring). Feed it every event of the session in order; after a
    `TurnEnded` step, or when the stream ends, `finish()` gives the outcome."""

    def __init__(self) -> None:
        self.outcome = TurnOutcome()
        self.turn_id: str | None = None
        self._submitting = False

    def turn_submitted(self, turn_id: str) -> None:
        """Record the submission id the session gave the turn (the id its events carry)."""
        self.turn_id = turn_id

    def feed(self, event: events.Event) -> Step:
        """Take in one event; returns what the driver must do next (None: nothing, read on)."""
        msg = event.msg
        if self.outcome.status is not None:
            return TurnEnded(self.outcome)
        if isinstance(msg, events.SessionConfigured):
            if self._submitting:
                return None
            self._submitting = True
            return SubmitTurn()
        if isinstance(msg, events.ExecApprovalRequest):
            return Reply(ops.ExecApproval(id=msg.approval_id or msg.call_id, decision="denied"))
        if isinstance(msg, events.ApplyPatchApprovalRequest):
            return Reply(ops.PatchApproval(id=msg.call_id, decision="denied"))
        if isinstance(msg, events.AgentMessage):
            self.outcome.last_agent_message = msg.message
            return None
        if self.turn_id is None or event.id != self.turn_id:
            return None
        if isinstance(msg, events.Error):
            self.outcome.error = msg.message
        elif isinstance(msg, events.TaskComplete):
            if msg.last_agent_message is not None:
                self.outcome.last_agent_message = msg.last_agent_message
            self.outcome.status = "failed" if self.outcome.error is not None else "completed"
            return TurnEnded(self.outcome)
        elif isinstance(msg, events.TurnAborted):
            self.outcome.status, self.outcome.error = "interrupted", INTERRUPTED
            return TurnEnded(self.outcome)
        return None

    def finish(self) -> TurnOutcome:
        """The outcome, once no more events will come: a turn that never ended is `failed` (ENDED_EARLY, or the
        error it had recorded)."""
        if self.outcome.status is None:
            self.outcome.status = "failed"
            self.outcome.error = self.outcome.error or ENDED_EARLY
        return self.outcome

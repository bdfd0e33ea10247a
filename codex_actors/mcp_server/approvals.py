"""Approvals of `codex-actors mcp-server`: a command or patch that needs approval is asked of the MCP client
with an `elicitation/create` request, as codex-rs `mcp-server` does (`exec_approval.rs`, `patch_approval.rs`).

The message is Codex's: "Allow Codex to run `<command>` in `<cwd>`?", and for a patch the reason (when there is
one) then "Allow Codex to apply proposed code changes?"; the requested schema is an empty object, as Codex sends
it. The answer is the standard MCP `ElicitResult`: `accept` approves (a `content.decision` that is a Codex
ReviewDecision, e.g. `approved_for_session`, is taken as given), `decline` denies, `cancel` aborts the turn.
Not like codex-rs: Codex's own correlation fields (`codex_elicitation`, `codex_call_id`, `threadId`, ...) are
not added to the request (the `mcp` SDK's typed requests carry only the standard fields), and Codex's
non-standard answer `{"decision": ...}` without an `action` is refused by the SDK's validation and counts as
denied. A client that did not declare the elicitation capability is not asked: the call is denied, so a
stricter approval policy still takes effect. On the MCP 2026-07-28 protocol, which has no server-to-client
requests, the same question goes out as an `input_required` result of the tool call (its multi-round-trip
form): the turn waits, and the client's retry (with `requestState` and the answer) resumes it. A failed or
unreadable answer denies, as in codex-rs.
"""

from __future__ import annotations

import shlex
from typing import Any

import mcp_types as types

from codex_actors.protocol import events

REVIEW_DECISIONS = ("approved", "approved_for_session", "denied", "abort")
APPROVAL_INPUT = "approval"  # the key of the one input request of an `input_required` result
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def approval_message(msg: events.ExecApprovalRequest | events.ApplyPatchApprovalRequest) -> str:
    """The question shown to the client's user, in codex-rs's words."""
    if isinstance(msg, events.ExecApprovalRequest):
        return f"Allow Codex to run `{shlex.join(msg.command)}` in `{msg.cwd}`?"
    lines = [msg.reason] if msg.reason else []
    return "\n".join([*lines, "Allow Codex to apply proposed code changes?"])


def decision_of(result: types.ElicitResult) -> str:
    """The ReviewDecision an elicitation answer stands for (see the module docstring)."""
    if result.action == "accept":
        chosen = (result.content or {}).get("decision")
        return chosen if chosen in REVIEW_DECISIONS else "approved"
    return "abort" if result.action == "cancel" else "denied"


def _declared_elicitation(ctx: Any) -> bool:
    wanted = types.ClientCapabilities(elicitation=types.ElicitationCapability())
    return ctx is not None and ctx.session.check_client_capability(wanted)


def can_ask(ctx: Any) -> bool:
    """Whether the caller of this tool call declared the elicitation capability and its connection can carry a
    server-to-client request (a handshake-era connection; MCP 2026-07-28 forbids them)."""
    return _declared_elicitation(ctx) and ctx.session.can_send_request


def can_ask_in_round_trip(ctx: Any) -> bool:
    """Whether the caller declared elicitation on a connection without server-to-client requests (MCP
    2026-07-28): the question then goes out as an `input_required` result, answered by the call's retry."""
    return _declared_elicitation(ctx) and not ctx.session.can_send_request


def approval_request(msg: events.ExecApprovalRequest | events.ApplyPatchApprovalRequest) -> types.ElicitRequest:
    """The elicitation an `input_required` result carries for `msg`."""
    return types.ElicitRequest(params=types.ElicitRequestFormParams(message=approval_message(msg),
                                                                    requested_schema=_EMPTY_SCHEMA))


async def ask_client(ctx: Any, msg: events.ExecApprovalRequest | events.ApplyPatchApprovalRequest) -> str:
    """Ask the MCP client of the current tool call (`ctx`: the SDK's request context) about `msg`; returns a
    ReviewDecision. Never raises for the client's failures: those deny."""
    if not can_ask(ctx):
        return "denied"
    try:
        result = await ctx.session.elicit_form(approval_message(msg), _EMPTY_SCHEMA,
                                               related_request_id=ctx.request_id)
    except Exception:  # noqa: BLE001 - an error answer, a broken one or a lost client: deny, as codex-rs does
        return "denied"
    return decision_of(result)

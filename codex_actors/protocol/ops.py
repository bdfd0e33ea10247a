"""Submissions, client to engine: `Submission{id, op}` with the `Op` variants of spec agent-core 1.2."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from codex_actors.protocol.registry import TaggedUnion, structure_envelope


class UserInput:
    """Base of the input items of a user turn."""


class Op:
    """Base of every submission payload."""


USER_INPUTS = TaggedUnion("user input", UserInput)
OPS = TaggedUnion("op", Op)


@USER_INPUTS.register
@attrs.frozen
class TextInput(UserInput):
    TYPE: ClassVar[str] = "text"
    text: str
    text_elements: list[dict[str, Any]] = attrs.field(factory=list)


@USER_INPUTS.register
@attrs.frozen
class ImageInput(UserInput):
    """An image given inline, usually as a `data:` URL."""

    TYPE: ClassVar[str] = "image"
    image_url: str


@USER_INPUTS.register
@attrs.frozen
class LocalImageInput(UserInput):
    """A local image file, read and inlined as a data URL when the request is built."""

    TYPE: ClassVar[str] = "local_image"
    path: str


@OPS.register
@attrs.frozen
class Interrupt(Op):
    """Abort the running turn; answered by `turn_aborted{reason: "interrupted"}`."""

    TYPE: ClassVar[str] = "interrupt"


@OPS.register
@attrs.frozen
class UserInputOp(Op):
    """Input using the persisted turn context (legacy form)."""

    TYPE: ClassVar[str] = "user_input"
    items: list[UserInput]
    final_output_json_schema: dict[str, Any] | None = None


@attrs.frozen
class SteerInput(Op):
    """Input for the running turn only (app-server `turn/steer`): the session answers "steered", or
    "not_steerable" when no turn accepts input any more (none runs, or it is past its last request); it never
    starts a turn. Not a Codex op, so not in OPS: it is never read from JSON."""

    TYPE: ClassVar[str] = "steer_input"
    items: list[UserInput]


@OPS.register
@attrs.frozen
class UserTurn(Op):
    """Input plus the full per-turn context. `sandbox_policy` is a SandboxPolicy JSON object
    (`{"type": "read-only" | "workspace-write" | "danger-full-access", ...}`). The context is applied to the
    session (later turns and `user_input` keep it); `final_output_json_schema` is for this turn only."""

    TYPE: ClassVar[str] = "user_turn"
    items: list[UserInput]
    cwd: str
    approval_policy: str
    sandbox_policy: dict[str, Any]
    model: str
    effort: str | None = None
    summary: str | None = None
    final_output_json_schema: dict[str, Any] | None = None


@OPS.register
@attrs.frozen
class UserInputWithTurnContext(Op):
    """Input plus optional context overrides (the fields of `override_turn_context`), applied atomically."""

    TYPE: ClassVar[str] = "user_input_with_turn_context"
    items: list[UserInput]
    cwd: str | None = None
    approval_policy: str | None = None
    sandbox_policy: dict[str, Any] | None = None
    model: str | None = None
    effort: str | None = None
    summary: str | None = None
    final_output_json_schema: dict[str, Any] | None = None


@OPS.register
@attrs.frozen
class AddToHistory(Op):
    """Append a prompt to the global `history.jsonl` (spec 7.7)."""

    TYPE: ClassVar[str] = "add_to_history"
    text: str


@OPS.register
@attrs.frozen
class GetHistoryEntryRequest(Op):
    """Read entry `offset` (0 = oldest) of the history file whose inode is `log_id`; answered by
    `get_history_entry_response`."""

    TYPE: ClassVar[str] = "get_history_entry_request"
    offset: int
    log_id: int


@OPS.register
@attrs.frozen
class CleanBackgroundTerminals(Op):
    """Kill every background unified-exec process of the thread."""

    TYPE: ClassVar[str] = "clean_background_terminals"


@OPS.register
@attrs.frozen
class OverrideTurnContext(Op):
    """Change the defaults of later turns without input (spec 1.2); every field is optional (None = keep).
    `sandbox_policy` is a SandboxPolicy JSON object as in `UserTurn`."""

    TYPE: ClassVar[str] = "override_turn_context"
    cwd: str | None = None
    approval_policy: str | None = None
    sandbox_policy: dict[str, Any] | None = None
    model: str | None = None
    effort: str | None = None
    summary: str | None = None


@OPS.register
@attrs.frozen
class ExecApproval(Op):
    """Answer to an exec_approval_request; `decision` is a ReviewDecision such as "approved"."""

    TYPE: ClassVar[str] = "exec_approval"
    id: str
    decision: Any
    turn_id: str | None = None


@OPS.register
@attrs.frozen
class PatchApproval(Op):
    TYPE: ClassVar[str] = "patch_approval"
    id: str
    decision: Any


@OPS.register
@attrs.frozen
class Compact(Op):
    """Manual context compaction, run as its own task."""

    TYPE: ClassVar[str] = "compact"


@OPS.register
@attrs.frozen
class Shutdown(Op):
    """Stop the session; answered by `shutdown_complete` once every child actor has stopped."""

    TYPE: ClassVar[str] = "shutdown"


@attrs.frozen
class Submission:
    """One entry of the submission queue: `{"id": ..., "op": Op}`."""

    id: str
    op: Op


def submission_to_json(submission: Submission) -> dict[str, Any]:
    return {"id": submission.id, "op": OPS.unstructure(submission.op)}


def submission_from_json(data: Any) -> Submission:
    """Raises ProtocolError on an unknown `op.type` or a bad field."""
    ident, op = structure_envelope(data, "submission", "op", OPS)
    return Submission(ident, op)

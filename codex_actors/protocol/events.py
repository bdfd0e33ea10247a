"""Events, engine to client: `Event{id, msg}` with the `EventMsg` variants of spec agent-core 1.3.

`id` is the id of the submission that caused the work (the turn's sub_id), "" for events tied to none.
Nested payloads that other tools define in full (sandbox policies, file changes, token usage, MCP results)
are carried as JSON objects (`dict`), validated by the piece that produces them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from codex_actors.protocol.registry import TaggedUnion, structure_envelope


class EventMsg:
    """Base of every event payload."""


EVENT_MSGS = TaggedUnion("event", EventMsg)
register = EVENT_MSGS.register

JSON = dict[str, Any]


# -- lifecycle / turn -------------------------------------------------------------------------------------


@register
@attrs.frozen
class SessionConfigured(EventMsg):
    TYPE: ClassVar[str] = "session_configured"
    session_id: str
    model: str
    model_provider_id: str
    approval_policy: str
    sandbox_policy: JSON
    cwd: str
    history_log_id: int
    history_entry_count: int
    reasoning_effort: str | None = None
    initial_messages: list[JSON] | None = None
    rollout_path: str | None = None


@register
@attrs.frozen
class TaskStarted(EventMsg):
    """Turn start; `started_at` in unix seconds."""

    TYPE: ClassVar[str] = "task_started"
    turn_id: str
    collaboration_mode_kind: str = "default"
    started_at: int | None = None
    model_context_window: int | None = None


@register
@attrs.frozen
class TaskComplete(EventMsg):
    """Turn end; `completed_at` in unix seconds, `duration_ms` in milliseconds."""

    TYPE: ClassVar[str] = "task_complete"
    turn_id: str
    last_agent_message: str | None = None
    completed_at: int | None = None
    duration_ms: int | None = None


@register
@attrs.frozen
class TurnAborted(EventMsg):
    """`reason`: interrupted | replaced | review_ended | budget_limited."""

    TYPE: ClassVar[str] = "turn_aborted"
    reason: str
    turn_id: str | None = None
    duration_ms: int | None = None


@register
@attrs.frozen
class Error(EventMsg):
    """The turn stopped with an error; `codex_error_info` is a snake_case tag such as `bad_request`."""

    TYPE: ClassVar[str] = "error"
    message: str
    codex_error_info: Any = None


@register
@attrs.frozen
class Warning(EventMsg):  # noqa: A001 - the protocol's name
    TYPE: ClassVar[str] = "warning"
    message: str


@register
@attrs.frozen
class StreamError(EventMsg):
    """A retry is in progress, e.g. message "Reconnecting... 2/5"."""

    TYPE: ClassVar[str] = "stream_error"
    message: str
    codex_error_info: Any = None
    additional_details: str | None = None


@register
@attrs.frozen
class TokenCount(EventMsg):
    """`info` = {total_token_usage, last_token_usage, model_context_window?}; usage objects hold
    input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens (tokens)."""

    TYPE: ClassVar[str] = "token_count"
    info: JSON | None = None
    rate_limits: JSON | None = None


@register
@attrs.frozen
class ContextCompacted(EventMsg):
    TYPE: ClassVar[str] = "context_compacted"


@register
@attrs.frozen
class TurnDiff(EventMsg):
    TYPE: ClassVar[str] = "turn_diff"
    unified_diff: str


@register
@attrs.frozen
class ShutdownComplete(EventMsg):
    TYPE: ClassVar[str] = "shutdown_complete"


# -- messages / reasoning ---------------------------------------------------------------------------------


@register
@attrs.frozen
class UserMessage(EventMsg):
    TYPE: ClassVar[str] = "user_message"
    message: str
    local_images: list[str] = attrs.field(factory=list)
    text_elements: list[JSON] = attrs.field(factory=list)
    images: list[str] | None = None


@register
@attrs.frozen
class AgentMessageDelta(EventMsg):
    TYPE: ClassVar[str] = "agent_message_delta"
    delta: str


@register
@attrs.frozen
class AgentMessage(EventMsg):
    """`phase`: commentary | final_answer."""

    TYPE: ClassVar[str] = "agent_message"
    message: str
    phase: str | None = None


@register
@attrs.frozen
class AgentReasoningDelta(EventMsg):
    TYPE: ClassVar[str] = "agent_reasoning_delta"
    delta: str


@register
@attrs.frozen
class AgentReasoning(EventMsg):
    """A reasoning *summary* text."""

    TYPE: ClassVar[str] = "agent_reasoning"
    text: str


@register
@attrs.frozen
class ItemCompleted(EventMsg):
    """A finished turn item as a whole (spec agent-core 6.4 reads reasoning from it): `item` is codex-rs's
    `TurnItem` JSON, e.g. `{"type": "Reasoning", "id": "rs_1", "summary_text": ["**A**", "**B**"],
    "raw_content": []}`: one per reasoning output item, where `agent_reasoning` comes once per summary part."""

    TYPE: ClassVar[str] = "item_completed"
    turn_id: str
    item: JSON


@register
@attrs.frozen
class PlanUpdate(EventMsg):
    """`plan` = [{step, status}] with status pending | in_progress | completed."""

    TYPE: ClassVar[str] = "plan_update"
    plan: list[JSON]
    explanation: str | None = None


# -- tools ------------------------------------------------------------------------------------------------


@register
@attrs.frozen
class ExecCommandBegin(EventMsg):
    """`source`: agent | user_shell | unified_exec_startup | unified_exec_interaction."""

    TYPE: ClassVar[str] = "exec_command_begin"
    call_id: str
    turn_id: str
    command: list[str]
    cwd: str
    parsed_cmd: list[JSON] = attrs.field(factory=list)
    source: str = "agent"
    process_id: str | None = None
    interaction_input: str | None = None


@register
@attrs.frozen
class ExecCommandOutputDelta(EventMsg):
    """`chunk` is base64 of the raw bytes (at most 8 KiB before encoding); `stream`: stdout | stderr."""

    TYPE: ClassVar[str] = "exec_command_output_delta"
    call_id: str
    stream: str
    chunk: str


@register
@attrs.frozen
class TerminalInteraction(EventMsg):
    TYPE: ClassVar[str] = "terminal_interaction"
    call_id: str
    process_id: str
    stdin: str


@register
@attrs.frozen
class ExecCommandEnd(EventMsg):
    """`duration` is a serde Duration `{"secs": int, "nanos": int}`; `status`: completed | failed | declined."""

    TYPE: ClassVar[str] = "exec_command_end"
    call_id: str
    turn_id: str
    command: list[str]
    cwd: str
    stdout: str
    stderr: str
    aggregated_output: str
    exit_code: int
    duration: JSON
    formatted_output: str
    status: str
    parsed_cmd: list[JSON] = attrs.field(factory=list)
    source: str = "agent"
    process_id: str | None = None


@register
@attrs.frozen
class ExecApprovalRequest(EventMsg):
    """`proposed_execpolicy_amendment`: `{"command": [prefix words]}`, the allow rule an
    `approved_execpolicy_amendment` answer would persist (None when there is no single prefix to propose)."""

    TYPE: ClassVar[str] = "exec_approval_request"
    call_id: str
    turn_id: str
    command: list[str]
    cwd: str
    parsed_cmd: list[JSON] = attrs.field(factory=list)
    approval_id: str | None = None
    reason: str | None = None
    proposed_execpolicy_amendment: JSON | None = None


@register
@attrs.frozen
class ApplyPatchApprovalRequest(EventMsg):
    """`changes` maps path -> FileChange (`{"type": "add"|"delete"|"update", ...}`)."""

    TYPE: ClassVar[str] = "apply_patch_approval_request"
    call_id: str
    turn_id: str
    changes: JSON
    reason: str | None = None
    grant_root: str | None = None


@register
@attrs.frozen
class PatchApplyBegin(EventMsg):
    TYPE: ClassVar[str] = "patch_apply_begin"
    call_id: str
    turn_id: str
    auto_approved: bool
    changes: JSON


@register
@attrs.frozen
class PatchApplyEnd(EventMsg):
    """`status`: completed | failed | declined."""

    TYPE: ClassVar[str] = "patch_apply_end"
    call_id: str
    turn_id: str
    stdout: str
    stderr: str
    success: bool
    changes: JSON
    status: str


@register
@attrs.frozen
class GetHistoryEntryResponse(EventMsg):
    """`entry`: `{"conversation_id", "ts" (unix s), "text"}`, or None when the file is gone, replaced (another
    inode) or shorter than `offset`."""

    TYPE: ClassVar[str] = "get_history_entry_response"
    offset: int
    log_id: int
    entry: JSON | None = None


@register
@attrs.frozen
class McpStartupUpdate(EventMsg):
    """One MCP server's startup state: `status` is `{"state": "starting" | "ready" | "cancelled"}` or
    `{"state": "failed", "error": str}`."""

    TYPE: ClassVar[str] = "mcp_startup_update"
    server: str
    status: JSON


@register
@attrs.frozen
class McpStartupComplete(EventMsg):
    """Every configured MCP server has started or failed: `failed` is a list of `{"server", "error"}`."""

    TYPE: ClassVar[str] = "mcp_startup_complete"
    ready: list[str]
    failed: list[JSON]
    cancelled: list[str] = attrs.field(factory=list)


@register
@attrs.frozen
class McpToolCallBegin(EventMsg):
    """`invocation` = {server, tool, arguments?}."""

    TYPE: ClassVar[str] = "mcp_tool_call_begin"
    call_id: str
    invocation: JSON


@register
@attrs.frozen
class McpToolCallEnd(EventMsg):
    """`result` = {"Ok": CallToolResult} | {"Err": str}; `duration` a serde Duration."""

    TYPE: ClassVar[str] = "mcp_tool_call_end"
    call_id: str
    invocation: JSON
    duration: JSON
    result: JSON


@register
@attrs.frozen
class WebSearchBegin(EventMsg):
    """The model's provider started a built-in `web_search` call (`call_id` = the server item id)."""

    TYPE: ClassVar[str] = "web_search_begin"
    call_id: str


@register
@attrs.frozen
class WebSearchEnd(EventMsg):
    """A built-in `web_search` call finished: `query` and `action` (`{type: "search", query?, queries?}` |
    `{type: "open_page", url?}` | `{type: "find_in_page", url?, pattern?}` | `{type: "other"}`)."""

    TYPE: ClassVar[str] = "web_search_end"
    call_id: str
    query: str
    action: JSON


@register
@attrs.frozen
class ViewImageToolCall(EventMsg):
    TYPE: ClassVar[str] = "view_image_tool_call"
    call_id: str
    path: str


@attrs.frozen
class Event:
    """One entry of the event queue: `{"id": submission id, "msg": EventMsg}`."""

    id: str
    msg: EventMsg


def event_to_json(event: Event) -> dict[str, Any]:
    """`{"id": ..., "msg": {"type": ..., ...}}`."""
    return {"id": event.id, "msg": EVENT_MSGS.unstructure(event.msg)}


def event_from_json(data: Any) -> Event:
    """Inverse of `event_to_json`; raises ProtocolError on an unknown `msg.type` or a bad field."""
    ident, msg = structure_envelope(data, "event", "msg", EVENT_MSGS)
    return Event(ident, msg)

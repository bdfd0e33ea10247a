"""Session events to app-server v2 notifications and items, sans I/O (codex-rs `app-server` bespoke event
handling; shapes from `app-server-protocol` v2, readable in the SDK's `openai_codex/generated/v2_all.py`).

One `ThreadTranslator` per live thread, fed that thread's `EventMsg`s in order; `feed` returns the
`(method, params)` notifications to send. Rules:
- `task_started` -> `turn/started`; `task_complete` -> `turn/completed` (status `failed` with the turn's last
  `error`, else `completed`); `turn_aborted` -> `turn/completed` status `interrupted`. Turn ids are the session's.
- Items carry the ids the engine gives them (a command's or patch's `call_id`); messages and reasoning get
  `item_<n>` ids. Every item gets `item/started` then `item/completed`; agent-message text deltas go out as
  `item/agentMessage/delta` for the item they open; command output as `item/commandExecution/outputDelta`.
- `token_count` -> `thread/tokenUsage/updated`; `error` / `stream_error` -> `error` (`willRetry` false / true);
  `plan_update` -> `turn/plan/updated`; `turn_diff` -> `turn/diff/updated`; `context_compacted` ->
  `thread/compacted`; `warning` -> `warning`.
- `turns` keeps the finished turns with their completed items (what `thread/read` returns for a replay).
"""

from __future__ import annotations

import base64
import shlex
import time
from typing import Any

import attrs

from codex_actors.protocol import events

JSON = dict[str, Any]
Notification = tuple[str, JSON]


def now_ms() -> int:
    return int(time.time() * 1000)


@attrs.define
class TurnState:
    """The running turn: its id, items completed so far, the last error, when it started (unix s)."""

    turn_id: str
    started_at: int | None = None
    items: list[JSON] = attrs.field(factory=list)
    error: JSON | None = None
    agent_item: JSON | None = None  # the agent message item opened by deltas, not yet completed


class ThreadTranslator:
    """Feed one thread's engine events; get v2 notifications. `replay=True` (rebuilding `thread/read` turns
    from a rollout) collects turns without producing notifications."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.turn: TurnState | None = None
        self.turns: list[JSON] = []
        self._next_id = 0
        self._open: dict[str, JSON] = {}  # call_id -> in-progress item
        self._declined: set[str] = set()  # call_ids already reported as declined commands

    def feed(self, msg: events.EventMsg, turn_id: str = "") -> list[Notification]:
        """The notifications for one event (`turn_id`: the event's submission id, used when no turn runs)."""
        handler = getattr(self, f"_on_{getattr(msg, 'TYPE', '')}", None)
        if handler is None:
            return []
        return handler(msg, turn_id) or []

    # -- helpers ----------------------------------------------------------------------------------------

    def _ids(self, turn_id: str = "") -> JSON:
        current = self.turn.turn_id if self.turn is not None else turn_id
        return {"threadId": self.thread_id, "turnId": current}

    def _new_id(self) -> str:
        item_id = f"item_{self._next_id}"
        self._next_id += 1
        return item_id

    def _ensure_turn(self, turn_id: str) -> TurnState:
        if self.turn is None:
            self.turn = TurnState(turn_id or self._new_id(), started_at=int(time.time()))
        return self.turn

    def _started(self, item: JSON, turn_id: str = "") -> Notification:
        return "item/started", {"item": dict(item), **self._ids(turn_id), "startedAtMs": now_ms()}

    def _completed(self, item: JSON, turn_id: str = "") -> Notification:
        self._ensure_turn(turn_id).items.append(item)
        return "item/completed", {"item": dict(item), **self._ids(turn_id), "completedAtMs": now_ms()}

    def _both(self, item: JSON, turn_id: str) -> list[Notification]:
        return [self._started(item, turn_id), self._completed(item, turn_id)]

    # -- turn lifecycle ---------------------------------------------------------------------------------

    def _on_task_started(self, msg: events.TaskStarted, turn_id: str) -> list[Notification]:
        self.turn = TurnState(msg.turn_id, started_at=msg.started_at or int(time.time()))
        return [("turn/started", {"threadId": self.thread_id, "turn": turn_json(self.turn.turn_id, [], "inProgress",
                                                                                 started_at=self.turn.started_at)})]

    def _on_task_complete(self, msg: events.TaskComplete, turn_id: str) -> list[Notification]:
        turn = self._ensure_turn(msg.turn_id)
        out = self._close_open(turn_id, status="completed")
        status = "failed" if turn.error is not None else "completed"
        return out + [self._end_turn(turn, status, completed_at=msg.completed_at, duration_ms=msg.duration_ms)]

    def _on_turn_aborted(self, msg: events.TurnAborted, turn_id: str) -> list[Notification]:
        turn = self._ensure_turn(msg.turn_id or turn_id)
        out = self._close_open(turn_id, status="failed")
        return out + [self._end_turn(turn, "interrupted", duration_ms=msg.duration_ms)]

    def _end_turn(self, turn: TurnState, status: str, *, completed_at: int | None = None,
                  duration_ms: int | None = None) -> Notification:
        completed_at = completed_at or int(time.time())
        body = turn_json(turn.turn_id, turn.items, status, error=turn.error if status == "failed" else None,
                         started_at=turn.started_at, completed_at=completed_at, duration_ms=duration_ms)
        self.turns.append(body)
        self.turn = None
        self._open.clear()
        return "turn/completed", {"threadId": self.thread_id, "turn": body}

    def _close_open(self, turn_id: str, status: str | None = None) -> list[Notification]:
        out = []
        turn = self.turn
        if turn is not None and turn.agent_item is not None:
            out.append(self._completed(turn.agent_item, turn_id))
            turn.agent_item = None
        for item in list(self._open.values()):
            if "status" in item and status is not None:
                item = {**item, "status": status}
            out.append(self._completed(item, turn_id))
        self._open.clear()
        return out

    # -- messages ---------------------------------------------------------------------------------------

    def _on_user_message(self, msg: events.UserMessage, turn_id: str) -> list[Notification]:
        self._ensure_turn(turn_id)
        content: list[JSON] = [{"type": "text", "text": msg.message, "text_elements": list(msg.text_elements)}]
        content += [{"type": "localImage", "path": path} for path in msg.local_images]
        content += [{"type": "image", "url": url} for url in msg.images or []]
        return self._both({"type": "userMessage", "id": self._new_id(), "content": content}, turn_id)

    def _on_agent_message_delta(self, msg: events.AgentMessageDelta, turn_id: str) -> list[Notification]:
        turn = self._ensure_turn(turn_id)
        out = []
        if turn.agent_item is None:
            turn.agent_item = {"type": "agentMessage", "id": self._new_id(), "text": "", "phase": None}
            out.append(self._started(turn.agent_item, turn_id))
        turn.agent_item["text"] += msg.delta
        out.append(("item/agentMessage/delta", {**self._ids(turn_id), "itemId": turn.agent_item["id"],
                                                "delta": msg.delta}))
        return out

    def _on_agent_message(self, msg: events.AgentMessage, turn_id: str) -> list[Notification]:
        turn = self._ensure_turn(turn_id)
        opened, turn.agent_item = turn.agent_item, None
        item = {"type": "agentMessage", "id": opened["id"] if opened else self._new_id(), "text": msg.message,
                "phase": msg.phase}
        if opened is None:
            return self._both(item, turn_id)
        return [self._completed(item, turn_id)]

    def _on_agent_reasoning(self, msg: events.AgentReasoning, turn_id: str) -> list[Notification]:
        if not msg.text.strip():
            return []
        return self._both({"type": "reasoning", "id": self._new_id(), "summary": [msg.text], "content": []},
                          turn_id)

    def _on_plan_update(self, msg: events.PlanUpdate, turn_id: str) -> list[Notification]:
        plan = [{"step": str(step.get("step", "")), "status": _plan_status(step.get("status"))} for step in msg.plan]
        return [("turn/plan/updated", {**self._ids(turn_id), "explanation": msg.explanation, "plan": plan})]

    def _on_turn_diff(self, msg: events.TurnDiff, turn_id: str) -> list[Notification]:
        return [("turn/diff/updated", {**self._ids(turn_id), "diff": msg.unified_diff})]

    def _on_token_count(self, msg: events.TokenCount, turn_id: str) -> list[Notification]:
        info = msg.info or {}
        if not info.get("total_token_usage"):
            return []
        usage = {"total": token_breakdown(info.get("total_token_usage")),
                 "last": token_breakdown(info.get("last_token_usage") or info.get("total_token_usage")),
                 "modelContextWindow": info.get("model_context_window")}
        return [("thread/tokenUsage/updated", {**self._ids(turn_id), "tokenUsage": usage})]

    def _on_error(self, msg: events.Error, turn_id: str) -> list[Notification]:
        error = {"message": msg.message, "codexErrorInfo": _error_info(msg.codex_error_info), "additionalDetails": None}
        if self.turn is not None:
            self.turn.error = error
        return [("error", {"error": error, "willRetry": False, **self._ids(turn_id)})]

    def _on_stream_error(self, msg: events.StreamError, turn_id: str) -> list[Notification]:
        error = {"message": msg.message, "codexErrorInfo": _error_info(msg.codex_error_info),
                 "additionalDetails": msg.additional_details}
        return [("error", {"error": error, "willRetry": True, **self._ids(turn_id)})]

    def _on_warning(self, msg: events.Warning, turn_id: str) -> list[Notification]:
        return [("warning", {"message": msg.message, "threadId": self.thread_id})]

    def _on_context_compacted(self, msg: events.ContextCompacted, turn_id: str) -> list[Notification]:
        return [("thread/compacted", self._ids(turn_id))]

    # -- commands ---------------------------------------------------------------------------------------

    def _on_exec_command_begin(self, msg: events.ExecCommandBegin, turn_id: str) -> list[Notification]:
        item = command_item(msg, status="inProgress")
        self._open[msg.call_id] = item
        return [self._started(item, turn_id)]

    def _on_exec_command_output_delta(self, msg: events.ExecCommandOutputDelta, turn_id: str) -> list[Notification]:
        try:
            text = base64.b64decode(msg.chunk).decode("utf-8", errors="replace")
        except ValueError:
            text = msg.chunk
        return [("item/commandExecution/outputDelta", {**self._ids(turn_id), "itemId": msg.call_id, "delta": text})]

    def _on_exec_command_end(self, msg: events.ExecCommandEnd, turn_id: str) -> list[Notification]:
        if msg.call_id in self._declined:
            return []
        opened = self._open.pop(msg.call_id, None)
        if msg.status == "declined":
            status = "declined"
        else:
            status = "completed" if msg.exit_code == 0 else "failed"
        duration = msg.duration if isinstance(msg.duration, dict) else {}
        item = {**command_item(msg, status=status), "aggregatedOutput": msg.aggregated_output,
                "exitCode": msg.exit_code,
                "durationMs": int(duration.get("secs", 0)) * 1000 + int(duration.get("nanos", 0)) // 1_000_000}
        out = [] if opened is not None else [self._started(item, turn_id)]
        return out + [self._completed(item, turn_id)]

    def declined(self, msg: events.ExecApprovalRequest | events.ApplyPatchApprovalRequest) -> list[Notification]:
        """The item of a command whose approval was declined: it never runs and the engine reports no begin /
        end for it, so the client sees it here, started and completed with status `declined` (a later end
        event for it is dropped). A declined patch needs nothing: the engine ends it as `declined` itself."""
        if not isinstance(msg, events.ExecApprovalRequest):
            return []
        self._declined.add(msg.call_id)
        return self._both(command_item(msg, status="declined"), msg.turn_id)

    def finish_replayed_turn(self) -> None:
        """Replay only: end the open turn as completed (stored rollouts keep no task events)."""
        if self.turn is not None:
            self._end_turn(self.turn, "completed")

    # -- patches ----------------------------------------------------------------------------------------

    def _on_patch_apply_begin(self, msg: events.PatchApplyBegin, turn_id: str) -> list[Notification]:
        item = {"type": "fileChange", "id": msg.call_id, "changes": file_changes(msg.changes), "status": "inProgress"}
        self._open[msg.call_id] = item
        return [self._started(item, turn_id)]

    def _on_patch_apply_end(self, msg: events.PatchApplyEnd, turn_id: str) -> list[Notification]:
        opened = self._open.pop(msg.call_id, None)
        if msg.status == "declined":
            status = "declined"
        else:
            status = "completed" if msg.success and msg.status == "completed" else "failed"
        item = {"type": "fileChange", "id": msg.call_id, "changes": file_changes(msg.changes), "status": status}
        out = [] if opened is not None else [self._started(item, turn_id)]
        return out + [self._completed(item, turn_id)]

    # -- MCP --------------------------------------------------------------------------------------------

    def _on_mcp_tool_call_begin(self, msg: events.McpToolCallBegin, turn_id: str) -> list[Notification]:
        inv = msg.invocation
        item = {"type": "mcpToolCall", "id": msg.call_id, "server": inv.get("server", ""), "tool": inv.get("tool", ""),
                "arguments": inv.get("arguments"), "status": "inProgress", "result": None, "error": None}
        self._open[msg.call_id] = item
        return [self._started(item, turn_id)]

    def _on_mcp_tool_call_end(self, msg: events.McpToolCallEnd, turn_id: str) -> list[Notification]:
        opened = self._open.pop(msg.call_id, None)
        inv = msg.invocation
        result, error, status = None, None, "failed"
        if "Ok" in msg.result:
            ok = msg.result["Ok"] or {}
            result = {"content": ok.get("content", []),
                      "structuredContent": ok.get("structured_content", ok.get("structuredContent"))}
            status = "failed" if ok.get("is_error", ok.get("isError")) else "completed"
        else:
            error = {"message": str(msg.result.get("Err", ""))}
        duration = msg.duration if isinstance(msg.duration, dict) else {}
        item = {"type": "mcpToolCall", "id": msg.call_id, "server": inv.get("server", ""), "tool": inv.get("tool", ""),
                "arguments": inv.get("arguments"), "status": status, "result": result, "error": error,
                "durationMs": int(duration.get("secs", 0)) * 1000 + int(duration.get("nanos", 0)) // 1_000_000}
        out = [] if opened is not None else [self._started(item, turn_id)]
        return out + [self._completed(item, turn_id)]


# -- shapes -----------------------------------------------------------------------------------------------


def turn_json(turn_id: str, items: list[JSON], status: str, *, error: JSON | None = None,
              started_at: int | None = None, completed_at: int | None = None,
              duration_ms: int | None = None) -> JSON:
    """A v2 `Turn`: status inProgress | completed | interrupted | failed; times in unix seconds."""
    return {"id": turn_id, "items": list(items), "status": status, "error": error, "startedAt": started_at,
            "completedAt": completed_at, "durationMs": duration_ms}


def command_item(msg: Any, *, status: str) -> JSON:
    """A v2 `commandExecution` item from an exec begin/end event (no output yet)."""
    return {"type": "commandExecution", "id": msg.call_id, "command": shlex.join(msg.command), "cwd": msg.cwd,
            "processId": getattr(msg, "process_id", None), "source": _command_source(getattr(msg, "source", "agent")),
            "status": status,
            "commandActions": command_actions(msg.parsed_cmd, msg.command),
            "aggregatedOutput": None, "exitCode": None, "durationMs": None}


def command_actions(parsed: list[JSON], argv: list[str]) -> list[JSON]:
    """Parsed commands (`{"type": "read" | "list_files" | "search" | "unknown", ...}`) as v2 CommandActions."""
    out = []
    for entry in parsed or []:
        kind = entry.get("type")
        cmd = str(entry.get("cmd", shlex.join(argv)))
        if kind == "read" and entry.get("path"):
            out.append({"type": "read", "command": cmd, "name": str(entry.get("name", "")), "path": str(entry["path"])})
        elif kind == "list_files":
            out.append({"type": "listFiles", "command": cmd, "path": entry.get("path")})
        elif kind == "search":
            out.append({"type": "search", "command": cmd, "query": entry.get("query"), "path": entry.get("path")})
        else:
            out.append({"type": "unknown", "command": cmd})
    return out or [{"type": "unknown", "command": shlex.join(argv)}]


def file_changes(changes: JSON) -> list[JSON]:
    """`{path: FileChange}` -> v2 `[{path, kind: {type, move_path?}, diff}]`, in the event's order."""
    out = []
    for path, change in (changes or {}).items():
        change = change if isinstance(change, dict) else {}
        kind = change.get("type", "update")
        if kind == "add":
            out.append({"path": path, "kind": {"type": "add"}, "diff": str(change.get("content", ""))})
        elif kind == "delete":
            out.append({"path": path, "kind": {"type": "delete"}, "diff": str(change.get("content", ""))})
        else:
            out.append({"path": path, "kind": {"type": "update", "move_path": change.get("move_path")},
                        "diff": str(change.get("unified_diff", ""))})
    return out


def token_breakdown(usage: JSON | None) -> JSON:
    """An engine token usage (`input_tokens`, ...) as a v2 TokenUsageBreakdown (camelCase, all integers)."""
    usage = usage or {}
    value = {key: int(usage.get(key, 0) or 0) for key in
             ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")}
    if not value["total_tokens"]:
        value["total_tokens"] = value["input_tokens"] + value["output_tokens"]
    return {"inputTokens": value["input_tokens"], "cachedInputTokens": value["cached_input_tokens"],
            "outputTokens": value["output_tokens"], "reasoningOutputTokens": value["reasoning_output_tokens"],
            "totalTokens": value["total_tokens"]}


def _plan_status(status: Any) -> str:
    return {"in_progress": "inProgress", "completed": "completed"}.get(str(status), "pending")


def _command_source(source: Any) -> str:
    return {"agent": "agent", "user_shell": "userShell", "unified_exec_startup": "unifiedExecStartup",
            "unified_exec_interaction": "unifiedExecInteraction"}.get(str(source), "agent")


_ERROR_INFO_VALUES = frozenset({
    "contextWindowExceeded", "sessionBudgetExceeded", "usageLimitExceeded", "rateLimitExceeded", "flexUnavailable",
    "serverOverloaded", "cyberPolicy", "misalignmentPolicyViolation", "tooManyDenials", "internalServerError",
    "unauthorized", "badRequest", "threadRollbackFailed", "sandboxError", "other"})


def _error_info(info: Any) -> Any:
    """Engine `codex_error_info` ("bad_request", {"http_connection_failed": {...}}) as a v2 CodexErrorInfo
    string; the engine's structured kinds (connection failures and the like) become "other"."""
    if info is None:
        return None
    name = info if isinstance(info, str) else next(iter(info), "") if isinstance(info, dict) else ""
    head, *rest = str(name).split("_")
    camel = head + "".join(part.title() for part in rest)
    return camel if camel in _ERROR_INFO_VALUES else "other"

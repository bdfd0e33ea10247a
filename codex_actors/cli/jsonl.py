"""`exec --json`: engine events to the JSONL thread events of spec agent-core 6.4, sans I/O.

Rules of the translator (the codex-rs `exec_events` mapping):
- `session_configured` -> `thread.started{thread_id}`, always the first line; `task_started` -> `turn.started`.
- Items get ids `item_0`, `item_1`, ... from one counter per translator (one per process); an item keeps its id
  from `item.started` through `item.completed`. Agent messages, reasoning and warnings are completed-only items;
  reasoning comes from `item_completed` (one item per reasoning output item, its summary parts joined with
  "\n"), not from the per-part `agent_reasoning`. `web_search_begin`/`end` open and complete `web_search`.
- Commands, patches and MCP calls open an item on their begin event (keyed by `call_id`) and complete it on the
  matching end event. The first `plan_update` of a turn starts a `todo_list` item, later ones update it, and the
  turn end completes it.
- `error` and `stream_error` are top-level `error` lines; an `error` during a turn makes the turn end with
  `turn.failed{error}` instead of `turn.completed{usage}`. Usage is the last `token_count` total.
- At turn end any item still open is force-completed; a command still running keeps `status: "in_progress"`
  and `exit_code: null` (it is not reported as completed). `turn_aborted` ends the turn writing neither.

Field order inside each line is part of the contract; dicts here are built in that order and `json.dumps`
keeps it.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import attrs

from codex_actors.protocol import events

JSON = dict[str, Any]


@attrs.define
class _OpenItem:
    """An item between its started and completed lines: its id and its current item object."""

    item: JSON


class JsonlTranslator:
    """Feed engine `EventMsg`s in order; each `feed` returns the JSONL objects (dicts) to print for it.

    After the turn ends, `outcome` is "completed", "failed" or "interrupted" (None while running) and
    `failure` holds the `turn.failed` message, if any.
    """

    def __init__(self) -> None:
        self._next_id = 0
        self._commands: dict[str, _OpenItem] = {}
        self._patches: dict[str, _OpenItem] = {}
        self._mcp_calls: dict[str, _OpenItem] = {}
        self._searches: dict[str, _OpenItem] = {}
        self._todo: _OpenItem | None = None
        self._usage: JSON | None = None
        self._error: str | None = None
        self.outcome: str | None = None
        self.failure: str | None = None

    # -- public -----------------------------------------------------------------------------------------

    def feed(self, msg: events.EventMsg) -> list[JSON]:
        """The JSONL objects for one engine event (possibly none)."""
        handler = getattr(self, f"_on_{getattr(msg, 'TYPE', '')}", None)
        return handler(msg) if handler is not None else []

    @property
    def usage(self) -> JSON | None:
        """The turn's usage as `turn.completed` reports it (four token counts), or None before any token count."""
        return self._usage_json() if self._usage is not None else None

    @staticmethod
    def dumps(line: JSON) -> str:
        """One JSONL line (no trailing newline), compact separators as in codex-rs."""
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))

    # -- lifecycle --------------------------------------------------------------------------------------

    def _on_session_configured(self, msg: events.SessionConfigured) -> list[JSON]:
        return [{"type": "thread.started", "thread_id": msg.session_id}]

    def _on_task_started(self, msg: events.TaskStarted) -> list[JSON]:
        self._error = None
        self.outcome = None
        self.failure = None
        return [{"type": "turn.started"}]

    def _on_task_complete(self, msg: events.TaskComplete) -> list[JSON]:
        out = self._close_open_items()
        if self._error is not None:
            self.outcome, self.failure = "failed", self._error
            out.append({"type": "turn.failed", "error": {"message": self._error}})
        else:
            self.outcome = "completed"
            out.append({"type": "turn.completed", "usage": self._usage_json()})
        self._error = None
        return out

    def _on_turn_aborted(self, msg: events.TurnAborted) -> list[JSON]:
        self._commands.clear()
        self._patches.clear()
        self._mcp_calls.clear()
        self._searches.clear()
        self._todo = None
        self.outcome = "interrupted"
        return []

    def _on_token_count(self, msg: events.TokenCount) -> list[JSON]:
        if msg.info and msg.info.get("total_token_usage"):
            self._usage = msg.info["total_token_usage"]
        return []

    def _on_error(self, msg: events.Error) -> list[JSON]:
        self._error = msg.message
        return [{"type": "error", "message": msg.message}]

    def _on_stream_error(self, msg: events.StreamError) -> list[JSON]:
        details = (msg.additional_details or "").strip()
        message = f"{msg.message} ({details})" if details else msg.message
        return [{"type": "error", "message": message}]

    def _on_warning(self, msg: events.Warning) -> list[JSON]:
        return [self._completed({"id": self._new_id(), "type": "error", "message": msg.message})]

    # -- messages ---------------------------------------------------------------------------------------

    def _on_agent_message(self, msg: events.AgentMessage) -> list[JSON]:
        return [self._completed({"id": self._new_id(), "type": "agent_message", "text": msg.message})]

    def _on_item_completed(self, msg: events.ItemCompleted) -> list[JSON]:
        if msg.item.get("type") != "Reasoning":
            return []
        text = "\n".join(part for part in msg.item.get("summary_text") or () if part)
        if not text.strip():
            return []
        return [self._completed({"id": self._new_id(), "type": "reasoning", "text": text})]

    def _on_web_search_begin(self, msg: events.WebSearchBegin) -> list[JSON]:
        item = {"id": self._new_id(), "type": "web_search", "query": "", "action": {"type": "other"}}
        self._searches[msg.call_id] = _OpenItem(item)
        return [{"type": "item.started", "item": dict(item)}]

    def _on_web_search_end(self, msg: events.WebSearchEnd) -> list[JSON]:
        opened = self._searches.pop(msg.call_id, None)
        item_id = opened.item["id"] if opened is not None else self._new_id()
        return [self._completed({"id": item_id, "type": "web_search", "query": msg.query, "action": msg.action})]

    def _on_plan_update(self, msg: events.PlanUpdate) -> list[JSON]:
        todo_items = [{"text": str(step.get("step", "")), "completed": step.get("status") == "completed"}
                      for step in msg.plan]
        if self._todo is None:
            self._todo = _OpenItem({"id": self._new_id(), "type": "todo_list", "items": todo_items})
            return [{"type": "item.started", "item": dict(self._todo.item)}]
        self._todo.item["items"] = todo_items
        return [{"type": "item.updated", "item": dict(self._todo.item)}]

    # -- commands ---------------------------------------------------------------------------------------

    def _on_exec_command_begin(self, msg: events.ExecCommandBegin) -> list[JSON]:
        item = {"id": self._new_id(), "type": "command_execution", "command": command_string(msg.command),
                "aggregated_output": "", "exit_code": None, "status": "in_progress"}
        self._commands[msg.call_id] = _OpenItem(item)
        return [{"type": "item.started", "item": dict(item)}]

    def _on_exec_command_end(self, msg: events.ExecCommandEnd) -> list[JSON]:
        opened = self._commands.pop(msg.call_id, None)
        item_id = opened.item["id"] if opened is not None else self._new_id()
        if msg.status == "declined":
            status = "declined"
        else:
            status = "completed" if msg.exit_code == 0 else "failed"
        return [self._completed({"id": item_id, "type": "command_execution", "command": command_string(msg.command),
                                 "aggregated_output": msg.aggregated_output, "exit_code": msg.exit_code,
                                 "status": status})]

    # -- patches ----------------------------------------------------------------------------------------

    def _on_patch_apply_begin(self, msg: events.PatchApplyBegin) -> list[JSON]:
        item = {"id": self._new_id(), "type": "file_change", "changes": file_changes(msg.changes),
                "status": "in_progress"}
        self._patches[msg.call_id] = _OpenItem(item)
        return [{"type": "item.started", "item": dict(item)}]

    def _on_patch_apply_end(self, msg: events.PatchApplyEnd) -> list[JSON]:
        opened = self._patches.pop(msg.call_id, None)
        item_id = opened.item["id"] if opened is not None else self._new_id()
        status = "completed" if msg.success and msg.status == "completed" else "failed"
        return [self._completed({"id": item_id, "type": "file_change", "changes": file_changes(msg.changes),
                                 "status": status})]

    # -- MCP --------------------------------------------------------------------------------------------

    def _on_mcp_tool_call_begin(self, msg: events.McpToolCallBegin) -> list[JSON]:
        inv = msg.invocation
        item = {"id": self._new_id(), "type": "mcp_tool_call", "server": inv.get("server", ""),
                "tool": inv.get("tool", ""), "arguments": inv.get("arguments"), "result": None, "error": None,
                "status": "in_progress"}
        self._mcp_calls[msg.call_id] = _OpenItem(item)
        return [{"type": "item.started", "item": dict(item)}]

    def _on_mcp_tool_call_end(self, msg: events.McpToolCallEnd) -> list[JSON]:
        opened = self._mcp_calls.pop(msg.call_id, None)
        item_id = opened.item["id"] if opened is not None else self._new_id()
        inv = msg.invocation
        result, error, status = None, None, "failed"
        if "Ok" in msg.result:
            ok = msg.result["Ok"] or {}
            structured = ok.get("structured_content", ok.get("structuredContent"))
            result = {"content": ok.get("content", []), "structured_content": structured}
            is_error = ok.get("is_error", ok.get("isError")) or False
            status = "failed" if is_error else "completed"
        else:
            error = {"message": str(msg.result.get("Err", ""))}
        return [self._completed({"id": item_id, "type": "mcp_tool_call", "server": inv.get("server", ""),
                                 "tool": inv.get("tool", ""), "arguments": inv.get("arguments"),
                                 "result": result, "error": error, "status": status})]

    # -- helpers ----------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        item_id = f"item_{self._next_id}"
        self._next_id += 1
        return item_id

    @staticmethod
    def _completed(item: JSON) -> JSON:
        return {"type": "item.completed", "item": item}

    def _close_open_items(self) -> list[JSON]:
        out: list[JSON] = []
        if self._todo is not None:
            out.append(self._completed(dict(self._todo.item)))
            self._todo = None
        for opened in self._commands.values():
            out.append(self._completed(dict(opened.item)))  # still running: in_progress, exit_code null
        for opened in self._patches.values():
            out.append(self._completed({**opened.item, "status": "completed"}))
        for opened in self._mcp_calls.values():
            out.append(self._completed({**opened.item, "status": "completed"}))
        for opened in self._searches.values():
            out.append(self._completed(dict(opened.item)))
        self._searches.clear()
        self._commands.clear()
        self._patches.clear()
        self._mcp_calls.clear()
        return out

    def _usage_json(self) -> JSON:
        usage = self._usage or {}
        return {key: int(usage.get(key, 0) or 0)
                for key in ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens",
                            "reasoning_output_tokens")}


def command_string(argv: list[str]) -> str:
    """A command as one shell-quoted string (`/bin/bash -lc 'ls tests'`), as the JSONL `command` field shows it."""
    return shlex.join(argv)


def file_changes(changes: JSON) -> list[JSON]:
    """`{path: FileChange}` -> `[{path, kind}]` with kind add | delete | update, in the event's order."""
    out = []
    for path, change in changes.items():
        kind = change.get("type", "update") if isinstance(change, dict) else "update"
        out.append({"path": path, "kind": kind if kind in ("add", "delete", "update") else "update"})
    return out

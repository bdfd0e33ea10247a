"""The rollout recorder actor: one JSONL file per thread (spec agent-core 8, Appendix B).

Each line is `{"timestamp":"<UTC, ms>Z","type":<kind>,"payload":<object>}`. The file lives at
`<home>/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<thread-uuid>.jsonl` (local date/time of creation), is
created lazily at the first persisted item, gets each line written and flushed to the OS as the item arrives,
and is fsynced on `Flush` (the session sends it at turn end and before `turn_aborted`).

Only what spec 8 lists is persisted: `session_meta`, `response_item`, `turn_context`, `compacted`, and the
`event_msg` kinds of `PERSISTED_EVENTS` (plus `EXTENDED_EVENTS` in extended mode). Other events sent to the
recorder are dropped, so the session can forward every event without filtering.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs
import trio

from codex_actors.actors import Actor

SESSION_META = "session_meta"
RESPONSE_ITEM = "response_item"
TURN_CONTEXT = "turn_context"
COMPACTED = "compacted"
EVENT_MSG = "event_msg"
ROLLOUT_KINDS = frozenset({SESSION_META, RESPONSE_ITEM, TURN_CONTEXT, COMPACTED, EVENT_MSG})

#: `event_msg` kinds always persisted (spec 8). `item_completed` only for plan items.
PERSISTED_EVENTS = frozenset(
    {
        "user_message",
        "agent_message",
        "agent_reasoning",
        "agent_reasoning_raw_content",
        "token_count",
        "thread_name_updated",
        "context_compacted",
        "entered_review_mode",
        "exited_review_mode",
        "thread_rolled_back",
        "undo_completed",
        "turn_aborted",
        "task_started",
        "task_complete",
        "image_generation_end",
    }
)
#: Additionally persisted in "extended" mode.
EXTENDED_EVENTS = frozenset(
    {
        "error",
        "exec_command_end",
        "patch_apply_end",
        "mcp_tool_call_end",
        "web_search_end",
        "view_image_tool_call",
        "dynamic_tool_call_response",
    }
)
_PLAN_ITEM_COMPLETED = "item_completed:plan"


class RolloutError(ValueError):
    """A rollout item or file that cannot be recorded or resumed; the message names the problem."""


@attrs.frozen
class RolloutItem:
    """One item to record: `kind` (a ROLLOUT_KINDS value) and its payload, already serialised to JSON.

    Build it with `RolloutItem.of(kind, payload)` (or the helpers below) so a payload that is not JSON fails
    in the sender, with a clear `RolloutError`, instead of inside the recorder.
    """

    kind: str
    payload_json: str
    tag: str | None = None  # event type for event_msg ("item_completed:plan" for completed plan items)

    @classmethod
    def of(cls, kind: str, payload: Mapping[str, Any]) -> RolloutItem:
        """Validate and serialise; raises RolloutError for an unknown kind or a non-JSON payload."""
        if kind not in ROLLOUT_KINDS:
            raise RolloutError(f"unknown rollout item kind {kind!r}; expected one of {sorted(ROLLOUT_KINDS)}")
        if not isinstance(payload, Mapping):
            raise RolloutError(f"{kind} payload must be a JSON object, got {type(payload).__name__}")
        try:
            payload_json = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RolloutError(f"{kind} payload is not JSON-serialisable: {exc}") from exc
        tag = None
        if kind == EVENT_MSG:
            tag = payload.get("type")
            if tag == "item_completed" and str((payload.get("item") or {}).get("type", "")).lower() == "plan":
                tag = _PLAN_ITEM_COMPLETED
        return cls(kind, payload_json, tag)


def response_item(item: Mapping[str, Any]) -> RolloutItem:
    """A `response_item` line for one Responses item (JSON shape, e.g. from `protocol.item_to_json`)."""
    return RolloutItem.of(RESPONSE_ITEM, item)


def event_msg(event: Mapping[str, Any]) -> RolloutItem:
    """An `event_msg` line for one EventMsg (JSON shape with its `type`)."""
    return RolloutItem.of(EVENT_MSG, event)


def turn_context(context: Mapping[str, Any]) -> RolloutItem:
    """A `turn_context` line: the per-turn settings snapshot of spec 8."""
    return RolloutItem.of(TURN_CONTEXT, context)


def compacted(message: str, replacement_history: Sequence[Mapping[str, Any]] | None = None) -> RolloutItem:
    """A `compacted` line: the summary `message` and the history that replaces everything before it."""
    payload: dict[str, Any] = {"message": message}
    if replacement_history is not None:
        payload["replacement_history"] = list(replacement_history)
    return RolloutItem.of(COMPACTED, payload)


def should_persist(item: RolloutItem, *, extended: bool = False) -> bool:
    """Whether spec 8 keeps `item` (deltas and begin events never; extended kinds only if `extended`)."""
    if item.kind != EVENT_MSG:
        return True
    if item.tag in PERSISTED_EVENTS or item.tag == _PLAN_ITEM_COMPLETED:
        return True
    return extended and item.tag in EXTENDED_EVENTS


def _as_tuple(items: Any) -> tuple[Any, ...]:
    return tuple(items)  # not `converter=tuple`, whose signature costs start-up ~4 ms (see exec.process._as_tuple)


@attrs.frozen
class Record:
    """Append these items (in order); non-persisted events are dropped. Fire-and-forget (`send`)."""

    items: tuple[RolloutItem, ...] = attrs.field(converter=_as_tuple)


@attrs.frozen
class Flush:
    """fsync the file; `ask` answers with the file's Path (None while nothing has been written)."""


def utc_timestamp(now: datetime.datetime | None = None) -> str:
    """`2026-04-25T12:34:56.789Z`: UTC with milliseconds."""
    now = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def rollout_path(home: str | os.PathLike[str], thread_id: str, created: datetime.datetime) -> Path:
    """`<home>/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<thread_id>.jsonl` for local time `created`."""
    return (
        Path(home) / "sessions" / created.strftime("%Y") / created.strftime("%m") / created.strftime("%d")
        / f"rollout-{created.strftime('%Y-%m-%dT%H-%M-%S')}-{thread_id}.jsonl"
    )


def format_line(kind: str, payload_json: str, timestamp: str) -> str:
    """One rollout line, newline-terminated."""
    return f'{{"timestamp":{json.dumps(timestamp)},"type":{json.dumps(kind)},"payload":{payload_json}}}\n'


class RolloutRecorder(Actor[Record | Flush]):
    """Writes one thread's rollout file (spec 8).

    New thread: pass `home`, `thread_id` and `session_meta` (the session_meta payload; `id` and `timestamp`
    are filled in when absent); the file and its session_meta first line appear with the first persisted
    item. Resumed thread: pass `resume_path`; lines are appended to that file and no session_meta is
    written. `extended=True` also keeps the EXTENDED_EVENTS kinds. `clock` returns the current aware UTC
    datetime (tests pin it). Write errors (OSError) crash the actor and reach its owner as `ActorCrashed`;
    lines written before stay on disk.
    """

    name = "rollout-recorder"

    def __init__(
        self,
        *,
        home: str | os.PathLike[str],
        thread_id: str,
        session_meta: Mapping[str, Any] | None = None,
        resume_path: str | os.PathLike[str] | None = None,
        extended: bool = False,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
    ) -> None:
        if resume_path is None and session_meta is None:
            raise RolloutError("a new rollout needs a session_meta payload (or resume_path to append to)")
        self._clock = clock
        self._extended = extended
        created = clock()
        self._path = Path(resume_path) if resume_path is not None else rollout_path(
            home, thread_id, created.astimezone()
        )
        self._pending_meta: RolloutItem | None = None
        if resume_path is None:
            meta = {"id": thread_id, "timestamp": utc_timestamp(created), **dict(session_meta or {})}
            self._pending_meta = RolloutItem.of(SESSION_META, meta)
        self._file: TextIO | None = None
        self.name = f"rollout-recorder[{thread_id}]"

    @property
    def path(self) -> Path:
        """Where this recorder writes (the file may not exist yet)."""
        return self._path

    async def handle(self, message: Record | Flush) -> Path | None:
        if isinstance(message, Record):
            self._write([i for i in message.items if should_persist(i, extended=self._extended)])
            return self._path if self._file is not None else None
        if isinstance(message, Flush):
            if self._file is None:
                return None
            await trio.to_thread.run_sync(os.fsync, self._file.fileno())
            return self._path
        raise RolloutError(f"rollout recorder got an unknown message {message!r}")

    def _write(self, items: list[RolloutItem]) -> None:
        if not items:
            return
        if self._file is None:
            self._open()
        assert self._file is not None
        timestamp = utc_timestamp(self._clock())
        self._file.write("".join(format_line(i.kind, i.payload_json, timestamp) for i in items))
        self._file.flush()

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self._path, "a", encoding="utf-8", newline="\n")
        if self._pending_meta is not None:
            meta, self._pending_meta = self._pending_meta, None
            self._file.write(format_line(meta.kind, meta.payload_json, utc_timestamp(self._clock())))
            self._file.flush()

    async def on_stop(self) -> None:
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            await trio.to_thread.run_sync(os.fsync, file.fileno())
        finally:
            file.close()

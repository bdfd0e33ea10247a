"""Reading a rollout back: parse lines and rebuild what a resumed session needs (spec agent-core 8 "Resume").

Pure apart from reading the file. Unparseable lines (a torn last line after a crash, garbage) are skipped and
counted. History is rebuilt by replaying `response_item`s in order: a `compacted` line with
`replacement_history` replaces everything before it (the newest surviving checkpoint wins), and
`thread_rolled_back` drops the newest N user turns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from codex_actors.session.persistence.rollout import (
    COMPACTED,
    EVENT_MSG,
    RESPONSE_ITEM,
    SESSION_META,
    TURN_CONTEXT,
    RolloutError,
)

#: User messages with these prefixes are injected context, not a user turn.
CONTEXT_MESSAGE_PREFIXES = (
    "<environment_context>",
    "# AGENTS.md instructions",
    "<user_instructions>",
    "<turn_aborted>",
)


@attrs.frozen
class RolloutLine:
    """One parsed line: `timestamp` (the string as written), `type` (kind) and `payload` (JSON object)."""

    timestamp: str
    type: str
    payload: dict[str, Any]


@attrs.frozen
class ResumedRollout:
    """Everything a resumed session restores from a rollout.

    `thread_id`: from the first session_meta. `history`: model history (Responses items as JSON dicts).
    `turn_context`: the newest turn_context payload or None. `token_info`: the `info` of the last
    token_count event or None. `events`: every event_msg payload in order (the `initial_messages`).
    `lines`: all parsed lines; `skipped_lines`: how many lines could not be parsed.
    """

    path: Path
    thread_id: str
    session_meta: dict[str, Any]
    history: tuple[dict[str, Any], ...]
    turn_context: dict[str, Any] | None
    token_info: dict[str, Any] | None
    events: tuple[dict[str, Any], ...]
    lines: tuple[RolloutLine, ...]
    skipped_lines: int


def parse_line(text: str) -> RolloutLine | None:
    """Parse one rollout line; None when it is not a complete `{timestamp, type, payload}` JSON object."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    timestamp, kind, payload = data.get("timestamp"), data.get("type"), data.get("payload")
    if not isinstance(timestamp, str) or not isinstance(kind, str) or not isinstance(payload, dict):
        return None
    return RolloutLine(timestamp, kind, payload)


def parse_lines(raw: bytes) -> tuple[list[RolloutLine], int]:
    """Parse a whole file's bytes: (lines, number of skipped lines). Blank lines are not counted."""
    lines: list[RolloutLine] = []
    skipped = 0
    for chunk in raw.split(b"\n"):
        if not chunk.strip():
            continue
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        line = parse_line(text)
        if line is None:
            skipped += 1
        else:
            lines.append(line)
    return lines, skipped


def read_rollout(path: str | os.PathLike[str]) -> ResumedRollout:
    """Read and rebuild a rollout file for resume (spec 8).

    Raises FileNotFoundError when the file is missing and RolloutError when it holds no session_meta line.
    Blocking file I/O: call through `trio.to_thread.run_sync` from the trio thread.
    """
    path = Path(path)
    lines, skipped = parse_lines(path.read_bytes())
    meta = next((line.payload for line in lines if line.type == SESSION_META), None)
    if meta is None or not isinstance(meta.get("id"), str):
        raise RolloutError(f"{path} has no session_meta line with an id; cannot resume it")
    turn_context = None
    token_info = None
    events: list[dict[str, Any]] = []
    for line in lines:
        if line.type == TURN_CONTEXT:
            turn_context = line.payload
        elif line.type == EVENT_MSG:
            events.append(line.payload)
            if line.payload.get("type") == "token_count" and line.payload.get("info") is not None:
                token_info = line.payload["info"]
    return ResumedRollout(
        path=path,
        thread_id=meta["id"],
        session_meta=meta,
        history=tuple(rebuild_history(lines)),
        turn_context=turn_context,
        token_info=token_info,
        events=tuple(events),
        lines=tuple(lines),
        skipped_lines=skipped,
    )


def rebuild_history(lines: Iterable[RolloutLine]) -> list[dict[str, Any]]:
    """Replay response items, compaction checkpoints and rollbacks into the model history (spec 8)."""
    history: list[dict[str, Any]] = []
    for line in lines:
        if line.type == RESPONSE_ITEM:
            history.append(line.payload)
        elif line.type == COMPACTED:
            replacement = line.payload.get("replacement_history")
            if isinstance(replacement, list):
                history = [item for item in replacement if isinstance(item, dict)]
            else:
                history = [item for item in history if is_user_turn_message(item)]
                history.append(_user_message(str(line.payload.get("message", ""))))
        elif line.type == EVENT_MSG and line.payload.get("type") == "thread_rolled_back":
            history = drop_last_user_turns(history, int(line.payload.get("num_turns", 0) or 0))
    return history


def is_user_turn_message(item: Mapping[str, Any]) -> bool:
    """A `user` message typed by the user (not injected context such as AGENTS.md or environment)."""
    if item.get("type") != "message" or item.get("role") != "user":
        return False
    texts = [c.get("text", "") for c in item.get("content") or [] if isinstance(c, dict)]
    first = next((t for t in texts if t), "")
    return not first.lstrip().startswith(CONTEXT_MESSAGE_PREFIXES)


def drop_last_user_turns(history: list[dict[str, Any]], num_turns: int) -> list[dict[str, Any]]:
    """History without its newest `num_turns` user turns (each from a user message to the next one)."""
    if num_turns <= 0:
        return history
    starts = [i for i, item in enumerate(history) if is_user_turn_message(item)]
    if not starts:
        return history
    cut = starts[-num_turns] if num_turns <= len(starts) else starts[0]
    return history[:cut]


def first_user_prompt(lines: Iterable[RolloutLine]) -> str | None:
    """The first prompt the user typed: the first `user_message` event, else the first user-turn message."""
    fallback = None
    for line in lines:
        if line.type == EVENT_MSG and line.payload.get("type") == "user_message":
            message = line.payload.get("message")
            if isinstance(message, str):
                return message
        if fallback is None and line.type == RESPONSE_ITEM and is_user_turn_message(line.payload):
            content = line.payload.get("content") or []
            fallback = "".join(c.get("text", "") for c in content if isinstance(c, dict))
    return fallback


def _user_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}

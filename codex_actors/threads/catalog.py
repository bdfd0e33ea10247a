"""Stored threads: find, list, archive / unarchive and name the rollouts under a home (as codex-rs keeps them).

Layout: live and past threads are `<home>/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl` (spec agent-core 8);
`archive` moves a rollout to `<home>/archived_sessions/` (same file name), `unarchive` moves it back under
`sessions/` by the date in its name. Thread names are appended to `<home>/session_index.jsonl` as
`{"id", "thread_name", "updated_at"}` lines; the newest line for an id wins.

Every function here does blocking file I/O: call through `trio.to_thread.run_sync` from the trio thread.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path
from typing import Any

import attrs

from codex_actors.session.persistence.listing import iter_rollout_paths, summarize_rollout

ARCHIVED_DIR = "archived_sessions"
NAME_INDEX = "session_index.jsonl"
_NAME = re.compile(r"^rollout-(\d{4})-(\d{2})-(\d{2})T\d{2}-\d{2}-\d{2}-(.+)\.jsonl$")


@attrs.frozen
class StoredThread:
    """One stored thread. `created` / `updated`: unix seconds (file-name time, file mtime); `meta`: the
    session_meta payload (empty when the file has none); `preview`: the first user prompt ("" if none)."""

    thread_id: str
    path: Path
    created: int
    updated: int
    meta: dict[str, Any]
    preview: str
    archived: bool
    name: str | None = None


def find_thread(home: Path, thread_id: str) -> StoredThread | None:
    """The stored thread with this id, active or archived; None when there is none."""
    suffix = f"-{thread_id.strip().lower()}.jsonl"
    names = thread_names(home)
    for path in iter_rollout_paths(home):
        if path.name.lower().endswith(suffix):
            return _stored(path, archived=False, names=names)
    for path in _archived_paths(home):
        if path.name.lower().endswith(suffix):
            return _stored(path, archived=True, names=names)
    return None


def list_threads(home: Path, *, archived: bool = False) -> list[StoredThread]:
    """Stored threads, newest first: those under `sessions/`, or with `archived` those archived."""
    names = thread_names(home)
    paths = _archived_paths(home) if archived else iter_rollout_paths(home)
    out = []
    for path in paths:
        stored = _stored(path, archived=archived, names=names)
        if stored is not None:
            out.append(stored)
    return out


def archive(home: Path, thread_id: str) -> Path:
    """Move the thread's rollout into `archived_sessions/`; returns the new path. Raises LookupError when no
    active rollout has this id."""
    stored = find_thread(home, thread_id)
    if stored is None or stored.archived:
        raise LookupError(f"no active thread with id {thread_id}")
    target = Path(home) / ARCHIVED_DIR / stored.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(stored.path, target)
    return target


def unarchive(home: Path, thread_id: str) -> Path:
    """Move an archived rollout back to `sessions/YYYY/MM/DD/`; returns the new path. Raises LookupError."""
    stored = find_thread(home, thread_id)
    if stored is None or not stored.archived:
        raise LookupError(f"no archived thread with id {thread_id}")
    match = _NAME.match(stored.path.name)
    assert match is not None
    target = Path(home) / "sessions" / match[1] / match[2] / match[3] / stored.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(stored.path, target)
    return target


def set_thread_name(home: Path, thread_id: str, name: str) -> None:
    """Record `name` for the thread (appends one line to `session_index.jsonl`)."""
    line = {"id": thread_id, "thread_name": name,
            "updated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    Path(home).mkdir(parents=True, exist_ok=True)
    with open(Path(home) / NAME_INDEX, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def thread_names(home: Path) -> dict[str, str]:
    """Thread id -> its newest name. Unreadable or malformed lines are skipped."""
    names: dict[str, str] = {}
    try:
        text = (Path(home) / NAME_INDEX).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return names
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and isinstance(line.get("id"), str) and isinstance(line.get("thread_name"), str):
            names[line["id"]] = line["thread_name"]
    return names


def _archived_paths(home: Path) -> list[Path]:
    folder = Path(home) / ARCHIVED_DIR
    try:
        names = [n for n in os.listdir(folder) if _NAME.match(n)]
    except OSError:
        return []
    return [folder / n for n in sorted(names, reverse=True)]


def _stored(path: Path, *, archived: bool, names: dict[str, str]) -> StoredThread | None:
    summary = summarize_rollout(path)
    if summary is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = json.loads(f.readline() or "{}")
        updated = int(path.stat().st_mtime)
    except (OSError, ValueError):
        return None
    meta = first.get("payload", {}) if isinstance(first, dict) and first.get("type") == "session_meta" else {}
    return StoredThread(thread_id=summary.thread_id, path=path, created=int(summary.created.timestamp()),
                        updated=updated, meta=meta if isinstance(meta, dict) else {},
                        preview=summary.first_prompt or "", archived=archived, name=names.get(summary.thread_id))

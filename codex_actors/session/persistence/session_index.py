"""Thread names: `<home>/session_index.jsonl`, Codex's file (spec agent-core 7.1), one line per rename:
`{"id": "<thread uuid>", "thread_name": "<name>", "updated_at": "<RFC 3339 UTC>"}`. The newest line for a
name wins, so a name can move to another thread. Written by `/rename` in `codex-actors run`; read by
`exec resume NAME` and `resume NAME`. Small blocking I/O (one append, one read).
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

INDEX_FILE = "session_index.jsonl"


def append_thread_name(home: str | os.PathLike[str], thread_id: str, name: str) -> None:
    """Record that thread `thread_id` is called `name` (stripped). Raises ValueError for a blank name and
    OSError when the file cannot be written."""
    name = name.strip()
    if not name:
        raise ValueError("a thread name cannot be empty")
    path = Path(home) / INDEX_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    line = json.dumps({"id": thread_id, "thread_name": name, "updated_at": now}, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def find_thread_by_name(home: str | os.PathLike[str], name: str) -> str | None:
    """The thread id most recently given `name`, or None (also when there is no index). Lines that are not
    JSON objects with string `id` and `thread_name` are skipped."""
    try:
        text = (Path(home) / INDEX_FILE).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    found = None
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("thread_name") == name.strip() and isinstance(entry.get("id"), str):
            found = entry["id"]
    return found

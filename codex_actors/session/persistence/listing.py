"""Finding and listing rollout files under `<home>/sessions` (spec agent-core 8 "Lookup", "listing").

Listing reads only the head of each file (up to `HEAD_BYTES`, stopping early once the first user prompt is
seen), so it stays fast with many thousands of sessions. Newest first means by the creation time in the
file name (`rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`), which is also the directory order.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterator
from pathlib import Path

import attrs

from codex_actors.session.persistence.resume import first_user_prompt, parse_line
from codex_actors.session.persistence.rollout import SESSION_META

HEAD_BYTES = 256 * 1024
_CHUNK = 16 * 1024
_NAME = re.compile(r"^rollout-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-(.+)\.jsonl$")


@attrs.frozen
class RolloutSummary:
    """One listed session: `thread_id`, `path`, `created` (naive local time from the file name), `cwd` and
    `source` from session_meta (None when the head has none), `first_prompt` (None when not in the head)."""

    thread_id: str
    path: Path
    created: datetime.datetime
    cwd: str | None
    source: object
    first_prompt: str | None


def iter_rollout_paths(home: str | os.PathLike[str]) -> Iterator[Path]:
    """Every `rollout-*.jsonl` under `<home>/sessions/YYYY/MM/DD`, newest first. Missing dirs yield nothing."""
    sessions = Path(home) / "sessions"
    for year in _sorted_dirs(sessions):
        for month in _sorted_dirs(year):
            for day in _sorted_dirs(month):
                names = [n for n in _names(day) if _NAME.match(n)]
                for name in sorted(names, reverse=True):
                    yield day / name


def find_rollout(home: str | os.PathLike[str], thread_id: str | None = None) -> Path | None:
    """The rollout of `thread_id` (a thread UUID), or the newest rollout when `thread_id` is None.

    Returns None when nothing matches. Lookup by thread name is not supported (no session index yet).
    """
    suffix = None if thread_id is None else f"-{thread_id.strip().lower()}.jsonl"
    for path in iter_rollout_paths(home):
        if suffix is None or path.name.lower().endswith(suffix):
            return path
    return None


def list_rollouts(home: str | os.PathLike[str], *, limit: int | None = None) -> list[RolloutSummary]:
    """Summaries of the sessions under `home`, newest first, at most `limit` of them.

    Reads at most `HEAD_BYTES` of each file. Files that cannot be read are skipped. Blocking I/O: call
    through `trio.to_thread.run_sync` from the trio thread.
    """
    out: list[RolloutSummary] = []
    for path in iter_rollout_paths(home):
        if limit is not None and len(out) >= limit:
            break
        summary = summarize_rollout(path)
        if summary is not None:
            out.append(summary)
    return out


def summarize_rollout(path: Path) -> RolloutSummary | None:
    """Summary of one rollout from its head, or None if the name is not a rollout name or it is unreadable."""
    match = _NAME.match(path.name)
    if match is None:
        return None
    created = datetime.datetime.strptime(match[1], "%Y-%m-%dT%H-%M-%S")
    try:
        lines = list(_head_lines(path))
    except OSError:
        return None
    meta = next((line.payload for line in lines if line.type == SESSION_META), {})
    thread_id = meta.get("id") if isinstance(meta.get("id"), str) else match[2]
    return RolloutSummary(
        thread_id=thread_id,
        path=path,
        created=created,
        cwd=meta.get("cwd"),
        source=meta.get("source"),
        first_prompt=first_user_prompt(lines),
    )


def _head_lines(path: Path):
    """Parsed complete lines from the first HEAD_BYTES, stopping after the first `user_message` event."""
    with open(path, "rb") as f:
        buffer = b""
        read = 0
        while read < HEAD_BYTES:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for raw in complete:
                line = parse_line(raw.decode("utf-8", errors="replace")) if raw.strip() else None
                if line is None:
                    continue
                yield line
                if line.type == "event_msg" and line.payload.get("type") == "user_message":
                    return
        if buffer.strip() and read < HEAD_BYTES:
            line = parse_line(buffer.decode("utf-8", errors="replace"))
            if line is not None:
                yield line


def _sorted_dirs(path: Path) -> list[Path]:
    return [path / n for n in sorted(_names(path), reverse=True) if (path / n).is_dir()]


def _names(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []

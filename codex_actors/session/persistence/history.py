"""`history.jsonl`: the cross-session log of submitted prompts (spec agent-core 7.7).

`<home>/history.jsonl`, one line per prompt: `{"session_id":"<thread uuid>","ts":<unix seconds>,"text":"..."}`.
Mode 0600. Each append takes an advisory exclusive `flock` (retried 10 times, 100 ms apart) and writes the
line with a single `write`; when `max_bytes` is exceeded the oldest lines are dropped down to 80 % of it.
`persistence="none"` turns it off. The blocking core runs in a worker thread (`trio.to_thread.run_sync`)
behind the async methods, since lock retries sleep. `recall_texts` reads the prompts of several homes (ours
and Codex's `$CODEX_HOME/history.jsonl`, read only) merged by time, for up-arrow recall in `run`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

import attrs
import trio

LOCK_ATTEMPTS = 10
LOCK_RETRY_S = 0.1
TRIM_TARGET = 0.8
FILE_MODE = 0o600


class HistoryError(OSError):
    """The history file could not be locked or written; the message says which and where."""


@attrs.frozen
class HistoryEntry:
    """One prompt: the thread id it was typed in, `ts` in unix seconds, and the text."""

    session_id: str
    ts: int
    text: str


@attrs.frozen
class HistoryMetadata:
    """`log_id` (the file's inode, 0 when absent) and `entry_count` (lines), as SessionConfigured reports."""

    log_id: int
    entry_count: int


class HistoryLog:
    """The history file under `home`. `persistence`: "save-all" | "none"; `max_bytes`: None or 0 = no cap.
    The config schema checks both keys (`history.persistence`, `history.max_bytes`); they are taken as given.
    """

    def __init__(self, home: str | os.PathLike[str], *, persistence: str = "save-all", max_bytes: int | None = None):
        self.path = Path(home) / "history.jsonl"
        self.enabled = persistence != "none"
        self.max_bytes = max_bytes or None

    async def append(self, session_id: str, text: str, *, ts: int | None = None) -> None:
        """Append one prompt (no-op when disabled). Raises HistoryError after 10 failed lock attempts."""
        await trio.to_thread.run_sync(lambda: self.append_blocking(session_id, text, ts=ts))

    async def metadata(self) -> HistoryMetadata:
        """The log id and entry count."""
        return await trio.to_thread.run_sync(self.metadata_blocking)

    async def lookup(self, log_id: int, offset: int) -> HistoryEntry | None:
        """Entry number `offset` (0 = oldest) of the log whose inode is `log_id`; None if gone or replaced."""
        return await trio.to_thread.run_sync(self.lookup_blocking, log_id, offset)

    def append_blocking(self, session_id: str, text: str, *, ts: int | None = None) -> None:
        """Blocking `append`, for worker threads."""
        if not self.enabled:
            return
        entry = {"session_id": session_id, "ts": int(time.time()) if ts is None else int(ts), "text": text}
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            _lock(fd, fcntl.LOCK_EX, self.path)
            written = os.write(fd, line)
            if written != len(line):
                raise HistoryError(errno.EIO, f"short write to {self.path}: {written} of {len(line)} bytes")
            if self.max_bytes is not None and os.fstat(fd).st_size > self.max_bytes:
                _trim(fd, int(self.max_bytes * TRIM_TARGET))
        finally:
            os.close(fd)  # closing releases the flock

    def metadata_blocking(self) -> HistoryMetadata:
        """Blocking `metadata`."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return HistoryMetadata(0, 0)
        try:
            _lock(fd, fcntl.LOCK_SH, self.path)
            data = _read_all(fd)
            return HistoryMetadata(os.fstat(fd).st_ino, data.count(b"\n"))
        finally:
            os.close(fd)

    def lookup_blocking(self, log_id: int, offset: int) -> HistoryEntry | None:
        """Blocking `lookup`."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            if os.fstat(fd).st_ino != log_id or offset < 0:
                return None
            _lock(fd, fcntl.LOCK_SH, self.path)
            lines = _read_all(fd).split(b"\n")
        finally:
            os.close(fd)
        if offset >= len(lines) - 1:
            return None
        return _parse_entry(lines[offset])


def recall_texts(*homes: str | os.PathLike[str] | None) -> list[str]:
    """The prompt texts of every `<home>/history.jsonl` (None homes and missing or unreadable files skipped,
    as are lines that are not entries), oldest first by `ts`; at equal times the earlier home's first. Read
    without a lock: a line being appended is at worst left out."""
    entries: list[tuple[int, int, int, str]] = []
    for rank, home in enumerate(homes):
        if home is None:
            continue
        try:
            raw = (Path(home) / "history.jsonl").read_bytes()
        except OSError:
            continue
        for number, line in enumerate(raw.splitlines()):
            entry = _parse_entry(line)
            if entry is not None:
                entries.append((entry.ts, rank, number, entry.text))
    return [text for *_order, text in sorted(entries)]


def _lock(fd: int, kind: int, path: Path) -> None:
    for attempt in range(LOCK_ATTEMPTS):
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt + 1 < LOCK_ATTEMPTS:
                time.sleep(LOCK_RETRY_S)
    raise HistoryError(errno.EWOULDBLOCK, f"could not lock {path} after {LOCK_ATTEMPTS} attempts")


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0) if size else b""


def _trim(fd: int, target: int) -> None:
    """Drop the oldest lines until the file is at most `target` bytes (the newest line always stays)."""
    data = _read_all(fd)
    lines = data.splitlines(keepends=True)
    keep = len(lines)
    size = 0
    while keep > 0 and (size + len(lines[keep - 1]) <= target or keep == len(lines)):
        keep -= 1
        size += len(lines[keep])
    kept = b"".join(lines[keep:])
    os.ftruncate(fd, 0)
    os.write(fd, kept)


def _parse_entry(raw: bytes) -> HistoryEntry | None:
    try:
        data: Any = json.loads(raw)
        return HistoryEntry(str(data["session_id"]), int(data["ts"]), str(data["text"]))
    except (ValueError, KeyError, TypeError):
        return None

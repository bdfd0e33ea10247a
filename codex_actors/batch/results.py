"""The results file of `codex-actors batch`: one JSON line per finished job, appended as each job ends.

A result line (issue 20): `{"id", "status": "completed" | "failed" | "interrupted", "final_message", "thread_id",
"usage", "error", "duration_ms"}`, plus `"line"` (the job's line number in the jobs file). Re-running with the same
`-o` file appends to it and skips every id whose latest line there says `completed`; failed and interrupted jobs run
again. A job interrupted by a crash (kill -9) has no line, so it runs again too: nothing recorded is lost and no
completed job runs twice.

Each line is one `write(2)` on a file opened `O_APPEND`, so a line is either all there or, after a crash inside
that call, a tail without its newline: `completed_ids` drops such a tail (it records nothing) before appending.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

import attrs

STATUSES = ("completed", "failed", "interrupted")


@attrs.frozen
class JobResult:
    """How one job ended. `usage` is the `turn.completed` usage object of `exec --json` (tokens) or None;
    `duration_ms` from the job's start (config loading included) to its end."""

    id: str | None
    status: str
    final_message: str | None = None
    thread_id: str | None = None
    usage: dict[str, int] | None = None
    error: str | None = None
    duration_ms: int = 0
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "final_message": self.final_message,
                "thread_id": self.thread_id, "usage": self.usage, "error": self.error,
                "duration_ms": self.duration_ms, "line": self.line}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        return cls(**{f.name: data.get(f.name, f.default) for f in attrs.fields(cls)})


class ResultsFileError(Exception):
    """The results file exists but cannot be resumed from (unreadable, or a line in it is not a result)."""


def completed_ids(path: Path) -> set[str]:
    """Ids whose latest line in the results file `path` has status `completed` (empty when there is no file).

    A last line without its newline (a crash mid-write) is cut off, with a notice on stderr. Raises
    ResultsFileError for a file that cannot be read or holds a complete line that is not a result object: the
    file is left as it is."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    end = data.rfind(b"\n") + 1
    if end < len(data):
        print(f"codex-actors batch: {path}: dropping an incomplete last line ({len(data) - end} bytes) left by "
              f"an interrupted write", file=sys.stderr)
        with path.open("r+b") as handle:
            handle.truncate(end)
    latest: dict[str, str] = {}
    for number, raw in enumerate(data[:end].decode("utf-8", "replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ResultsFileError(f"{path}: line {number} is not JSON ({exc.msg}); fix or move the file") from None
        if not isinstance(record, dict) or record.get("status") not in STATUSES:
            raise ResultsFileError(f"{path}: line {number} is not a batch result; fix or move the file")
        if isinstance(record.get("id"), str):
            latest[record["id"]] = record["status"]
    return {job_id for job_id, status in latest.items() if status == "completed"}


class ResultsWriter:
    """Appends result lines to a file (one `write(2)` each, `O_APPEND`) or to a text stream (stdout), flushed
    at once. Not an actor: the batch's collector task owns it and is its only caller."""

    def __init__(self, path: Path | None, stream: IO[str] | None = None) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path is not None else None
        self._stream = stream if stream is not None else sys.stdout

    def write(self, result: JobResult) -> None:
        line = json.dumps(result.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
        if self._fd is not None:
            data = line.encode("utf-8")
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        else:
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

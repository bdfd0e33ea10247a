"""The working tree's changes for `/diff`: `git diff` per file, plus the untracked files as added files.

Codex's `/diff` shows `git diff` followed by every untracked, not ignored file (`git ls-files --others
--exclude-standard`) as a new file. Changes come back in `render_file_change`'s shape, `(path, change)` with
`change` = `{"type": "update", "unified_diff": ...}` or `{"type": "add", "content": ...}`, paths relative to
the repository's working directory as git prints them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

UNTRACKED_MAX_BYTES = 64 * 1024  # per file; a bigger one is shown by its size only


class GitError(Exception):
    """git failed (not a repository, git missing); the message is git's own first line."""


async def working_tree_changes(cwd: Path) -> list[tuple[str, dict[str, Any]]]:
    """Tracked changes (`git diff`, split per file) then untracked files, in git's order. Raises GitError."""
    diff = await _git(cwd, "diff")
    untracked = (await _git(cwd, "ls-files", "--others", "--exclude-standard", "-z")).split("\0")
    changes = split_diff(diff)
    for path in filter(None, untracked):
        content = await trio.to_thread.run_sync(_read_untracked, cwd / path)
        changes.append((path, {"type": "add", "content": content}))
    return changes


def split_diff(diff: str) -> list[tuple[str, dict[str, Any]]]:
    """`git diff` output -> one `(path, {"type": "update", "unified_diff": ...})` per `diff --git` section."""
    changes: list[tuple[str, dict[str, Any]]] = []
    for section in ("\n" + diff).split("\ndiff --git ")[1:]:
        header, _, rest = section.partition("\n")
        path = next((line[len("+++ b/"):] for line in rest.splitlines() if line.startswith("+++ b/")), None)
        if path is None:  # a deletion (+++ /dev/null) or a mode-only change: take the header's a/ path
            path = header.split(" b/")[0].removeprefix("a/")
        hunks = rest[rest.find("@@"):] if "@@" in rest else ""
        changes.append((path, {"type": "update", "unified_diff": hunks}))
    return changes


def _read_untracked(path: Path) -> str:
    try:
        with open(path, "rb") as file:
            data = file.read(UNTRACKED_MAX_BYTES + 1)
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"
    if b"\0" in data:
        return "(binary file)"
    if len(data) > UNTRACKED_MAX_BYTES:
        return f"(larger than {UNTRACKED_MAX_BYTES // 1024} KiB)"
    return data.decode("utf-8", errors="replace")


async def _git(cwd: Path, *args: str) -> str:
    try:
        proc = await trio.run_process(["git", *args], cwd=str(cwd), capture_stdout=True, capture_stderr=True,
                                      check=False)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(message[0] if message else f"git {args[0]} exited {proc.returncode}")
    return proc.stdout.decode(errors="replace")

"""The aggregate diff of one turn's file changes, for the `turn_diff` event (spec agent-core 1.3: "aggregate diff
of all file changes in this turn so far", emitted after a response whose tools changed files).

Like codex-rs's turn diff tracker it follows apply_patch: at `patch_apply_begin` the content of every file the
patch touches is recorded once per turn (before the patch writes), and the diff compares those baselines with the
files as they are now, in git's format (`diff --git a/p b/p`, new / deleted file modes, `/dev/null`). Files that
shell commands change are not tracked (a command's writes are not known up front). Blocking file I/O: call the
methods from a worker thread.
"""

from __future__ import annotations

import difflib
import os
from typing import Any


class TurnDiffTracker:
    """Baselines of the files patched in one turn (`cwd`: absolute path; paths in the diff are relative to it
    when inside it)."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self._baselines: dict[str, bytes | None] = {}

    def record_baselines(self, changes: dict[str, Any]) -> None:
        """Before a patch applies: remember the current content (None = absent) of each path it touches (the
        keys of a spec 1.3 `changes` map, plus `move_path`s), unless already remembered this turn."""
        for path, change in changes.items():
            for target in (path, change.get("move_path") if isinstance(change, dict) else None):
                if target and target not in self._baselines:
                    self._baselines[target] = _read(target)

    def unified_diff(self) -> str:
        """Baselines against the files now, in git's diff format; "" when nothing differs."""
        parts = [_file_diff(self._display(path), before, _read(path))
                 for path, before in sorted(self._baselines.items())]
        return "".join(parts)

    def _display(self, path: str) -> str:
        relative = os.path.relpath(path, self.cwd)
        return path.lstrip("/") if relative.startswith("..") else relative


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _file_diff(name: str, before: bytes | None, after: bytes | None) -> str:
    if before == after:
        return ""
    lines = [f"diff --git a/{name} b/{name}\n"]
    if before is None:
        lines.append("new file mode 100644\n")
    elif after is None:
        lines.append("deleted file mode 100644\n")
    old_name = "/dev/null" if before is None else f"a/{name}"
    new_name = "/dev/null" if after is None else f"b/{name}"
    try:
        old = _text_lines(before)
        new = _text_lines(after)
    except UnicodeDecodeError:
        return "".join(lines) + f"Binary files {old_name} and {new_name} differ\n"
    for line in difflib.unified_diff(old, new, old_name, new_name):
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def _text_lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8").splitlines(keepends=True)

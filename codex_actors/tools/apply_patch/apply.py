"""Dry-run and application of a parsed patch (agent-core spec 4.5, "Application algorithm" and "Verification").

`plan_patch` reads the files a patch touches and computes every new content and every `FileChange` without
writing anything; it sees the patch's own earlier hunks (an Update after an Add of the same path edits the added
text). `apply_plan` then writes the plan; if the OS refuses a write half-way it restores every path it had
already touched, so a failed patch leaves the tree as it found it.

Blocking file I/O: call these from a worker thread (`trio.to_thread.run_sync`), not from the trio thread.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import attrs

from .parser import AddFile, DeleteFile, ParsedPatch, UpdateFile, UpdateFileChunk
from .seek import seek_sequence

DIFF_CONTEXT_LINES = 1


class PatchApplyError(Exception):
    """A patch that cannot be applied to the files as they are; `str(err)` is the message for the model,
    e.g. `Failed to find expected lines in /abs/a.py:\\n<old lines>`."""


@attrs.frozen
class FileAction:
    """One planned write. `path` is absolute; `display` is the path as the patch wrote it (the `Move to`
    destination for a move), used in the success summary. `new_content` is None for a delete."""

    kind: Literal["add", "delete", "update"]
    path: Path
    display: str
    new_content: str | None
    move_path: Path | None = None


@attrs.frozen(hash=False)
class PatchPlan:
    """Everything a verified patch will do. `changes` maps absolute path (str) to a FileChange dict:
    `{"type": "add", "content"}`, `{"type": "delete", "content"}` or
    `{"type": "update", "unified_diff", "move_path"}` (spec 1.3), in patch order."""

    actions: tuple[FileAction, ...]
    changes: dict[str, dict]

    def summary(self) -> str:
        """The success text: `Success. Updated the following files:` then `A`, `M`, `D` lines, each ending in
        a newline."""
        out = ["Success. Updated the following files:\n"]
        for letter, kind in (("A", "add"), ("M", "update"), ("D", "delete")):
            out.extend(f"{letter} {a.display}\n" for a in self.actions if a.kind == kind)
        return "".join(out)


def plan_patch(parsed: ParsedPatch, cwd: str | os.PathLike[str]) -> PatchPlan:
    """Verify `parsed` against the files under `cwd` (relative patch paths resolve against it) and return the
    plan. Reads files, writes nothing. Raises `PatchApplyError` with the spec's message on the first problem."""
    base = Path(cwd)
    planned: dict[Path, str | None] = {}  # contents the patch's earlier hunks leave (None: deleted)
    actions: list[FileAction] = []
    changes: dict[str, dict] = {}
    for hunk in parsed.hunks:
        path = base / hunk.path
        if isinstance(hunk, AddFile):
            _check_writable_target(path, planned)
            planned[path] = hunk.contents
            actions.append(FileAction("add", path, hunk.path, hunk.contents))
            changes[str(path)] = {"type": "add", "content": hunk.contents}
        elif isinstance(hunk, DeleteFile):
            if path not in planned and os.path.isdir(path):
                raise PatchApplyError(f"Failed to delete file {path}: Is a directory")
            content = _read(path, planned, "Failed to read")
            planned[path] = None
            actions.append(FileAction("delete", path, hunk.path, None))
            changes[str(path)] = {"type": "delete", "content": content}
        else:
            actions.append(_plan_update(hunk, path, base, planned, changes))
    return PatchPlan(actions=tuple(actions), changes=changes)


def _plan_update(
    hunk: UpdateFile, path: Path, base: Path, planned: dict[Path, str | None], changes: dict[str, dict]
) -> FileAction:
    original = _read(path, planned, "Failed to read file to update")
    new_content = derive_new_contents(original, hunk.chunks, str(path))
    dest = base / hunk.move_path if hunk.move_path is not None else None
    if dest is not None and dest != path:
        _check_writable_target(dest, planned)
        planned[path] = None
        planned[dest] = new_content
    else:
        planned[path] = new_content
    changes[str(path)] = {
        "type": "update",
        "unified_diff": unified_diff(original, new_content),
        "move_path": str(dest) if dest is not None else None,
    }
    display = hunk.move_path if hunk.move_path is not None else hunk.path
    return FileAction("update", path, display, new_content, dest)


def _read(path: Path, planned: dict[Path, str | None], context: str) -> str:
    if path in planned:
        content = planned[path]
        if content is None:
            raise PatchApplyError(f"{context} {path}: No such file or directory (deleted earlier in this patch)")
        return content
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError:
        raise PatchApplyError(f"{context} {path}: stream did not contain valid UTF-8") from None
    except OSError as e:
        raise PatchApplyError(f"{context} {path}: {e.strerror}") from None


def _check_writable_target(path: Path, planned: dict[Path, str | None]) -> None:
    if path in planned:
        return
    if os.path.isdir(path):
        raise PatchApplyError(f"Failed to write file {path}: Is a directory")
    for parent in path.parents:
        if os.path.lexists(parent):
            if not os.path.isdir(parent):
                raise PatchApplyError(f"Failed to create parent directories for {path}: Not a directory")
            return


def derive_new_contents(original: str, chunks: Sequence[UpdateFileChunk], path: str) -> str:
    """Apply `chunks` to the text `original` and return the new text, which always ends with a newline
    (unless it is empty). `path` only appears in error messages. Raises `PatchApplyError`."""
    lines = original.split("\n")
    if lines[-1] == "":
        lines.pop()
    replacements = _compute_replacements(lines, chunks, path)
    for start, old_len, new_lines in reversed(replacements):
        lines[start:start + old_len] = new_lines
    if not lines or lines[-1] != "":
        lines.append("")
    return "\n".join(lines)


def _compute_replacements(
    lines: list[str], chunks: Sequence[UpdateFileChunk], path: str
) -> list[tuple[int, int, list[str]]]:
    replacements: list[tuple[int, int, list[str]]] = []
    cursor = 0
    for chunk in chunks:
        if chunk.change_context is not None:
            found = seek_sequence(lines, [chunk.change_context], cursor, False)
            if found is None:
                raise PatchApplyError(f"Failed to find context '{chunk.change_context}' in {path}")
            cursor = found + 1
        if not chunk.old_lines:
            at = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
            replacements.append((at, 0, list(chunk.new_lines)))
            continue
        old, new = list(chunk.old_lines), list(chunk.new_lines)
        found = seek_sequence(lines, old, cursor, chunk.is_end_of_file)
        if found is None and old[-1] == "":
            old = old[:-1]
            if new and new[-1] == "":
                new = new[:-1]
            found = seek_sequence(lines, old, cursor, chunk.is_end_of_file)
        if found is None:
            raise PatchApplyError(f"Failed to find expected lines in {path}:\n" + "\n".join(chunk.old_lines))
        replacements.append((found, len(old), new))
        cursor = found + len(old)
    replacements.sort(key=lambda r: r[0])
    return replacements


def unified_diff(old: str, new: str) -> str:
    """Hunks-only unified diff (no `---`/`+++` header) from `old` to `new` with 1 line of context; a last line
    without newline is followed by `\\ No newline at end of file`. Empty when the texts are equal."""
    body = list(difflib.unified_diff(_keepends(old), _keepends(new), n=DIFF_CONTEXT_LINES))[2:]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in body)


def _keepends(text: str) -> list[str]:
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def apply_plan(plan: PatchPlan) -> None:
    """Write `plan` to disk (creating parent directories). On an OS error, restore every path already touched
    and remove directories this call created, then raise `PatchApplyError` naming the failed step."""
    journal = _Journal()
    try:
        for action in plan.actions:
            _apply_action(action, journal)
    except _StepFailed as failed:
        journal.roll_back()
        raise PatchApplyError(str(failed)) from failed.__cause__


class _StepFailed(Exception):
    pass


class _Journal:
    """What `apply_plan` changed so far: original bytes of each touched path (None: absent) and new dirs."""

    def __init__(self) -> None:
        self.originals: dict[Path, bytes | None] = {}
        self.created_dirs: list[Path] = []

    def _remember(self, path: Path) -> None:
        if path not in self.originals:
            self.originals[path] = path.read_bytes() if path.is_file() else None

    def write(self, path: Path, content: str) -> None:
        self._remember(path)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(content)

    def remove(self, path: Path) -> None:
        self._remember(path)
        path.unlink()

    def make_parents(self, path: Path) -> None:
        missing = [p for p in reversed(path.parents) if not p.exists()]
        for directory in missing:
            directory.mkdir()
            self.created_dirs.append(directory)

    def roll_back(self) -> None:
        for path, original in self.originals.items():
            try:
                if original is None:
                    if path.is_file():
                        path.unlink()
                else:
                    path.write_bytes(original)
            except OSError:
                pass  # best effort: the error that started the rollback is what gets reported
        for directory in reversed(self.created_dirs):
            try:
                directory.rmdir()
            except OSError:
                pass


def _apply_action(action: FileAction, journal: _Journal) -> None:
    if action.kind == "delete":
        _step("Failed to delete file", action.path, lambda: journal.remove(action.path))
        return
    target = action.move_path if action.move_path is not None else action.path
    content = action.new_content or ""
    _step("Failed to create parent directories for", target, lambda: journal.make_parents(target))
    _step("Failed to write file", target, lambda: journal.write(target, content))
    if target != action.path:
        _step("Failed to remove original", action.path, lambda: journal.remove(action.path))


def _step(what: str, path: Path, run: Callable[[], None]) -> None:
    try:
        run()
    except OSError as e:
        raise _StepFailed(f"{what} {path}: {e.strerror or e}") from e

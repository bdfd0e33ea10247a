"""Writable roots of a workspace-write sandbox and their protected subpaths (spec agent-core 5.1)."""

from __future__ import annotations

import os

import attrs

@attrs.frozen
class WritableRoot:
    """A directory the sandbox lets commands write, minus `read_only_subpaths` (absolute, normalised)."""

    root: str = attrs.field(converter=lambda p: os.path.normpath(os.fspath(p)))
    read_only_subpaths: tuple[str, ...] = attrs.field(
        default=(), converter=lambda ps: tuple(os.path.normpath(os.fspath(p)) for p in ps)
    )

    def allows(self, path: str) -> bool:
        """True when normalised absolute `path` is inside the root and outside every read-only subpath."""
        return _is_within(path, self.root) and not any(_is_within(path, p) for p in self.read_only_subpaths)

    @classmethod
    def for_directory(cls, root: str | os.PathLike[str], *, is_cwd: bool = False) -> "WritableRoot":
        """The root with its protected subpaths as found on disk (spec 5.1).

        Protected: a top-level `.git` (directory, or worktree pointer file plus the `gitdir:` target it
        names), a top-level `.agents` directory, a top-level `.codex` directory. For the cwd root
        (`is_cwd=True`) `.codex` is protected even before it exists. Reads the filesystem; never raises for
        missing entries.
        """
        root = os.path.normpath(os.path.abspath(os.fspath(root)))
        protected: list[str] = []
        git = os.path.join(root, ".git")
        if os.path.isdir(git):
            protected.append(git)
        elif os.path.isfile(git):
            protected.append(git)
            target = _gitdir_target(git)
            if target is not None:
                protected.append(target)
        agents = os.path.join(root, ".agents")
        if os.path.isdir(agents):
            protected.append(agents)
        codex = os.path.join(root, ".codex")
        if is_cwd or os.path.isdir(codex):
            protected.append(codex)
        return cls(root, tuple(protected))


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _gitdir_target(pointer_file: str) -> str | None:
    """The directory a worktree `.git` file points to (`gitdir: <path>`, relative to the file), or None."""
    try:
        with open(pointer_file, encoding="utf-8") as f:
            first = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir:"):
        return None
    target = first[len("gitdir:"):].strip()
    if not target:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(pointer_file), target))


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")

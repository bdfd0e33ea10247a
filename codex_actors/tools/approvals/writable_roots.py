"""A writable root as the patch decision sees it (spec agent-core 5.1).

Only the value: computing the effective roots and their protected subpaths from a sandbox policy is
`codex_actors.exec.policy.SandboxPolicy.effective_writable_roots`; pass its roots (or these) to `decide_patch`.
"""

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
        return is_within(path, self.root) and not any(is_within(path, p) for p in self.read_only_subpaths)


def is_within(path: str, root: str) -> bool:
    """`path` equals `root` or lies below it (both absolute and normalised; compared as strings)."""
    return path == root or path.startswith(root.rstrip("/") + "/")

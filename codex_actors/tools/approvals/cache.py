"""Per-session cache of `approved_for_session` answers (spec agent-core 5.3 "Approval caching").

Sans-I/O; the session actor owns one instance for its lifetime. Commands are keyed by argv + cwd + the
requested sandbox permissions; patches by each touched file path, so a later patch touching only approved
files skips the prompt.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Sequence

import attrs

from codex_actors.tools.approvals.decide import normalize_patch_path


@attrs.frozen
class CommandKey:
    """Cache key of a command approval: exact argv, normalised cwd, requested sandbox permissions."""

    argv: tuple[str, ...]
    cwd: str
    sandbox_permissions: Hashable


class ApprovalCache:
    """Remembers session-wide approvals. Not shared between sessions; not persisted."""

    def __init__(self) -> None:
        self._commands: set[CommandKey] = set()
        self._paths: set[str] = set()

    @staticmethod
    def command_key(
        argv: Sequence[str], *, cwd: str | os.PathLike[str], sandbox_permissions: Hashable = None
    ) -> CommandKey:
        """The key for `argv` run in `cwd` with `sandbox_permissions` (e.g. "use_default",
        "require_escalated", or a frozen description of extra permissions)."""
        return CommandKey(tuple(argv), os.path.normpath(os.fspath(cwd)), sandbox_permissions)

    def approve_command(
        self, argv: Sequence[str], *, cwd: str | os.PathLike[str], sandbox_permissions: Hashable = None
    ) -> None:
        """Record an `approved_for_session` answer for this command."""
        self._commands.add(self.command_key(argv, cwd=cwd, sandbox_permissions=sandbox_permissions))

    def is_command_approved(
        self, argv: Sequence[str], *, cwd: str | os.PathLike[str], sandbox_permissions: Hashable = None
    ) -> bool:
        """True when an identical command (same argv, cwd and permissions) was approved for the session."""
        return self.command_key(argv, cwd=cwd, sandbox_permissions=sandbox_permissions) in self._commands

    def approve_patch(self, paths: Iterable[str | os.PathLike[str]], *, cwd: str | os.PathLike[str]) -> None:
        """Record an `approved_for_session` answer for every path the patch touches."""
        self._paths.update(normalize_patch_path(p, cwd) for p in paths)

    def is_patch_approved(self, paths: Iterable[str | os.PathLike[str]], *, cwd: str | os.PathLike[str]) -> bool:
        """True when every touched path was approved for the session (an empty patch never is)."""
        normalized = [normalize_patch_path(p, cwd) for p in paths]
        return bool(normalized) and all(p in self._paths for p in normalized)

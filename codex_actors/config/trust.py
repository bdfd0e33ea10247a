"""Which project directories are trusted to configure a run, decided as Codex decides it.

codex-rs `core/src/config_loader/mod.rs` (`ProjectTrustContext::decision_for_dir`): a directory's trust level is
the `[projects."<dir>"] trust_level` of that directory, else of the project root (the nearest directory holding a
`project_root_markers` entry), else of the Git repository root used for trust (for a linked worktree, the main
checkout: `git_info.rs` `resolve_root_git_project_for_trust`). Only the user layers and `-c` can mark a project;
a project's own config cannot trust itself. An untrusted directory's config file is read as nothing, and the
reason says where to mark it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import attrs


@attrs.frozen
class TrustDecision:
    """`level` is "trusted", "untrusted" or None (not marked); `key` the path whose entry decided (or would)."""

    level: str | None
    key: str

    @property
    def trusted(self) -> bool:
        return self.level == "trusted"


@attrs.frozen
class ProjectTrust:
    """The trust entries of the user layers plus the two roots a directory falls back to."""

    project_root: Path
    repo_root: Path | None
    levels: Mapping[str, str]

    @classmethod
    def build(cls, projects: Any, project_root: Path, cwd: Path) -> "ProjectTrust":
        """`projects` is the merged `[projects]` table of the user layers and `-c` (a non-table counts as none)."""
        levels: dict[str, str] = {}
        if isinstance(projects, dict):
            for key, entry in projects.items():
                if isinstance(entry, dict) and isinstance(entry.get("trust_level"), str):
                    levels[key] = entry["trust_level"]
        return cls(project_root, git_root_for_trust(cwd), levels)

    def decision_for(self, directory: Path) -> TrustDecision:
        """The trust of `directory`: its own entry, else the project root's, else the Git root's."""
        for key in (str(directory), str(self.project_root), str(self.repo_root) if self.repo_root else None):
            if key is not None and key in self.levels:
                return TrustDecision(self.levels[key], key)
        return TrustDecision(None, str(self.repo_root or self.project_root))

    def disabled_reason(self, directory: Path, user_file: Path) -> str | None:
        """None when `directory` is trusted, else Codex's sentence saying how to trust it."""
        decision = self.decision_for(directory)
        if decision.trusted:
            return None
        if decision.level == "untrusted":
            return f"{decision.key} is marked as untrusted in {user_file}. To load config.toml, mark it trusted."
        return f"To load config.toml, add {decision.key} as a trusted project in {user_file}."


def git_root_for_trust(cwd: Path) -> Path | None:
    """The Git checkout holding `cwd` (nearest `.git` entry above it); for a linked worktree (`.git` a file
    `gitdir: <common>/worktrees/<name>`) the main checkout, the parent of the common `.git`. None outside Git or
    when a `.git` file does not point into a `worktrees/` directory."""
    base = cwd if cwd.is_dir() else cwd.parent
    for directory in (base, *base.parents):
        dot_git = directory / ".git"
        if not os.path.lexists(dot_git):
            continue
        if dot_git.is_dir():
            return directory.resolve()
        try:
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        if not text.startswith("gitdir:") or not text[len("gitdir:"):].strip():
            return None
        git_dir = (directory / text[len("gitdir:"):].strip()).resolve()
        if git_dir.parent.name != "worktrees":
            return None
        return git_dir.parent.parent.parent
    return None

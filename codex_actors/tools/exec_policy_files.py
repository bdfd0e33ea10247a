"""Execpolicy rules on disk (spec agent-core 5.3 step 2, "Approval caching"): `*.rules` files in
`$CODEX_ACTORS_HOME/rules/` and, for a trusted project, in `.codex-actors/rules/` beside its config; and the
`default.rules` file that an "always allow" (`approved_execpolicy_amendment`) answer appends to.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from codex_actors.config import Config
from codex_actors.tools.approvals.rules import ExecPolicy, RulesError, allow_rule_text, parse_rules

DEFAULT_RULES_FILE = "default.rules"


def rules_dirs(config: Config) -> list[Path]:
    """Where rules are read from: Codex's home's `rules/` (`$CODEX_HOME/rules`, read only: a Codex user's
    persisted rules keep applying), ours, then `rules/` next to each trusted project config file, Codex's
    `.codex/` and ours (a project layer is only there when its directory is trusted)."""
    codex_home = config.codex_home
    dirs = [Path(codex_home) / "rules"] if codex_home is not None and Path(codex_home) != Path(config.home) else []
    dirs.append(Path(config.home) / "rules")
    dirs += [layer.path.parent / "rules" for layer in config.layers
             if layer.name in ("codex-project", "project") and layer.path is not None]
    return dirs


def load_exec_policy(dirs: Sequence[Path]) -> tuple[ExecPolicy, list[str]]:
    """Every `*.rules` file of `dirs` (in name order) as one ExecPolicy, plus a warning per file that could not
    be read or parsed (that file's rules are left out; the others still apply)."""
    rules = []
    warnings = []
    for directory in dirs:
        try:
            files = sorted(p for p in directory.glob("*.rules") if p.is_file())
        except OSError as exc:
            warnings.append(f"execpolicy rules in {directory} not loaded: {exc.strerror}")
            continue
        for path in files:
            try:
                rules += parse_rules(path.read_text(encoding="utf-8"), str(path))
            except (OSError, UnicodeDecodeError) as exc:
                warnings.append(f"execpolicy rules file {path} not loaded: {exc}")
            except RulesError as exc:
                warnings.append(f"execpolicy rules file not loaded: {exc}")
    return ExecPolicy(tuple(rules)), warnings


def append_allow_rule(home: str | os.PathLike[str], prefix: Sequence[str]) -> Path:
    """Append an allow rule for `prefix` to `<home>/rules/default.rules` (created, mode 0600, if missing) and
    return the file's path. Raises OSError, or ValueError for an empty prefix."""
    path = Path(home) / "rules" / DEFAULT_RULES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = allow_rule_text(prefix)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return path

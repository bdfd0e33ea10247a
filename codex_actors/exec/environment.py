"""The environment a command gets, from `[shell_environment_policy]` (spec 7.3), applied in this order:
`inherit` (`all` | `core` | `none`), the default excludes (`*KEY*`, `*SECRET*`, `*TOKEN*`, unless
`ignore_default_excludes`), `exclude` globs, `set` (a table of strings), `include_only` globs.
Globs match variable names case-insensitively. Pure."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

CORE_VARS = ("HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP")
DEFAULT_EXCLUDES = ("*KEY*", "*SECRET*", "*TOKEN*")


def build_env(policy: Mapping[str, Any] | None, base: Mapping[str, str]) -> dict[str, str]:
    """Apply `policy` (the config table, may be None or empty) to `base` (usually `os.environ`).

    Raises `ValueError` for an unknown `inherit` value.
    """
    policy = policy or {}
    inherit = policy.get("inherit", "all")
    if inherit == "all":
        env = dict(base)
    elif inherit == "core":
        env = {k: v for k, v in base.items() if k in CORE_VARS}
    elif inherit == "none":
        env = {}
    else:
        raise ValueError(f"shell_environment_policy.inherit must be all, core or none, got {inherit!r}")
    if not policy.get("ignore_default_excludes", False):
        env = {k: v for k, v in env.items() if not _matches(k, DEFAULT_EXCLUDES)}
    env = {k: v for k, v in env.items() if not _matches(k, policy.get("exclude", ()))}
    env.update({str(k): str(v) for k, v in (policy.get("set") or {}).items()})
    include_only = policy.get("include_only") or ()
    if include_only:
        env = {k: v for k, v in env.items() if _matches(k, include_only)}
    return env


def _matches(name: str, patterns: Any) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, str(p).upper()) for p in patterns)

"""Arguments of the shell tools as the model sends them (spec agent-core 4.2, 4.4): each reader returns the value
or raises `ToolArgumentError`, whose message goes back to the model as the call's output."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any


class ToolArgumentError(Exception):
    """Bad arguments from the model; the message is returned to the model as is."""


def required_str(args: Mapping[str, Any], key: str) -> str:
    """`args[key]`, a non-empty string."""
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ToolArgumentError(f"failed to parse function arguments: `{key}` must be a non-empty string")
    return value


def optional_str(args: Mapping[str, Any], key: str) -> str | None:
    """`args[key]`: a string, or None when absent."""
    value = args.get(key)
    if value is not None and not isinstance(value, str):
        raise ToolArgumentError(f"failed to parse function arguments: `{key}` must be a string")
    return value


def optional_bool(args: Mapping[str, Any], key: str, default: bool) -> bool:
    """`args[key]`: true or false, `default` when absent or null."""
    value = args.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ToolArgumentError(f"failed to parse function arguments: `{key}` must be true or false")
    return value


def optional_number(args: Mapping[str, Any], key: str, default: float) -> float:
    """`args[key]`: a finite number (not a boolean), `default` when absent or null."""
    value = args.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ToolArgumentError(f"failed to parse function arguments: `{key}` must be a number")
    return float(value)


def session_id_of(args: Mapping[str, Any]) -> int:
    """`args["session_id"]`: an integer (a whole float such as 3.0 counts)."""
    value = args.get("session_id")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ToolArgumentError("failed to parse function arguments: `session_id` must be an integer")
    return int(value)


def resolve_workdir(args: Mapping[str, Any], cwd: str) -> str:
    """The directory `args["workdir"]` names, relative to `cwd` (`cwd` itself when absent); it must exist."""
    workdir = optional_str(args, "workdir")
    path = os.path.normpath(os.path.join(cwd, workdir)) if workdir else cwd
    if not os.path.isdir(path):
        raise ToolArgumentError(f"workdir {path!r} does not exist or is not a directory")
    return path

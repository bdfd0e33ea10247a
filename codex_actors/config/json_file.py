"""Reading a file that must hold one JSON object (`auth.json`, an `--output-schema` file), with one-line
reasons for everything that can be wrong with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonFileError(ValueError):
    """The file exists but is unusable; the message (without the path) says why: `cannot read: <strerror>`,
    `not UTF-8 text`, `invalid JSON: <msg> (line N)` or `expected a JSON object, got <type>`."""


def read_json_object(path: str | Path) -> dict[str, Any]:
    """The JSON object in `path`. Raises `FileNotFoundError` when it does not exist (callers decide whether
    that is an error) and `JsonFileError` for every other problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise JsonFileError(f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise JsonFileError("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"invalid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise JsonFileError(f"expected a JSON object, got {type(data).__name__}")
    return data

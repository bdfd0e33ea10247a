"""The API key a Codex user keeps in `$CODEX_HOME/auth.json` (spec agent-core 7.1), read only.

`codex login --with-api-key` stores `{"OPENAI_API_KEY": "sk-...", ...}` there; ChatGPT sign-in tokens in the
same file are not used (codex-actors has no ChatGPT login).
"""

from __future__ import annotations

import json
from pathlib import Path

from codex_actors.config.loader import ConfigError

AUTH_FILE = "auth.json"


def stored_api_key(codex_home: Path | None) -> str | None:
    """`OPENAI_API_KEY` from `codex_home/auth.json`; None when the file is absent or holds no key.
    Raises ConfigError naming the file when it is unreadable or not a JSON object."""
    if codex_home is None:
        return None
    path = codex_home / AUTH_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    key = data.get("OPENAI_API_KEY")
    return key.strip() or None if isinstance(key, str) else None

"""The API key a Codex user keeps in `$CODEX_HOME/auth.json` (spec agent-core 7.1), read only.

`codex login --with-api-key` stores `{"OPENAI_API_KEY": "sk-...", ...}` there; ChatGPT sign-in tokens in the
same file are not used (codex-actors has no ChatGPT login).
"""

from __future__ import annotations

from pathlib import Path

from codex_actors.config.json_file import JsonFileError, read_json_object
from codex_actors.config.loader import ConfigError

AUTH_FILE = "auth.json"


def stored_api_key(codex_home: Path | None) -> str | None:
    """`OPENAI_API_KEY` from `codex_home/auth.json`; None when the file is absent or holds no key.
    Raises ConfigError naming the file when it is unreadable or not a JSON object."""
    if codex_home is None:
        return None
    path = codex_home / AUTH_FILE
    try:
        data = read_json_object(path)
    except FileNotFoundError:
        return None
    except JsonFileError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    key = data.get("OPENAI_API_KEY")
    return key.strip() or None if isinstance(key, str) else None

"""What each known config key must hold, as small checker functions, and the built-in defaults.

A checker takes the value and returns None when it is fine, else a phrase saying what was expected
("a boolean", "one of: read-only, workspace-write, danger-full-access"). Unknown keys are allowed and kept
(Codex ignores keys it does not know, so configs shared with it keep working).
"""

from __future__ import annotations

from typing import Any, Callable

Checker = Callable[[Any], "str | None"]


def string(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "a boolean"


def integer(minimum: int | None = None) -> Checker:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer" if minimum is None else f"an integer >= {minimum}"
        if minimum is not None and value < minimum:
            return f"an integer >= {minimum}"
        return None

    return check


def one_of(*choices: str) -> Checker:
    def check(value: Any) -> str | None:
        return None if value in choices else f"one of: {', '.join(choices)}"

    return check


def list_of_strings(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else "a list of strings"


def table_of_strings(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return None if ok else "a table of strings"


def table(value: Any) -> str | None:
    return None if isinstance(value, dict) else "a table"


APPROVAL_POLICIES = ("untrusted", "on-failure", "on-request", "never")
SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")

PROVIDER_KEYS: dict[str, Checker] = {
    "name": string,
    "base_url": string,
    "env_key": string,
    "env_key_instructions": string,
    "experimental_bearer_token": string,
    "wire_api": one_of("responses", "chat"),
    "query_params": table_of_strings,
    "http_headers": table_of_strings,
    "env_http_headers": table_of_strings,
    "request_max_retries": integer(0),
    "stream_max_retries": integer(0),
    "stream_idle_timeout_ms": integer(1),
    "websocket_connect_timeout_ms": integer(1),
    "supports_websockets": boolean,
    "requires_openai_auth": boolean,
    "max_output_tokens": integer(1),
}

MCP_SERVER_KEYS: dict[str, Checker] = {
    "command": string,
    "args": list_of_strings,
    "env": table_of_strings,
    "env_vars": list_of_strings,
    "cwd": string,
    "url": string,
    "bearer_token_env_var": string,
    "http_headers": table_of_strings,
    "env_http_headers": table_of_strings,
    "enabled": boolean,
    "required": boolean,
    "startup_timeout_sec": integer(0),
    "startup_timeout_ms": integer(0),
    "tool_timeout_sec": integer(0),
    "enabled_tools": list_of_strings,
    "disabled_tools": list_of_strings,
    "supports_parallel_tool_calls": boolean,
    "max_restarts": integer(0),
}

# Dotted key -> checker. A "*" segment matches any name (a provider id, a server name, a profile name).
KEYS: dict[str, Checker] = {
    "model": string,
    "model_provider": string,
    "profile": string,
    "approval_policy": one_of(*APPROVAL_POLICIES),
    "sandbox_mode": one_of(*SANDBOX_MODES),
    "sandbox_workspace_write.writable_roots": list_of_strings,
    "sandbox_workspace_write.network_access": boolean,
    "sandbox_workspace_write.exclude_tmpdir_env_var": boolean,
    "sandbox_workspace_write.exclude_slash_tmp": boolean,
    "shell_environment_policy.inherit": one_of("all", "core", "none"),
    "shell_environment_policy.ignore_default_excludes": boolean,
    "shell_environment_policy.exclude": list_of_strings,
    "shell_environment_policy.set": table_of_strings,
    "shell_environment_policy.include_only": list_of_strings,
    "shell_environment_policy.experimental_use_profile": boolean,
    "notify": list_of_strings,
    "history.persistence": one_of("save-all", "none"),
    "history.max_bytes": integer(0),
    "project_doc_max_bytes": integer(0),
    "project_doc_fallback_filenames": list_of_strings,
    "project_root_markers": list_of_strings,
    "model_context_window": integer(1),
    "model_auto_compact_token_limit": integer(1),
    "tool_output_token_limit": integer(1),
    "model_reasoning_effort": one_of("none", "minimal", "low", "medium", "high", "xhigh"),
    "model_reasoning_summary": one_of("auto", "concise", "detailed", "none"),
    "model_verbosity": one_of("low", "medium", "high"),
    "instructions": string,
    "developer_instructions": string,
    "openai_base_url": string,
    "web_search": one_of("disabled", "cached", "live"),
    "max_tool_calls_per_turn": integer(1),
    "ignore_rules": boolean,
    "shell_snapshot": boolean,
    "features.code_mode": boolean,
    "features.code_mode_only": boolean,
    "code_mode.max_heap_bytes": integer(16 * 1024 * 1024),
    "code_mode.pool_size": integer(0),
    "model_providers.*": table,
    **{f"model_providers.*.{key}": check for key, check in PROVIDER_KEYS.items()},
    "mcp_servers.*": table,
    **{f"mcp_servers.*.{key}": check for key, check in MCP_SERVER_KEYS.items()},
    "profiles.*": table,
}


def checker_for(dotted: str) -> Checker | None:
    """The checker for a concrete dotted key, matching "*" segments; profile keys use the top-level rules."""
    parts = dotted.split(".")
    if len(parts) > 2 and parts[0] == "profiles":
        return checker_for(".".join(parts[2:]))
    for pattern, check in KEYS.items():
        pattern_parts = pattern.split(".")
        if len(pattern_parts) == len(parts) and all(p in ("*", q) for p, q in zip(pattern_parts, parts)):
            return check
    return None


def defaults() -> dict[str, Any]:
    """The built-in layer (lowest precedence). Providers come from the model client's built-ins."""
    from codex_actors.model.provider import BUILTIN_PROVIDERS

    return {
        "model": "gpt-5.3-codex",
        "model_provider": "openai",
        "approval_policy": "on-request",
        "sandbox_mode": "read-only",
        "sandbox_workspace_write": {
            "writable_roots": [],
            "network_access": False,
            "exclude_tmpdir_env_var": False,
            "exclude_slash_tmp": False,
        },
        "shell_environment_policy": {"inherit": "all", "ignore_default_excludes": False},
        "history": {"persistence": "save-all"},
        "project_doc_max_bytes": 32768,
        "project_root_markers": [".git"],
        "max_tool_calls_per_turn": 200,
        "shell_snapshot": True,
        "features": {"code_mode": True, "code_mode_only": False},
        "code_mode": {"max_heap_bytes": 256 * 1024 * 1024},
        "model_providers": {name: dict(table) for name, table in BUILTIN_PROVIDERS.items()},
    }

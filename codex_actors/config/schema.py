"""What each known config key must hold, as small checker functions, and the built-in defaults.

A checker takes the value and returns None when it is fine, else a phrase saying what was expected
("a boolean", "one of: read-only, workspace-write, danger-full-access"). This is the one place config values
are validated: the modules that use a key trust it. `table` marks a table whose own keys are checked one by one;
any other checker judges its value whole. A key with no checker is not understood: it is kept (configs shared
with Codex keep loading) and the loader reports it in one warning line (`unknown_keys`). Rules that span keys
(`cross_key_problems`) are checked on the merged config.
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


def number(minimum: float | None = None) -> Checker:
    """An int or a float (TOML `20` or `20.5`), at least `minimum`: Codex's float seconds."""
    def check(value: Any) -> str | None:
        expected = "a number" if minimum is None else f"a number >= {minimum:g}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return expected
        return expected if minimum is not None and value < minimum else None

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
GRANULAR_REQUIRED = ("sandbox_approval", "rules", "mcp_elicitations")
GRANULAR_OPTIONAL = ("skill_approval", "request_permissions")


def approval_policy(value: Any) -> str | None:
    """A policy name, or Codex's granular table `{ granular = { sandbox_approval = true, rules = true,
    mcp_elicitations = true } }` (`skill_approval`, `request_permissions` optional; each a boolean)."""
    expected = f"one of: {', '.join(APPROVAL_POLICIES)}, or {{ granular = {{ {', '.join(GRANULAR_REQUIRED)} }} }}"
    if isinstance(value, str):
        return None if value in APPROVAL_POLICIES else expected
    if not isinstance(value, dict) or set(value) != {"granular"} or not isinstance(value["granular"], dict):
        return expected
    granular = value["granular"]
    unknown = sorted(set(granular) - set(GRANULAR_REQUIRED) - set(GRANULAR_OPTIONAL))
    missing = [k for k in GRANULAR_REQUIRED if k not in granular]
    if unknown or missing or not all(isinstance(v, bool) for v in granular.values()):
        return f"granular booleans {', '.join(GRANULAR_REQUIRED)} (optional: {', '.join(GRANULAR_OPTIONAL)})"
    return None


def env_var_list(value: Any) -> str | None:
    """`env_vars`: names, or Codex's tables `{ name = "TOKEN", source = "local" }` (a `remote` source needs a
    remote execution environment, which codex-actors does not have)."""
    expected = 'a list of names or { name = "...", source = "local" } tables'
    if not isinstance(value, list):
        return expected
    for entry in value:
        if isinstance(entry, str):
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or set(entry) - {"name", "source"}:
            return expected
        if entry.get("source", "local") != "local":
            return expected + f" (source {entry['source']!r} is not supported)"
    return None


APPROVAL_MODES = ("auto", "prompt", "approve")
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
    "env_vars": env_var_list,
    "cwd": string,
    "url": string,
    "bearer_token_env_var": string,
    "http_headers": table_of_strings,
    "env_http_headers": table_of_strings,
    "enabled": boolean,
    "required": boolean,
    "startup_timeout_sec": number(0),
    "startup_timeout_ms": integer(0),
    "tool_timeout_sec": number(0),
    "enabled_tools": list_of_strings,
    "disabled_tools": list_of_strings,
    "supports_parallel_tool_calls": boolean,
    "max_restarts": integer(0),
    "default_tools_approval_mode": one_of(*APPROVAL_MODES),
    "tools": table,
    "tools.*": table,
    "tools.*.approval_mode": one_of(*APPROVAL_MODES),
}

# Dotted key -> checker. A "*" segment matches any name (a provider id, a server name, a profile name).
KEYS: dict[str, Checker] = {
    "model": string,
    "model_provider": string,
    "profile": string,
    "approval_policy": approval_policy,
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
    "model_instructions_file": string,
    "background_terminal_max_timeout": integer(1),
    "allow_login_shell": boolean,
    "projects": table,
    "projects.*": table,
    "projects.*.trust_level": one_of("trusted", "untrusted"),
    "features": table,
    "features.code_mode": boolean,
    "features.code_mode_only": boolean,
    "features.unified_exec": boolean,
    "code_mode.max_heap_bytes": integer(16 * 1024 * 1024),
    "code_mode.pool_size": integer(0),
    "model_providers.*": table,
    **{f"model_providers.*.{key}": check for key, check in PROVIDER_KEYS.items()},
    "mcp_servers.*": table,
    **{f"mcp_servers.*.{key}": check for key, check in MCP_SERVER_KEYS.items()},
    "profiles": table,
    "profiles.*": table,
    "sandbox_workspace_write": table,
    "shell_environment_policy": table,
    "history": table,
    "code_mode": table,
    "model_providers": table,
    "mcp_servers": table,
}


_PATTERNS = [(tuple(pattern.split(".")), check) for pattern, check in KEYS.items()]


def checker_for(key: str | tuple[str, ...]) -> Checker | None:
    """The checker for a concrete key (a dotted string, or its path as a tuple when a segment holds dots, as a
    project path does), matching "*" segments; keys inside a profile use the top-level rules."""
    parts = tuple(key.split(".")) if isinstance(key, str) else key
    if len(parts) > 2 and parts[0] == "profiles":
        return checker_for(parts[2:])
    for pattern_parts, check in _PATTERNS:
        if len(pattern_parts) == len(parts) and all(p in ("*", q) for p, q in zip(pattern_parts, parts)):
            return check
    return None


def problems(layer: dict[str, Any], prefix: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Check one layer's table. Returns (errors, unknown keys): errors read `key: expected ..., got ...`;
    unknown keys are the dotted names no checker knows (not descended into)."""
    errors: list[str] = []
    unknown: list[str] = []
    for key, value in layer.items():
        path = (*prefix, key)
        dotted = ".".join(path)
        check = checker_for(path)
        if check is None:
            unknown.append(dotted)
            continue
        problem = check(value)
        if problem is not None:
            errors.append(f"{dotted}: expected {problem}, got {value!r}")
        elif check is table:
            more_errors, more_unknown = problems(value, path)
            errors += more_errors
            unknown += more_unknown
    return errors, unknown


def cross_key_problems(values: dict[str, Any]) -> list[str]:
    """Rules over the merged config that no single key can check, each as `key: problem`."""
    out = []
    providers = values.get("model_providers") or {}
    for provider_id, provider in providers.items():
        if provider.get("max_output_tokens") is not None and provider.get("wire_api", "responses") != "chat":
            out.append(f'model_providers.{provider_id}.max_output_tokens: only supported with wire_api = "chat"')
    selected = providers.get(values.get("model_provider"))
    if selected is not None and not selected.get("base_url"):
        out.append(f"model_providers.{values['model_provider']}.base_url: required (e.g. http://localhost:11434/v1)")
    return out


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
        "web_search": "cached",
        "shell_snapshot": True,
        "features": {"code_mode": True, "code_mode_only": False},
        "code_mode": {"max_heap_bytes": 256 * 1024 * 1024},
        "model_providers": {name: dict(table) for name, table in BUILTIN_PROVIDERS.items()},
    }

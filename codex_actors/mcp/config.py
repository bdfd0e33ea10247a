"""One `[mcp_servers.<name>]` table turned into a checked, frozen server config (spec agent-core 7.6, 4.8).

Pure: reads no files and starts nothing. Environment lookups (`env_vars`, `bearer_token_env_var`,
`env_http_headers`) happen in `stdio_env` / `http_headers`, given the environment mapping to read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import attrs

from codex_actors.mcp.errors import McpError

DEFAULT_STARTUP_TIMEOUT_SEC = 30.0
DEFAULT_TOOL_TIMEOUT_SEC = 120.0
DEFAULT_MAX_RESTARTS = 1

# Variables a stdio server gets from our environment on top of the SDK's own safe set
# (HOME, LOGNAME, PATH, SHELL, TERM, USER), as codex-rs forwards them.
FORWARDED_ENV_VARS = ("LANG", "LC_ALL", "TMPDIR", "TZ")


class McpConfigError(McpError, ValueError):
    """A server table cannot be used, e.g. `mcp_servers.docs: set either command (stdio) or url (streamable
    HTTP), not both`. The message starts with the dotted table name."""


@attrs.frozen
class StdioTransport:
    """Launch `command args...` and speak MCP over its stdin/stdout. `env` is added to the environment,
    `env_vars` names variables forwarded from ours, `cwd` is absolute (or None: inherit)."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = attrs.field(factory=dict)
    env_vars: tuple[str, ...] = ()
    cwd: str | None = None


@attrs.frozen
class HttpTransport:
    """Streamable HTTP at `url`. `http_headers` are sent as given; `env_http_headers` maps a header to the
    name of the variable holding its value; `bearer_token_env_var` names the variable holding the token."""

    url: str
    bearer_token_env_var: str | None = None
    http_headers: Mapping[str, str] = attrs.field(factory=dict)
    env_http_headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class McpServerConfig:
    """A configured MCP server. Timeouts in seconds; `enabled_tools` None means "all tools"."""

    name: str
    transport: StdioTransport | HttpTransport
    enabled: bool = True
    required: bool = False
    startup_timeout_sec: float = DEFAULT_STARTUP_TIMEOUT_SEC
    tool_timeout_sec: float = DEFAULT_TOOL_TIMEOUT_SEC
    enabled_tools: frozenset[str] | None = None
    disabled_tools: frozenset[str] = frozenset()
    supports_parallel_tool_calls: bool = False
    max_restarts: int = DEFAULT_MAX_RESTARTS
    default_tools_approval_mode: str = "auto"
    tool_approval_modes: Mapping[str, str] = attrs.field(factory=dict)

    def approval_mode(self, tool: str) -> str:
        """"auto" | "prompt" | "approve" for `tool`: `[mcp_servers.<name>.tools.<tool>] approval_mode`, else
        `default_tools_approval_mode` (spec 4.8 "Approval", 7.6)."""
        return self.tool_approval_modes.get(tool, self.default_tools_approval_mode)

    def allows_tool(self, tool: str) -> bool:
        """The per-server filter of spec 4.8: `enabled_tools` allow-list first, then `disabled_tools`."""
        if self.enabled_tools is not None and tool not in self.enabled_tools:
            return False
        return tool not in self.disabled_tools


def parse_server(name: str, table: Mapping[str, Any], *, cwd: str | Path | None = None) -> McpServerConfig:
    """Build the config of server `name` from its table (key types already checked by the config schema).

    A relative stdio `cwd` is resolved against `cwd` (the session's working root). `startup_timeout_ms` is
    honoured when `startup_timeout_sec` is absent; both timeouts may be floats (seconds), as in Codex.
    `env_vars` entries are names or Codex's `{name, source = "local"}` tables. Raises McpConfigError when the table names no transport
    or both, or when stdio-only and HTTP-only keys are mixed.
    """
    where = f"mcp_servers.{name}"
    has_command, has_url = "command" in table, "url" in table
    if has_command == has_url:
        raise McpConfigError(f"{where}: set either command (stdio) or url (streamable HTTP), not both")
    if has_command:
        mixed = sorted(k for k in ("bearer_token_env_var", "http_headers", "env_http_headers") if k in table)
        if mixed:
            raise McpConfigError(f"{where}: {', '.join(mixed)} only apply to url (streamable HTTP) servers")
        server_cwd = table.get("cwd")
        if server_cwd is not None and cwd is not None:
            server_cwd = str(Path(cwd, os.path.expanduser(server_cwd)))
        transport: StdioTransport | HttpTransport = StdioTransport(
            command=table["command"],
            args=tuple(table.get("args", ())),
            env=dict(table.get("env", {})),
            env_vars=tuple(v if isinstance(v, str) else v["name"] for v in table.get("env_vars", ())),
            cwd=server_cwd,
        )
    else:
        mixed = sorted(k for k in ("args", "env", "env_vars", "cwd") if k in table)
        if mixed:
            raise McpConfigError(f"{where}: {', '.join(mixed)} only apply to command (stdio) servers")
        transport = HttpTransport(
            url=table["url"],
            bearer_token_env_var=table.get("bearer_token_env_var"),
            http_headers=dict(table.get("http_headers", {})),
            env_http_headers=dict(table.get("env_http_headers", {})),
        )
    if "startup_timeout_sec" in table:
        startup = float(table["startup_timeout_sec"])
    elif "startup_timeout_ms" in table:
        startup = table["startup_timeout_ms"] / 1000
    else:
        startup = DEFAULT_STARTUP_TIMEOUT_SEC
    enabled_tools = table.get("enabled_tools")
    return McpServerConfig(
        name=name,
        transport=transport,
        enabled=table.get("enabled", True),
        required=table.get("required", False),
        startup_timeout_sec=startup,
        tool_timeout_sec=float(table.get("tool_timeout_sec", DEFAULT_TOOL_TIMEOUT_SEC)),
        enabled_tools=frozenset(enabled_tools) if enabled_tools is not None else None,
        disabled_tools=frozenset(table.get("disabled_tools", ())),
        supports_parallel_tool_calls=table.get("supports_parallel_tool_calls", False),
        max_restarts=table.get("max_restarts", DEFAULT_MAX_RESTARTS),
        default_tools_approval_mode=table.get("default_tools_approval_mode", "auto"),
        tool_approval_modes={tool: t["approval_mode"] for tool, t in (table.get("tools") or {}).items()
                             if "approval_mode" in t},
    )


def stdio_env(transport: StdioTransport, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables to add to the SDK's default server environment: forwarded ones present in `environ`
    (FORWARDED_ENV_VARS, then `env_vars`), overlaid with the table's `env`."""
    names = (*FORWARDED_ENV_VARS, *transport.env_vars)
    env = {key: environ[key] for key in names if key in environ}
    env.update(transport.env)
    return env


def http_headers(server: str, transport: HttpTransport, environ: Mapping[str, str]) -> dict[str, str]:
    """The headers for every request: `http_headers`, then `env_http_headers` whose variable is set and not
    empty, then `Authorization: Bearer <token>`. Raises McpConfigError when `bearer_token_env_var` names a
    variable that is unset or empty."""
    headers = dict(transport.http_headers)
    for header, variable in transport.env_http_headers.items():
        if environ.get(variable):
            headers[header] = environ[variable]
    if transport.bearer_token_env_var is not None:
        token = environ.get(transport.bearer_token_env_var)
        if not token:
            raise McpConfigError(
                f"mcp_servers.{server}: environment variable {transport.bearer_token_env_var} "
                "(bearer_token_env_var) is not set"
            )
        headers["Authorization"] = f"Bearer {token}"
    return headers

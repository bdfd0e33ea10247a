"""The MCP manager actor: starts every configured server in parallel, names their tools, stops them all
(spec agent-core 4.8 "Startup", "Naming", "Tool filtering"; 7.6).

Start it in the session's nursery: `ref = await start_actor(nursery, McpManager(config.get("mcp_servers",
{}), cwd=cwd))`. The ref is returned once every enabled server has started or failed; failures do not fail
the start (unless the server is `required = true`): they are reported, and the session goes on without
them. `await ref.ask(ListMcpTools())` answers an `McpToolList`. `await ref.stop()` returns once every
connection actor has stopped and every stdio server process has been reaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import attrs
import mcp_types
import trio

from codex_actors.actors import Actor, ActorCrashed, ActorRef, start_actor
from codex_actors.mcp.config import McpConfigError, McpServerConfig, parse_server
from codex_actors.mcp.connection import ListTools, McpConnection
from codex_actors.mcp.errors import McpStartupError, describe
from codex_actors.mcp.naming import qualify_tool_names


@attrs.frozen
class ListMcpTools:
    """Ask the manager for its `McpToolList`."""


@attrs.frozen
class McpTool:
    """One tool offered to the model: `qualified_name` (`mcp__<server>__<tool>`, sanitized), the `server`
    and its raw `tool` name, the MCP `description`, `input_schema` / `output_schema` (JSON Schema dicts,
    output None when the tool declares none), `annotations` (the MCP hints dict, may be empty), `parallel`
    (the server's `supports_parallel_tool_calls`), `connection`, the ref of the server's actor, and
    `approval_mode` ("auto" | "prompt" | "approve": the tool's `approval_mode`, else the server's
    `default_tools_approval_mode`, else "auto")."""

    qualified_name: str
    server: str
    tool: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    annotations: dict[str, Any]
    parallel: bool
    connection: ActorRef[Any] = attrs.field(repr=False)
    approval_mode: str = "auto"


@attrs.frozen
class McpToolList:
    """The manager's answer: `tools` (all servers, server names in sorted order, tools in listed order),
    `ready` (server names that started), `failed` ((server, error) pairs, the `mcp_startup_complete` shape),
    `warnings` (one user-facing line per failure or skipped config, for the session to emit) and `connections`
    (server name -> the ref of its connection actor, for resource requests)."""

    tools: tuple[McpTool, ...]
    ready: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    connections: Mapping[str, ActorRef[Any]] = attrs.field(factory=dict)


def startup_warning(server: str, error: str) -> str:
    """The warning for a server that failed to start: ``MCP client for `<server>` failed to start: <error>``."""
    return f"MCP client for `{server}` failed to start: {error}"


class McpManager(Actor[Any]):
    """Owns one `McpConnection` actor per enabled server in `servers` (the merged `mcp_servers` table:
    server name -> its table). `cwd` resolves relative stdio `cwd`s; `environ` (default `os.environ`) is
    where env forwarding and HTTP header variables are read.

    Starting raises (as the kernel's ActorCrashed) `McpStartupError` only when a `required = true`
    server fails to start."""

    name = "mcp"

    def __init__(
        self,
        servers: Mapping[str, Mapping[str, Any]],
        *,
        cwd: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._servers = dict(servers)
        self._cwd = cwd
        self._environ = environ
        self._listing: McpToolList | None = None

    async def background(self, nursery: trio.Nursery) -> None:
        warnings: list[str] = []
        failed: dict[str, str] = {}
        configs: list[McpServerConfig] = []
        for server in sorted(self._servers):
            try:
                config = parse_server(server, self._servers[server], cwd=self._cwd)
            except McpConfigError as exc:
                failed[server] = str(exc)
                warnings.append(startup_warning(server, str(exc)))
                continue
            if config.enabled:
                configs.append(config)
        started: dict[str, tuple[ActorRef[Any], list[mcp_types.Tool]]] = {}
        async with trio.open_nursery() as starters:
            for config in configs:
                starters.start_soon(self._start_one, nursery, config, started, failed)
        for config in configs:
            if config.name in failed:
                warnings.append(startup_warning(config.name, failed[config.name]))
                if config.required:
                    raise McpStartupError(
                        f"required MCP server `{config.name}` failed to start: {failed[config.name]}"
                    )
        self._listing = _tool_list(configs, started, failed, warnings)

    async def _start_one(
        self,
        nursery: trio.Nursery,
        config: McpServerConfig,
        started: dict[str, tuple[ActorRef[Any], list[mcp_types.Tool]]],
        failed: dict[str, str],
    ) -> None:
        try:
            ref = await start_actor(
                nursery, McpConnection(config, environ=self._environ), supervise=lambda _ref, _crash: None
            )
        except ActorCrashed as crash:
            failed[config.name] = describe(crash.cause)
            return
        started[config.name] = (ref, await ref.ask(ListTools()))

    async def handle(self, message: Any) -> Any:
        if isinstance(message, ListMcpTools):
            return self._listing
        raise TypeError(f"mcp manager: unexpected message {message!r}")


def _tool_list(
    configs: list[McpServerConfig],
    started: dict[str, tuple[ActorRef[Any], list[mcp_types.Tool]]],
    failed: dict[str, str],
    warnings: list[str],
) -> McpToolList:
    by_name = {config.name: config for config in configs}
    raw: dict[tuple[str, str], mcp_types.Tool] = {}
    for server in sorted(started):
        for tool in started[server][1]:
            raw[(server, tool.name)] = tool
    tools = []
    for qualified, (server, tool_name) in qualify_tool_names(raw).items():
        tool = raw[(server, tool_name)]
        annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
        tools.append(
            McpTool(
                qualified_name=qualified,
                server=server,
                tool=tool_name,
                description=tool.description or "",
                input_schema=dict(tool.input_schema),
                output_schema=dict(tool.output_schema) if tool.output_schema is not None else None,
                annotations=annotations,
                parallel=by_name[server].supports_parallel_tool_calls,
                connection=started[server][0],
                approval_mode=by_name[server].approval_mode(tool_name),
            )
        )
    return McpToolList(
        tools=tuple(tools),
        ready=tuple(sorted(started)),
        failed=tuple(sorted(failed.items())),
        warnings=tuple(warnings),
        connections={server: started[server][0] for server in sorted(started)},
    )

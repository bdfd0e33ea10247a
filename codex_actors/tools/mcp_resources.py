"""The MCP resource tools (spec agent-core 4.8 "Resource helper tools"), offered whenever an MCP server is
configured, directly and as `tools.*` in code mode; all parallel-safe.

- `list_mcp_resources {server?, cursor?}` -> `{"server"?, "resources": [{"server", ...Resource}], "nextCursor"?}`
- `list_mcp_resource_templates {server?, cursor?}` -> `{"server"?, "resourceTemplates": [...], "nextCursor"?}`
- `read_mcp_resource {server, uri}` -> `{"server", "uri", "contents": [...]}`

The shapes are codex-rs's (`core/src/tools/handlers/mcp_resource.rs`): MCP objects in their wire form (camelCase)
with the server name added; without `server`, every running server is listed (sorted by name, first page each,
a server that fails or has no resources is left out) and a `cursor` is refused. Each call shows as an MCP call
(`mcp_tool_call_begin/end`, server = the given one or "codex", tool = the tool's name).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal, Mapping

from codex_actors.mcp import McpCallError, ResourceRequest, request_resources
from codex_actors.protocol.events import McpToolCallBegin, McpToolCallEnd
from codex_actors.tools.mcp import duration
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult

_SERVER = {"type": "string", "description": "MCP server name. When omitted, every configured server is listed."}
_CURSOR = {"type": "string", "description": "Opaque cursor from a previous call for the same server."}


def _spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "name": name, "description": description, "strict": False,
            "parameters": {"type": "object", "additionalProperties": False, "properties": properties,
                           "required": required}}


SPECS = {
    "list_mcp_resources": _spec(
        "list_mcp_resources",
        "Lists resources provided by MCP servers: data such as files, database schemas or application state "
        "that gives context. Prefer resources over web search when possible.",
        {"server": _SERVER, "cursor": _CURSOR}, []),
    "list_mcp_resource_templates": _spec(
        "list_mcp_resource_templates",
        "Lists resource templates provided by MCP servers: parameterized resource URIs (RFC 6570) to read with "
        "read_mcp_resource once filled in.",
        {"server": _SERVER, "cursor": _CURSOR}, []),
    "read_mcp_resource": _spec(
        "read_mcp_resource",
        "Reads one resource from an MCP server, given the server name and the resource URI.",
        {"server": {"type": "string", "description": "MCP server name, as list_mcp_resources reports it."},
         "uri": {"type": "string", "description": "Resource URI, from list_mcp_resources or a filled template."}},
        ["server", "uri"]),
}
_LIST_METHOD = {"list_mcp_resources": ("resources/list", "resources"),
                "list_mcp_resource_templates": ("resources/templates/list", "resourceTemplates")}


def _optional(args: Mapping[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolError(f"failed to parse function arguments: `{key}` must be a string")
    return value.strip() or None


class McpResourceTool:
    """One of the three resource tools; `connections` maps server name -> connection actor ref (the servers
    that started)."""

    kind: Literal["function"] = "function"
    parallel = True

    def __init__(self, name: str, connections: Mapping[str, Any]) -> None:
        if name not in SPECS:
            raise ValueError(f"not an MCP resource tool: {name}")
        self.name = name
        self._connections = dict(connections)

    def spec(self) -> dict[str, Any]:
        return SPECS[self.name]

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Bad arguments -> ToolError (no events); otherwise one begin/end pair and the payload's JSON text,
        or `<method> failed: <reason>` as a failed output."""
        args = call.arguments()
        server = _optional(args, "server")
        cursor = None if self.name == "read_mcp_resource" else _optional(args, "cursor")
        uri = _optional(args, "uri") if self.name == "read_mcp_resource" else None
        if self.name == "read_mcp_resource" and (server is None or uri is None):
            raise ToolError("failed to parse function arguments: `server` and `uri` are required")
        if server is None and cursor is not None:
            raise ToolError("cursor can only be used when a server is specified")
        invocation = {"server": server or "codex", "tool": self.name, "arguments": args or None}
        await ctx.emit(McpToolCallBegin(call_id=call.call_id, invocation=invocation))
        started = time.monotonic()
        try:
            payload = await self._payload(server, cursor, uri)
        except McpCallError as exc:
            method = _LIST_METHOD.get(self.name, ("resources/read",))[0]
            message = f"{method} failed: {exc}"
            await ctx.emit(McpToolCallEnd(call_id=call.call_id, invocation=invocation,
                                          duration=duration(time.monotonic() - started), result={"Err": message}))
            return ToolResult(message, success=False)
        text = json.dumps(payload, ensure_ascii=False)
        await ctx.emit(McpToolCallEnd(call_id=call.call_id, invocation=invocation,
                                      duration=duration(time.monotonic() - started),
                                      result={"Ok": {"content": [{"type": "text", "text": text}],
                                                     "isError": False}}))
        return ToolResult(text)

    async def _payload(self, server: str | None, cursor: str | None, uri: str | None) -> dict[str, Any]:
        if self.name == "read_mcp_resource":
            result = await request_resources(self._ref(server), ResourceRequest("resources/read", uri=uri))
            return {"server": server, "uri": uri, "contents": result.get("contents", [])}
        method, key = _LIST_METHOD[self.name]
        if server is not None:
            result = await request_resources(self._ref(server), ResourceRequest(method, cursor=cursor))
            payload: dict[str, Any] = {"server": server,
                                       key: [{"server": server, **entry} for entry in result.get(key, [])]}
            if result.get("nextCursor"):
                payload["nextCursor"] = result["nextCursor"]
            return payload
        entries = []
        for name in sorted(self._connections):
            try:
                result = await request_resources(self._connections[name], ResourceRequest(method))
            except McpCallError:
                continue  # a server without resources (or failing) does not hide the others'
            entries += [{"server": name, **entry} for entry in result.get(key, [])]
        return {key: entries}

    def _ref(self, server: str | None) -> Any:
        ref = self._connections.get(server or "")
        if ref is None:
            known = ", ".join(sorted(self._connections)) or "none running"
            raise McpCallError(f"unknown MCP server `{server}` (known: {known})")
        return ref


def mcp_resource_tools(connections: Mapping[str, Any]) -> list[McpResourceTool]:
    """The three resource tools over `connections` (server name -> connection ref)."""
    return [McpResourceTool(name, connections) for name in SPECS]

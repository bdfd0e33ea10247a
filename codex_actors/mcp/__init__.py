"""MCP client: configured MCP servers (stdio or streamable HTTP) as tools, on the official `mcp` SDK.

Layers, lowest first: `config` (one server table -> McpServerConfig), `naming` and `results` (pure rules of
spec agent-core 4.8), `transport` (open one SDK client), `connection` (one actor per server: calls,
timeouts, restarts), `manager` (the actor owning every connection). The tool-router adapter lives in
`codex_actors.tools.mcp`; the `codex-actors mcp` command in `codex_actors.cli.mcp_cmd`.
"""

from codex_actors.mcp.config import McpConfigError, McpServerConfig, parse_server
from codex_actors.mcp.connection import RESOURCE_METHODS, McpConnection, ResourceRequest, call_tool, request_resources
from codex_actors.mcp.errors import McpCallError, McpError, McpStartupError
from codex_actors.mcp.manager import ListMcpTools, McpManager, McpTool, McpToolList, startup_warning
from codex_actors.mcp.naming import qualify_tool_names, sanitize_tool_name
from codex_actors.mcp.results import call_result_to_dict, model_output

__all__ = [
    "ListMcpTools",
    "McpCallError",
    "McpConfigError",
    "McpConnection",
    "McpError",
    "McpManager",
    "McpServerConfig",
    "McpStartupError",
    "McpTool",
    "McpToolList",
    "RESOURCE_METHODS",
    "ResourceRequest",
    "call_result_to_dict",
    "call_tool",
    "model_output",
    "parse_server",
    "qualify_tool_names",
    "request_resources",
    "sanitize_tool_name",
    "startup_warning",
]

"""`codex-actors mcp-server`: codex-actors as an MCP server (tools `codex` and `codex-reply`), so another agent
can delegate a task to it and continue it. Built on the official `mcp` SDK and the thread manager."""

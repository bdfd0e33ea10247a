"""Shared pieces of the MCP tests: the SDK-written echo server, run over stdio or streamable HTTP, and a
manager started in a nursery."""

from __future__ import annotations

import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import trio

from codex_actors.actors import start_actor
from codex_actors.mcp import ListMcpTools, McpManager, McpToolList
from codex_actors.tools.mcp import McpToolHandler, mcp_tool_handlers
from codex_actors.tools.router import ToolContext

ECHO_SERVER = str(Path(__file__).parent / "servers" / "echo_server.py")


def stdio_server(**extra: Any) -> dict[str, Any]:
    """The config table of the echo server over stdio."""
    return {"command": sys.executable, "args": [ECHO_SERVER, "stdio"], **extra}


@asynccontextmanager
async def http_echo_server() -> AsyncIterator[str]:
    """Run the echo server over streamable HTTP on 127.0.0.1; yield its URL; kill and reap it after."""
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            lambda task_status: trio.run_process(
                [sys.executable, ECHO_SERVER, "http"], stdout=subprocess.PIPE, check=False, task_status=task_status
            )
        )
        line = b""
        with trio.fail_after(30):
            while not line.endswith(b"\n"):
                chunk = await process.stdout.receive_some(100)
                assert chunk, "the HTTP echo server exited before listening"
                line += chunk
        try:
            yield f"http://127.0.0.1:{int(line.split()[1])}/mcp"
        finally:
            process.kill()


class Events:
    """A ToolContext whose emitted events are kept in `self.events`."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.ctx = ToolContext(turn_id="turn-1", cwd=str(Path.cwd()), emit=self._emit)

    async def _emit(self, event: Any) -> None:
        self.events.append(event)


@asynccontextmanager
async def running_manager(
    servers: dict[str, dict[str, Any]], **kwargs: Any
) -> AsyncIterator[tuple[McpToolList, dict[str, McpToolHandler]]]:
    """Start an McpManager for `servers`; yield its listing and the handlers by name; stop it after."""
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, McpManager(servers, **kwargs))
        try:
            listing = await ref.ask(ListMcpTools())
            yield listing, {h.name: h for h in mcp_tool_handlers(listing)}
        finally:
            await ref.stop()

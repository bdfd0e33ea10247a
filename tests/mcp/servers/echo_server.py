"""A small MCP server written with the official SDK, for the MCP client tests.

Usage: `python echo_server.py stdio` (stdio transport) or `python echo_server.py http` (streamable HTTP on
127.0.0.1, an OS-chosen port printed to stdout as `PORT <n>` once the socket listens).

Tools: `echo{message, env_var?}` -> structured `{echo: "ECHOING: <message>", env: <value of env_var or null>}`;
`echo-tool` (an illegal character in its name), `image` (one PNG block), `cwd` (the process's working
directory), `pid` (its process id), `header{name}` (an HTTP request header; HTTP only), `hang` (never answers), `crash` (exits),
`exit_soon` (answers, then exits).
"""

from __future__ import annotations

import base64
import os
import socket
import sys
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import BaseModel

# A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

server = MCPServer("echo")


class Echo(BaseModel):
    echo: str
    env: str | None


@server.tool(description="Echo the message back.", structured_output=True)
def echo(message: str, env_var: str | None = None) -> Annotated[CallToolResult, Echo]:
    structured = {"echo": f"ECHOING: {message}", "env": os.environ.get(env_var) if env_var else None}
    return CallToolResult(content=[], structured_content=structured)


@server.tool(name="echo-tool", description="Echo with a dash in its name.")
def echo_tool(message: str) -> str:
    return f"dash: {message}"


@server.tool(description="Return a one-pixel PNG and a caption.")
def image() -> list[TextContent | ImageContent]:
    return [
        TextContent(type="text", text="a pixel"),
        ImageContent(type="image", data=base64.b64encode(PIXEL).decode(), mime_type="image/png"),
    ]


@server.tool(description="The server's working directory.")
def cwd() -> str:
    return os.getcwd()


@server.tool(description="Return one request header.")
def header(name: str, ctx: Context) -> str:
    request = ctx.request_context.request
    return request.headers.get(name, "<missing>") if request is not None else "<no request>"


@server.tool(description="The server's process id.")
def pid() -> int:
    return os.getpid()


@server.tool(description="Never answers.")
async def hang() -> str:
    import anyio

    await anyio.sleep_forever()
    return "unreachable"


@server.tool(description="Answer, then exit the server process a moment later.")
async def exit_soon() -> str:
    import threading

    threading.Timer(0.2, os._exit, args=(4,)).start()
    return "exiting"


@server.tool(description="Exit the server process.")
def crash() -> str:
    os._exit(3)


def main() -> None:
    if sys.argv[1:] == ["stdio"]:
        server.run("stdio")
        return
    import anyio
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    anyio.run(uvicorn.Server(config).serve, [sock])


if __name__ == "__main__":
    main()

"""Open one MCP client over the transport a server config names, with the official SDK (spec agent-core 4.8
"Startup" transports). The SDK runs on anyio, so this works unchanged under trio.

`open_client` is an async context manager: entering it spawns the stdio process (or opens the HTTP client)
and completes the MCP handshake; leaving it closes the session and, for stdio, stops and reaps the process
(the SDK does that shielded from cancellation, so a cancelled caller never leaks a server).
"""

from __future__ import annotations

import logging
import os
import tempfile
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Mapping

import attrs
import httpx2
import trio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from codex_actors.mcp.config import HttpTransport, McpServerConfig, http_headers, stdio_env
from codex_actors.mcp.errors import McpStartupError, describe

# The SDK logs transport trouble (e.g. a non-JSON line on a server's stdout) with tracebacks; without a
# handler Python's last-resort handler would print them over the user's terminal. The failures reach the
# user anyway, as startup warnings or call errors; an application that wants the SDK's log configures the
# "mcp" logger itself.
logging.getLogger("mcp").addHandler(logging.NullHandler())

# Tail of a stdio server's stderr quoted in startup and crash errors (bytes).
STDERR_TAIL_BYTES = 2000
# HTTP client timeouts (seconds): the SDK's recommended values; the read timeout is long because a
# server may hold a response stream open. Tool calls get their own `tool_timeout_sec`.
_HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)


@attrs.define
class OpenClient:
    """A live connection: the SDK `client`, `closed` (set once a stdio server's output has ended, i.e.
    the server exited) and `stderr_tail()` (the last bytes the server wrote to stderr, decoded)."""

    client: Client
    closed: trio.Event
    _stderr: Any = None

    def stderr_tail(self) -> str:
        return read_tail(self._stderr)


def read_tail(file: Any) -> str:
    """The last STDERR_TAIL_BYTES of a captured stderr file, stripped ("" when there is none)."""
    if file is None or file.closed:
        return ""
    size = os.fstat(file.fileno()).st_size
    data = os.pread(file.fileno(), STDERR_TAIL_BYTES, max(0, size - STDERR_TAIL_BYTES))
    return data.decode("utf-8", "replace").strip()


class _WatchedReadStream:
    """Forwards the SDK's transport read stream and sets `closed` when it ends (the server went away)."""

    def __init__(self, inner: Any, closed: trio.Event) -> None:
        self._inner = inner
        self._closed = closed

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except BaseException as exc:
            if not isinstance(exc, trio.Cancelled):
                self._closed.set()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> "_WatchedReadStream":
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._inner.__anext__()
        except StopAsyncIteration:
            self._closed.set()
            raise

    async def __aenter__(self) -> "_WatchedReadStream":
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self._closed.set()
        return await self._inner.__aexit__(*exc_info)


@asynccontextmanager
async def _watched(transport: Any, closed: trio.Event) -> AsyncIterator[tuple[Any, Any]]:
    async with transport as (read_stream, write_stream):
        yield _WatchedReadStream(read_stream, closed), write_stream


@asynccontextmanager
async def open_client(
    config: McpServerConfig, *, environ: Mapping[str, str] | None = None
) -> AsyncIterator[OpenClient]:
    """Connect to `config`'s server and yield an `OpenClient` once the handshake is done.

    `environ` (default `os.environ`) is where `env_vars`, `env_http_headers` and `bearer_token_env_var` are
    looked up. A stdio server's stderr goes to a temporary file, quoted by `stderr_tail()`.
    Raises McpConfigError (a bearer token variable unset); for stdio, McpStartupError when the process
    cannot be spawned or the handshake fails (its stderr tail quoted); for HTTP, what the SDK or httpx2
    raises when the handshake fails.
    No timeout here: the caller bounds startup with `startup_timeout_sec`.
    """
    environ = os.environ if environ is None else environ
    closed = trio.Event()
    transport = config.transport
    if isinstance(transport, HttpTransport):
        headers = http_headers(config.name, transport, environ)
        async with httpx2.AsyncClient(headers=headers, timeout=_HTTP_TIMEOUT) as http:
            stream = streamable_http_client(transport.url, http_client=http)
            async with Client(_watched(stream, closed)) as client:
                yield OpenClient(client, closed)
        return
    params = StdioServerParameters(
        command=transport.command,
        args=list(transport.args),
        env=stdio_env(transport, environ),
        cwd=transport.cwd,
    )
    with tempfile.TemporaryFile(prefix=f"mcp-{config.name}-", suffix=".stderr") as stderr:
        opened: OpenClient | None = None
        try:
            async with Client(_watched(stdio_client(params, errlog=stderr), closed)) as client:
                opened = OpenClient(client, closed, stderr)
                yield opened
        except Exception as exc:
            if opened is not None:
                raise
            tail = read_tail(stderr)
            detail = f"{describe(exc)}; stderr: {tail}" if tail else describe(exc)
            raise McpStartupError(detail) from exc

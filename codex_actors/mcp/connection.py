"""The connection actor: one per MCP server, owning that server's SDK client (spec agent-core 4.8, 7.6).

State it owns: the current link (one live SDK client, held open by a task in the actor's nursery), the
server's filtered tool list and the number of restarts used. Messages:
- `ListTools()` -> `list[mcp_types.Tool]` (after `enabled_tools` / `disabled_tools`);
- `CallTool(tool, arguments)` -> a `CallTicket` whose one-shot `reply` channel later yields the
  CallToolResult dict or an `McpCallError`. The call itself runs in its own task, so calls overlap and the
  mailbox stays free;
- `CancelCall(call_no)`: the caller gave up (it was cancelled); the call's task is cancelled, which makes
  the SDK tell the server. Use `call_tool(ref, ...)` rather than these messages directly.

A server found gone (its output ended, or a call saw the connection close) is restarted by the next call,
at most `max_restarts` times over the actor's life; after that calls fail with a clear error.
Stopping the actor cancels the link task, whose SDK shutdown (shielded) stops and reaps a stdio server.
"""

from __future__ import annotations

import contextlib
from typing import Any, Mapping

import anyio
import attrs
import httpx2
import mcp_types
import trio
from mcp.shared.exceptions import MCPError

from codex_actors.actors import Actor, ActorDied, ActorRef
from codex_actors.mcp.config import McpServerConfig
from codex_actors.mcp.errors import McpCallError, McpStartupError, describe
from codex_actors.mcp.results import call_result_to_dict
from codex_actors.mcp.transport import OpenClient, open_client

# Extra seconds past `tool_timeout_sec` after which our own deadline cuts a call the SDK did not time out
# (e.g. one stuck in an HTTP connect).
_TIMEOUT_GRACE_SEC = 5.0
# Errors meaning the connection itself is gone, so the next call restarts the server.
_CONNECTION_ERRORS = (OSError, httpx2.TransportError, anyio.BrokenResourceError, anyio.ClosedResourceError)


@attrs.frozen
class ListTools:
    """Ask for the server's tools (filtered), as `list[mcp_types.Tool]`."""


@attrs.frozen
class CallTool:
    """Call `tool` (the server's raw tool name) with `arguments` (a JSON object, or None for none)."""

    tool: str
    arguments: dict[str, Any] | None


@attrs.frozen
class ResourceRequest:
    """One resources request: `method` is "resources/list", "resources/templates/list" (with `cursor`, or
    None for the first page) or "resources/read" (with `uri`)."""

    method: str
    cursor: str | None = None
    uri: str | None = None


RESOURCE_METHODS = ("resources/list", "resources/templates/list", "resources/read")


@attrs.frozen
class CancelCall:
    """Cancel the call that `CallTicket.call_no` numbers, if it still runs."""

    call_no: int


@attrs.frozen
class CallTicket:
    """The answer to `CallTool`: the call's number and the channel its outcome will arrive on."""

    call_no: int
    reply: trio.MemoryReceiveChannel[Any]


@attrs.define
class _Link:
    """One generation of the connection, owned by the actor."""

    opened: OpenClient | None = None
    broken: bool = False
    close_requested: trio.Event = attrs.field(factory=trio.Event)
    done: trio.Event = attrs.field(factory=trio.Event)

    @property
    def alive(self) -> bool:
        return (
            self.opened is not None
            and not self.broken
            and not self.done.is_set()
            and not self.opened.closed.is_set()
        )

    async def close(self) -> None:
        self.close_requested.set()
        await self.done.wait()


class McpConnection(Actor[Any]):
    """The actor for server `config.name` (actor name `mcp:<server>`). Starting it connects, handshakes and
    lists tools within `startup_timeout_sec`; a failure fails the start with `McpStartupError` (wrapped in
    the kernel's `ActorCrashed`). `environ` (default `os.environ`) feeds env forwarding and HTTP headers."""

    def __init__(self, config: McpServerConfig, *, environ: Mapping[str, str] | None = None) -> None:
        self.name = f"mcp:{config.name}"
        self.config = config
        self._environ = environ
        self._nursery: trio.Nursery | None = None
        self._link: _Link | None = None
        self._tools: list[mcp_types.Tool] = []
        self._restarts = 0
        self._calls: dict[int, trio.CancelScope] = {}
        self._next_call_no = 0

    async def background(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        await self._connect()

    async def handle(self, message: Any) -> Any:
        if isinstance(message, ListTools):
            return list(self._tools)
        if isinstance(message, (CallTool, ResourceRequest)):
            self._next_call_no += 1
            ticket_no = self._next_call_no
            send, recv = trio.open_memory_channel[Any](1)
            try:
                link = await self._live_link()
            except McpCallError as exc:
                send.send_nowait(exc)
                send.close()
                return CallTicket(ticket_no, recv)
            assert self._nursery is not None
            self._calls[ticket_no] = scope = trio.CancelScope()
            self._nursery.start_soon(self._call, ticket_no, scope, link, message, send)
            return CallTicket(ticket_no, recv)
        if isinstance(message, CancelCall):
            scope = self._calls.get(message.call_no)
            if scope is not None:
                scope.cancel()
            return None
        raise TypeError(f"{self.name}: unexpected message {message!r}")

    async def _connect(self) -> None:
        """Open a new link and list its tools within the startup timeout; raises McpStartupError."""
        assert self._nursery is not None
        timeout = self.config.startup_timeout_sec
        link: _Link | None = None
        try:
            with trio.fail_after(timeout):
                link = await self._nursery.start(self._hold)
                assert link.opened is not None
                tools = await _list_all_tools(link.opened)
        except BaseException as exc:
            if link is not None:
                with trio.CancelScope(shield=True):
                    await link.close()
            if isinstance(exc, trio.TooSlowError):
                raise McpStartupError(
                    f"timed out after {timeout:g} seconds; add or raise `startup_timeout_sec` under "
                    f"[mcp_servers.{self.config.name}] in config.toml"
                ) from None
            if isinstance(exc, McpStartupError) or not isinstance(exc, Exception):
                raise
            raise McpStartupError(describe(exc)) from exc
        self._link = link
        self._tools = [tool for tool in tools if self.config.allows_tool(tool.name)]

    async def _hold(self, *, task_status: trio.TaskStatus[_Link] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep one SDK client open until the link is closed or the actor stops."""
        link = _Link()
        try:
            async with open_client(self.config, environ=self._environ) as opened:
                link.opened = opened
                task_status.started(link)
                await link.close_requested.wait()
        except Exception:
            if link.opened is None:
                raise
            # The connection broke after it was up; the next call restarts it.
            link.broken = True
        finally:
            link.done.set()

    async def _live_link(self) -> _Link:
        """The current link, restarting the server first if it is gone and restarts remain."""
        link = self._link
        if link is not None and link.alive:
            return link
        server, limit = self.config.name, self.config.max_restarts
        if self._restarts >= limit:
            raise McpCallError(
                f"MCP server `{server}` is not running (it exited or lost its connection) and was restarted "
                f"{self._restarts} of max_restarts = {limit} times; not restarting it again"
            )
        self._restarts += 1
        self._link = None
        if link is not None:
            await link.close()
        try:
            await self._connect()
        except McpStartupError as exc:
            raise McpCallError(f"MCP server `{server}` went away and could not be restarted: {exc}") from None
        assert self._link is not None
        return self._link

    async def _call(
        self, call_no: int, scope: trio.CancelScope, link: _Link, message: CallTool | ResourceRequest,
        send: trio.MemorySendChannel[Any],
    ) -> None:
        try:
            async with send:
                with scope:
                    if isinstance(message, ResourceRequest):
                        outcome = await self._resource_outcome(link, message)
                    else:
                        outcome = await self._outcome(link, message)
                    try:
                        send.send_nowait(outcome)
                    except trio.BrokenResourceError:
                        pass  # the caller is gone; nobody waits for this outcome
        finally:
            del self._calls[call_no]

    async def _outcome(self, link: _Link, message: CallTool) -> dict[str, Any] | McpCallError:
        assert link.opened is not None
        server, tool, timeout = self.config.name, message.tool, self.config.tool_timeout_sec
        timed_out = McpCallError(
            f"tool call to `{server}/{tool}` timed out after {timeout:g} seconds (tool_timeout_sec)"
        )
        try:
            with trio.move_on_after(timeout + _TIMEOUT_GRACE_SEC):
                result = await link.opened.client.call_tool(tool, message.arguments, read_timeout_seconds=timeout)
                return call_result_to_dict(result)
            return timed_out
        except MCPError as exc:
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                return timed_out
            if exc.code != mcp_types.CONNECTION_CLOSED:
                return McpCallError(f"tool call to `{server}/{tool}` failed: {describe(exc)}")
            error = exc
        except _CONNECTION_ERRORS as exc:
            error = exc
        except Exception as exc:
            return McpCallError(f"tool call to `{server}/{tool}` failed: {describe(exc)}")
        link.broken = True
        stderr = link.opened.stderr_tail()
        left = self.config.max_restarts - self._restarts
        next_step = (
            "it will be restarted on the next call"
            if left > 0
            else f"it will not be restarted (max_restarts = {self.config.max_restarts} used up)"
        )
        detail = f"{describe(error)}; stderr: {stderr}" if stderr else describe(error)
        return McpCallError(f"MCP server `{server}` went away during the call to `{tool}` ({detail}); {next_step}")


    async def _resource_outcome(self, link: _Link, message: ResourceRequest) -> dict[str, Any] | McpCallError:
        """The request's result in its MCP wire form (camelCase, unset fields left out), or the error: a server
        without resources answers "Method not found", which is reported as such."""
        assert link.opened is not None
        client, timeout = link.opened.client, self.config.tool_timeout_sec
        try:
            with trio.move_on_after(timeout):
                if message.method == "resources/list":
                    result: Any = await client.list_resources(cursor=message.cursor)
                elif message.method == "resources/templates/list":
                    result = await client.list_resource_templates(cursor=message.cursor)
                else:
                    result = await client.read_resource(str(message.uri))
                return result.model_dump(mode="json", by_alias=True, exclude_none=True)
            return McpCallError(f"{message.method} timed out after {timeout:g} seconds (tool_timeout_sec)")
        except Exception as exc:  # the model reads why; the connection's own breakage shows on the next call
            return McpCallError(describe(exc))


async def _list_all_tools(opened: OpenClient) -> list[mcp_types.Tool]:
    """Every tool, following `nextCursor` pages."""
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    while True:
        page = await opened.client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


async def call_tool(ref: ActorRef[Any], tool: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """Call `tool` through connection actor `ref` and return the CallToolResult dict
    (see `results.call_result_to_dict`). Raises McpCallError for anything that is not a result:
    timeout, server gone, restart limit reached, connection actor stopped."""
    return await _ticketed(ref, CallTool(tool, arguments), f"`{tool}`")


async def request_resources(ref: ActorRef[Any], request: ResourceRequest) -> dict[str, Any]:
    """Send one `ResourceRequest` through connection actor `ref`; the result dict (e.g. `{"resources": [...],
    "nextCursor": "..."}`, `{"contents": [...]}`). Raises McpCallError naming what failed."""
    return await _ticketed(ref, request, request.method)


async def _ticketed(ref: ActorRef[Any], message: CallTool | ResourceRequest, what: str) -> dict[str, Any]:
    """Ask `ref` for a ticket, wait for its outcome (cancelling the request if we stop waiting first)."""
    server = ref.name.removeprefix("mcp:")
    try:
        ticket: CallTicket = await ref.ask(message)
    except ActorDied:
        raise McpCallError(f"MCP server `{server}` is not running") from None
    answered = False
    try:
        async with ticket.reply:
            outcome = await ticket.reply.receive()
            answered = True
    except trio.EndOfChannel:
        raise McpCallError(f"MCP server `{server}` stopped before answering {what}") from None
    finally:
        if not answered:
            with contextlib.suppress(ActorDied, trio.WouldBlock):
                ref.send_nowait(CancelCall(ticket.call_no))
    if isinstance(outcome, McpCallError):
        raise outcome
    return outcome

"""The `codex-actors mcp-server` process: the official `mcp` SDK's low-level server on stdio, its two tools run
as turns of threads in one `ThreadManager` (see `tools.py` for the tools' arguments).

Streaming: while a turn runs, each engine event goes to the caller as an MCP progress notification
(`notifications/progress` for the call's `progressToken`, when the caller sent one) whose `message` is the
event as JSON (`{"type": "exec_command_begin", ...}`, the codex-rs `codex/event` payload). Approvals: the tools
default to approval policy `never`; with another policy, a command or patch that needs approval is declined
(there is no MCP elicitation here yet), so the stricter policy still takes effect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mcp_types as types
import trio
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from codex_actors.config import ConfigError
from codex_actors.mcp_server.tools import (
    CODEX_REPLY_TOOL, CODEX_TOOL, CodexCall, ToolArgumentError, parse_codex_call, parse_reply_call,
)
from codex_actors.protocol import events, ops
from codex_actors.threads import ThreadManager, UnknownThread, open_thread_manager

ORIGINATOR = "codex_mcp_server"


class McpFrontEnd:
    """The tool handlers over one thread manager. `overrides`: the process's `-c` values."""

    def __init__(self, manager: ThreadManager, overrides: list[str]) -> None:
        self.manager = manager
        self.overrides = overrides
        self.streams: dict[str, trio.MemoryReceiveChannel] = {}

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool.model_validate(CODEX_TOOL),
                                            types.Tool.model_validate(CODEX_REPLY_TOOL)])

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = dict(params.arguments or {})
        try:
            if params.name == "codex":
                call = parse_codex_call(args)
                thread_id, stream = await self._start(call)
                prompt = call.prompt
            elif params.name == "codex-reply":
                reply = parse_reply_call(args)
                thread_id, prompt = reply.thread_id, reply.prompt
                stream = self.streams.get(thread_id)
                if stream is None:
                    raise ToolArgumentError(f"no thread {thread_id} on this server (start one with the codex tool)")
            else:
                return _error(f"unknown tool {params.name!r}")
            return await self._run_turn(ctx, thread_id, stream, prompt)
        except (ToolArgumentError, ConfigError, UnknownThread) as exc:
            return _error(str(exc))

    async def _start(self, call: CodexCall) -> tuple[str, trio.MemoryReceiveChannel]:
        from codex_actors.config import load_config
        from codex_actors.runtime import RunOptions

        base = Path(call.cwd).expanduser() if call.cwd else Path(os.getcwd())
        config = await trio.to_thread.run_sync(
            lambda: load_config(cwd=base, overrides=self.overrides, flags=call.flags, profile=call.profile))
        options = RunOptions(originator=ORIGINATOR, source="mcp", base_instructions=call.base_instructions)
        handle = await self.manager.start(config, options)
        self.streams[handle.thread_id] = handle.events
        return handle.thread_id, handle.events

    async def _run_turn(self, ctx: Any, thread_id: str, stream: trio.MemoryReceiveChannel,
                        prompt: str) -> types.CallToolResult:
        token = (ctx.meta or {}).get("progress_token") if ctx is not None else None
        turn_id, _ = await self.manager.submit(thread_id, ops.UserInputOp(items=[ops.TextInput(prompt)]))
        last_message, error, progress = None, None, 0
        async for event in stream:
            msg = event.msg
            if token is not None:
                progress += 1
                await ctx.session.send_progress_notification(token, progress, message=json.dumps(
                    events.EVENT_MSGS.unstructure(msg), ensure_ascii=False), related_request_id=ctx.request_id)
            if isinstance(msg, (events.ExecApprovalRequest, events.ApplyPatchApprovalRequest)):
                op = (ops.ExecApproval(id=msg.approval_id or msg.call_id, decision="denied")
                      if isinstance(msg, events.ExecApprovalRequest) else ops.PatchApproval(id=msg.call_id, decision="denied"))
                await self.manager.submit(thread_id, op)
            elif isinstance(msg, events.AgentMessage):
                last_message = msg.message
            elif isinstance(msg, events.Error) and event.id == turn_id:
                error = msg.message
            elif isinstance(msg, events.TaskComplete) and event.id == turn_id:
                last_message = msg.last_agent_message or last_message
                break
            elif isinstance(msg, events.TurnAborted) and event.id == turn_id:
                error = f"turn aborted: {msg.reason}"
                break
        else:
            error = error or "the thread ended before the turn completed"
        text = error if error is not None else (last_message or "")
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content={"threadId": thread_id, "content": text},
                                    is_error=error is not None)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def serve_stdio(overrides: list[str]) -> None:
    """Serve MCP on stdin/stdout until stdin ends; every thread is shut down before this returns."""
    from codex_actors.runtime import CLI_VERSION

    async with open_thread_manager() as manager:
        front = McpFrontEnd(manager, overrides)
        server = Server("codex-actors-mcp-server", version=CLI_VERSION, on_list_tools=front.list_tools,
                        on_call_tool=front.call_tool)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

"""The `codex-actors mcp-server` process: the official `mcp` SDK's low-level server on stdio, its two tools run
as turns of threads in one `ThreadManager` (see `tools.py` for the tools' arguments).

Streaming: while a turn runs, each engine event goes to the caller as an MCP progress notification
(`notifications/progress` for the call's `progressToken`, when the caller sent one) whose `message` is the
event as JSON (`{"type": "exec_command_begin", ...}`, the codex-rs `codex/event` payload). Approvals: the tools
default to approval policy `never`; with another policy, a command or patch that needs approval is asked of the
client as an MCP elicitation, as codex-rs does (`approvals.py`; denied when the client cannot be asked); on
MCP 2026-07-28 the call returns `input_required` and its retry (`requestState`, one of `parked`) resumes the turn.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import attrs
import mcp_types as types
import trio
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from codex_actors.config import ConfigError
from codex_actors.mcp_server.approvals import (
    APPROVAL_INPUT,
    approval_request,
    ask_client,
    can_ask_in_round_trip,
    decision_of,
)
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
        self.parked: dict[str, ParkedApproval] = {}

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool.model_validate(CODEX_TOOL),
                                            types.Tool.model_validate(CODEX_REPLY_TOOL)])

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams
                        ) -> types.CallToolResult | types.InputRequiredResult:
        if params.request_state is not None:  # an MCP 2026-07-28 retry carrying the answer to an approval
            parked = self.parked.pop(params.request_state, None)
            if parked is None:
                return _error("unknown or already answered requestState")
            answer = (params.input_responses or {}).get(APPROVAL_INPUT)
            await self._answer(parked.thread_id, parked.request,
                               decision_of(answer) if isinstance(answer, types.ElicitResult) else "denied")
            return await self._run_turn(ctx, parked.turn)
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
            turn_id, _ = await self.manager.submit(thread_id, ops.UserInputOp(items=[ops.TextInput(prompt)]))
            return await self._run_turn(ctx, TurnProgress(thread_id, stream, turn_id))
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

    async def _answer(self, thread_id: str, msg: Any, decision: str) -> None:
        op = (ops.ExecApproval(id=msg.approval_id or msg.call_id, decision=decision)
              if isinstance(msg, events.ExecApprovalRequest) else ops.PatchApproval(id=msg.call_id, decision=decision))
        await self.manager.submit(thread_id, op)

    async def _run_turn(self, ctx: Any, turn: "TurnProgress") -> types.CallToolResult | types.InputRequiredResult:
        """Follow `turn` to its end, streaming events as progress; an approval on an MCP 2026-07-28 connection
        parks the turn and returns an `input_required` result whose retry resumes it here."""
        token = (ctx.meta or {}).get("progress_token") if ctx is not None else None
        async for event in turn.stream:
            msg = event.msg
            if token is not None:
                turn.progress += 1
                await ctx.session.send_progress_notification(token, turn.progress, message=json.dumps(
                    events.EVENT_MSGS.unstructure(msg), ensure_ascii=False), related_request_id=ctx.request_id)
            if isinstance(msg, (events.ExecApprovalRequest, events.ApplyPatchApprovalRequest)):
                if can_ask_in_round_trip(ctx):
                    state = uuid.uuid4().hex
                    self.parked[state] = ParkedApproval(turn.thread_id, msg, turn)
                    return types.InputRequiredResult(input_requests={APPROVAL_INPUT: approval_request(msg)},
                                                     request_state=state)
                await self._answer(turn.thread_id, msg, await ask_client(ctx, msg))
            elif isinstance(msg, events.AgentMessage):
                turn.last_message = msg.message
            elif isinstance(msg, events.Error) and event.id == turn.turn_id:
                turn.error = msg.message
            elif isinstance(msg, events.TaskComplete) and event.id == turn.turn_id:
                turn.last_message = msg.last_agent_message or turn.last_message
                break
            elif isinstance(msg, events.TurnAborted) and event.id == turn.turn_id:
                turn.error = f"turn aborted: {msg.reason}"
                break
        else:
            turn.error = turn.error or "the thread ended before the turn completed"
        text = turn.error if turn.error is not None else (turn.last_message or "")
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content={"threadId": turn.thread_id, "content": text},
                                    is_error=turn.error is not None)


@attrs.define
class TurnProgress:
    """What a tool call has seen of its turn so far (kept across the round trips of parked approvals)."""

    thread_id: str
    stream: trio.MemoryReceiveChannel
    turn_id: str
    last_message: str | None = None
    error: str | None = None
    progress: int = 0


@attrs.frozen
class ParkedApproval:
    """A turn waiting for the answer a client gives in its retry (`requestState` is the key)."""

    thread_id: str
    request: Any
    turn: TurnProgress


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

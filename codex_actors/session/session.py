"""The session actor: submissions in, events out (spec agent-core 1.1, 2.1, 2.4).

One task at a time. A `user_turn` / `user_input` starts a turn, or is steered into the running one; `interrupt`
cancels the running turn (its model stream and every tool call, whose cells and processes stop through their own
actors) and answers `turn_aborted`; `compact` runs a compaction task; `shutdown` stops the turn and every child
actor, then emits `shutdown_complete`. Approvals answer the tool call waiting on them, except `abort`, which
takes the interrupt path. `user_turn`, `user_input_with_turn_context` and `override_turn_context` change the
session's settings (`turn_context.py`); `add_to_history` / `get_history_entry_request` use `history.jsonl`;
`clean_background_terminals` kills the unified-exec processes left running.
"""

from __future__ import annotations

import inspect
import math
import uuid
from pathlib import Path
from contextlib import asynccontextmanager
from typing import Any, AsyncContextManager, AsyncIterator, Awaitable, Callable, Protocol

import trio

from codex_actors.tools.approvals.policy import approval_policy_json
from codex_actors.actors import Actor, ActorRef, start_actor
from codex_actors.protocol import events, items, ops
from codex_actors.protocol.events import Event
from codex_actors.session.approvals import ApprovalBroker, decision_tag
from codex_actors.session.history import History
from codex_actors.session.persistence.history import HistoryLog, HistoryMetadata
from codex_actors.session.settings import SessionSettings
from codex_actors.session.turn import USER_INPUT_OPS, TurnRunner, user_message_item
from codex_actors.session.turn_context import TurnContextError, apply_turn_context
from codex_actors.tools.router import ToolContext, ToolRouter
from codex_actors.tools.services import SessionServices


class Recorder(Protocol):
    """Where the session persists its rollout: items and events as they happen, a durable flush at turn end."""

    async def record_item(self, item: items.ResponseItem) -> None: ...

    async def record_event(self, msg: events.EventMsg) -> None: ...

    async def record_turn_context(self, payload: dict[str, Any]) -> None: ...

    async def flush(self) -> None: ...


BuildTools = Callable[[trio.Nursery, SessionServices], Awaitable[ToolRouter]]


class Session(Actor):
    """The session actor. Reach it through `SessionHandle` (see `open_session`).

    `client` is a model client with `stream(prompt)`; `build_tools(nursery, services)` starts the tool-owned
    actors (process manager, code-mode service, MCP connections) in the session's nursery, sets them on
    `services` (a `SessionServices`, the session's collaborators as typed attributes) and returns the router; `events_out` receives every `Event`; `recorder` (optional) persists the rollout.
    """

    name = "session"

    def __init__(
        self,
        settings: SessionSettings,
        *,
        client: Any,
        build_tools: BuildTools,
        events_out: trio.MemorySendChannel,
        recorder: Recorder | None = None,
        session_id: str | None = None,
        initial_history: list[items.ResponseItem] | None = None,
        on_turn_complete: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        prompt_history: HistoryLog | None = None,
    ) -> None:
        self.settings = settings
        self.prompt_history = prompt_history
        self.session_id = session_id or str(uuid.uuid4())
        self.client = client
        self._build_tools = build_tools
        self._events_out = events_out
        self.recorder = recorder
        self.history = History(initial_history or [])
        self.context_recorded = bool(initial_history)
        # `context_key` of what the model was last told (cwd, policies); None after a resume, where it is unknown.
        self.context_baseline: tuple[str, str, str] | None = None
        self.approvals = ApprovalBroker(self._emit_unscoped)
        self.on_turn_complete = on_turn_complete
        self.router: ToolRouter | None = None
        self.services = SessionServices(settings=settings, approvals=self.approvals, session_id=self.session_id,
                                        tool_context=self.tool_context, notify_from_cell=self.notify_from_cell)
        self._nursery: trio.Nursery | None = None
        self._task_scope: trio.CancelScope | None = None
        self._task_done: trio.Event | None = None
        self._turn: TurnRunner | None = None
        self.token_totals: Any = None
        self.startup_warnings: list[str] = []
        # Set once the first model request has gone out, or once the first task ended without one (issue 21).
        self.first_request_out = trio.Event()
        self.mcp_startup: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def background(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self.router = await self._build_tools(nursery, self.services)
        self.startup_warnings = list(self.services.startup_warnings)
        self.mcp_startup = self.services.mcp_startup
        nursery.start_soon(self._after_first_request, list(self.services.after_first_request))

    async def _after_first_request(self, jobs: list[Callable[[], Any]]) -> None:
        """Run what the tools deferred (code-mode pool, shell snapshot) once the first model request has gone
        out (the client's `request_sent` event; at once for a client without one), so that start-up work the
        request does not need never delays it (issue 21). A job may return an awaitable; each runs once."""
        sent = getattr(self.client, "request_sent", None)
        if sent is not None:
            await sent.wait()
        self.first_request_out.set()
        for job in jobs:
            result = job()
            if inspect.isawaitable(result):
                await result

    async def on_stop(self) -> None:
        if self.recorder is not None:
            await self.recorder.flush()

    # -- events ------------------------------------------------------------------------------------------

    async def emit(self, submission_id: str, msg: events.EventMsg | dict[str, Any]) -> None:
        """Send an event to the client (never blocks: the event queue is unbounded) and persist it.

        `msg` may also be the JSON object of an event (tool libraries that stay free of the protocol classes
        emit dicts); it is structured here, so a malformed one fails loudly at its source."""
        if isinstance(msg, dict):
            msg = events.EVENT_MSGS.structure(msg)
        try:
            self._events_out.send_nowait(Event(submission_id, msg))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client stopped listening; the rollout still gets it
        if self.recorder is not None:
            await self.recorder.record_event(msg)

    def tool_context(self, call_id: str = "") -> ToolContext:
        """The ToolContext of the turn running now ("" turn id between turns): for tool calls that outlive the
        turn that started them, such as nested calls of a code-mode cell."""
        turn_id = self._turn.turn_id if self._turn is not None else ""

        async def emit(msg: Any) -> None:
            runner = self._turn
            if runner is not None and runner.turn_id == turn_id:
                await runner.emit(msg)  # the turn tracks its patches for turn_diff
            else:
                await self.emit(turn_id, msg)

        return ToolContext(turn_id=turn_id, cwd=self.settings.cwd, emit=emit, services=self.services)

    async def notify_from_cell(self, cell_id: str, exec_call_id: str, text: str) -> None:
        """A cell's `notify(text)`: a `custom_tool_call_output` for its exec call, sent with the next request of
        the active turn (spec code-mode 2.2)."""
        if self._turn is None:
            raise RuntimeError(f"failed to inject exec notify message for cell {cell_id}: no active turn")
        self._turn.inject(items.CustomToolCallOutput(call_id=exec_call_id, output=text, name="exec"))

    async def notify_from_client(self, msg: events.EventMsg) -> None:
        """The model client's retry / fallback notices, attributed to the running turn."""
        await self._emit_unscoped(msg)

    async def _emit_unscoped(self, msg: events.EventMsg) -> None:
        turn_id = self._turn.turn_id if self._turn is not None else ""
        await self.emit(turn_id, msg)

    async def record(self, item: items.ResponseItem) -> None:
        """Append an item to history and to the rollout."""
        self.history.append(item)
        if self.recorder is not None:
            await self.recorder.record_item(item)

    # -- submissions -------------------------------------------------------------------------------------

    async def handle(self, message: ops.Submission) -> Any:
        op = message.op
        if isinstance(op, (ops.UserTurn, ops.OverrideTurnContext, ops.UserInputWithTurnContext)):
            try:
                self._set_settings(apply_turn_context(
                    self.settings, cwd=op.cwd, approval_policy=op.approval_policy, sandbox_policy=op.sandbox_policy,
                    model=op.model, effort=op.effort, summary=op.summary))
            except TurnContextError as exc:
                await self.emit(message.id, events.Error(message=str(exc), codex_error_info="bad_request"))
                return "rejected"
            if isinstance(op, ops.OverrideTurnContext):
                return "overridden"
        if isinstance(op, ops.SteerInput):
            return await self._steer(op.items) or "not_steerable"
        if isinstance(op, USER_INPUT_OPS):
            if await self._steer(op.items):
                return "steered"
            if self._turn is not None and self._task_done is not None and self._turn.user_turn:
                # A user turn past its last request is only writing its end: let it end, then start the next
                # turn with this input (steering it would lose the input; replacing it would abort a done turn).
                await self._task_done.wait()
            await self._start_task(message.id, op)
            return "started"
        if isinstance(op, ops.Interrupt):
            await self._interrupt()
            return "interrupted"
        if isinstance(op, (ops.ExecApproval, ops.PatchApproval)):
            return await self._answer_approval(op.id, op.decision)
        if isinstance(op, ops.Compact):
            await self._start_task(message.id, op)
            return "started"
        if isinstance(op, (ops.AddToHistory, ops.GetHistoryEntryRequest)):
            return await self._prompt_history_op(message.id, op)
        if isinstance(op, ops.CleanBackgroundTerminals):
            if self.services.processes is not None:
                await self.services.processes.aclose()
            return "cleaned"
        if isinstance(op, ops.Shutdown):
            await self._shutdown(message.id)
            return "shutdown"
        await self.emit(message.id, events.Error(message=f"unsupported op: {type(op).TYPE}"))
        return "unsupported"

    async def _prompt_history_op(self, sub_id: str, op: ops.AddToHistory | ops.GetHistoryEntryRequest) -> str:
        """`add_to_history` / `get_history_entry_request` against `history.jsonl` (spec 7.7). A failed write is
        a warning: the turn it belongs to goes on."""
        log = self.prompt_history
        if isinstance(op, ops.AddToHistory):
            if log is not None:
                try:
                    await log.append(self.session_id, op.text)
                except OSError as exc:
                    await self.emit(sub_id, events.Warning(message=f"history not saved: {exc}"))
            return "added"
        entry = await log.lookup(op.log_id, op.offset) if log is not None else None
        await self.emit(sub_id, events.GetHistoryEntryResponse(
            offset=op.offset, log_id=op.log_id,
            entry=None if entry is None else {"conversation_id": entry.session_id, "ts": entry.ts, "text": entry.text}))
        return "answered"

    def _set_settings(self, settings: SessionSettings) -> None:
        """Adopt new settings: tools read them from `services.settings` at each call, the client takes the model at each
        request (a running turn sees the change from its next tool call or request on)."""
        if settings is self.settings:
            return
        if settings.model != self.settings.model and hasattr(self.client, "model"):
            self.client.model = settings.model
        self.settings = settings
        self.services.settings = settings

    async def _steer(self, inputs: list[ops.UserInput]) -> str | None:
        """Queue `inputs` for the running turn's next request: "steered", or None when no turn takes input."""
        if self._turn is None or not self._turn.accepts_steering:
            return None
        item = await user_message_item(inputs)
        # Reading images awaits a worker thread: the turn may have ended meanwhile.
        if self._turn is None or not self._turn.accepts_steering:
            return None
        self._turn.steer(item)
        return "steered"

    async def _start_task(self, sub_id: str, op: Any) -> None:
        if self._task_scope is not None:
            await self._abort_task("replaced")
        runner = TurnRunner(self, sub_id, op)
        self._turn = runner
        done = trio.Event()
        self._task_done = done
        scope = trio.CancelScope()
        self._task_scope = scope

        async def task() -> None:
            try:
                with scope:
                    await runner.run()
            finally:
                with trio.CancelScope(shield=True):
                    if scope.cancelled_caught or runner.abort_reason is not None:
                        await runner.finish_aborted(runner.abort_reason or "interrupted")
                if self._turn is runner:
                    self._turn = None
                    self._task_scope = None
                self.first_request_out.set()
                done.set()

        assert self._nursery is not None
        self._nursery.start_soon(task, name=f"turn {sub_id}")

    async def _abort_task(self, reason: str) -> None:
        if self._task_scope is None or self._turn is None or self._task_done is None:
            return
        self._turn.abort_reason = reason
        self._task_scope.cancel()
        await self._task_done.wait()

    async def _interrupt(self) -> None:
        await self._abort_task("interrupted")

    async def _answer_approval(self, approval_id: str, decision: Any) -> str:
        """Hand a decision to the call waiting on it; `abort` interrupts the whole turn instead (spec 1.3, 2.4),
        so the waiting call ends as every interrupted call does ("aborted by user after X.Xs")."""
        if not self.approvals.waiting(approval_id):
            return "unknown"
        if decision_tag(decision) == "abort":
            await self._abort_task("interrupted")
            if not self.approvals.waiting(approval_id):
                return "aborted"
        return "resolved" if self.approvals.resolve(approval_id, decision) else "unknown"

    async def _shutdown(self, sub_id: str) -> None:
        await self._abort_task("interrupted")
        # Stop every tool-owned actor (cells, processes, MCP connections) before saying we are done.
        await self.services.aclose()
        if self.recorder is not None:
            await self.recorder.flush()
        await self.emit(sub_id, events.ShutdownComplete())
        assert self._nursery is not None
        self._nursery.cancel_scope.cancel()


class SessionHandle:
    """The client's side of a session: `submit(op)` returns the submission id; `events` yields `Event`s."""

    def __init__(self, ref: ActorRef, events_in: trio.MemoryReceiveChannel, session: Session) -> None:
        self._ref = ref
        self.events = events_in
        self.session_id = session.session_id
        self._session = session
        self.rollout_path: Path | None = None  # set by whoever attached a rollout recorder

    async def submit(self, op: ops.Op, *, submission_id: str | None = None) -> str:
        """Queue `op`; returns its submission id (a fresh UUID unless given). Raises ActorDied after shutdown."""
        sub_id = submission_id or str(uuid.uuid4())
        await self._ref.ask(ops.Submission(sub_id, op))
        return sub_id

    async def first_request_out(self) -> None:
        """Return once the session's first model request has gone out (or its first task ended without one): what
        a client does not need before that, such as loading its renderer, can wait until then (issue 21)."""
        await self._session.first_request_out.wait()

    async def ask(self, op: ops.Op, *, submission_id: str | None = None) -> tuple[str, Any]:
        """Like `submit`, also returning the session's answer: "started" | "steered" | "not_steerable" |
        "rejected" | "interrupted" | "resolved" | "unknown" | ... (see `Session.handle`)."""
        sub_id = submission_id or str(uuid.uuid4())
        return sub_id, await self._ref.ask(ops.Submission(sub_id, op))

    async def next_event(self) -> Event:
        return await self.events.receive()

    async def wait_for(self, event_type: type, *, timeout: float = 30.0) -> list[Event]:
        """Collect events until one whose msg is an `event_type` arrives (inclusive); raises trio.TooSlowError."""
        seen = []
        with trio.fail_after(timeout):
            async for event in self.events:
                seen.append(event)
                if isinstance(event.msg, event_type):
                    return seen
        raise EOFError(f"event stream ended before {event_type.__name__}")

    @property
    def history(self) -> list[items.ResponseItem]:
        """A snapshot of the conversation history (read-only view for tests and /status)."""
        return list(self._session.history.items)


OpenClient = Callable[[Callable[[events.EventMsg], Awaitable[None]]], AsyncContextManager[Any]]


@asynccontextmanager
async def open_session(
    settings: SessionSettings,
    *,
    open_client: OpenClient,
    build_tools: BuildTools,
    recorder: Recorder | None = None,
    session_id: str | None = None,
    initial_history: list[items.ResponseItem] | None = None,
    on_turn_complete: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    prompt_history: HistoryLog | None = None,
) -> AsyncIterator[SessionHandle]:
    """Start a session actor in its own nursery; on exit, shut it down (every child actor stopped).

    `open_client(notify)` opens the model client (an async context manager yielding an object with
    `stream(prompt)`); `notify` forwards the client's retry and fallback notices into the event stream.
    `prompt_history` is the `history.jsonl` log (spec 7.7): `SessionConfigured` reports its inode and entry
    count (0, 0 without one), and the history ops read and append it.
    """
    send, recv = trio.open_memory_channel(math.inf)
    session = Session(settings, client=None, build_tools=build_tools, events_out=send, recorder=recorder,
                      session_id=session_id, initial_history=initial_history, on_turn_complete=on_turn_complete,
                      prompt_history=prompt_history)
    metadata = await prompt_history.metadata() if prompt_history is not None else HistoryMetadata(0, 0)
    async with trio.open_nursery() as nursery, open_client(session.notify_from_client) as client:
        session.client = client
        ref = await start_actor(nursery, session)
        handle = SessionHandle(ref, recv, session)
        await session.emit("", events.SessionConfigured(
            session_id=session.session_id,
            model=settings.model,
            model_provider_id=settings.provider_id,
            approval_policy=approval_policy_json(settings.approval_policy),
            sandbox_policy=settings.sandbox_policy,
            cwd=settings.cwd,
            history_log_id=metadata.log_id,
            history_entry_count=metadata.entry_count,
        ))
        for message in session.startup_warnings:
            await session.emit("", events.Warning(message=message))
        if session.mcp_startup is not None:
            # The servers started while the tools were built, before SessionConfigured: report where they ended.
            ready, failed = session.mcp_startup
            for server in ready:
                await session.emit("", events.McpStartupUpdate(server=server, status={"state": "ready"}))
            for server, error in failed:
                await session.emit("", events.McpStartupUpdate(server=server,
                                                               status={"state": "failed", "error": error}))
            await session.emit("", events.McpStartupComplete(
                ready=list(ready), failed=[{"server": server, "error": error} for server, error in failed]))
        try:
            yield handle
        finally:
            with trio.CancelScope(shield=True):
                if not ref.stopped:
                    try:
                        await ref.ask(ops.Submission(str(uuid.uuid4()), ops.Shutdown()), timeout=10)
                    except Exception:  # noqa: BLE001 - already stopped or crashed; stop() below settles it
                        pass
                await ref.stop()

"""The cell actor: a trio task that owns one CellCore, its runtime, the yield deadline and the nested-call set.

Everything reaches the cell through one unbounded inbox, processed in order: requests from the service
(observe, detach, terminate) and the runtime's events (the runtime's sink *is* this inbox). Nested tool calls and
notifications run as tasks in the cell's nursery; terminate and completion cancel them with a grace of
`CALLBACK_CANCELLATION_GRACE_S` (spec code-mode.md 3.2 step 3, 3.5 step 4).
"""

from __future__ import annotations

import collections
import json
import math
from typing import Any, Awaitable, Callable, Hashable, Sequence

import attrs
import trio

from codex_actors.codemode import runtime as rt
from codex_actors.codemode.core import CellCore, CellError, missing_cell
from codex_actors.codemode.description import render_code_mode_sample
from codex_actors.codemode.tools_spec import FREEFORM, NestedToolCall, NestedToolError, NestedToolSpec

CALLBACK_CANCELLATION_GRACE_S = 0.1
TOOL_CANCELLED = "code mode nested tool call cancelled"

Dispatcher = Callable[[NestedToolCall], Awaitable[Any]]
Notifier = Callable[[str, str, str], Awaitable[None]]


@attrs.frozen
class Observe:
    target: Hashable
    yield_time_ms: int
    reply: trio.MemorySendChannel


@attrs.frozen
class Detach:
    """The observer `target` was cancelled; `reply` is the receiving end of its reply channel, so an answer sent
    before this message was handled is taken back and its output restored (spec 3.2 step 6)."""

    target: Hashable
    reply: trio.MemoryReceiveChannel | None = None


@attrs.frozen
class Terminate:
    target: Hashable
    reply: trio.MemorySendChannel | None


@attrs.frozen
class _TimerFired:
    target: Hashable


@attrs.frozen
class _CompletionReady:
    pass


@attrs.frozen
class _TerminationDone:
    pass



_DECLARATIONS: dict[int, tuple[Sequence[NestedToolSpec], list[dict[str, str]]]] = {}
_DECLARATIONS_KEPT = 8


def tool_declarations(tools: Sequence[NestedToolSpec]) -> list[dict[str, str]]:
    """`[{name, description}]` for the cell's `ALL_TOOLS`, rendered once per tool set: hosts pass the same
    sequence object for every exec of a session, and rendering 128 declarations costs more than an exec."""
    cached = _DECLARATIONS.get(id(tools))
    if cached is not None and cached[0] is tools:
        return cached[1]
    rendered = [{"name": t.global_name, "description": render_code_mode_sample(t)} for t in tools]
    if len(_DECLARATIONS) >= _DECLARATIONS_KEPT:
        _DECLARATIONS.pop(next(iter(_DECLARATIONS)))
    _DECLARATIONS[id(tools)] = (tools, rendered)  # the strong reference keeps id(tools) from being reused
    return rendered

class Cell:
    """One `exec` invocation (spec 3.1). Start with `nursery.start_soon(cell.run)`; talk to it with `post(msg)`.

    `commit(writes)` merges stored-value writes on natural completion (spec 5.2); `on_closed(cell_id)` is called
    once the outcome that closes the cell has been handed out.
    """

    def __init__(
        self,
        cell_id: str,
        runtime: rt.V8Runtime,
        *,
        code: str,
        tools: Sequence[NestedToolSpec],
        stored: dict[str, str],
        dispatcher: Dispatcher,
        notifier: Notifier | None,
        exec_call_id: str,
        commit: Callable[[dict[str, str]], None],
        on_closed: Callable[[str], None],
        declarations: list[dict[str, str]] | None = None,
        unclaimed: dict[str, Any] | None = None,
    ):
        self.cell_id = cell_id
        self.runtime = runtime
        self._code = code
        self._tools = list(tools)
        self._declarations = declarations if declarations is not None else tool_declarations(tools)
        self._stored = stored
        self._dispatcher = dispatcher
        self._notifier = notifier
        self._exec_call_id = exec_call_id
        self._commit = commit
        self._on_closed = on_closed
        # The service's store of final answers whose observer was cancelled before reading them (see `post`).
        self._unclaimed = unclaimed if unclaimed is not None else {}
        self._core = CellCore(cell_id)
        self._inbox_send, self._inbox = trio.open_memory_channel(math.inf)
        # Requests taken out of the inbox early (see `_TimerFired`), handled next, in their order.
        self._later: collections.deque = collections.deque()
        self._replies: dict[Hashable, trio.MemorySendChannel] = {}
        self._tools_running = _CallbackSet()
        self._notifies = _CallbackSet()
        self._nursery: trio.Nursery | None = None
        self._submitted = False
        self.stopped = trio.Event()
        self.stopped_callback: Callable[["Cell"], None] | None = None

    def post(self, message: Any) -> None:
        """Deliver a request to the cell without waiting (never blocks; a closed cell drops it)."""
        try:
            self._inbox_send.send_nowait(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            # The cell is closed. Its final answer may have gone to an observer that was cancelled before reading
            # it (the Detach saying so arrives here, after the close): it is kept for the next observer, so a
            # cancelled observer consumes nothing (spec 3.2 step 6).
            if isinstance(message, Detach):
                answer = _unread(message.reply)
                if answer is not None:
                    self._unclaimed[self.cell_id] = answer
            elif isinstance(message, (Observe, Terminate)) and message.reply is not None:
                message.reply.send_nowait(self._unclaimed.pop(self.cell_id, None) or missing_cell(self.cell_id))

    def submit(self) -> None:
        """Hand the job to the runtime (once; `run` does it if the owner did not, before starting it, so V8
        works while the cell's task is being scheduled). Its events wait in the inbox for `run`."""
        if not self._submitted:
            self._submitted = True
            self.runtime.submit(rt.Job(self._code, self._declarations, self._stored, self._inbox_send))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:  # from here on this task closes the runtime, however it ends
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.submit()
                task_status.started()
                while not self._core.closed:
                    self._handle(await self._next_message())
                    while self._later and not self._core.closed:
                        self._handle(self._later.popleft())
                # The observer was just handed the closing answer and runs in the next scheduling batch: wait
                # two batches so it returns before the close below (about 0.15 ms of the trio thread's time after
                # a pause) delays it.
                await trio.lowlevel.cancel_shielded_checkpoint()
                await trio.lowlevel.cancel_shielded_checkpoint()
                await self._tools_running.cancel_all(CALLBACK_CANCELLATION_GRACE_S)
                await self._notifies.cancel_all(CALLBACK_CANCELLATION_GRACE_S)
                nursery.cancel_scope.cancel()
        finally:
            self._inbox_send.close()
            for message in [*self._later, *_pending(self._inbox)]:
                self.post(message)
            with trio.CancelScope(shield=True):
                await self.runtime.close()
            self.stopped.set()
            if self.stopped_callback is not None:
                self.stopped_callback(self)

    # ---- message handling (one at a time) -----------------------------------------------------------------

    def _handle(self, message: Any, now: float | None = None) -> None:
        now = trio.current_time() if now is None else now
        core = self._core
        if isinstance(message, (Observe, _TimerFired)) and self._check_heap():
            if isinstance(message, _TimerFired):
                return
        if isinstance(message, Observe):
            self._replies[message.target] = message.reply
            try:
                self._answer(core.attach(message.target, message.yield_time_ms, now))
            except CellError as exc:
                self._reply(message.target, exc)
        elif isinstance(message, Detach):
            core.detach(message.target)
            unread = _unread(message.reply)
            if unread is not None:
                core.restore(unread)
            self._replies.pop(message.target, None)
        elif isinstance(message, Terminate):
            if message.reply is not None:
                self._replies[message.target] = message.reply
            try:
                answers = core.request_terminate(message.target)
            except CellError as exc:
                self._reply(message.target, exc)
                return
            if answers:
                self._answer(answers)
            else:
                # Interrupt JS now, in this step: the isolate thread stops the script and runs its last callback
                # while the scheduler gets `_terminate` (which frees the context) going.
                self.runtime.terminate()
                assert self._nursery is not None
                self._nursery.start_soon(self._terminate)
        elif isinstance(message, _TimerFired):
            # Output JS wrote before the deadline but has not handed over (a busy loop never does) counts as
            # produced before it; so do the runtime's events already waiting in the inbox, which JS sent before
            # that output (a `yield_control()` there must not be overtaken by the text written after it).
            for event in [*self._runtime_events_waiting(), *self.runtime.drain_now()]:
                self._handle(event, -math.inf)
            self._answer(core.timer_fired(message.target, now))
        elif isinstance(message, rt.Started):
            self._answer(core.started(now))
        elif isinstance(message, rt.ItemProduced):
            self._answer(core.item(message.item, now))
        elif isinstance(message, rt.YieldRequested):
            self._answer(core.yield_requested(now))
        elif isinstance(message, rt.NotifyRequested):
            self._start_callback(self._notify(message.text), self._notifies)
        elif isinstance(message, rt.ToolRequested):
            self._start_callback(self._call_tool(message), self._tools_running)
        elif isinstance(message, rt.ScriptFinished):
            if message.error_text is None or not self.runtime.heap_limit_reached():
                error_text = message.error_text
            else:
                error_text = rt.heap_limit_message(self.runtime.max_heap_bytes)
            self._answer(core.finished(error_text, message.writes, now))
            if self._tools_running.idle and self._notifies.idle:
                self._handle(_CompletionReady())  # nothing to drain or cancel: complete now
            else:
                assert self._nursery is not None
                self._nursery.start_soon(self._settle_callbacks)
        elif isinstance(message, _CompletionReady):
            answers, writes = core.complete()
            if writes:
                self._commit(writes)
            self._answer(answers)
        elif isinstance(message, _TerminationDone):
            self._answer(core.terminated())

    def _runtime_events_waiting(self) -> list[rt.RuntimeEvent]:
        """Take every message waiting in the inbox: the runtime's events are returned, in order; the others
        (requests, posted after the message being handled) go to `_later`."""
        events = []
        for message in _pending(self._inbox):
            if isinstance(message, rt.RuntimeEvent):
                events.append(message)
            else:
                self._later.append(message)
        return events

    def _check_heap(self) -> bool:
        """V8 stops a script that hits the heap limit without any callback, so look at observation points.

        Returns True when the cell just failed that way; its completion then answers the observer (it happened
        before the deadline that brought us here, so the yield timer does not fire)."""
        if self._core.phase.value != "running" or not self.runtime.heap_limit_reached():
            return False
        self._answer(self._core.finished(rt.heap_limit_message(self.runtime.max_heap_bytes), {}, -math.inf))
        assert self._nursery is not None
        self._nursery.start_soon(self._settle_callbacks)
        return True

    def _answer(self, answers: list) -> None:
        for target, outcome in answers:
            self._reply(target, outcome)
        if self._core.closed:
            self._on_closed(self.cell_id)

    def _reply(self, target: Hashable, outcome: Any) -> None:
        reply = self._replies.pop(target, None)
        if reply is not None:
            try:
                reply.send_nowait(outcome)
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.WouldBlock):
                pass

    # ---- yield timer --------------------------------------------------------------------------------------

    async def _next_message(self) -> Any:
        """The next message of the inbox, or `_TimerFired` once the observer's yield deadline passes first. The
        deadline bounds the wait itself: no timer task to start and cancel for each observation. A message already
        waiting is taken without a scheduling round (each costs about 0.1 ms of the trio thread after a pause, and
        one batch from V8 brings several: an exec's output and its completion)."""
        deadline = self._core.deadline
        if deadline is None or trio.current_time() < deadline:
            try:
                return self._inbox.receive_nowait()
            except trio.WouldBlock:
                pass
        if deadline is None:
            return await self._inbox.receive()
        target = self._core.observer_target
        with trio.move_on_at(deadline):
            return await self._inbox.receive()
        return _TimerFired(target)

    # ---- callbacks: nested tools and notifications ---------------------------------------------------------

    def _start_callback(self, coro: Any, callbacks: "_CallbackSet") -> None:
        assert self._nursery is not None
        callbacks.start(self._nursery, coro)

    async def _call_tool(self, request: rt.ToolRequested) -> None:
        ok, payload = True, None
        try:
            call = self._build_call(self._tools[request.tool_index], request)
            result = await self._dispatcher(call)
            payload = json.dumps(result)
        except NestedToolError as exc:
            ok, payload = False, json.dumps(str(exc))
        except Exception as exc:  # noqa: BLE001 - the JS side sees the message, never a traceback
            ok, payload = False, json.dumps(str(exc) or type(exc).__name__)
        self.runtime.deliver(request.call_id, ok, payload)

    def _build_call(self, spec: NestedToolSpec, request: rt.ToolRequested) -> NestedToolCall:
        if spec.namespace is None and spec.name == "exec":
            raise NestedToolError("exec cannot invoke itself")
        value = None if request.input_json is None else json.loads(request.input_json)
        if spec.kind == FREEFORM:
            if not isinstance(value, str):
                raise NestedToolError(f"tool `{spec.name}` expects a string input")
            text = value
        elif request.input_json is None:
            text = "{}"
        elif isinstance(value, dict):
            text = request.input_json
        else:
            raise NestedToolError(f"tool `{spec.name}` expects a JSON object for arguments")
        return NestedToolCall(self.cell_id, request.call_id, spec.name, spec.namespace, spec.kind, text)

    async def _notify(self, text: str) -> None:
        if self._notifier is not None and text.strip():
            await self._notifier(self.cell_id, self._exec_call_id, text)

    async def _settle_callbacks(self) -> None:
        """Natural completion: let notifications finish, cancel nested calls (grace), then commit (spec 3.2)."""
        await self._notifies.wait_idle()
        await self._tools_running.cancel_all(CALLBACK_CANCELLATION_GRACE_S)
        self.post(_CompletionReady())

    async def _terminate(self) -> None:
        assert self._nursery is not None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._tools_running.cancel_all, CALLBACK_CANCELLATION_GRACE_S)
            nursery.start_soon(self._notifies.cancel_all, CALLBACK_CANCELLATION_GRACE_S)
            # Answer once the isolate thread is gone; the rest of the free runs on in the cell's nursery, which
            # `run` leaves only after it (so the cell stops only once the context is freed).
            await self.runtime.stop(self._nursery)
        self.post(_TerminationDone())


class _CallbackSet:
    """Running callback tasks (nested tool calls or notifications), each under its own cancel scope."""

    def __init__(self) -> None:
        self._scopes: set[trio.CancelScope] = set()
        self._idle = trio.Event()
        self._idle.set()

    def start(self, nursery: trio.Nursery, coro: Any) -> None:
        scope = trio.CancelScope()
        self._scopes.add(scope)
        self._idle = trio.Event() if self._idle.is_set() else self._idle

        async def body() -> None:
            try:
                with scope:
                    await coro
            finally:
                self._scopes.discard(scope)
                if not self._scopes:
                    self._idle.set()

        nursery.start_soon(body)

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        """Wait until no callback of this set is running."""
        while not self._idle.is_set():
            await self._idle.wait()

    async def cancel_all(self, grace_s: float) -> None:
        """Cancel every callback, then wait at most `grace_s` seconds for them to unwind."""
        for scope in self._scopes:
            scope.cancel()
        with trio.move_on_after(grace_s):
            await self.wait_idle()


def _unread(channel: trio.MemoryReceiveChannel | None) -> Any:
    if channel is None:
        return None
    try:
        return channel.receive_nowait()
    except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
        return None


def _pending(channel: trio.MemoryReceiveChannel) -> list:
    out = []
    while True:
        try:
            out.append(channel.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return out

"""The thread manager: one actor owning many live threads (a thread = a session actor with its rollout).

`exec`, `app-server` and `mcp-server` all run their sessions through it, so headless, SDK and MCP behaviour
cannot drift apart (as codex-rs's `ThreadManager` serves its exec, app-server and mcp-server front ends).

    async with open_thread_manager() as threads:
        thread = await threads.start(config, RunOptions(...))     # or resume(...) / fork(...)
        events = await threads.subscribe(thread.thread_id)        # any number of listeners per thread
        turn_id, answer = await threads.submit(thread.thread_id, ops.UserTurn(...))
        async for event in thread.events: ...                     # the starter's own subscription
        await threads.close(thread.thread_id)                     # session shut down, rollout flushed

Rules:
- Each thread runs in a task of the manager's nursery: `open_configured_session` (runtime.py) plus a forwarder
  that copies every session `Event`, in order, to each subscriber channel (unbounded, like the session's own
  event queue, so a slow listener never stalls a turn). A subscriber that closes its channel is dropped.
- A thread ends on `close`, when the manager stops (threads are closed one by one first, each session shutting
  down normally, before the actor is cancelled), or when its session fails; then every subscriber channel
  is closed (end of stream). A failing thread never takes the manager or the other threads down.
- Ops and events are routed by thread id; an unknown id raises `UnknownThread`.
"""

from __future__ import annotations

import math
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import attrs
import trio

from codex_actors.actors import Actor, ActorRef, start_actor
from codex_actors.config import Config
from codex_actors.protocol import ops
from codex_actors.protocol.events import Event


CLOSE_ALL_TIMEOUT_S = 30.0


class UnknownThread(LookupError):
    """No live thread has this id (never started here, closed, or failed)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread not loaded: {thread_id}")
        self.thread_id = thread_id


@attrs.frozen
class ThreadInfo:
    """What a started thread is: `thread_id`, `rollout_path` (None when ephemeral; the file appears with its
    first recorded item), `config` it was started with, `options` (runtime.RunOptions)."""

    thread_id: str
    rollout_path: Path | None
    config: Config
    options: Any


@attrs.frozen
class ThreadHandle:
    """A live thread as its starter sees it: `info`, its own event subscription `events` (a
    MemoryReceiveChannel of session `Event`s, ending when the thread ends) and `submit`, routed through the
    manager. Same `events` / `submit` surface as `SessionHandle`, so drivers work on either."""

    info: ThreadInfo
    events: trio.MemoryReceiveChannel
    manager: Any  # ThreadManager (None only inside the actor, before the handle is handed out)
    # `await first_request_out()` returns once the thread's first model request has gone out (the session's
    # `SessionHandle.first_request_out`): what a driver does not need before then can wait (issue 21).
    first_request_out: Callable[[], Awaitable[None]] = attrs.field(default=None, repr=False)

    @property
    def thread_id(self) -> str:
        return self.info.thread_id

    async def submit(self, op: ops.Op, *, submission_id: str | None = None) -> str:
        """Queue `op` on this thread; returns its submission id (the turn id for a turn)."""
        sub_id, _ = await self.manager.submit(self.thread_id, op, submission_id=submission_id)
        return sub_id


# -- messages ---------------------------------------------------------------------------------------------


@attrs.frozen
class _Start:
    config: Config
    options: Any


@attrs.frozen
class _Submit:
    thread_id: str
    op: ops.Op
    submission_id: str | None


@attrs.frozen
class _Subscribe:
    thread_id: str


@attrs.frozen
class _Attach:
    thread_id: str


@attrs.frozen
class _Close:
    thread_id: str


@attrs.frozen
class _Release:
    thread_id: str


@attrs.frozen
class _Live:
    pass


@attrs.frozen
class _CloseAll:
    pass


@attrs.frozen
class _Failed:
    """An exception to re-raise in the caller (the manager itself carries on)."""

    error: BaseException


@attrs.define
class _LiveThread:
    info: ThreadInfo
    session: Any  # SessionHandle
    subscribers: list[trio.MemorySendChannel]
    first_events: trio.MemoryReceiveChannel | None = None
    holders: int = 1  # the starter plus every `attach`; `release` closes the thread at zero
    stop: trio.Event = attrs.field(factory=trio.Event)
    done: trio.Event = attrs.field(factory=trio.Event)


class _ThreadManagerActor(Actor):
    name = "thread-manager"

    def __init__(self) -> None:
        self._threads: dict[str, _LiveThread] = {}
        self._nursery: trio.Nursery | None = None

    async def background(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    async def handle(self, message: Any) -> Any:
        try:
            if isinstance(message, _Start):
                return await self._start(message)
            if isinstance(message, _Submit):
                return await self._live(message.thread_id).session.ask(message.op,
                                                                       submission_id=message.submission_id)
            if isinstance(message, _Subscribe):
                return self._subscribe(self._live(message.thread_id))
            if isinstance(message, _Attach):
                live = self._live(message.thread_id)
                live.holders += 1
                return ThreadHandle(live.info, self._subscribe(live), manager=None)
            if isinstance(message, _Release):
                live = self._threads.get(message.thread_id)
                if live is None:
                    return False
                live.holders -= 1
                if live.holders > 0:
                    return False
                message = _Close(message.thread_id)
            if isinstance(message, _Close):
                live = self._threads.get(message.thread_id)
                if live is None:
                    return False
                live.stop.set()
                await live.done.wait()
                return True
            if isinstance(message, _Live):
                return [live.info for live in self._threads.values()]
            if isinstance(message, _CloseAll):
                for live in list(self._threads.values()):
                    live.stop.set()
                    await live.done.wait()
                return None
        except Exception as exc:  # noqa: BLE001 - handed back to the caller; one bad request never kills us
            return _Failed(exc)
        raise TypeError(f"thread manager got an unknown message {message!r}")

    def _live(self, thread_id: str) -> _LiveThread:
        live = self._threads.get(thread_id)
        if live is None:
            raise UnknownThread(thread_id)
        return live

    @staticmethod
    def _subscribe(live: _LiveThread) -> trio.MemoryReceiveChannel:
        send, recv = trio.open_memory_channel(math.inf)
        live.subscribers.append(send)
        return recv

    async def _start(self, message: _Start) -> ThreadHandle:
        assert self._nursery is not None
        live: _LiveThread = await self._nursery.start(self._run_thread, message.config, message.options)
        return ThreadHandle(live.info, live.first_events, manager=None,
                            first_request_out=live.session.first_request_out)

    async def _run_thread(self, config: Config, options: Any, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from codex_actors.runtime import open_configured_session

        live: _LiveThread | None = None
        try:
            async with open_configured_session(config, options) as session:
                info = ThreadInfo(session.session_id, session.rollout_path, config, options)
                send, recv = trio.open_memory_channel(math.inf)
                live = _LiveThread(info, session, [send], first_events=recv)
                self._threads[info.thread_id] = live
                task_status.started(live)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._forward, live)
                    await live.stop.wait()
                    nursery.cancel_scope.cancel()
        except Exception:
            if live is None:
                raise  # a start-up failure: `nursery.start` hands it to `_start`, and so to the caller
            # A session that fails after start ends this thread only; its listeners see the stream end.
        finally:
            if live is not None:
                self._threads.pop(live.info.thread_id, None)
                for send in live.subscribers:
                    send.close()
                live.done.set()

    @staticmethod
    async def _forward(live: _LiveThread) -> None:
        async for event in live.session.events:
            for send in list(live.subscribers):
                try:
                    send.send_nowait(event)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    live.subscribers.remove(send)


class ThreadManager:
    """The client side of the thread manager actor (see the module docstring). Every method is one `ask`;
    errors raised by the work (ConfigError, RolloutError, UnknownThread, ...) are re-raised here."""

    def __init__(self, ref: ActorRef) -> None:
        self._ref = ref

    async def _ask(self, message: Any) -> Any:
        answer = await self._ref.ask(message)
        if isinstance(answer, _Failed):
            raise answer.error
        return answer

    async def start(self, config: Config, options: Any = None) -> ThreadHandle:
        """Start a thread for `config` with `options` (runtime.RunOptions: `resume=` continues a rollout under
        its id, `fork_from=` copies a rollout's history into a new thread). Returns once the session is ready.
        Raises ConfigError (bad provider, missing API key) and RolloutError / OSError (unreadable rollout)."""
        from codex_actors.runtime import RunOptions

        handle: ThreadHandle = await self._ask(_Start(config, options if options is not None else RunOptions()))
        return attrs.evolve(handle, manager=self)

    async def resume(self, config: Config, rollout: Path, options: Any = None) -> ThreadHandle:
        """Start a thread continuing the rollout at `rollout` (same thread id, appending to that file)."""
        from codex_actors.runtime import RunOptions

        return await self.start(config, attrs.evolve(options or RunOptions(), resume=rollout))

    async def fork(self, config: Config, rollout: Path, options: Any = None) -> ThreadHandle:
        """Start a new thread (new id, new rollout) whose history is that of the rollout at `rollout`."""
        from codex_actors.runtime import RunOptions

        return await self.start(config, attrs.evolve(options or RunOptions(), fork_from=rollout, resume=None))

    async def submit(self, thread_id: str, op: ops.Op, *, submission_id: str | None = None) -> tuple[str, Any]:
        """Send `op` to the thread's session: (submission id, the session's answer, e.g. "started" /
        "steered" / "rejected"). Raises UnknownThread."""
        return await self._ask(_Submit(thread_id, op, submission_id))

    async def subscribe(self, thread_id: str) -> trio.MemoryReceiveChannel:
        """A new channel receiving every later `Event` of the thread; closed when the thread ends. Close it
        to unsubscribe. Raises UnknownThread."""
        return await self._ask(_Subscribe(thread_id))

    async def attach(self, thread_id: str) -> ThreadHandle:
        """A handle on a thread that is already live (started by someone else), with its own subscription:
        the way a second client joins a thread instead of starting a second session on its rollout.
        Raises UnknownThread."""
        handle: ThreadHandle = await self._ask(_Attach(thread_id))
        return attrs.evolve(handle, manager=self)

    async def release(self, thread_id: str) -> bool:
        """Let go of a thread this caller started or attached to; the last holder's release closes it (as
        `close`). True when this closed it."""
        return await self._ask(_Release(thread_id))

    async def close(self, thread_id: str) -> bool:
        """Shut the thread's session down (turn interrupted, child actors stopped, rollout flushed); returns
        after it has. False when no such thread was live."""
        return await self._ask(_Close(thread_id))

    async def live(self) -> list[ThreadInfo]:
        """The live threads, in start order."""
        return await self._ask(_Live())

    async def is_live(self, thread_id: str) -> bool:
        return any(info.thread_id == thread_id for info in await self.live())


@asynccontextmanager
async def open_thread_manager() -> AsyncIterator[ThreadManager]:
    """A running thread manager; on exit every live thread is shut down (sessions stopped, rollouts flushed)
    before this returns."""
    async with trio.open_nursery() as nursery:
        actor = _ThreadManagerActor()
        ref = await start_actor(nursery, actor)
        try:
            yield ThreadManager(ref)
        finally:
            # Close the threads while their rollout recorders still run (a plain cancel would stop a recorder
            # before its session's last flush), then stop the actor.
            with trio.CancelScope(shield=True):
                with trio.move_on_after(CLOSE_ALL_TIMEOUT_S):
                    try:
                        await ref.ask(_CloseAll())
                    except Exception:  # noqa: BLE001 - the actor is gone already; stop() settles it
                        pass
                await ref.stop()


# Re-exported for type hints in front ends.
__all__ = ["Event", "ThreadHandle", "ThreadInfo", "ThreadManager", "UnknownThread", "open_thread_manager"]

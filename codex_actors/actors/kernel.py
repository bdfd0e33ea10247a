"""Actor, ActorRef and start_actor: mailbox, ask/send, stop, crash propagation and supervision."""

from __future__ import annotations

import math
from typing import Any, Callable, Generic, TypeVar

import attrs
import trio

from codex_actors.actors.errors import ActorCrashed, ActorDied, AskTimeout

M = TypeVar("M")


@attrs.frozen
class _Envelope:
    message: Any
    reply: trio.MemorySendChannel | None


@attrs.frozen
class _Failure:
    """A reply that carries the crash of the actor that was answering."""

    error: BaseException


class ActorRef(Generic[M]):
    """The only handle on a running actor.

    `send(msg)` enqueues without waiting for an answer (it waits only while the mailbox is full).
    `ask(msg, timeout=s)` enqueues with a reply channel and returns whatever `handle` returned.
    `stop()` cancels the actor and returns after its task (and `on_stop`) has finished.
    Raises `ActorDied` when the actor is gone, `AskTimeout` when `timeout` (seconds) passes first, and
    `ActorCrashed` when the actor crashed while handling the asked message.
    """

    def __init__(self, name: str, mailbox: trio.MemorySendChannel, scope: trio.CancelScope, done: trio.Event):
        self.name = name
        self._mailbox = mailbox
        self._scope = scope
        self._done = done
        self.failure: ActorCrashed | None = None

    def __repr__(self) -> str:
        state = "stopped" if self._done.is_set() else "running"
        return f"<ActorRef {self.name!r} {state}>"

    @property
    def stopped(self) -> bool:
        """True once the actor's task has exited."""
        return self._done.is_set()

    async def send(self, message: M) -> None:
        """Deliver `message` to the mailbox; raises `ActorDied` if the actor is gone."""
        try:
            await self._mailbox.send(_Envelope(message, None))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorDied(self.name, "is not running") from self.failure

    def send_nowait(self, message: M) -> None:
        """Like `send`, but raises `trio.WouldBlock` instead of waiting when the mailbox is full.

        Safe to call from `trio.from_thread.run_sync` / a token's `run_sync_soon` callback.
        """
        try:
            self._mailbox.send_nowait(_Envelope(message, None))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorDied(self.name, "is not running") from self.failure

    async def ask(self, message: M, *, timeout: float | None = None) -> Any:
        """Send `message` and wait for the reply (`timeout` in seconds, None = no limit)."""
        reply_send, reply_recv = trio.open_memory_channel(1)
        deadline = math.inf if timeout is None else trio.current_time() + timeout
        with trio.move_on_at(deadline) as scope:
            try:
                await self._mailbox.send(_Envelope(message, reply_send))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise ActorDied(self.name, "is not running") from self.failure
            try:
                answer = await reply_recv.receive()
            except trio.EndOfChannel:
                raise ActorDied(self.name, "stopped before answering") from self.failure
        if scope.cancelled_caught:
            raise AskTimeout(self.name, f"no reply within {timeout:g} s to {type(message).__name__}")
        if isinstance(answer, _Failure):
            raise answer.error
        return answer

    async def stop(self) -> None:
        """Cancel the actor and wait until its task, including `on_stop`, has finished. Idempotent."""
        self._scope.cancel()
        await self._done.wait()

    async def wait_stopped(self) -> None:
        """Wait, without asking it to stop, until the actor has exited."""
        await self._done.wait()


class Actor(Generic[M]):
    """Base class for actors. Subclasses set `name` and override the hooks:

    - `async on_start()`: initialise before the ref is handed out (errors here fail `nursery.start`);
    - `async handle(message)`: one message at a time, in mailbox order; the return value answers an `ask`;
    - `async on_stop()`: release owned resources; runs shielded from cancellation, always, even after a crash;
    - `async background(nursery)`: optional concurrent work started beside the mailbox loop.
    """

    name: str = "actor"
    mailbox_size: int = 64

    async def on_start(self) -> None:
        pass

    async def handle(self, message: M) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not handle messages")

    async def background(self, nursery: trio.Nursery) -> None:
        pass

    async def on_stop(self) -> None:
        pass

    async def run(self, *, task_status: trio.TaskStatus[ActorRef[M]] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until stopped or crashed. Start it with `ref = await nursery.start(actor.run)`.

        Raises `ActorCrashed(name)` from whatever escaped `on_start`, `handle` or `background`.
        """
        send, recv = trio.open_memory_channel(self.mailbox_size)
        done = trio.Event()
        scope = trio.CancelScope()
        ref: ActorRef[M] = ActorRef(self.name, send, scope, done)
        current: _Envelope | None = None
        try:
            with scope:
                try:
                    async with trio.open_nursery() as nursery:
                        await self.on_start()
                        await self.background(nursery)
                        task_status.started(ref)
                        async with recv:
                            async for envelope in recv:
                                current = envelope
                                answer = await self.handle(envelope.message)
                                current = None
                                if envelope.reply is not None:
                                    envelope.reply.send_nowait(answer)
                                    envelope.reply.close()
                        nursery.cancel_scope.cancel()
                except Exception as exc:
                    crash = ActorCrashed(self.name, unwrap_group(exc))
                    ref.failure = crash
                    if current is not None and current.reply is not None:
                        current.reply.send_nowait(_Failure(crash))
                    raise crash from unwrap_group(exc)
        finally:
            send.close()
            recv.close()
            _fail_pending(recv, ref)
            try:
                with trio.CancelScope(shield=True):
                    await self.on_stop()
            finally:
                done.set()  # even when on_stop raised: a waiting stop() must not wait forever


def unwrap_group(exc: BaseException) -> BaseException:
    """Strip the single-exception groups that trio nurseries add, so the reported cause is the real one."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _fail_pending(recv: trio.MemoryReceiveChannel, ref: ActorRef) -> None:
    """Answer every ask still queued with ActorDied by closing its reply channel."""
    while True:
        try:
            envelope = recv.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            return
        if envelope.reply is not None:
            envelope.reply.close()


async def start_actor(
    nursery: trio.Nursery,
    actor: Actor[M],
    *,
    supervise: Callable[[ActorRef[M], ActorCrashed], None] | None = None,
) -> ActorRef[M]:
    """Start `actor` in `nursery` and return its ref once it is ready.

    Without `supervise`, a crash propagates as `ActorCrashed` and cancels the nursery (the siblings).
    With `supervise`, the crash is handed to `supervise(ref, error)` instead and the nursery goes on.
    """
    if supervise is None:
        return await nursery.start(actor.run)

    async def supervised(*, task_status=trio.TASK_STATUS_IGNORED):
        holder: list[ActorRef[M]] = []

        class _Capture:
            def started(self, value=None):
                holder.append(value)
                task_status.started(value)

        try:
            await actor.run(task_status=_Capture())
        except ActorCrashed as crash:
            if not holder:
                raise
            supervise(holder[0], crash)

    return await nursery.start(supervised)

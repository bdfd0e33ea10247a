"""OwnedThread: a real OS thread whose owner cannot forget to join it."""

from __future__ import annotations

import threading
from typing import Any, Callable

import trio


class OwnedThread:
    """Run `target()` on a dedicated, non-daemon OS thread and wait for it from trio without blocking trio.

    `await owned.run()` starts the thread and returns `target`'s result (or raises its exception) once the
    thread has exited. If the waiting task is cancelled, `interrupt()` (a plain callable, called on the trio
    thread; it must make `target` return soon, e.g. terminate a V8 execution) is invoked once and the wait
    continues shielded, so cancellation never leaves the thread running: when `run` exits, by return, error
    or cancellation, the thread has been joined.

    The thread reports completion through the trio token (no polling); the final `Thread.join` then waits
    only for the thread to unwind its last frame, a matter of microseconds.
    """

    def __init__(self, name: str, target: Callable[[], Any], *, interrupt: Callable[[], None]):
        self.name = name
        self._target = target
        self._interrupt = interrupt
        self._thread: threading.Thread | None = None
        self._result: Any = None
        self._error: BaseException | None = None

    @property
    def thread(self) -> threading.Thread | None:
        """The underlying thread object once started (for tests and diagnostics)."""
        return self._thread

    async def run(self) -> Any:
        token = trio.lowlevel.current_trio_token()
        finished = trio.Event()

        def body() -> None:
            try:
                self._result = self._target()
            except BaseException as exc:  # noqa: BLE001 - handed back to the trio side
                self._error = exc
            finally:
                try:
                    token.run_sync_soon(finished.set)
                except trio.RunFinishedError:
                    pass

        self._thread = threading.Thread(target=body, name=self.name, daemon=False)
        self._thread.start()
        try:
            await finished.wait()
        except trio.Cancelled:
            self._interrupt()
            with trio.CancelScope(shield=True):
                await finished.wait()
            raise
        finally:
            if finished.is_set():
                self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

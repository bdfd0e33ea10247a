"""A few pre-started, never-used V8 runtimes so `exec` does not pay context creation on its hot path (issue 4).

Each runtime creates its context on its own thread right after `start`, so refilling costs the trio thread only a
thread start (~0.9 ms with the runtime's event loop). A runtime is handed out once and never comes back: every cell
gets a fresh realm.

Refilling waits for `replenish()`, which the service calls once an exec's first observation is answered: started
at `take()`, the new runtime's thread start and context build compete with the exec that took one (for the GIL
and the cores), which made a warm exec ~2 ms slower on 2 cores. Between execs a session waits for the model, so
the pool is full again long before the next one.
"""

from __future__ import annotations

import itertools

import trio

from codex_actors.codemode.runtime import V8Runtime


class RuntimePool:
    """Owns idle runtimes until `take()` hands one over (ownership moves to the caller). `size` 0 disables warming.

    Run `await pool.run()` in a nursery to keep it topped up; `await pool.close()` terminates and joins the idle ones.
    """

    def __init__(self, *, size: int, max_heap_bytes: int):
        self.size = size
        self.max_heap_bytes = max_heap_bytes
        self._idle: list[V8Runtime] = []
        self._wanted = trio.Event()
        self._closed = False
        self._names = itertools.count(1)

    def take(self) -> V8Runtime:
        """A started, never-used runtime: a warm one if available, else a new one started now. The pool is not
        refilled until `replenish()`."""
        if self._closed:
            raise RuntimeError("runtime pool is closed")
        if self._idle:
            return self._idle.pop(0)
        return self._new()

    def replenish(self) -> None:
        """Top the pool up again, in the background (call when the hot path of the last `take()` is over)."""
        self._wanted.set()

    async def run(self) -> None:
        """Refill in the background until cancelled; on exit the idle runtimes are closed and joined."""
        try:
            while True:
                while len(self._idle) < self.size and not self._closed:
                    self._idle.append(self._new())
                self._wanted = trio.Event()
                await self._wanted.wait()
        finally:
            with trio.CancelScope(shield=True):
                await self.close()

    async def close(self) -> None:
        """Stop warming and close every idle runtime (threads joined)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for runtime in idle:
            runtime.terminate()
        for runtime in idle:
            await runtime.wait_exited()

    def _new(self) -> V8Runtime:
        runtime = V8Runtime(max_heap_bytes=self.max_heap_bytes, name=f"codemode-v8-{next(self._names)}")
        runtime.start(trio.lowlevel.current_trio_token())
        return runtime

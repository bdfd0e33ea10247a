"""Warm, never-used V8 runtimes for one code-mode service, so `exec` does not build a context on its hot path.

Public API (all from the service's trio run):
- `RuntimePool(size=, max_heap_bytes=)`; `await nursery.start(pool.run)` keeps it topped up until cancelled or
  `close()`d; leaving `run` closes the idle runtimes (isolate threads joined).
- `await pool.take(tools)` hands one runtime over (the caller owns it from then on): a warm one pre-configured
  for the `tools` declaration list if there is one, else any warm one (the job then reconfigures it), else the one
  being built, else a new one built now in a worker thread (without the warm-up job, see `prelude`). Taking pauses
  refilling: no context is built or freed by the pool while the exec that took it runs, so nothing competes with
  it for the machine's cores.
- `pool.replenish(tools)` resumes refilling, configured for `tools` (compared by value), in the background; the
  service calls it once an exec's first observation is answered.
- `await pool.filled()` returns once `size` warm runtimes wait (to have them ready before the first exec).
- `await pool.close()` stops refilling and frees every idle runtime.
A runtime is handed out once and never comes back: every cell gets a fresh realm. Contexts are built and freed
in trio worker threads (mr_init_context blocks ~2 ms, mr_free_context ~0.5 ms); V8 itself is loaded first, in a
worker thread too (`v8bridge.load_v8`: importing mini-racer and initialising V8 take ~100 ms of CPU, which the
trio thread spends meanwhile on the turn that started the pool).
"""

from __future__ import annotations

import trio

from codex_actors.codemode import module_goal, v8bridge
from codex_actors.codemode.runtime import V8Runtime


class RuntimePool:
    """Owns idle runtimes until `take()` hands one over. `size` 0 disables warming."""

    def __init__(self, *, size: int, max_heap_bytes: int):
        self.size = size
        self.max_heap_bytes = max_heap_bytes
        self._idle: list[V8Runtime] = []
        self._tools: list[dict[str, str]] = []
        self._wanted = trio.Event()
        self._added = trio.Event()
        self._building = 0
        self._stale: list[V8Runtime] = []
        self._closed = False
        self._paused = False  # set by take(), cleared by replenish()

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    async def take(self, tools: list[dict[str, str]]) -> V8Runtime:
        """A never-used runtime, bound to this trio run. Raises RuntimeError once closed,
        `v8bridge.IsolateError` if a context cannot be built."""
        while True:
            if self._closed:
                raise RuntimeError("runtime pool is closed")
            self._paused = True  # before any await: the background fill must not start a build beside ours
            if self._idle:
                runtime = self._pick(tools)
                break
            if self._building == 0:
                # The worker thread loads V8 first if nobody has (Isolate.create); a context built must be
                # handed over, never dropped. No warm-up job: this exec waits for the build, and the job costs
                # the build more (~0.9 ms) than it would save the exec (~0.2 ms).
                with trio.CancelScope(shield=True):
                    runtime = await trio.to_thread.run_sync(self._build, tools, False)
                break
            await self._added.wait()
        runtime.bind(trio.lowlevel.current_trio_token())
        return runtime

    async def filled(self) -> None:
        """Return once `size` warm runtimes are idle (or the pool is closed); for start-up and tests. After a
        `take()` that only happens once `replenish()` has resumed refilling."""
        while len(self._idle) < self.size and not self._closed:
            await self._added.wait()

    def replenish(self, tools: list[dict[str, str]] | None = None) -> None:
        """Top the pool up again in the background, configuring new runtimes for `tools` (None: keep). Idle
        runtimes configured for another tool set are replaced (freed) so the next exec finds a matching one."""
        if tools is not None and not _same(tools, self._tools):
            self._tools = tools
            self._stale.extend(r for r in self._idle if not _same(r.tools, tools))
            self._idle = [r for r in self._idle if _same(r.tools, tools)]
        self._paused = False
        self._wanted.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Refill in the background until cancelled; on exit the idle runtimes are freed."""
        try:
            await trio.to_thread.run_sync(v8bridge.load_v8)  # a cancel waits for the thread (never abandoned)
            task_status.started()
            parser_loaded = False
            while True:
                self._wanted = trio.Event()  # before looking: a replenish() during the fill below is not lost
                while True:
                    while self._stale:
                        stale = self._stale.pop()
                        with trio.CancelScope(shield=True):
                            await trio.to_thread.run_sync(stale.close_sync)
                    if len(self._idle) + self._building >= self.size or self._closed or self._paused:
                        break
                    self._building += 1
                    try:
                        with trio.CancelScope(shield=True):  # owned by the pool as soon as it exists
                            runtime = await trio.to_thread.run_sync(self._build, self._tools)
                            # the tool set may have changed while it was being built
                            (self._idle if _same(runtime.tools, self._tools) else self._stale).append(runtime)
                    finally:
                        self._building -= 1
                    self._added.set()
                    self._added = trio.Event()
                    if self._closed:
                        break
                if not parser_loaded and not self._paused:  # off every exec's path (the first `return` would pay it)
                    parser_loaded = True
                    await trio.to_thread.run_sync(module_goal.load_parser)
                await self._wanted.wait()
        finally:
            with trio.CancelScope(shield=True):
                await self.close()

    async def close(self) -> None:
        """Stop warming and free every idle runtime (isolate threads joined)."""
        self._closed = True
        self._added.set()
        while self._idle or self._stale:
            idle, self._idle = self._idle + self._stale, []
            self._stale = []
            with trio.CancelScope(shield=True):
                for runtime in idle:
                    await trio.to_thread.run_sync(runtime.close_sync)

    def _pick(self, tools: list[dict[str, str]]) -> V8Runtime:
        for index, runtime in enumerate(self._idle):
            if _same(runtime.tools, tools):
                return self._idle.pop(index)
        return self._idle.pop(0)

    def _build(self, tools: list[dict[str, str]], warm_up: bool = True) -> V8Runtime:
        return V8Runtime.create(max_heap_bytes=self.max_heap_bytes, tools=tools, warm_up=warm_up)


def _same(a: list[dict[str, str]], b: list[dict[str, str]]) -> bool:
    """Whether two declaration lists are the same tool set (identity first: hosts pass one list per session)."""
    return a is b or a == b

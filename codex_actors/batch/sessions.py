"""Where batch jobs get their sessions: the one seam between `codex-actors batch` and session building.

Today a job's session comes from `codex_actors.runtime.open_configured_session` (the function `exec` uses), lent
the process-wide `SharedResources`: one `httpx.AsyncClient` (one connection pool for every model client) and one
code-mode `RuntimePool` (V8 runtimes warmed once per process, not two per session). Everything else is per job:
config, cwd, sandbox policy, process manager, rollout.

To move batch onto a thread manager (an actor owning many live sessions, issue 19), replace `JobSessions.open`
with a request to that actor returning the same `SessionHandle`-like object (`submit(op)`, `events`,
`session_id`); nothing else in `codex_actors.batch` builds or knows how a session is built.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import trio

from codex_actors.config import Config
from codex_actors.runtime import RunOptions, SharedResources, open_configured_session

# Warm V8 runtimes kept ready for the whole batch (the per-session default is 2, each session its own).
SHARED_RUNTIME_POOL_SIZE = 2


class JobSessions:
    """Opens job sessions that share this process's HTTP pool and V8 runtime pool. Build with
    `async with JobSessions.open_shared(config, max_connections=N) as sessions:`; `config` is the batch-level config
    (its `code_mode.max_heap_bytes` sizes the shared runtimes)."""

    def __init__(self, shared: SharedResources) -> None:
        self.shared = shared

    @classmethod
    @asynccontextmanager
    async def open_shared(cls, config: Config, *, max_connections: int) -> AsyncIterator[JobSessions]:
        """Open the shared HTTP client (at most `max_connections` connections, all kept alive) and, when code mode
        is on, the shared runtime pool; close both (V8 threads joined) on exit."""
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        async with httpx.AsyncClient(limits=limits) as http, trio.open_nursery() as nursery:
            pool = None
            if config.get("features.code_mode") or config.get("features.code_mode_only"):
                from codex_actors.codemode import DEFAULT_MAX_HEAP_BYTES
                from codex_actors.codemode.pool import RuntimePool

                pool = RuntimePool(size=SHARED_RUNTIME_POOL_SIZE,
                                   max_heap_bytes=config.get("code_mode.max_heap_bytes", DEFAULT_MAX_HEAP_BYTES))
                nursery.start_soon(pool.run)
            try:
                yield cls(SharedResources(http=http, runtime_pool=pool))
            finally:
                nursery.cancel_scope.cancel()  # pool.run closes and joins its idle runtimes on the way out

    @asynccontextmanager
    async def open(self, config: Config, options: RunOptions) -> AsyncIterator[Any]:
        """A running session for one job (a `SessionHandle`); shut down, with its processes, on exit. Raises what
        `open_configured_session` raises (ConfigError for a bad provider or a missing API key)."""
        async with open_configured_session(config, options, self.shared) as handle:
            yield handle

"""Where batch jobs get their sessions: the one seam between `codex-actors batch` and session building.

Today a job's session comes from `codex_actors.runtime.open_configured_session` (the function `exec` uses), lent
the process-wide `SharedResources`: one `httpx.AsyncClient` (one connection pool for every model client), a
code-mode `RuntimePool` per heap limit (V8 runtimes warmed once per process, not two per session) and shell
snapshots shared by jobs of the same cwd and environment (`snapshots.py`). Everything else is per job: config,
cwd, sandbox policy, process manager, rollout.

To move batch onto a thread manager (an actor owning many live sessions, issue 19), replace `JobSessions.open`
with a request to that actor returning the same `SessionHandle`-like object (`submit(op)`, `events`,
`session_id`); nothing else in `codex_actors.batch` builds or knows how a session is built.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import trio

from codex_actors.batch.snapshots import SharedShellSnapshots
from codex_actors.config import Config, ConfigError
from codex_actors.runtime import RunOptions, SharedResources, open_configured_session

DEFAULT_POOL_SIZE = 2  # warm V8 runtimes kept ready per shared pool (`code_mode.pool_size`)
POOL_SIZE_KEY = "code_mode.pool_size"


class JobSessions:
    """Opens job sessions that share this process's HTTP pool and V8 runtime pools. Build with
    `async with JobSessions.open_shared(config, max_connections=N) as sessions:`; `config` is the batch-level config.

    Code-mode runtimes are shared per heap limit: the jobs whose `code_mode.max_heap_bytes` is the same share one
    `RuntimePool` of runtimes built with that limit (made when the first such job starts, `code_mode.pool_size` of
    the batch-level config warm runtimes each), so a job's own `code_mode.max_heap_bytes` takes effect. A job's
    own `code_mode.pool_size` cannot (the pool is the batch's): such a job fails with `PoolSizeError`."""

    def __init__(self, http: httpx.AsyncClient, nursery: trio.Nursery, pool_size: int) -> None:
        self._http = http
        self._nursery = nursery
        self._pool_size = pool_size
        self._pools: dict[int, Any] = {}
        self.shell_snapshots = SharedShellSnapshots(nursery)

    @classmethod
    @asynccontextmanager
    async def open_shared(cls, config: Config, *, max_connections: int) -> AsyncIterator[JobSessions]:
        """Open the shared HTTP client (at most `max_connections` connections, all kept alive); when code mode is
        on in `config`, start its runtime pool at once. On exit close the client and every pool (V8 threads
        joined)."""
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        async with httpx.AsyncClient(limits=limits) as http, trio.open_nursery() as nursery:
            sessions = cls(http, nursery, config.get(POOL_SIZE_KEY, DEFAULT_POOL_SIZE))
            if code_mode_on(config):
                sessions.runtime_pool(config)
            try:
                yield sessions
            finally:
                # Each pool's run closes and joins its idle runtimes on the way out; each snapshot deletes its file.
                nursery.cancel_scope.cancel()

    @property
    def pools(self) -> dict[int, Any]:
        """The running shared pools by heap limit (bytes); read-only use."""
        return dict(self._pools)

    def runtime_pool(self, config: Config) -> Any:
        """The shared `RuntimePool` for the heap limit of `config` (started now if it is the first with that
        limit); None when code mode is off in `config`. Raises PoolSizeError for a `code_mode.pool_size` other
        than the batch's."""
        if not code_mode_on(config):
            return None
        size = config.get(POOL_SIZE_KEY, DEFAULT_POOL_SIZE)
        if size != self._pool_size:
            raise PoolSizeError(f"{POOL_SIZE_KEY} = {size} in a job's config: the warm runtime pools are shared by "
                                f"every job of the batch (size {self._pool_size}); set it for the whole batch with "
                                f"-c {POOL_SIZE_KEY}=N")
        from codex_actors.codemode import DEFAULT_MAX_HEAP_BYTES
        from codex_actors.codemode.pool import RuntimePool

        heap = config.get("code_mode.max_heap_bytes", DEFAULT_MAX_HEAP_BYTES)
        pool = self._pools.get(heap)
        if pool is None:
            pool = self._pools[heap] = RuntimePool(size=self._pool_size, max_heap_bytes=heap)
            self._nursery.start_soon(pool.run)
        return pool

    @asynccontextmanager
    async def open(self, config: Config, options: RunOptions) -> AsyncIterator[Any]:
        """A running session for one job (a `SessionHandle`); shut down, with its processes, on exit. Raises what
        `open_configured_session` raises (ConfigError for a bad provider or a missing API key) and
        PoolSizeError."""
        shared = SharedResources(http=self._http, runtime_pool=self.runtime_pool(config),
                                 shell_snapshots=self.shell_snapshots)
        async with open_configured_session(config, options, shared) as handle:
            yield handle


class PoolSizeError(ConfigError):
    """A job's config asks for a runtime pool size the batch's shared pools do not have."""


def code_mode_on(config: Config) -> bool:
    """Whether sessions of `config` get code mode (`features.code_mode` or `features.code_mode_only`)."""
    return bool(config.get("features.code_mode") or config.get("features.code_mode_only"))

"""The per-session code-mode service: cell registry, stored values, cell ids, shutdown (spec code-mode.md 3, 5).

Use it as `async with open_code_mode_service(dispatcher, ...) as service:`; leaving the block shuts it down
(spec 3.7). All methods are called from tasks of the same trio run; state changes happen between awaits only.
"""

from __future__ import annotations

import itertools
import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Sequence

import trio

from codex_actors.codemode.cell import Cell, Detach, Dispatcher, Notifier, Observe, Terminate, tool_declarations
from codex_actors.codemode.core import CellError, CellOutcome, missing_cell
from codex_actors.codemode.pool import RuntimePool
from codex_actors.codemode.runtime import RUNTIME_INIT_FAILED
from codex_actors.codemode.v8bridge import IsolateError
from codex_actors.codemode.pragma import DEFAULT_EXEC_YIELD_TIME_MS
from codex_actors.codemode.tools_spec import NestedToolSpec

DEFAULT_MAX_HEAP_BYTES = 256 * 1024 * 1024
SHUTTING_DOWN = "code mode session is shutting down"
UNAVAILABLE = "code mode is unavailable"


class CodeModeError(Exception):
    """A refused request with an exact spec message (`code mode session is shutting down`, `exec cell 1 already
    has an active observer`, `exec cell 1 is already terminating`)."""


class CodeModeService:
    """One session's code mode.

    `dispatcher(call: NestedToolCall) -> Any` runs nested tools (return the code-mode result JSON value, raise
    `NestedToolError(text)` to reject); `notifier(cell_id, exec_call_id, text)` delivers `notify()` texts (None:
    dropped). `max_heap_bytes` is the hard V8 heap limit of each cell; `pool_size` warm runtimes are kept ready.
    `pool`: a `RuntimePool` run by the caller (e.g. one per process, started before any session so a session's
    first exec finds warm runtimes); the service then neither runs nor closes it, and the pool's heap limit and
    size apply instead of `max_heap_bytes` / `pool_size`. `prepare(tools)` pre-configures warm runtimes for the
    tool set the session's execs will pass.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        notifier: Notifier | None = None,
        max_heap_bytes: int = DEFAULT_MAX_HEAP_BYTES,
        pool_size: int = 2,
        pool: RuntimePool | None = None,
    ):
        self._dispatcher = dispatcher
        self._notifier = notifier
        self.max_heap_bytes = max_heap_bytes
        self._own_pool = pool is None
        self._pool = pool if pool is not None else RuntimePool(size=pool_size, max_heap_bytes=max_heap_bytes)
        self._cells: dict[str, Cell] = {}
        # Final answers of closed cells whose observer was cancelled before reading them, by cell id; written by
        # the closed cell (on this same trio thread), taken by the next observe / terminate.
        self._unclaimed: dict[str, Any] = {}
        self._closing: dict[str, Cell] = {}  # closed cells whose task has not stopped yet
        self._stored: dict[str, str] = {}
        self._declarations: list[dict[str, str]] | None = None
        self._running: set[Cell] = set()
        self._ids = itertools.count(1)
        self._targets = itertools.count(1)
        self._alive = False
        self._nursery: trio.Nursery | None = None
        self._cells_nursery: trio.Nursery | None = None

    def is_alive(self) -> bool:
        return self._alive

    @property
    def live_cell_ids(self) -> list[str]:
        return list(self._cells)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the service until cancelled (cells and the warm pool live in here)."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self._own_pool:
                    nursery.start_soon(self._pool.run)
                async with trio.open_nursery() as cells:
                    self._cells_nursery = cells
                    self._alive = True
                    task_status.started()
                    await trio.sleep_forever()
        finally:
            self._alive = False

    async def wait_warm(self) -> None:
        """Return once the warm pool holds its full count of runtimes (refilling resumes after each answered
        observation). For hosts that want the next exec to find a warm runtime, and for benchmarks."""
        await self._pool.filled()

    def prepare(self, tools: Sequence[NestedToolSpec]) -> bool:
        """Pre-configure the warm runtimes built from now on for `tools` (pass the same sequence object the execs
        will pass: declarations are rendered once per tool set). Returns False, changing nothing, when a tool's
        schema cannot be rendered: the exec that passes it reports the error."""
        try:
            self._declarations = tool_declarations(tools)
        except Exception:  # noqa: BLE001 - reported by create_cell, where the model sees it
            return False
        self._pool.replenish(self._declarations)
        return True

    async def create_cell(
        self,
        code: str,
        *,
        tools: Sequence[NestedToolSpec] = (),
        exec_call_id: str = "",
    ) -> str:
        """Start a cell running `code` and return its id ("1", "2", ...) before the script finishes (spec 3.2).

        Raises `CodeModeError(SHUTTING_DOWN)` after shutdown began, or `trio.Cancelled` when the shutdown is the
        caller's own cancellation (its owner's scope was cancelled).
        """
        if not self._alive or self._cells_nursery is None:
            raise await _shutting_down()
        try:
            declarations = tool_declarations(tools)  # before taking a runtime: a bad schema takes nothing
        except Exception as exc:  # noqa: BLE001 - any bad tool definition is this exec's error, not the session's
            raise CodeModeError(f"{RUNTIME_INIT_FAILED}: {exc}") from exc
        try:
            runtime = await self._pool.take(declarations)
        except RuntimeError as exc:  # the pool closed: its owner (this service, or a shared pool's) is going away
            raise await _shutting_down() from exc
        except IsolateError as exc:
            raise (await _shutting_down() if not self._alive else CodeModeError(RUNTIME_INIT_FAILED)) from exc
        self._declarations = declarations
        started = False
        try:
            if not self._alive or self._cells_nursery is None:
                raise await _shutting_down()
            cell_id = str(next(self._ids))
            cell = Cell(
                cell_id,
                runtime,
                code=code,
                tools=tools,
                declarations=declarations,
                stored=dict(self._stored),
                dispatcher=self._dispatcher,
                notifier=self._notifier,
                exec_call_id=exec_call_id,
                commit=self._commit,
                on_closed=self._forget,
                unclaimed=self._unclaimed,
            )
            self._cells[cell_id] = cell
            self._running.add(cell)
            cell.stopped_callback = self._stopped
            cell.submit()
            try:
                # Not `start`: waiting for the task to run its first step would cost this exec a scheduler pass.
                # A task started here always runs that step (a cancelled one too), and from it on `cell.run`
                # owns the runtime and closes it on every path.
                self._cells_nursery.start_soon(cell.run)
                started = True
            except RuntimeError as exc:  # the cells' nursery closed meanwhile: the service is shutting down
                raise await _shutting_down() from exc
            finally:
                if not started:  # this call's to undo
                    self._cells.pop(cell_id, None)
                    self._running.discard(cell)
        finally:
            if not started:
                with trio.CancelScope(shield=True):
                    await runtime.close()
        return cell_id

    async def observe(self, cell_id: str, yield_time_ms: int = DEFAULT_EXEC_YIELD_TIME_MS) -> CellOutcome:
        """Wait for the cell's next outcome: `Yielded` after `yield_time_ms` (or `yield_control()`), `Completed`,
        `Terminated`, or `MissingCell`. Raises `CodeModeError` when another observer is attached. If the caller is
        cancelled before reading an answer, the output stays buffered for the next observer."""
        cell = self._cells.get(cell_id)
        if cell is None:
            return await self._after_close(cell_id)
        target = next(self._targets)
        send, recv = trio.open_memory_channel(1)
        cell.post(Observe(target, max(0, int(yield_time_ms)), send))
        try:
            outcome = await recv.receive()
        except trio.Cancelled:
            cell.post(Detach(target, recv))
            raise
        finally:
            self._pool.replenish(self._declarations)
        return _raise_if_error(outcome)

    async def terminate(self, cell_id: str) -> CellOutcome:
        """Terminate a cell (spec 3.5): answers after its V8 thread is gone with `Terminated`, or with the buffered
        natural completion, or `MissingCell`. Raises `CodeModeError` if a terminate is already in progress."""
        cell = self._cells.get(cell_id)
        if cell is None:
            return await self._after_close(cell_id)
        send, recv = trio.open_memory_channel(1)
        cell.post(Terminate(next(self._targets), send))
        with trio.CancelScope(shield=True):
            outcome = await recv.receive()
        self._pool.replenish(self._declarations)
        return _raise_if_error(outcome)

    def cells_of_call(self, exec_call_id: str) -> list[str]:
        """Ids of the live cells started by the `exec` call `exec_call_id` (for a host that stops them when that
        call is interrupted)."""
        return [cid for cid, cell in self._cells.items() if cell._exec_call_id == exec_call_id]

    async def execute(
        self,
        code: str,
        *,
        yield_time_ms: int = DEFAULT_EXEC_YIELD_TIME_MS,
        tools: Sequence[NestedToolSpec] = (),
        exec_call_id: str = "",
    ) -> CellOutcome:
        """`create_cell` then the first observation: what `exec` returns (spec 1.1)."""
        cell_id = await self.create_cell(code, tools=tools, exec_call_id=exec_call_id)
        return await self.observe(cell_id, yield_time_ms)

    async def shutdown(self) -> None:
        """Spec 3.7: refuse new cells, terminate every live cell (busy loops included), wait for all cell tasks
        and the warm pool to finish. Bounded by the 100 ms callback grace plus thread exit."""
        self._alive = False
        for cell in list(self._cells.values()):
            cell.post(Terminate(next(self._targets), None))
        with trio.CancelScope(shield=True):
            for cell in list(self._running):
                await cell.stopped.wait()
        if self._own_pool:
            await self._pool.close()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _commit(self, writes: dict[str, str]) -> None:
        self._stored.update(writes)

    def _forget(self, cell_id: str) -> None:
        cell = self._cells.pop(cell_id, None)
        if cell is not None:
            self._closing[cell_id] = cell

    def _stopped(self, cell: Cell) -> None:
        self._running.discard(cell)
        self._closing.pop(cell.cell_id, None)

    async def _after_close(self, cell_id: str) -> CellOutcome:
        """The answer for a cell no longer registered: a closing cell is waited for first (it may still hand over
        a final answer its cancelled observer never read), then that answer, else `MissingCell`."""
        closing = self._closing.get(cell_id)
        if closing is not None:
            await closing.stopped.wait()
        return _raise_if_error(self._unclaimed.pop(cell_id, None) or missing_cell(cell_id))

    def stored_value(self, key: str) -> Any:
        """The committed stored value for `key` (JSON-decoded), or None; for hosts and tests."""
        raw = self._stored.get(key)
        return None if raw is None else json.loads(raw)


async def _shutting_down() -> CodeModeError:
    """The error for a call that finds the service shutting down; raises `trio.Cancelled` instead when the caller
    is cancelled (cancelling a service's owner cancels its callers too: they must see their cancellation)."""
    await trio.lowlevel.checkpoint_if_cancelled()
    return CodeModeError(SHUTTING_DOWN)


def _raise_if_error(outcome: Any) -> CellOutcome:
    if isinstance(outcome, CellError):
        raise CodeModeError(str(outcome))
    return outcome


@asynccontextmanager
async def open_code_mode_service(dispatcher: Dispatcher, **options: Any) -> AsyncIterator[CodeModeService]:
    """Start a `CodeModeService(dispatcher, **options)` in its own nursery; shut it down on exit."""
    service = CodeModeService(dispatcher, **options)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        try:
            yield service
        finally:
            with trio.CancelScope(shield=True):
                await service.shutdown()

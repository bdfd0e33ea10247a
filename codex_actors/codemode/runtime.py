"""One V8 realm on its own OS thread: the runtime half of a cell (spec code-mode.md 2.1, 3.5, section 10).

The thread runs a private asyncio loop that owns one mini-racer context. The trio side talks to it only through
`submit` / `deliver` / `terminate` (each a `call_soon_threadsafe` into that loop) and hears from it only through
runtime events sent, in order, with the trio token's `run_sync_soon` onto an unbounded memory channel.

`terminate()` closes the context (V8 stops even `while (true) {}`) and the thread ends; `await wait_exited()`
returns only once the OS thread is joined and the context freed. A runtime is used for at most one job.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any, Callable

import attrs
import trio
from py_mini_racer import JSEvalException, JSOOMException, init_mini_racer
from py_mini_racer._exc import JSTerminatedException
from py_mini_racer._mini_racer import _make_context

from codex_actors.codemode.output import OutputItem, item_from_json
from codex_actors.codemode.prelude import HOST_KEY, PRELUDE_JS, RING_DATA_OFFSET, RING_UNITS

ENTRY_NAME = "exec_main.mjs"
RUNTIME_INIT_FAILED = "failed to initialize code mode runtime"


def heap_limit_message(max_heap_bytes: int) -> str:
    """Error text of a cell stopped by its hard V8 heap limit."""
    return f"RangeError: JavaScript heap limit reached: the cell used more than {max_heap_bytes} bytes of V8 heap"


@attrs.frozen
class Started:
    """Globals are installed; module evaluation starts now (spec 3.2 step 2)."""


@attrs.frozen
class ItemProduced:
    item: OutputItem


@attrs.frozen
class YieldRequested:
    """`yield_control()` was called."""


@attrs.frozen
class NotifyRequested:
    text: str


@attrs.frozen
class ToolRequested:
    """`tools[...]` was called: `call_id` is `tool-<n>`, `tool_index` indexes the cell's tool list,
    `input_json` is the JSON text of the argument or None when absent (spec 2.4)."""

    call_id: str
    tool_index: int
    input_json: str | None


@attrs.frozen
class ScriptFinished:
    """Top-level evaluation settled: `error_text` None on success; `writes` maps key -> JSON text (spec 5.2)."""

    error_text: str | None
    writes: dict[str, str] = attrs.field(factory=dict)


RuntimeEvent = Started | ItemProduced | YieldRequested | NotifyRequested | ToolRequested | ScriptFinished


@attrs.frozen
class Job:
    """What one cell runs: the wrapped source, its tools' `{name, description}` list and the stored snapshot."""

    source: str
    tools: list[dict[str, str]]
    stored: dict[str, str]
    sink: trio.MemorySendChannel


_STATIC_IMPORT = re.compile(r"""^[ \t]*import(?:\s*[\w$*{}\s,]+?\s*from)?\s*["']([^"']+)["']""", re.MULTILINE)


def find_static_import(code: str) -> str | None:
    """The specifier of the first static `import` statement in `code`, if any (spec 2.5)."""
    match = _STATIC_IMPORT.search(code)
    return None if match is None else match.group(1)


def wrap_source(code: str) -> str:
    """Wrap user code as the body of an async function (no ES modules in mini-racer), keeping line numbers,
    and name it `exec_main.mjs` in stacks. A static import fails the cell with `Unsupported import in exec: <s>`."""
    specifier = find_static_import(code)
    if specifier is not None:
        code = f"throw {json.dumps('Unsupported import in exec: ' + specifier)};"
    return f"{HOST_KEY}.run(async function () {{{code}\n}});\n//# sourceURL={ENTRY_NAME}\n"


class _Ring:
    """Python end of the SharedArrayBuffer ring written by the prelude's `post` (layout in prelude.py)."""

    def __init__(self, buffer: memoryview):
        self._ctl = buffer[0:RING_DATA_OFFSET].cast("i")
        self._data = buffer[RING_DATA_OFFSET: RING_DATA_OFFSET + RING_UNITS * 2].cast("H")
        self._head = 0

    @property
    def overflowed(self) -> bool:
        return self._ctl[2] != 0

    def read(self) -> list[str]:
        tail = self._ctl[0] & 0xFFFFFFFF
        out = []
        while self._head != tail:
            length = self._unit(self._head) | (self._unit(self._head + 1) << 16)
            out.append(self._text(self._head + 2, length))
            self._head = (self._head + 2 + length) & 0xFFFFFFFF
        self._ctl[1] = self._head - (1 << 32) if self._head >= 1 << 31 else self._head
        return out

    def _unit(self, counter: int) -> int:
        return self._data[counter & (RING_UNITS - 1)]

    def _text(self, counter: int, length: int) -> str:
        start = counter & (RING_UNITS - 1)
        end = start + length
        if end <= RING_UNITS:
            raw = self._data[start:end].tobytes()
        else:
            raw = self._data[start:].tobytes() + self._data[: end - RING_UNITS].tobytes()
        return raw.decode("utf-16-le", errors="surrogatepass")


class V8Runtime:
    """A never-used V8 context on a dedicated OS thread, ready for one job.

    `start(token)` launches the thread (it creates the context, installs the prelude and waits for a job);
    `submit(job)` runs a cell; `deliver(call_id, ok, payload_json)` settles a nested tool promise (payload is the
    JSON text of the result, or of the error string when `ok` is False); `terminate()` stops JS and closes the
    context. `max_heap_bytes` is the hard V8 heap limit: reaching it ends the job with `heap_limit_message`.
    """

    def __init__(self, *, max_heap_bytes: int, name: str = "codemode-v8"):
        self.max_heap_bytes = max_heap_bytes
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._thread_main, name=name, daemon=False)
        self._token: trio.lowlevel.TrioToken | None = None
        self._exited = trio.Event()
        self._terminating = False
        # Loop-thread state below.
        self._stop: asyncio.Future | None = None
        self._job: asyncio.Future | None = None
        self._ctx: Any = None
        self._ctx_lock = threading.Lock()
        self._ring: _Ring | None = None
        self._sink: trio.MemorySendChannel | None = None
        self._tasks: set[asyncio.Task] = set()
        self._pump_scheduled = False
        self._draining = False
        self._finished = False

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def exited(self) -> bool:
        return self._exited.is_set()

    def start(self, token: trio.lowlevel.TrioToken) -> None:
        """Start the OS thread; call once, from the trio thread."""
        self._token = token
        init_mini_racer(ignore_duplicate_init=True)  # load V8 once, before any thread races to do it
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Run `job` (once). Events go to `job.sink`, the last one a `ScriptFinished` unless terminated."""
        self._call(self._on_submit, job)

    def deliver(self, call_id: str, ok: bool, payload_json: str) -> None:
        """Resolve (`ok`) or reject the promise of nested call `call_id` with the JSON value `payload_json`."""
        self._call(self._on_deliver, call_id, ok, payload_json)

    def terminate(self) -> None:
        """Stop JS at once (even a busy loop) and close the context; the thread then exits. Idempotent."""
        if not self._terminating:
            self._terminating = True
            self._call(self._on_terminate)

    def heap_limit_reached(self) -> bool:
        """True once V8 hit the hard heap limit (a flag read; safe while JS runs, and after the context is gone)."""
        with self._ctx_lock:
            ctx = self._ctx
            return bool(ctx is not None and ctx.was_hard_memory_limit_reached())

    async def wait_exited(self) -> None:
        """Return once the OS thread is joined. If cancelled, terminate first and still wait (shielded)."""
        try:
            await self._exited.wait()
        except trio.Cancelled:
            self.terminate()
            with trio.CancelScope(shield=True):
                await self._exited.wait()
            raise
        finally:
            if self._exited.is_set():
                self._thread.join()

    async def close(self) -> None:
        """`terminate()` then `wait_exited()`."""
        self.terminate()
        await self.wait_exited()

    # ---- trio side helpers -------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass  # loop already closed: the runtime is gone, nothing left to do

    # ---- loop thread ------------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()
            try:
                assert self._token is not None
                self._token.run_sync_soon(self._exited.set)
            except trio.RunFinishedError:
                pass

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = loop.create_future()
        self._job = loop.create_future()
        try:
            with _make_context() as ctx:
                try:
                    with self._ctx_lock:
                        self._ctx = ctx
                    ctx.set_hard_memory_limit(self.max_heap_bytes)
                    with ctx._register_js_notification(self._on_wake) as wake:
                        self._ring = _Ring(ctx.call_function(ctx.eval(PRELUDE_JS), wake))
                        await asyncio.wait({self._job, self._stop}, return_when=asyncio.FIRST_COMPLETED)
                        if self._job.done() and not self._stop.done():
                            await self._run(ctx, self._job.result())
                        for task in list(self._tasks):
                            task.cancel()
                        await asyncio.gather(*self._tasks, return_exceptions=True)
                finally:
                    # Nothing may touch the context's memory (the ring lives in it) once it is freed.
                    self._ring = None
                    with self._ctx_lock:
                        self._ctx = None
        except Exception:  # noqa: BLE001 - reported as a failed start, never as a traceback to JS
            if self._job.done() and not self._finished:
                self._finish(RUNTIME_INIT_FAILED, {})

    async def _run(self, ctx: Any, job: Job) -> None:
        self._sink = job.sink
        config = json.dumps({"tools": job.tools, "store": job.stored})
        self._emit(Started())
        # One eval: globals are installed on the first line, right before the user code (same line numbers).
        main = self._spawn(ctx.eval_cancelable(f"{HOST_KEY}.configure({json.dumps(config)});{job.source}"))
        main.add_done_callback(self._on_main_done)
        await self._stop

    def _on_submit(self, job: Job) -> None:
        if self._job is not None and not self._job.done():
            self._job.set_result(job)

    def _on_terminate(self) -> None:
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    def _on_deliver(self, call_id: str, ok: bool, payload_json: str) -> None:
        if self._finished or self._ctx is None:
            return
        code = f"{HOST_KEY}.deliver({json.dumps(call_id)}, {'true' if ok else 'false'}, {json.dumps(payload_json)})"
        self._spawn(self._ctx.eval_cancelable(code)).add_done_callback(self._on_aux_done)

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_main_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._pump()
            self._finish(self._error_text(error), {})

    def _on_aux_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._finish(self._error_text(task.exception()), {})

    def _error_text(self, error: BaseException) -> str:
        if isinstance(error, JSOOMException) or self.heap_limit_reached():
            return heap_limit_message(self.max_heap_bytes)
        if isinstance(error, JSTerminatedException):
            return "exec runtime ended unexpectedly"
        if isinstance(error, JSEvalException):
            return str(error).strip() or type(error).__name__
        return RUNTIME_INIT_FAILED

    def _on_wake(self, _handle: Any) -> None:
        if not self._pump_scheduled:
            self._pump_scheduled = True
            asyncio.get_running_loop().call_soon(self._pump)

    def _pump(self) -> None:
        self._pump_scheduled = False
        if self._draining or self._ring is None:
            return
        overflowed = self._ring.overflowed
        try:
            messages = [json.loads(text) for text in self._ring.read()]
        except ValueError:
            self._finish("exec runtime ended unexpectedly", {})
            return
        for message in messages:
            self._handle_message(message)
        if overflowed and not self._finished:
            self._draining = True
            self._spawn(self._drain())

    async def _drain(self) -> None:
        try:
            texts = await self._ctx.eval_cancelable(f"{HOST_KEY}.drain()")
            for message in json.loads(texts):
                self._handle_message(message)
        finally:
            self._draining = False
        self._pump()

    def _handle_message(self, message: dict[str, Any]) -> None:
        if self._finished:
            return
        kind = message["t"]
        if kind == "item":
            self._emit(ItemProduced(item_from_json(message["item"])))
        elif kind == "yield":
            self._emit(YieldRequested())
        elif kind == "notify":
            self._emit(NotifyRequested(message["text"]))
        elif kind == "tool":
            self._emit(ToolRequested(message["id"], int(message["tool"]), message["input"]))
        elif kind == "done":
            self._finish(message["error"], message["writes"])

    def _finish(self, error_text: str | None, writes: dict[str, str]) -> None:
        if self._finished:
            return
        self._finished = True
        self._emit(ScriptFinished(error_text, writes))
        self._on_terminate()

    def _emit(self, event: RuntimeEvent) -> None:
        sink = self._sink
        if sink is None or self._token is None:
            return

        def send() -> None:
            try:
                sink.send_nowait(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

        try:
            self._token.run_sync_soon(send)
        except trio.RunFinishedError:
            pass

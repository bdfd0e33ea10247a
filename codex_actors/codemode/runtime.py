"""One V8 realm, driven from trio: the runtime half of a cell (spec code-mode.md 2.1, 3.5, section 10).

The realm is a mini-racer context (see `v8bridge`): its isolate thread is the only thread it has. No Python thread
or event loop per runtime: `submit` and `deliver` post tasks to the isolate; what JS sends arrives in the isolate's
callback, is parsed and validated there, and reaches the cell as `RuntimeEvent`s through the trio token's
`run_sync_soon`, in order. A message that does not parse or validate ends the job with `MALFORMED_MESSAGE` (that
cell fails; nothing else is touched).

Life cycle: `V8Runtime.create(...)` (blocking, about 2 ms: run it in a worker thread) builds the context, installs
the prelude and pre-configures `tools` / `ALL_TOOLS`; `bind(token)` once on the trio thread; `submit(job)` once;
`terminate()` stops JS at once; `await wait_exited()` / `await close()` return once the context is freed and its
isolate thread joined (the free runs in a worker thread); `await stop(nursery)` returns as soon as the isolate
thread has exited, the rest of the free (V8 disposing of the isolate's heap, about half of it) going on in
`nursery`. A runtime is used for at most one job.
"""

from __future__ import annotations

import collections
import json
import re
import threading
from typing import Any

import attrs
import trio

from codex_actors.codemode import v8bridge
from codex_actors.codemode.compile_errors import compile_error_text
from codex_actors.codemode.module_goal import module_source
from codex_actors.codemode.output import OutputItem, item_from_json
from codex_actors.codemode.prelude import prelude_js
from codex_actors.codemode.thread_exit import ThreadExit

RUNTIME_INIT_FAILED = "failed to initialize code mode runtime"
RUNTIME_ENDED = "exec runtime ended unexpectedly"
MALFORMED_MESSAGE = "exec runtime sent a malformed message"
LOG_UNITS = 1 << 16
"""Mailbox units for JS -> host messages (the log)."""
IN_UNITS = 1 << 15
"""Mailbox units for host -> JS messages."""

EXIT_AFTER_JOIN_S = 5.0
"""How long (s) a free waits, after joining the isolate thread, for the kernel to say the thread has exited (it
takes microseconds; the bound keeps a kernel that never says from hanging a shutdown)."""

_HOST, _START, _RECEIVE = 1, 3, 4
"""Callback ids: JS calls the host (`post` or `pull`, said by mailbox int 3), the job's start, a tool result."""
_POST, _PULL = 1, 2


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
    """What one cell runs: the user's code, its tools' `{name, description}` list, the stored snapshot (key ->
    JSON text), and the channel its events go to."""

    code: str
    tools: list[dict[str, str]]
    stored: dict[str, str]
    sink: trio.MemorySendChannel


class V8Runtime:
    """A never-used V8 context, ready for one job.

    `deliver(call_id, ok, payload_json)` settles a nested tool promise (payload is the JSON text of the result, or
    of the error string when `ok` is False). `max_heap_bytes` is the hard V8 heap limit: reaching it ends the job
    with `heap_limit_message`. `tools` is the declaration list the realm was pre-configured with.
    """

    def __init__(self, isolate: v8bridge.Isolate, host_fn: int, *, max_heap_bytes: int,
                 tools: list[dict[str, str]]):
        self._isolate = isolate
        self._host_fn = host_fn
        self.max_heap_bytes = max_heap_bytes
        self.tools = tools
        self._token: trio.lowlevel.TrioToken | None = None
        self._sink: trio.MemorySendChannel | None = None
        self._exited = trio.Event()
        self._freeing = False
        self._closing = False
        self._main_task = 0
        # Touched on the isolate thread only (callbacks), after `submit`:
        self._inbound: collections.deque[str] = collections.deque()
        self._partial_in: str | None = None
        self._partial_out: list[bytes] = []
        self._tool_count = 0
        self._tool_ids: set[str] = set()
        self._done = False
        # Events waiting for the trio thread: one `run_sync_soon` carries every event queued before it runs.
        self._outbox: list[RuntimeEvent] = []
        self._outbox_lock = threading.Lock()  # guards the outbox and the log read position (two threads)
        self._log_read = 0

    @classmethod
    def create(cls, *, max_heap_bytes: int, tools: list[dict[str, str]] | None = None,
               warm_up: bool = True) -> "V8Runtime":
        """Build a context with the prelude installed and `tools` configured. Blocking (about 6 ms here: 2.7 ms
        the context, 3.2 ms the prelude, of which 0.9 ms its warm-up job, left out with `warm_up=False` for a
        runtime an exec already waits for); call it from a worker thread. Raises `v8bridge.IsolateError` (the
        context is freed first)."""
        tools = [] if tools is None else tools
        isolate = v8bridge.Isolate.create()
        try:
            isolate.set_hard_memory_limit(max_heap_bytes)
            host_fn = isolate.setup(prelude_js(LOG_UNITS, IN_UNITS, tools, warm_up=warm_up), _HOST)
            if isolate.mailbox_units != LOG_UNITS + IN_UNITS:
                raise v8bridge.IsolateError("prelude returned an unexpected mailbox")
        except BaseException:
            isolate.free()
            raise
        return cls(isolate, host_fn, max_heap_bytes=max_heap_bytes, tools=tools)

    @property
    def native_thread_id(self) -> int | None:
        """The OS thread id of the isolate thread (seen in `/proc/self/task` until the runtime exits)."""
        return self._isolate.native_thread_id

    @property
    def exited(self) -> bool:
        return self._exited.is_set()

    def bind(self, token: trio.lowlevel.TrioToken) -> None:
        """Attach to the trio run whose token delivers this runtime's events; call once, before `submit`."""
        self._token = token

    def submit(self, job: Job) -> None:
        """Run `job` (once). Events go to `job.sink`, the last one a `ScriptFinished` unless terminated."""
        assert self._token is not None and self._sink is None
        self._sink = job.sink
        self._tool_count = len(job.tools)
        code, refused = module_source(job.code)
        if refused is not None:  # what V8 would refuse when compiling the module: nothing runs
            self._done = True
            job.sink.send_nowait(Started())
            job.sink.send_nowait(ScriptFinished(refused, {}))
            return
        payload: dict[str, Any] = {"code": code, "store": job.stored}
        if job.tools is not self.tools and job.tools != self.tools:
            payload["tools"] = job.tools
        # The isolate is idle until start() is posted (the warm-up job ended with the setup call): drop what the
        # warm-up logged and write the job (its first part) straight into the mailbox.
        self._isolate.set_mailbox_int(0, 0)
        self._write_inbound(json.dumps(payload))
        self._isolate.listen(self._on_callback)
        job.sink.send_nowait(Started())  # on the trio thread already: no hand-off
        self._main_task = self._isolate.post_call(self._host_fn, _START)

    def deliver(self, call_id: str, ok: bool, payload_json: str) -> None:
        """Resolve (`ok`) or reject the promise of nested call `call_id` with the JSON value `payload_json`."""
        if self._closing or not self._isolate.alive:
            return
        self._inbound.append(json.dumps({"id": call_id, "ok": ok, "payload": payload_json}))
        self._isolate.post_call(self._host_fn, _RECEIVE)

    def terminate(self) -> None:
        """Stop JS at once (even a busy loop); `wait_exited()` then frees the context. Idempotent."""
        if not self._closing:
            self._closing = True
            if self._main_task:
                self._isolate.cancel(self._main_task)

    def heap_limit_reached(self) -> bool:
        """True once V8 hit the hard heap limit (a flag read; safe while JS runs)."""
        return self._isolate.hard_memory_limit_reached()

    async def wait_exited(self) -> None:
        """Free the context (in a worker thread) and return once its isolate thread has exited: the free joins
        the thread, and a pidfd opened before it (`thread_exit`) says when the kernel has marked it dead, which
        is a moment after the join. A second caller waits for the first one's free. Cancellation waits for it
        too (shielded): an isolate is never left behind."""
        self.terminate()
        with trio.CancelScope(shield=True):
            if self._freeing:
                await self._exited.wait()
                return
            self._freeing = True
            watch = self._exit_watch()
            try:
                if self._isolate.alive:
                    await trio.to_thread.run_sync(self._isolate.free)
                if watch is not None:
                    with trio.move_on_after(EXIT_AFTER_JOIN_S):  # microseconds, unless the kernel never says
                        await watch.wait()
            finally:
                if watch is not None:
                    watch.close()
                self._exited.set()

    async def stop(self, nursery: trio.Nursery) -> None:
        """`terminate()`, start the free in `nursery` (which must outlive this call: leaving it waits for the
        free), and return once the isolate thread has exited (spec 3.5 step 3), which is before the free returns:
        mini-racer joins the thread and then disposes of the isolate's heap. The exit is heard through a pidfd on
        the thread (`thread_exit`), or else when the free is done; without a pidfd (a kernel before 6.9) this
        waits for the free, which has joined the thread. Shielded, like `wait_exited`."""
        self.terminate()
        with trio.CancelScope(shield=True):
            watch = None if self._freeing else self._exit_watch()
            nursery.start_soon(self.wait_exited)
            if watch is None:
                await self._exited.wait()
                return
            try:
                # Whichever comes first: the exit heard, or the free done (which has heard it, or given up).
                async with trio.open_nursery() as race:
                    async def first(event_wait: Any) -> None:
                        await event_wait()
                        race.cancel_scope.cancel()

                    race.start_soon(first, watch.wait)
                    race.start_soon(first, self._exited.wait)
            finally:
                watch.close()

    async def close(self) -> None:
        """`terminate()` then `wait_exited()`."""
        await self.wait_exited()

    def close_sync(self) -> None:
        """Free the context from a worker thread (blocking) and return once its isolate thread has exited (as
        `wait_exited` does); for pools that never bound the runtime."""
        self._closing = True
        watch = self._exit_watch()
        try:
            self._isolate.free()
            if watch is not None:
                watch.wait_blocking(EXIT_AFTER_JOIN_S)
        finally:
            if watch is not None:
                watch.close()

    def _exit_watch(self) -> ThreadExit | None:
        """A pidfd on the isolate thread, opened while the context (and so the thread) is alive: its id cannot
        name another thread yet. None before the thread is known, after the free began, or without pidfds."""
        tid = self._isolate.native_thread_id
        return ThreadExit.open(tid) if tid is not None and self._isolate.alive else None

    # ---- isolate thread ---------------------------------------------------------------------------------------

    def _on_callback(self, callback_id: int, value: v8bridge.Value) -> None:
        if callback_id == _HOST:
            kind = self._isolate.mailbox_int(3)
            if kind == _POST:
                self._on_post()
            elif kind == _PULL:
                self._on_pull()
        elif callback_id in (_START, _RECEIVE) and value.is_error:
            # After our own terminate() the cell answers once the thread is gone: waking trio for this event
            # would only compete with the free for the GIL and the cores.
            if not (self._closing and value.type == v8bridge.T_TERMINATED):
                self._finish(self._task_error(value))

    def _on_post(self) -> None:
        # JS waits in post(): take the whole log, then let JS start it over.
        with self._outbox_lock:
            events = self._take_log()
            self._isolate.set_mailbox_int(0, 0)
            self._log_read = 0
        if events:
            self._emit(events)

    def _take_log(self) -> list[RuntimeEvent]:
        """Parse the log's frames in [read, committed end); the caller holds `_outbox_lock`."""
        end = self._isolate.mailbox_int(0)
        start = self._log_read
        if end <= start:
            return []
        events: list[RuntimeEvent] = []
        try:
            if end > LOG_UNITS:
                raise ValueError("log end out of range")
            data = self._isolate.read_units(start, end - start)
            self._log_read = end
            pos = 0
            while pos < len(data):
                low, high = int.from_bytes(data[pos:pos + 2], "little"), int.from_bytes(data[pos + 2:pos + 4], "little")
                length = low | ((high & 0x7FFF) << 16)
                part = data[pos + 4: pos + 4 + 2 * length]
                if len(part) != 2 * length:
                    raise ValueError("truncated frame")
                pos += 4 + 2 * length
                self._partial_out.append(part)
                if high & 0x8000:
                    continue
                whole = b"".join(self._partial_out)
                self._partial_out.clear()
                if self._done:
                    continue
                event = self._parse(json.loads(whole.decode("utf-16-le")))
                if isinstance(event, ScriptFinished):
                    self._done = True
                events.append(event)
        except (ValueError, KeyError, TypeError):
            if not self._done:
                self._done = True
                events.append(ScriptFinished(MALFORMED_MESSAGE, {}))
        return events

    def drain_now(self) -> list[RuntimeEvent]:
        """On the trio thread: the events JS produced that have not been handed over yet, in order (events
        already queued for the cell first, then what JS committed to the log since). Lets a yield deadline see
        output written before a busy loop. Empty once terminating."""
        if self._closing or self._sink is None or not self._isolate.alive:
            return []
        with self._outbox_lock:
            events, self._outbox = self._outbox, []
            events.extend(self._take_log())
        return events

    def _on_pull(self) -> None:
        text = self._partial_in
        if text is None:
            if not self._inbound:
                return  # JS sees -1: nothing left
            text = self._inbound.popleft()
        self._write_inbound(text)

    def _write_inbound(self, text: str) -> None:
        chunk, rest = _split_units(text, IN_UNITS)
        self._partial_in = rest or None
        data = chunk.encode("utf-16-le", "surrogatepass")
        self._isolate.write_units(LOG_UNITS, data)
        self._isolate.set_mailbox_int(2, 1 if rest else 0)
        self._isolate.set_mailbox_int(1, len(data) // 2)

    def _parse(self, message: Any) -> RuntimeEvent:
        kind = message["t"]
        if kind == "item":
            return ItemProduced(item_from_json(message["item"]))
        if kind == "yield":
            return YieldRequested()
        if kind == "notify":
            return NotifyRequested(_string(message["text"]))
        if kind == "tool":
            call_id, index, input_json = message["id"], message["tool"], message["input"]
            if (not isinstance(call_id, str) or not re.fullmatch(r"tool-[1-9][0-9]*", call_id)
                    or call_id in self._tool_ids):
                raise ValueError("bad tool call id")
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self._tool_count:
                raise ValueError("bad tool index")
            if input_json is not None:
                json.loads(_string(input_json))
            self._tool_ids.add(call_id)
            return ToolRequested(call_id, index, input_json)
        if kind == "done":
            error, writes = message["error"], message["writes"]
            if error is not None:
                _string(error)
            if not isinstance(writes, dict):
                raise ValueError("bad writes")
            for value in writes.values():
                json.loads(_string(value))
            return ScriptFinished(error, writes)
        raise ValueError(f"unknown message {kind!r}")

    def _task_error(self, value: v8bridge.Value) -> str:
        if value.type == v8bridge.T_OOM or self.heap_limit_reached():
            return heap_limit_message(self.max_heap_bytes)
        if value.type == v8bridge.T_TERMINATED:
            return RUNTIME_ENDED
        return compile_error_text(str(value.data)) or RUNTIME_ENDED

    def _finish(self, error_text: str) -> None:
        with self._outbox_lock:
            if self._done:
                return
            self._done = True
        self._emit([ScriptFinished(error_text, {})])

    def _emit(self, events: list[RuntimeEvent]) -> None:
        if self._sink is None or self._token is None:
            return
        with self._outbox_lock:
            wake = not self._outbox
            self._outbox.extend(events)
        if wake:
            try:
                self._token.run_sync_soon(self._flush)
            except trio.RunFinishedError:
                pass

    def _flush(self) -> None:
        # On the trio thread.
        with self._outbox_lock:
            events, self._outbox = self._outbox, []
        sink = self._sink
        assert sink is not None
        for event in events:
            try:
                sink.send_nowait(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _split_units(text: str, units: int) -> tuple[str, str]:
    """Cut `text` after at most `units` UTF-16 code units, never inside a surrogate pair."""
    if len(text) * 2 <= units:  # fast path: at most 2 units per character
        return text, ""
    count = 0
    for index, char in enumerate(text):
        size = 2 if ord(char) > 0xFFFF else 1
        if count + size > units:
            return text[:index], text[index:]
        count += size
    return text, ""

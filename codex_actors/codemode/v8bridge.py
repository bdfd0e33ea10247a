"""The one module that goes below mini-racer's public API: its C task API, driven without asyncio.

mini-racer 0.14's Python layer runs an asyncio loop thread per context. Its DLL needs none: `mr_eval` and
`mr_call_function` post a task to the isolate's own C++ thread and return at once; the result, and every call of a
JS function made by `mr_make_js_callback`, arrive through one C callback on that isolate thread, with JS paused
until the callback returns. This module wraps exactly that (reference: PyMiniRacer v0.14.1,
src/v8_py_frontend/{exports,context,js_callback_maker}.cc and src/py_mini_racer/_context.py):

- `Isolate.create(on_callback)` makes a context (blocking, about 2 ms: call it off the trio thread); the isolate
  thread is the context's only thread and `free()` joins it (blocking, about 0.5 ms).
- `post_eval` / `post_call` schedule work and return a task id; `cancel` interrupts a running task.
- `on_callback(callback_id, value)` runs on the isolate thread with a `Value` (a primitive, an error, or an opaque
  object) already read and freed: only primitives cross the boundary.
  The isolate thread's Python thread state is made at its first callback and kept until the thread exits
  (`held_thread_state`), so later callbacks do not each create and delete one.
- A SharedArrayBuffer made by `setup` is the mailbox (`mailbox_int`, `read_units`, `write_units`): plain memory
  shared with JS; the caller's protocol decides who may touch which part when (see `runtime`).

mini-racer is bound when V8 is first needed (`load_v8`, `context_count`, `Isolate`), not at import: importing
py_mini_racer costs about 100 ms of CPU (its package imports asyncio), which `exec` would otherwise pay before its
first model request. `check_version()` runs then: any mini-racer other than 0.14.x raises `ImportError` with the
reason. V8 is initialised with mini-racer's default flags plus `--no-memory-protection-keys` (see
`NO_PROTECTION_KEYS`); where something else initialised it first, `Isolate.create` refuses (IsolateError) a thread
that could not touch V8's protected memory, instead of letting the process crash.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from typing import Any, Callable

import attrs

from codex_actors.codemode import held_thread_state, protection_keys

SUPPORTED = ("0.14.",)

NO_PROTECTION_KEYS = "--no-memory-protection-keys"
"""On a CPU with memory protection keys (x86 PKU), V8 14.4 tags its JS dispatch table and code pages with a key it
allocates on the thread that initialises V8. Access rights to a key are per thread and passed on only to threads
created afterwards, so any thread that existed before (a trio worker thread, the trio thread itself) faults
(SIGSEGV, SEGV_PKUERR, in `JSDispatchTable::PreAllocatedEntryNeedsInitialization`) as soon as it builds a context
while another one is alive. Contexts are built and freed on whichever trio worker thread is free, so the keys are
turned off: V8 then runs as on a CPU without PKU (every machine this ran on before one with `pku` did). Seen on a
Xeon with `pku`: 7 of 10 `warm_exec` benchmark children crashed within 0.6 s."""


def check_version(version: str | None = None) -> str:
    """The installed mini-racer version; raises ImportError unless it is one this module was written for."""
    from importlib import metadata

    try:
        found = version or metadata.version("mini-racer")
    except metadata.PackageNotFoundError:
        raise ImportError("code mode needs the mini-racer package (0.14.x); it is not installed") from None
    if not found.startswith(SUPPORTED):
        raise ImportError(
            f"codex_actors.codemode.v8bridge was written for mini-racer 0.14.x (its C task API); found {found}"
        )
    return found


@functools.cache
def _binding() -> tuple[Callable[..., ctypes.CDLL], Any, tuple[str, ...]]:
    """mini-racer's `(init_mini_racer, MR_CALLBACK)` and the V8 flags to initialise it with, imported on the first
    call after `check_version` (which raises ImportError for a missing or other version)."""
    check_version()
    from py_mini_racer import DEFAULT_V8_FLAGS, init_mini_racer
    from py_mini_racer._dll import MR_CALLBACK

    return init_mini_racer, MR_CALLBACK, (*DEFAULT_V8_FLAGS, NO_PROTECTION_KEYS)


# Value types of mini_racer.cc (py_mini_racer/_objects.py `_MiniRacerTypes`).
T_NULL, T_BOOL, T_INTEGER, T_DOUBLE, T_STR, T_UNDEFINED = 1, 2, 3, 4, 5, 11
T_FUNCTION, T_SHARED_ARRAY_BUFFER = 100, 101
T_EXECUTE_ERROR, T_PARSE_ERROR, T_OOM, T_TIMEOUT, T_TERMINATED, T_KEY_ERROR = 200, 201, 202, 203, 204, 206
ERROR_TYPES = range(200, 256)

MAILBOX_HEADER = 16
"""Bytes before the mailbox's UTF-16 units: four Int32 (their meaning is the caller's protocol)."""


@attrs.frozen
class Value:
    """A value from V8: `type` is a mini-racer type code; `data` the Python value of a primitive, the message of
    an error (`is_error`), or None for objects (their handles are freed at once)."""

    type: int
    data: Any = None

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_TYPES


_CREATE_LOCK = threading.Lock()


class IsolateError(Exception):
    """A context could not be created or set up."""


_INIT_LOCK = threading.Lock()
_V8: dict[str, Any] = {}
"""Set once, under `_INIT_LOCK`: `dll`, and `foreign` (True when something else initialised V8 first)."""


def _dll() -> ctypes.CDLL:
    dll = _V8.get("dll")
    if dll is not None:
        return dll
    init_mini_racer, _, flags = _binding()  # raises ImportError for a missing or other mini-racer
    from py_mini_racer import LibAlreadyInitializedError

    with _INIT_LOCK:
        if "dll" not in _V8:
            # Flags take effect only in the process's first initialisation: py_mini_racer's own `MiniRacer()`
            # initialises with its defaults (protection keys on) when it comes first.
            try:
                _V8["foreign"] = False
                _V8["dll"] = init_mini_racer(flags=flags)
            except LibAlreadyInitializedError:
                _V8["foreign"] = True
                _V8["dll"] = init_mini_racer(flags=flags, ignore_duplicate_init=True)
    return _V8["dll"]


def _check_thread_can_build() -> None:
    """Raise IsolateError where building a context on this thread would crash the process: V8 was initialised by
    someone else, with memory protection keys on, and this thread predates it (see `protection_keys`)."""
    if not _V8.get("foreign"):
        return
    blocked = protection_keys.blocked_keys(protection_keys.keys_in_use())
    if blocked:
        raise IsolateError(
            f"V8 was initialised before code mode (by py_mini_racer's MiniRacer()?) with memory protection keys "
            f"on, and this thread, older than that, has no access to V8's key {blocked[0]}: a context built here "
            f"would crash the process. Call codex_actors.codemode.v8bridge.load_v8() before the first MiniRacer() "
            f"(it starts V8 with {NO_PROTECTION_KEYS})")


def load_v8() -> None:
    """Load and initialize V8 once per process (blocking, ~100 ms the first time: call it off the trio thread);
    any thread may call it, concurrent first calls wait for one load (mini-racer's `init_mini_racer` holds a
    lock). `Isolate.create` loads V8 too if nobody has."""
    _dll()


def context_count() -> int:
    """How many mini-racer contexts (isolate threads) exist in this process."""
    return int(_dll().mr_context_count())


class Isolate:
    """One mini-racer context. Not thread-safe by itself: `post_*`/`cancel` from one thread, `free` once."""

    def __init__(self) -> None:
        self._dll = _dll()
        self._ctx = 0
        self._freed = False
        self._callback = _binding()[1](self._on_raw)  # kept alive until free() has joined the isolate thread
        self._on_callback: Callable[[int, Value], None] | None = None
        self._sync: dict[int, Value] = {}
        self._sync_done = threading.Condition()
        self._mailbox_units = 0
        # Views made once at set-up (a ctypes object per access costs more than the access); dropped by free().
        self._ints: Any = None
        self._units: memoryview | None = None
        self._handles: list[Any] = []
        self.native_thread_id: int | None = None

    # ---- life cycle (blocking) ------------------------------------------------------------------------------

    @classmethod
    def create(cls) -> "Isolate":
        """A new context with its isolate thread (blocking). Raises IsolateError, also before building on a
        thread that would crash the process (`_check_thread_can_build`). Contexts are created one at a time: two
        `mr_init_context` calls racing in two threads abort the process about once in 150 tries here
        (`partition_address_space.cc: Check failed: !IsConfigurablePoolInitialized()`, V8 14.4 / mini-racer
        0.14.1: a process-wide pool is initialised lazily, unguarded), and the lock costs nothing measurable."""
        isolate = cls()
        _check_thread_can_build()
        with _CREATE_LOCK:
            isolate._ctx = isolate._dll.mr_init_context(isolate._callback)
        if not isolate._ctx:
            raise IsolateError("mr_init_context failed")
        return isolate

    def free(self) -> None:
        """Stop any JS, free the context and join its thread (blocking; idempotent)."""
        # The context id and mailbox stay valid until the isolate thread is joined: callbacks may still run
        # until then (the DLL ignores calls with an id it has freed).
        if self._ctx and not self._freed:
            self._freed = True
            self._dll.mr_free_context(self._ctx)
        self._handles.clear()
        self._ints = self._units = None  # the mailbox's memory is gone with the context

    @property
    def alive(self) -> bool:
        return self._ctx != 0 and not self._freed

    def set_hard_memory_limit(self, limit: int) -> None:
        self._dll.mr_set_hard_memory_limit(self._ctx, limit)

    def hard_memory_limit_reached(self) -> bool:
        ctx = self._ctx
        return bool(ctx and self._dll.mr_hard_memory_limit_reached(ctx))

    # ---- set-up (blocking, before `listen`) -----------------------------------------------------------------

    def eval_sync(self, code: str) -> Value:
        """Evaluate `code` and wait for the result (set-up only; objects come back as handles kept here)."""
        return self._wait(self.post_eval(code, _SYNC_ID))

    def setup(self, prelude: str, callback_id: int) -> int:
        """Evaluate `prelude` (a function expression) and call it with `this` = a JS function that reaches the
        listener as `callback_id` (no arguments); it must return `[mailbox SharedArrayBuffer, function]`. Returns
        the handle index of that function (for `post_call`). Raises IsolateError. Six hand-offs to the isolate
        thread in all (about 0.1 ms each), so a context is set up in little more than its own build time."""
        dll, ctx = self._dll, self._ctx
        fn = self._keep(self._eval_handle(prelude))
        callback = self._keep(self._checked(dll.mr_make_js_callback(ctx, callback_id)))
        self._empty = self._keep(self._eval_handle("[]"))
        self._undefined = self._keep(dll.mr_alloc_int_val(ctx, 0, T_UNDEFINED))
        result = self._keep(self._call_handle(fn, callback, self._empty))
        box = self._keep(self._item(result, 0, T_SHARED_ARRAY_BUFFER))
        address = self._handles[box].contents.value.value_ptr
        self._mailbox_units = (self._handles[box].contents.len - MAILBOX_HEADER) // 2
        self._ints = (ctypes.c_int32 * 4).from_address(address)
        units = (ctypes.c_char * (2 * self._mailbox_units)).from_address(address + MAILBOX_HEADER)
        self._units = memoryview(units).cast("B")
        return self._keep(self._item(result, 1, T_FUNCTION))

    def _item(self, array: int, index: int, expected: int) -> Any:
        key = self._alloc(index)
        try:
            item = self._checked(self._dll.mr_get_object_item(self._ctx, self._handles[array], key))
        finally:
            self._dll.mr_free_value(self._ctx, key)
        if item.contents.type != expected:
            self._dll.mr_free_value(self._ctx, item)
            raise IsolateError(f"prelude returned a value of type {expected} at {index}")
        return item

    def listen(self, on_callback: Callable[[int, Value], None]) -> None:
        """From now on, every callback goes to `on_callback(callback_id, value)` (on the isolate thread)."""
        self._on_callback = on_callback

    # ---- non-blocking ---------------------------------------------------------------------------------------

    def post_eval(self, code: str, callback_id: int) -> int:
        """Schedule `code`; its result comes to the callback with `callback_id`. Returns the task id."""
        handle = self._alloc(code)
        try:
            return int(self._dll.mr_eval(self._ctx, handle, callback_id))
        finally:
            self._dll.mr_free_value(self._ctx, handle)

    def post_call(self, function: int, callback_id: int) -> int:
        """Schedule a call of set-up function `function` with no arguments; returns the task id."""
        h = self._handles
        return int(self._dll.mr_call_function(self._ctx, h[function], h[self._undefined], h[self._empty],
                                              callback_id))

    def cancel(self, task_id: int) -> None:
        """Interrupt task `task_id` if it still runs (V8 TerminateExecution); its callback reports termination."""
        if self._ctx:
            self._dll.mr_cancel_task(self._ctx, task_id)

    # ---- mailbox ----------------------------------------------------------------------------------------------

    @property
    def mailbox_units(self) -> int:
        return self._mailbox_units

    def mailbox_int(self, index: int) -> int:
        """Int32 number `index` of the mailbox header (one aligned load)."""
        return self._ints[index]

    def set_mailbox_int(self, index: int, value: int) -> None:
        self._ints[index] = value

    def read_units(self, start: int, count: int) -> bytes:
        """UTF-16-LE bytes of mailbox units [start, start + count)."""
        if not (0 <= start and 0 <= count and start + count <= self._mailbox_units):
            raise ValueError(f"mailbox range {start}+{count} out of bounds")
        return self._units[2 * start: 2 * (start + count)].tobytes()

    def write_units(self, start: int, data: bytes) -> None:
        """Store UTF-16-LE `data` at mailbox unit `start`."""
        if not (0 <= start and start + len(data) // 2 <= self._mailbox_units):
            raise ValueError("mailbox overflow")
        self._units[2 * start: 2 * start + len(data)] = data

    # ---- internals ------------------------------------------------------------------------------------------

    def _on_raw(self, callback_id: int, raw: Any) -> None:
        # On the isolate thread; JS waits for us. Never raise into C.
        try:
            if self.native_thread_id is None:
                self.native_thread_id = threading.get_native_id()
                held_thread_state.hold()  # the isolate thread's Python state lives as long as the thread
            if callback_id == _SYNC_ID:
                with self._sync_done:
                    self._sync[callback_id] = raw
                    self._sync_done.notify_all()
                return
            value = _read(raw)
            self._dll.mr_free_value(self._ctx, raw)
            if self._on_callback is not None:
                self._on_callback(callback_id, value)
        except BaseException:  # noqa: BLE001 - an exception cannot cross into C; the listener reports its own
            pass

    def _wait(self, task_id: int) -> Value:
        del task_id
        raw = self._wait_raw()
        value = _read(raw)
        self._dll.mr_free_value(self._ctx, raw)
        return value

    def _wait_raw(self) -> Any:
        with self._sync_done:
            while _SYNC_ID not in self._sync:
                self._sync_done.wait()
            return self._sync.pop(_SYNC_ID)

    def _eval_handle(self, code: str) -> Any:
        self.post_eval(code, _SYNC_ID)
        return self._checked(self._wait_raw())

    def _call_handle(self, fn: int, this: int, argv: int) -> Any:
        h = self._handles
        self._dll.mr_call_function(self._ctx, h[fn], h[this], h[argv], _SYNC_ID)
        return self._checked(self._wait_raw())

    def _checked(self, raw: Any) -> Any:
        if not raw:
            raise IsolateError("mini-racer returned no value")
        if raw.contents.type in ERROR_TYPES:
            message = _read(raw).data
            self._dll.mr_free_value(self._ctx, raw)
            raise IsolateError(message)
        return raw

    def _keep(self, raw: Any) -> int:
        self._handles.append(raw)
        return len(self._handles) - 1

    def _alloc(self, value: Any) -> Any:
        if isinstance(value, str):
            data = value.encode("utf-8")
            return self._dll.mr_alloc_string_val(self._ctx, data, len(data), T_STR)
        if isinstance(value, int) and not isinstance(value, bool):
            return self._dll.mr_alloc_int_val(self._ctx, value, T_INTEGER)
        raise TypeError(f"only str and int cross into V8 here, not {type(value).__name__}")


_SYNC_ID = 0x7FFF_FFFF


def _read(raw: Any) -> Value:
    contents = raw.contents
    typ = contents.type
    if typ == T_STR or typ in ERROR_TYPES:
        return Value(typ, contents.value.bytes_val[0: contents.len].decode("utf-8", errors="replace"))
    if typ == T_INTEGER:
        return Value(typ, int(contents.value.int_val))
    if typ == T_BOOL:
        return Value(typ, contents.value.int_val == 1)
    if typ == T_DOUBLE:
        return Value(typ, float(contents.value.double_val))
    return Value(typ)

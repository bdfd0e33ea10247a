"""Keep a foreign thread's Python thread state from one ctypes callback to the next, until the thread exits.

A ctypes callback run on a thread Python did not start (here: a V8 isolate thread) wraps the Python code in
`PyGILState_Ensure` / `PyGILState_Release`. With no thread state held, that pair creates a thread state and deletes
it again on every call: an allocation, a new 16 KiB frame stack (CPython 3.11 maps it and unmaps it), the
interpreter's thread list locked twice. An exec takes two callbacks (the job's start, the log hand-over), each
paying that on the exec's path; in one process with runtimes of both kinds alternating, holding the state took
110 to 140 us off the median warm exec (benchmarks/README.md, "Session 10").

`hold()`, called inside such a callback, takes one more `PyGILState_Ensure`, so the state outlives the callback. A
POSIX thread-specific value with a destructor gives it back when the thread exits: glibc runs the destructor on the
exiting thread, after clearing CPython's own thread-specific value (an older key), so the destructor's ctypes
callback runs on a temporary thread state and deletes the held one, which is no longer anyone's current state.

Only public APIs: CPython's `PyGILState_*` / `PyThreadState_*` through `ctypes.pythonapi` (which keeps the GIL
during the call) and POSIX `pthread_key_create` / `pthread_setspecific`. Written for CPython 3.11 (`SUPPORTED`);
under another version `hold()` does nothing and callbacks create their thread state each time, as before.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Any

SUPPORTED = ((3, 11),)
"""CPython versions whose thread-state rules this module was written and tested for."""

_LOCKED = 0
"""`PyGILState_LOCKED`: what `PyGILState_Ensure` returns to a caller that already holds the GIL."""


@functools.cache
def _api() -> tuple[Any, Any, ctypes.c_uint] | None:
    """`(pythonapi, libc, key)`, the key's destructor installed; None where holding is not supported."""
    if sys.version_info[:2] not in SUPPORTED or sys.implementation.name != "cpython":
        return None
    api = ctypes.pythonapi
    api.PyGILState_Ensure.restype = ctypes.c_int
    api.PyGILState_Release.argtypes = (ctypes.c_int,)
    api.PyGILState_GetThisThreadState.restype = ctypes.c_void_p
    api.PyThreadState_Clear.argtypes = (ctypes.c_void_p,)
    api.PyThreadState_Delete.argtypes = (ctypes.c_void_p,)
    libc = ctypes.PyDLL(None)  # keeps the GIL: these calls never block, and `_api` is then never entered twice
    libc.pthread_key_create.argtypes = (ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p)
    libc.pthread_setspecific.argtypes = (ctypes.c_uint, ctypes.c_void_p)
    libc.pthread_getspecific.argtypes = (ctypes.c_uint,)
    libc.pthread_getspecific.restype = ctypes.c_void_p

    def on_thread_exit(held: int | None) -> None:
        # On the exiting thread, inside this callback's own PyGILState_Ensure (so the GIL is held).
        if not held:
            return
        if api.PyGILState_GetThisThreadState() == held:
            # CPython's thread-specific value was still set, so the Ensure above reused the held state: give our
            # count back; the callback's own Release then deletes the state.
            api.PyGILState_Release(_LOCKED)
        else:
            api.PyThreadState_Clear(held)
            api.PyThreadState_Delete(held)

    destructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(on_thread_exit)
    # Never freed, not even at interpreter shutdown: a thread may exit after the module is gone.
    api.Py_IncRef(ctypes.py_object(destructor))
    key = ctypes.c_uint()
    if libc.pthread_key_create(ctypes.byref(key), ctypes.cast(destructor, ctypes.c_void_p)) != 0:
        return None  # no key left (PTHREAD_KEYS_MAX): callbacks go on creating their state each time
    return api, libc, key


def supported() -> bool:
    """Whether `hold()` keeps thread states in this interpreter."""
    return _api() is not None


def hold() -> bool:
    """Inside a ctypes callback on a thread Python did not start: keep this thread's Python thread state until
    the thread exits. Idempotent per thread. Returns whether a state is held (False where not `supported()`).
    Never raises for lack of support; a thread that Python started must not call it (its state is Python's)."""
    found = _api()
    if found is None:
        return False
    api, libc, key = found
    if libc.pthread_getspecific(key):
        return True
    state = api.PyGILState_GetThisThreadState()
    if not state:
        return False
    api.PyGILState_Ensure()  # one more count on the current state: the callback's Release leaves it alive
    libc.pthread_setspecific(key, state)
    return True

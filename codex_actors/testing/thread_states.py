"""This interpreter's Python thread states, for the leak checks of the test suite and `benchmarks.exec_cycles`: a
thread Python did not start (a V8 isolate thread) gets one while it runs a ctypes callback, and keeps it while
`codemode.held_thread_state` holds it, until the thread exits."""

from __future__ import annotations

import ctypes
import threading


def thread_states() -> set[int]:
    """The addresses of this interpreter's Python thread states (public C API: `PyInterpreterState_ThreadHead`,
    `PyThreadState_Next`; the GIL is held during `pythonapi` calls)."""
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = (ctypes.c_void_p,)
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = (ctypes.c_void_p,)
    api.PyThreadState_Next.restype = ctypes.c_void_p
    states, state = set(), api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
    while state:
        states.add(state)
        state = api.PyThreadState_Next(state)
    return states


def thread_state_count() -> int:
    """How many Python thread states this interpreter has."""
    return len(thread_states())


def foreign_thread_states() -> int:
    """Thread states beyond one per Python thread: those of threads Python did not start. A Python thread that
    is ending at this moment (out of `threading.enumerate()`, its state not yet deleted) adds one."""
    return thread_state_count() - len(threading.enumerate())

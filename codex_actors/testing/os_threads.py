"""This process's OS threads as the kernel lists them, for the leak checks of the test suite and
`benchmarks.exec_cycles`: whether one thread is still alive, and how many threads Python does not know of (the V8
isolate threads, here).

A thread that has exited stays listed in `/proc/self/task` for a moment, marked dead (state `X`, or `Z` while
its exit is being reported), before the kernel unhashes it; such a thread is counted as gone."""

from __future__ import annotations

import os
import threading

DEAD_STATES = frozenset("XZx")
"""`/proc/<pid>/task/<tid>/stat` states of a thread that has exited (proc(5): X dead, Z zombie, x dead before
Linux 3.x)."""


def thread_state(tid: int) -> str | None:
    """The state letter of thread `tid` of this process (proc(5) `stat` field 3), or None once it is unlisted."""
    try:
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # Field 2, the name, is in parentheses and may itself hold ") ": the state follows the last one.
    rest = stat[stat.rfind(")") + 1:].split()
    return rest[0] if rest else None


def thread_alive(tid: int | None) -> bool:
    """Whether OS thread `tid` of this process is still alive: listed and not marked dead."""
    assert tid is not None
    state = thread_state(tid)
    return state is not None and state not in DEAD_STATES


def native_only_threads() -> int:
    """How many live OS threads of this process are not Python threads (from `/proc/self/task`; Linux only).

    An idle trio worker thread timing out leaves `threading.enumerate()` a moment before its OS thread ends; it
    still bears trio's name (`Trio thread N`) then, while an isolate thread bears the name of the job that built
    it, so such a thread is not counted. A thread that ends while being counted is not counted either, nor one
    marked dead."""
    python_ids = {thread.native_id for thread in threading.enumerate()}
    count = 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) in python_ids or not thread_alive(int(tid)):
            continue
        try:
            with open(f"/proc/self/task/{tid}/comm", encoding="utf-8", errors="replace") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        count += not name.startswith("Trio thread")
    return count

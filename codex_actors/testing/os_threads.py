"""Counting this process's OS threads that Python does not know of (the V8 isolate threads, here), for the
leak checks of the test suite and `benchmarks.exec_cycles`."""

from __future__ import annotations

import os
import threading


def native_only_threads() -> int:
    """How many OS threads of this process are not Python threads (from `/proc/self/task`; Linux only).

    An idle trio worker thread timing out leaves `threading.enumerate()` a moment before its OS thread ends; it
    still bears trio's name (`Trio thread N`) then, while an isolate thread bears the name of the job that built
    it, so such a thread is not counted. A thread that ends while being counted is not counted either."""
    python_ids = {thread.native_id for thread in threading.enumerate()}
    count = 0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) in python_ids:
            continue
        try:
            with open(f"/proc/self/task/{tid}/comm", encoding="utf-8", errors="replace") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        count += not name.startswith("Trio thread")
    return count

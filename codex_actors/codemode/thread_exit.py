"""Hearing that one OS thread of this process has exited: a pidfd on the thread (Linux >= 6.9).

`pidfd_open(tid, PIDFD_THREAD)` (reference: pidfd_open(2), `PIDFD_THREAD` = `O_EXCL`, Linux 6.9) gives a file
descriptor that polls readable once thread `tid` has exited: the kernel signals it from `exit_notify()`, when the
thread has left its address space and files and is marked dead, just before it is unhashed from `/proc/self/task`.

Joining a thread is not that: `pthread_join` (and so mini-racer's free of a context) returns when the thread
releases its memory map, before the kernel marks it dead, so a moment after a join the thread may still be
running its kernel exit path and listed as alive. A watch opened before the join and awaited after it closes that
gap without polling.

- `ThreadExit.open(tid)` (call it while the thread is known to be alive, so `tid` cannot name a newer thread) returns
  a `ThreadExit`, or None where the kernel or Python has no thread pidfds (the caller then waits some other way).
- `await watch.wait()` (trio) or `watch.wait_blocking(timeout_s)` (a worker thread) returns once the thread has
  exited (at once if it already has); `close()` frees the fd.
"""

from __future__ import annotations

import os
import select

import trio

PIDFD_THREAD = os.O_EXCL
"""linux/pidfd.h: `PIDFD_THREAD` is `O_EXCL`."""


class ThreadExit:
    """A pidfd on one thread of this process; `wait()` for its exit, then `close()`."""

    def __init__(self, fd: int):
        self._fd = fd

    @classmethod
    def open(cls, tid: int) -> "ThreadExit | None":
        """A watch on thread `tid` of this process, or None when there can be none: no `os.pidfd_open`, a kernel
        before 6.9 (EINVAL), the thread already gone (ESRCH), or no fd to spare (EMFILE); never raises."""
        opener = getattr(os, "pidfd_open", None)
        if opener is None:
            return None
        try:
            return cls(opener(tid, PIDFD_THREAD))
        except OSError:
            return None

    async def wait(self) -> None:
        """Return once the thread has exited (its pidfd polls readable)."""
        await trio.lowlevel.wait_readable(self._fd)

    def wait_blocking(self, timeout_s: float) -> bool:
        """Block (outside trio: a worker thread) until the thread has exited or `timeout_s` seconds passed; True
        when it has exited."""
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout_s * 1000))))

    def close(self) -> None:
        """Free the fd (idempotent; from trio or from a worker thread)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            if trio.lowlevel.in_trio_run():
                trio.lowlevel.notify_closing(fd)
            os.close(fd)

"""Hearing from trio that one OS thread of this process has exited: a pidfd on the thread (Linux >= 6.9).

`pidfd_open(tid, PIDFD_THREAD)` (reference: pidfd_open(2), `PIDFD_THREAD` = `O_EXCL`, Linux 6.9) gives a file
descriptor that polls readable once thread `tid` has exited: the kernel signals it from `exit_notify()`, after the
thread has left its address space and files, a few instructions before it is unhashed from `/proc/self/task`.

- `ThreadExit.open(tid)` (call it while the thread is known to be alive, so `tid` cannot name a newer thread) returns
  a `ThreadExit`, or None where the kernel or Python has no thread pidfds (the caller then waits some other way).
- `await watch.wait()` returns once the thread has exited (at once if it already has); `close()` frees the fd.
"""

from __future__ import annotations

import os

import trio

PIDFD_THREAD = os.O_EXCL
"""linux/pidfd.h: `PIDFD_THREAD` is `O_EXCL`."""


class ThreadExit:
    """A pidfd on one thread of this process; `wait()` for its exit, then `close()`."""

    def __init__(self, fd: int, tid: int):
        self._fd = fd
        self.tid = tid

    @classmethod
    def open(cls, tid: int) -> "ThreadExit | None":
        """A watch on thread `tid` of this process, or None when there can be none: no `os.pidfd_open`, a kernel
        before 6.9 (EINVAL), the thread already gone (ESRCH), or no fd to spare (EMFILE); never raises."""
        opener = getattr(os, "pidfd_open", None)
        if opener is None:
            return None
        try:
            return cls(opener(tid, PIDFD_THREAD), tid)
        except OSError:
            return None

    async def wait(self) -> None:
        """Return once the thread has exited (its pidfd polls readable)."""
        await trio.lowlevel.wait_readable(self._fd)

    def gone_from_proc(self) -> bool:
        """Whether `/proc/self/task/<tid>` is gone too (it goes a moment after the pidfd turns readable)."""
        return not os.path.exists(f"/proc/self/task/{self.tid}")

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            trio.lowlevel.notify_closing(fd)
            os.close(fd)

"""The C library through ctypes, plus a checked `syscall` and `prctl` (used only by the launcher)."""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.prctl.restype = ctypes.c_int
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

#: The machine name (`uname -m`); `platform.machine()` costs an import the launcher cannot afford.
MACHINE = os.uname().machine


def check(result: int, what: str) -> int:
    """Raise `OSError(errno, "what: strerror")` when a libc call returned -1."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return check(libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def set_no_new_privs() -> None:
    """PR_SET_NO_NEW_PRIVS: execve can never grant more privileges (required for Landlock and seccomp)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)

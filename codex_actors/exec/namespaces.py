"""New namespaces for a sandboxed command: mount, PID, and (with the network off) network.

As root the launcher unshares them directly; any other user first gets a new user namespace that maps their
uid and gid to themselves (so files keep their owners), which is what makes the others possible without
privileges. The caller must be single-threaded (the kernel refuses CLONE_NEWUSER / CLONE_NEWNS otherwise).
Only the process's *children* enter the new PID namespace; the first child becomes its PID 1 (its init).
"""

from __future__ import annotations

import ctypes
import os

from codex_actors.exec._libc import check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

libc.unshare.argtypes = [ctypes.c_int]


def enter(*, network: bool) -> None:
    """Unshare the mount and PID namespaces, plus the network namespace unless `network`.

    Raises `OSError` naming the namespace the kernel refused (e.g. user namespaces disabled for this user).
    """
    flags = CLONE_NEWNS | CLONE_NEWPID | (0 if network else CLONE_NEWNET)
    if os.geteuid() == 0:
        check(libc.unshare(flags), f"unshare({describe(flags)})")
        return
    uid, gid = os.geteuid(), os.getegid()
    check(libc.unshare(CLONE_NEWUSER | flags), f"unshare({describe(CLONE_NEWUSER | flags)})")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def describe(flags: int) -> str:
    """`CLONE_NEWUSER | CLONE_NEWNS ...` for an error message."""
    names = [(CLONE_NEWUSER, "CLONE_NEWUSER"), (CLONE_NEWNS, "CLONE_NEWNS"), (CLONE_NEWPID, "CLONE_NEWPID"),
             (CLONE_NEWNET, "CLONE_NEWNET")]
    return " | ".join(name for bit, name in names if flags & bit)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)

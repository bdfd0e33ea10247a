"""Read-only bind mounts in a private mount namespace: how `.git` stays read-only inside a writable root.

Landlock rules only add rights, so a subpath of a writable root cannot be made read-only with Landlock alone.
The launcher therefore unshares a mount namespace (as root directly; otherwise inside a new user namespace
mapping the caller's uid/gid to themselves), makes every mount private so nothing propagates back to the host,
and bind-mounts each protected path onto itself read-only. This must happen before Landlock is enforced
(Landlock forbids mount changes afterwards). Only the launched command sees these mounts.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable

from codex_actors.exec._libc import check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
libc.unshare.argtypes = [ctypes.c_int]


def make_read_only(paths: Iterable[str]) -> None:
    """Enter a private mount namespace and bind each existing path in `paths` onto itself read-only.

    Raises `OSError` naming the step that failed (e.g. user namespaces disabled for an unprivileged user).
    """
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        return
    _enter_mount_namespace()
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / a private mount")
    for path in paths:
        raw = os.fsencode(path)
        check(libc.mount(raw, raw, None, MS_BIND | MS_REC, None), f"bind-mount {path}")
        # A remount must repeat the flags the kernel locked on the original mount (nosuid, nodev, noexec).
        locked = _locked_flags(path)
        check(libc.mount(None, raw, None, MS_BIND | MS_REMOUNT | MS_RDONLY | locked, None),
              f"remount {path} read-only")


def _enter_mount_namespace() -> None:
    if os.geteuid() == 0:
        check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        return
    uid, gid = os.geteuid(), os.getegid()
    check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare(CLONE_NEWUSER | CLONE_NEWNS)")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _locked_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    result = 0
    for st_flag, ms_flag in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC)):
        if flags & st_flag:
            result |= ms_flag
    return result


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)

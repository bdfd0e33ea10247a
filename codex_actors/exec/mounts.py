"""The command's view of the filesystem, built in its private mount namespace (namespaces.py).

Landlock does not cover file metadata (chmod, chown, xattrs, timestamps), so the filesystem itself is made
read-only: every mount is made private (nothing propagates back to the host), each writable root is cloned
as it is (`open_tree`), the whole tree under `/` is then set read-only in one `mount_setattr(AT_RECURSIVE)`,
and the clones are attached back on top of their paths, read-write as before. Protected subpaths inside them
(`.git`, `.codex`, ...) are bound on top again, read-only. This is bubblewrap's `--ro-bind / / --bind R R
--ro-bind P P` (spec 5.4) with the kernel's new mount API (Linux 5.12+). A writable root `/` (workspace-write
with the cwd at the filesystem root) leaves every mount as it was, as Codex's `--bind / /` does there: only the
protected subpaths become read-only. `/proc` is mounted afresh from inside the new PID namespace, so it shows
only the sandbox's processes. All of this must happen before Landlock is enforced (it forbids mount changes
afterwards). Only the launched command sees these mounts.
"""

from __future__ import annotations

import ctypes
import os
from _collections_abc import Iterable  # `collections.abc`'s source, already loaded by `os`

from codex_actors.exec._libc import check, libc

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
# The new mount API; these syscall numbers are the same on x86_64 and aarch64 (unified table).
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442
OPEN_TREE_CLONE = 1
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY = 0x1

libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def build(writable: Iterable[str], protected: Iterable[str]) -> None:
    """Make everything read-only except the `writable` directories, then `protected` paths read-only again.

    Call in a fresh mount namespace. Raises `OSError` naming the step that failed.
    """
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / a private mount")
    writable = set(writable)
    if "/" not in writable:
        clones = [(root, _clone(root)) for root in sorted(writable, key=lambda p: p.count("/"))]
        try:
            _set_read_only(AT_FDCWD, "/", 0)
            for root, fd in clones:
                _attach(fd, root)
        finally:
            for _, fd in clones:
                os.close(fd)
    for path in protected:
        if not os.path.lexists(path):
            continue
        fd = _clone(path)
        try:
            _set_read_only(fd, "", AT_EMPTY_PATH)
            _attach(fd, path)
        finally:
            os.close(fd)


def detach(path: str) -> None:
    """Lazily unmount what is mounted on `path` in this mount namespace (`umount2(MNT_DETACH)`). Raises
    `OSError` (EINVAL when nothing is mounted there)."""
    check(libc.umount2(os.fsencode(path), MNT_DETACH), f"umount2({path})")


def mount_proc() -> None:
    """Mount a new, read-only procfs on /proc (from inside the new PID namespace: it shows that namespace)."""
    check(libc.mount(b"proc", b"/proc", b"proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
          "mount a new /proc")


def _clone(path: str) -> int:
    """A detached copy of the mount tree at `path` (`open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)`), as an fd."""
    return check(libc.syscall(SYS_OPEN_TREE, AT_FDCWD, os.fsencode(path),
                              ctypes.c_uint(OPEN_TREE_CLONE | os.O_CLOEXEC | AT_RECURSIVE)),
                 f"open_tree({path})")


def _set_read_only(dirfd: int, path: str, flags: int) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    check(libc.syscall(SYS_MOUNT_SETATTR, dirfd, os.fsencode(path), ctypes.c_uint(flags | AT_RECURSIVE),
                       ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))),
          f"mount_setattr({path or 'clone'}, read-only)")


def _attach(fd: int, path: str) -> None:
    check(libc.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, os.fsencode(path), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)),
          f"move_mount(-> {path})")

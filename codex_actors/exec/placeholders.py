"""Placeholders for protected paths that do not exist yet: the cwd's `.codex` (and our `.codex-actors`) stay
read-only in workspace-write even before they exist (spec 5.1), so a command cannot create one and plant
config that the next session would load.

Landlock cannot deny one name inside a directory it allows, and a read-only bind needs an existing path to
sit on. So the launcher creates the path on the host as an empty directory with mode 0555 (the placeholder's
mark), mounts.py binds it read-only inside the sandbox like any other protected path, and once the sandboxed
tree is gone the launcher removes it again. Inside, `mkdir .codex` fails with `File exists` and writing under
it with `Read-only file system`. (Codex's bubblewrap path does the same with `--ro-bind /dev/null` on the
missing path, whose mount point it also creates on the host and cleans up afterwards.)

Sandboxes running at once in one directory share its placeholders: each holds a shared `flock` on the
directory from before it creates them until its tree is gone, and only a launcher that then gets the lock
exclusively (the last one out) removes them. Removing one earlier would detach the read-only bind inside the
other sandboxes, since Linux lets a mount point in another mount namespace be removed. A launcher killed by
SIGKILL leaves its placeholder behind; the next sandbox there adopts it (empty, mode 0555) and removes it.
Where the user cannot create the path at all (no write permission, a read-only filesystem), neither can the
command, and no placeholder is needed. Standard library only (the launcher imports it).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable, Iterable

PLACEHOLDER_MODE = 0o555
_CANNOT_CREATE = (errno.EACCES, errno.EPERM, errno.EROFS)


class Placeholders:
    """The placeholders one launcher holds: `claim` them before the sandbox's mounts, `release` after its tree
    is gone. Not thread-safe; one per launcher process."""

    def __init__(self) -> None:
        self._locks: dict[str, int] = {}  # parent directory -> its fd, holding the shared flock
        self.paths: list[str] = []  # placeholders in use by this sandbox (created now or adopted)

    def claim(self, paths: Iterable[str]) -> None:
        """Create an empty, mode-0555 directory at each absolute path of `paths` that does not exist, or adopt
        the placeholder another sandbox has (or left) there; a real entry is left alone. Raises `OSError` when
        a path can neither be created nor is out of the user's reach (the sandbox must then refuse to run)."""
        for path in paths:
            parent, name = os.path.split(path)
            fd = self._lock(parent)
            try:
                os.mkdir(name, PLACEHOLDER_MODE, dir_fd=fd)
            except FileExistsError:
                if _is_placeholder(name, fd):
                    self.paths.append(path)
                continue  # a real entry: policy.py lists it, and mounts.py binds it read-only
            except OSError as exc:
                if exc.errno in _CANNOT_CREATE:
                    continue
                raise OSError(exc.errno, f"cannot create a placeholder at {path}: {exc.strerror}") from exc
            self.paths.append(path)
            made = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            try:
                os.fchmod(made, PLACEHOLDER_MODE)  # whatever the umask took away, or a setgid parent added
            finally:
                os.close(made)

    def release(self, unmount: Callable[[str], None] | None = None) -> None:
        """Remove the placeholders no other sandbox uses any more (only the last launcher out gets the lock
        exclusively), then drop the locks. `unmount(path)` first takes each one's read-only bind away in this
        process's mount namespace (a mount point cannot be removed where it is mounted). Never raises."""
        for path in self.paths:
            if unmount is not None:
                try:
                    unmount(path)
                except OSError:
                    pass  # not mounted here (the sandbox stopped before its mounts)
        for parent, fd in self._locks.items():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # another sandbox still runs here; the last one out removes them
            for path in self.paths:
                head, name = os.path.split(path)
                if head == parent and _is_placeholder(name, fd):
                    try:
                        os.rmdir(name, dir_fd=fd)
                    except OSError:
                        pass  # filled meanwhile from outside, or already gone: leave it
        for fd in self._locks.values():
            os.close(fd)
        self._locks.clear()
        self.paths.clear()

    def _lock(self, parent: str) -> int:
        fd = self._locks.get(parent)
        if fd is None:
            fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
            except OSError:
                os.close(fd)
                raise
            self._locks[parent] = fd
        return fd


def _is_placeholder(name: str, dir_fd: int) -> bool:
    """An empty directory with exactly the placeholder's mode (not a symlink)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode) or stat.S_IMODE(info.st_mode) != PLACEHOLDER_MODE:
            return False
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            return not os.listdir(fd)
        finally:
            os.close(fd)
    except OSError:
        return False

"""Landlock through three raw syscalls (linux/landlock.h), applied by the launcher before exec (spec 5.4).

Landlock is an allow-list: once a ruleset is enforced, an access right that the ruleset *handles* is denied
everywhere except beneath the paths a rule grants it for. Rules only add rights, so a read-only subpath
inside a writable root cannot be expressed here (see mounts.py for that). The syscall numbers 444-446 are
the same on x86_64 and aarch64 (they come from the unified syscall table).
"""

from __future__ import annotations

import ctypes
import os
from _collections_abc import Iterable  # `collections.abc`'s source, already loaded by `os`

from codex_actors.exec._libc import check, libc, set_no_new_privs

SYS_CREATE_RULESET = 444
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
RULE_NET_PORT = 2

# Filesystem access rights, with the ABI version that introduced them.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
# Network rights (ABI 4): TCP only; seccomp covers every other socket family.
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
# Scopes (ABI 6): no connecting to abstract Unix sockets, no signals, outside this Landlock domain.
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

READ_ACCESS = EXECUTE | READ_FILE | READ_DIR
FILE_ONLY_ACCESS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE

# Devices any command may write, even under read-only.
WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is missing or disabled."""
    result = libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(0, int(result))


def handled_fs_access(abi: int) -> int:
    """Every filesystem right the given ABI knows (ioctl on devices, ABI 5, is deliberately not handled)."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def restrict_self(writable: Iterable[str], *, deny_tcp: bool) -> int:
    """Enforce: read+execute everywhere, full access beneath `writable` paths, write to a few devices.

    `deny_tcp` also handles TCP bind/connect (ABI >= 4) with no rule granting them, and (ABI >= 6) scopes
    abstract Unix sockets to the sandbox; signals to processes outside it are always scoped out (ABI >= 6).
    On older ABIs the PID and network namespaces and seccomp still enforce those. Sets no_new_privs.
    Returns the ABI used. Raises `OSError` with the failing step when the kernel refuses.
    """
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not supported or not enabled by this kernel")
    handled = handled_fs_access(abi)
    scoped = SCOPE_SIGNAL | (SCOPE_ABSTRACT_UNIX_SOCKET if deny_tcp else 0)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if deny_tcp and abi >= 4 else 0,
                        scoped if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = check(
        libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "landlock_create_ruleset",
    )
    try:
        _allow(ruleset, "/", READ_ACCESS)
        for device in WRITABLE_DEVICES:
            if os.path.exists(device):
                _allow(ruleset, device, (READ_FILE | WRITE_FILE | TRUNCATE) & handled)
        for path in writable:
            _allow(ruleset, path, handled)
        set_no_new_privs()
        check(libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _allow(ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):
            access &= FILE_ONLY_ACCESS
        rule = _PathBeneathAttr(access, fd)
        check(
            libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                         ctypes.c_uint32(0)),
            f"landlock_add_rule({path})",
        )
    finally:
        os.close(fd)

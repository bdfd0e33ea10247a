"""`--log-denials`: say what the sandbox's seccomp filter denied, and why, as it happens.

With `--log-denials` the filter answers a denied syscall with SECCOMP_RET_USER_NOTIF instead of EPERM
(seccomp_unotify(2)): the kernel parks the calling thread and hands the call to a listener fd, which the
command sends to the sandbox's PID 1 before it execs. PID 1 serves it (`serve`, in a thread): for each call
it writes one line to stderr, `codex-actors sandbox: denied <call> by pid <N> (<comm>): <why>`, then
answers EPERM, exactly what the filter returns without the flag. So the command sees the same errors either
way; only the report is added. Writes outside the writable roots are refused by the read-only mounts and
Landlock, not by seccomp; they show in the command's own output as `Read-only file system` / `Permission
denied` and are not listed here (see the one-time note `NOTE`), for two reasons:

* A read-only mount's EROFS comes from the VFS (`mnt_want_write`) before any LSM hook runs, and the kernel
  reports it nowhere: only the failing call's errno says it.
* Landlock reports its denials (Linux 6.15, ABI 7) only as kernel audit records (`AUDIT_LANDLOCK_ACCESS`).
  Reading those needs the audit subsystem enabled system-wide (auditd, or `audit=1` at boot; it is off on
  this machine) and CAP_AUDIT_READ in the initial user namespace: root outside any container, never the
  unprivileged user the sandbox runs for, and enabling audit is a change to the whole host, not to one
  command. seccomp user notification cannot stand in for either: it sees syscall numbers and raw pointer
  arguments, so judging a path would mean reading the caller's memory, which another of its threads can
  change after the check (the TOCTOU that seccomp_unotify(2) warns about), and the real denial happens later,
  in the kernel, where the listener cannot see it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select

from codex_actors.exec import seccomp

# linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp)
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101
PREFIX = "codex-actors sandbox: "
NOTE = (f"{PREFIX}logging denials: each syscall the seccomp filter refuses is listed below; writes outside the "
        "writable roots fail with 'Read-only file system' or 'Permission denied' in the command's own output")

_FAMILIES = {1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}
_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
_NAMESPACE_CALLS = {"clone", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
                    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"}


class _Data(ctypes.Structure):
    _fields_ = [("nr", ctypes.c_int), ("arch", ctypes.c_uint32), ("instruction_pointer", ctypes.c_uint64),
                ("args", ctypes.c_uint64 * 6)]


class _Notif(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("pid", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("data", _Data)]


class _Response(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("val", ctypes.c_int64), ("error", ctypes.c_int32),
                ("flags", ctypes.c_uint32)]


def describe(machine: str, nr: int, args: tuple[int, ...]) -> tuple[str, str]:
    """(`call`, `why`) for syscall `nr` with `args` on `machine`: e.g. `("socket(AF_INET, SOCK_STREAM)",
    "the network is off")`. Pure."""
    names = {number: name for name, number in seccomp.ARCHES.get(machine, (0, {}))[1].items()}
    name = names.get(nr & ~seccomp.X32_SYSCALL_BIT, f"syscall {nr}")
    if nr & seccomp.X32_SYSCALL_BIT:
        return f"x32 {name}", "the x32 syscall ABI is not allowed"
    if name in ("socket", "socketpair"):
        family = _FAMILIES.get(args[0], f"family {args[0]}")
        kind = _TYPES.get(args[1] & seccomp.SOCK_TYPE_MASK, f"type {args[1] & seccomp.SOCK_TYPE_MASK}")
        why = ("a datagram Unix socket could send to a listener outside" if args[0] == seccomp.AF_UNIX
               else "the network is off")
        return f"{name}({family}, {kind})", why
    if name in seccomp.NETWORK_DENIED or name == "sendto":
        return f"{name}()", "the network is off: no connection to anything outside the sandbox"
    if name in _NAMESPACE_CALLS:
        call = f"clone(flags={args[0]:#x})" if name == "clone" else f"{name}()"
        return call, "new namespaces, mounts and chroot are not allowed in the sandbox"
    if name == "ptrace" or name.startswith("process_vm_"):
        return f"{name}()", "tracing other processes is not allowed in the sandbox"
    return f"{name}()", "this kernel interface is not allowed in the sandbox"


def format_denial(machine: str, pid: int, comm: str, nr: int, args: tuple[int, ...]) -> str:
    """The line printed for one denied call (no newline). Pure."""
    call, why = describe(machine, nr, args)
    return f"{PREFIX}denied {call} by pid {pid} ({comm}): {why}"


def serve(listener: int, out: int = 2) -> None:
    """Answer every notification on `listener` with EPERM, writing one `format_denial` line to fd `out`
    first; returns when no process uses the filter any more (or the fd fails). Blocking: run it in a thread."""
    machine = os.uname().machine
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    while True:
        events = poller.poll()
        if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in events):
            return
        notif = _Notif()
        try:
            fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notif, True)
        except OSError as exc:
            if exc.errno in (errno.EINTR, errno.ENOENT):
                continue  # interrupted, or the caller died before we read it
            return
        line = format_denial(machine, notif.pid, _comm(notif.pid), notif.data.nr, tuple(notif.data.args))
        os.write(out, (line + "\n").encode(errors="replace"))
        response = _Response(notif.id, 0, -errno.EPERM, 0)
        try:
            fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, response, True)
        except OSError as exc:
            if exc.errno != errno.ENOENT:  # ENOENT: the caller was killed meanwhile
                return


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return "?"

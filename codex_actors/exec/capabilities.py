"""Drop every capability before exec: bounding set, ambient set, and the effective/permitted/inheritable sets.

As root (or as root of the sandbox's own user namespace) the command would otherwise keep `CapEff
000001fffeffffff`: chroot, new namespaces, bpf, raw devices. With the bounding set empty and no inheritable
or ambient capabilities, execve grants none back, not even to uid 0 (capabilities(7), "Transformation of
capabilities during execve"); no_new_privs (set by Landlock) stops setuid and file capabilities too.
"""

from __future__ import annotations

import ctypes
import errno

from codex_actors.exec._libc import MACHINE, check, libc, prctl

PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
#: Capability numbers go up to CAP_CHECKPOINT_RESTORE (40) today; PR_CAPBSET_DROP says EINVAL past the last.
MAX_CAPS = 64


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_all() -> None:
    """Clear the bounding set, the ambient set and all current capabilities of this process.

    Raises `OSError` naming the step the kernel refused (the bounding set needs CAP_SETPCAP, which the
    launcher has as root or inside its user namespace).
    """
    if MACHINE not in SYS_CAPSET:
        raise OSError(errno.ENOSYS, f"no capset syscall number for architecture {MACHINE!r}")
    for cap in range(MAX_CAPS):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1:
            err = ctypes.get_errno()
            if err == errno.EINVAL:
                break  # past the kernel's last capability
            raise OSError(err, f"drop capability {cap} from the bounding set: {errno.errorcode.get(err, err)}")
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _Header(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    check(libc.syscall(SYS_CAPSET[MACHINE], ctypes.byref(header), ctypes.byref(data)), "capset(all zero)")

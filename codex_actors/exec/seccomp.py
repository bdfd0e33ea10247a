"""A seccomp-BPF filter written by hand (no libseccomp needed), installed by the launcher before exec (spec 5.4).

Default action: allow. Denied with EPERM, always (what codex-rs denies, plus the rest of the kernel's attack
surface a command has no business with): `ptrace`, `process_vm_readv/writev`, the io_uring syscalls (io_uring
can open sockets behind the filter's back), `bpf`, `perf_event_open`, `userfaultfd`, `keyctl`/`add_key`/
`request_key`, `kexec_*`, module loading, `chroot`, `pivot_root`, `mount`/`umount2` and the new mount API,
`unshare`, `setns`, and `clone` with any CLONE_NEW* flag (no new namespaces, so no `unshare -U` way back to
capabilities). `clone3` answers ENOSYS: its flags sit behind a pointer the filter cannot read, and ENOSYS makes
glibc fall back to `clone` (threads and posix_spawn keep working).

When the network is blocked: `socket` and `socketpair` are allowed only for AF_UNIX stream and seqpacket
sockets (no AF_INET/AF_INET6/AF_NETLINK/AF_PACKET, and no datagram Unix socket, whose `sendmsg` could name a
listener outside); `connect`, `bind`, `listen`, `accept`, `accept4` and `sendmmsg` are denied, and `sendto`
with a destination address. So no socket inside reaches anything outside, path or abstract (spec 5.4 lists
the same calls); socketpair pipes between the command's own processes keep working.

A foreign architecture (or the x32 ABI on x86_64) is killed, so the syscall numbers below cannot be bypassed.
`build_program` is pure and unit-tested; `install` hands the program to the kernel with prctl(PR_SET_SECCOMP).
"""

from __future__ import annotations

import ctypes
import errno

from codex_actors.exec._libc import MACHINE, check, libc, prctl

# struct seccomp_data offsets: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_OFF_NR = 0
_OFF_ARCH = 4


def _arg(index: int, high: bool = False) -> int:
    """Offset of the low (or high) 32 bits of syscall argument `index` (little-endian)."""
    return 16 + 8 * index + (4 if high else 0)


# classic BPF opcodes
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_OPCODES = {"ld": _LD_W_ABS, "and": _AND_K, "jeq": _JEQ_K, "jge": _JGE_K, "jset": _JSET_K, "ret": _RET_K}

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_USER_NOTIF = 0x7FC00000
AF_UNIX = 1
SOCK_STREAM = 1
SOCK_SEQPACKET = 5
SOCK_TYPE_MASK = 0xF
X32_SYSCALL_BIT = 0x40000000
#: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (CLONE_NEWTIME exists only in clone3).
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

_COMMON = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
           "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435,
           "mount_setattr": 442}
ARCHES = {
    # machine: (AUDIT_ARCH_*, syscall numbers)
    "x86_64": (0xC000003E, {**_COMMON, "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "bind": 49,
                            "listen": 50, "socketpair": 53, "clone": 56, "ptrace": 101, "pivot_root": 155,
                            "chroot": 161, "mount": 165, "umount2": 166, "init_module": 175, "delete_module": 176,
                            "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
                            "accept4": 288, "perf_event_open": 298, "sendmmsg": 307, "setns": 308,
                            "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313,
                            "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323}),
    "aarch64": (0xC00000B7, {**_COMMON, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51,
                             "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
                             "ptrace": 117, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201,
                             "accept": 202, "connect": 203, "sendto": 206, "add_key": 217, "request_key": 218,
                             "keyctl": 219, "clone": 220, "perf_event_open": 241, "accept4": 242,
                             "setns": 268, "sendmmsg": 269, "process_vm_readv": 270, "process_vm_writev": 271,
                             "finit_module": 273, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294}),
}
ALWAYS_DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "io_uring_setup", "io_uring_enter",
                 "io_uring_register", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
                 "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "chroot",
                 "pivot_root", "mount", "umount2", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
                 "fspick", "mount_setattr", "unshare", "setns")
NETWORK_DENIED = ("connect", "bind", "listen", "accept", "accept4", "sendmmsg")
SOCKET_CREATORS = ("socket", "socketpair")

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3


class UnsupportedArchitecture(Exception):
    """No syscall table for this machine: the filter cannot be built, so a sandbox must refuse to run."""


def build_program(machine: str, *, block_network: bool, notify: bool = False) -> list[tuple[int, int, int, int]]:
    """The filter as `(code, jt, jf, k)` instructions for `machine` (`uname -m` value). With `notify`, what
    would fail with EPERM goes to the filter's listener instead (`--log-denials`, denials.py)."""
    if machine not in ARCHES:
        raise UnsupportedArchitecture(f"no seccomp syscall table for architecture {machine!r}")
    audit_arch, numbers = ARCHES[machine]
    # Each entry: (op, k, jt, jf); jt/jf are relative offsets or labels (forward only, as BPF jumps are).
    # Labels: clone (flags check), domain (socket family/type), sendto (destination), allow, eperm, enosys, kill.
    body: list[tuple[str, int, int | str, int | str]] = [("ld", _OFF_ARCH, 0, 0), ("jeq", audit_arch, 0, "kill"),
                                                         ("ld", _OFF_NR, 0, 0)]
    if machine == "x86_64":
        body.append(("jge", X32_SYSCALL_BIT, "eperm", 0))
    body.append(("jeq", numbers["clone3"], "enosys", 0))
    body.append(("jeq", numbers["clone"], "clone", 0))
    body += [("jeq", numbers[name], "eperm", 0) for name in ALWAYS_DENIED]
    if block_network:
        body += [("jeq", numbers[name], "eperm", 0) for name in NETWORK_DENIED]
        body += [("jeq", numbers[name], "domain", 0) for name in SOCKET_CREATORS]
        body.append(("jeq", numbers["sendto"], "sendto", 0))
    labels: dict[str, int] = {}

    def label(name: str) -> None:
        labels[name] = len(body)

    body.append(("ret", RET_ALLOW, 0, 0))
    label("clone")
    body += [("ld", _arg(0), 0, 0), ("jset", CLONE_NEW_FLAGS, "eperm", "allow")]
    if block_network:
        label("domain")
        body += [("ld", _arg(0), 0, 0), ("jeq", AF_UNIX, 0, "eperm"), ("ld", _arg(1), 0, 0),
                 ("and", SOCK_TYPE_MASK, 0, 0), ("jeq", SOCK_STREAM, "allow", 0),
                 ("jeq", SOCK_SEQPACKET, "allow", "eperm")]
        label("sendto")  # sendto(fd, buf, len, flags, dest_addr, addrlen): a NULL dest_addr is a plain send()
        body += [("ld", _arg(4), 0, 0), ("jeq", 0, 0, "eperm"), ("ld", _arg(4, high=True), 0, 0),
                 ("jeq", 0, "allow", "eperm")]
    label("allow")
    body.append(("ret", RET_ALLOW, 0, 0))
    label("eperm")
    body.append(("ret", RET_USER_NOTIF if notify else RET_ERRNO | errno.EPERM, 0, 0))
    label("enosys")
    body.append(("ret", RET_ERRNO | errno.ENOSYS, 0, 0))
    label("kill")
    body.append(("ret", RET_KILL_PROCESS, 0, 0))

    program = []
    for index, (op, k, jt, jf) in enumerate(body):
        def target(value: int | str) -> int:
            offset = value if isinstance(value, int) else labels[value] - index - 1
            if not 0 <= offset <= 255:
                raise AssertionError(f"seccomp jump out of range at {index}: {offset}")
            return offset
        program.append((_OPCODES[op], target(jt), target(jf), k))
    return program


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def install(*, block_network: bool, notify: bool = False) -> int | None:
    """Install the filter for this process and its future children (no_new_privs must already be set).

    With `notify`, returns the listener fd of a SECCOMP_RET_USER_NOTIF filter (see denials.py); else None.
    Raises `UnsupportedArchitecture` or `OSError` when the kernel refuses.
    """
    program = build_program(MACHINE, block_network=block_network, notify=notify)
    array = (_SockFilter * len(program))(*[_SockFilter(*insn) for insn in program])
    fprog = _SockFprog(len(program), array)
    if notify:
        if MACHINE not in SYS_SECCOMP:
            raise UnsupportedArchitecture(f"no seccomp syscall number for architecture {MACHINE!r}")
        return check(libc.syscall(SYS_SECCOMP[MACHINE], SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                                  ctypes.byref(fprog)), "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)")
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
    return None

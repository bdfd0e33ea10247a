"""A seccomp-BPF filter written by hand (no libseccomp needed), installed by the launcher before exec (spec 5.4).

Default action: allow. Always denied with EPERM: `ptrace` and the io_uring syscalls (io_uring can open
sockets behind the filter's back). When the network is blocked, `socket` and `socketpair` are allowed only
for AF_UNIX, so no AF_INET/AF_INET6/AF_NETLINK/AF_PACKET/... socket can exist in the sandbox; everything else
on sockets stays allowed (local Unix sockets keep working). A foreign architecture (or the x32 ABI on x86_64)
is killed, so the syscall numbers below cannot be bypassed. `build_program` is pure and unit-tested;
`install` hands the program to the kernel with prctl(PR_SET_SECCOMP).
"""

from __future__ import annotations

import ctypes
import errno
import platform

from codex_actors.exec._libc import prctl

# struct seccomp_data offsets: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0 = 16  # low 32 bits on little-endian; the kernel truncates the `domain` int to 32 bits anyway

# classic BPF opcodes
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
AF_UNIX = 1
X32_SYSCALL_BIT = 0x40000000

ARCHES = {
    # machine: (AUDIT_ARCH_*, syscall numbers)
    "x86_64": (0xC000003E, {"socket": 41, "socketpair": 53, "ptrace": 101,
                            "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}),
    "aarch64": (0xC00000B7, {"socket": 198, "socketpair": 199, "ptrace": 117,
                             "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}),
}
ALWAYS_DENIED = ("ptrace", "io_uring_setup", "io_uring_enter", "io_uring_register")
SOCKET_CREATORS = ("socket", "socketpair")

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class UnsupportedArchitecture(Exception):
    """No syscall table for this machine: the filter cannot be built, so a sandbox must refuse to run."""


def build_program(machine: str, *, block_network: bool) -> list[tuple[int, int, int, int]]:
    """The filter as `(code, jt, jf, k)` instructions for `machine` (`platform.machine()` value)."""
    if machine not in ARCHES:
        raise UnsupportedArchitecture(f"no seccomp syscall table for architecture {machine!r}")
    audit_arch, numbers = ARCHES[machine]
    denied = [numbers[name] for name in ALWAYS_DENIED]
    checked = [numbers[name] for name in SOCKET_CREATORS] if block_network else []
    # Layout (jump offsets are relative to the next instruction):
    #   ld arch; jeq AUDIT_ARCH ? next : KILL; ld nr; [x86_64: jge X32 ? EPERM : next]
    #   jeq denied_i ? EPERM : next ...; jeq socket_i ? DOMAIN : next ...; ret ALLOW
    #   DOMAIN: ld arg0; jeq AF_UNIX ? ALLOW2 : EPERM;  ALLOW2: ret ALLOW; EPERM: ret ERRNO; KILL: ret KILL
    body: list[tuple[str, int, int | str, int | str]] = [("ld", _OFF_ARCH, 0, 0), ("jeq", audit_arch, 0, "kill"),
                                                         ("ld", _OFF_NR, 0, 0)]
    if machine == "x86_64":
        body.append(("jge", X32_SYSCALL_BIT, "eperm", 0))
    body += [("jeq", nr, "eperm", 0) for nr in denied]
    body += [("jeq", nr, "domain", 0) for nr in checked]
    body.append(("ret", RET_ALLOW, 0, 0))
    labels = {"domain": len(body)}
    body += [("ld", _OFF_ARG0, 0, 0), ("jeq", AF_UNIX, 0, "eperm"), ("ret", RET_ALLOW, 0, 0)]
    labels["eperm"] = len(body)
    body.append(("ret", RET_ERRNO | errno.EPERM, 0, 0))
    labels["kill"] = len(body)
    body.append(("ret", RET_KILL_PROCESS, 0, 0))

    program = []
    for index, (op, k, jt, jf) in enumerate(body):
        def target(value: int | str) -> int:
            return value if isinstance(value, int) else labels[value] - index - 1
        code = {"ld": _LD_W_ABS, "jeq": _JEQ_K, "jge": _JGE_K, "ret": _RET_K}[op]
        program.append((code, target(jt), target(jf), k))
    return program


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def install(*, block_network: bool) -> None:
    """Install the filter for this process and its future children (no_new_privs must already be set).

    Raises `UnsupportedArchitecture` or `OSError` when the kernel refuses.
    """
    program = build_program(platform.machine(), block_network=block_network)
    array = (_SockFilter * len(program))(*[_SockFilter(*insn) for insn in program])
    fprog = _SockFprog(len(program), array)
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))

import errno

import pytest

from codex_actors.exec import seccomp

EPERM = seccomp.RET_ERRNO | errno.EPERM
AF_INET, AF_INET6, AF_NETLINK = 2, 10, 16
SOCK_DGRAM, SOCK_RAW = 2, 3
SOCK_CLOEXEC = 0o2000000


def _run(program, *, nr, arch, args=()):
    """A tiny classic-BPF interpreter for the instructions the builder emits; `args` are 64-bit values."""
    data = {0: nr, 4: arch}
    for index, value in enumerate(list(args) + [0] * (6 - len(args))):
        data[16 + 8 * index] = value & 0xFFFFFFFF
        data[20 + 8 * index] = value >> 32
    acc = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:
            acc = data[k]
            pc += 1
        elif code == 0x54:
            acc &= k
            pc += 1
        elif code == 0x15:
            pc += 1 + (jt if acc == k else jf)
        elif code == 0x35:
            pc += 1 + (jt if acc >= k else jf)
        elif code == 0x45:
            pc += 1 + (jt if acc & k else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_network_filter_allows_only_unix_stream_sockets_that_reach_nothing_outside(machine):
    audit, numbers = seccomp.ARCHES[machine]
    program = seccomp.build_program(machine, block_network=True)

    def run(name, *args):
        return _run(program, nr=numbers[name], arch=audit, args=args)

    assert run("socket", 1, 1) == seccomp.RET_ALLOW  # AF_UNIX, SOCK_STREAM
    assert run("socket", 1, 5 | SOCK_CLOEXEC) == seccomp.RET_ALLOW  # SOCK_SEQPACKET with a flag
    assert run("socketpair", 1, 1) == seccomp.RET_ALLOW
    assert run("socket", 1, SOCK_DGRAM) == EPERM  # its sendmsg could name a listener outside
    assert run("socket", 1, SOCK_RAW) == EPERM  # the kernel makes AF_UNIX SOCK_RAW a datagram socket
    assert run("socketpair", 1, SOCK_DGRAM) == EPERM
    assert run("socket", AF_INET, 1) == EPERM
    assert run("socket", AF_INET6, 1) == EPERM
    assert run("socketpair", AF_NETLINK, 1) == EPERM
    for name in ("connect", "bind", "listen", "accept", "accept4", "sendmmsg"):
        assert run(name) == EPERM, name
    assert run("sendto", 3, 0x1000, 2, 0, 0, 0) == seccomp.RET_ALLOW  # send(): no destination
    assert run("sendto", 3, 0x1000, 2, 0, 0x7FFF_0000_1000, 16) == EPERM
    assert run("sendto", 3, 0x1000, 2, 0, 0x10, 16) == EPERM
    assert _run(program, nr=0, arch=audit) == seccomp.RET_ALLOW
    assert _run(program, nr=0, arch=0x40000003) == seccomp.RET_KILL_PROCESS  # i386 compat: killed


@pytest.mark.parametrize("block_network", [True, False])
@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_escape_hatches_are_always_denied(machine, block_network):
    audit, numbers = seccomp.ARCHES[machine]
    program = seccomp.build_program(machine, block_network=block_network)
    for name in seccomp.ALWAYS_DENIED:
        assert _run(program, nr=numbers[name], arch=audit) == EPERM, name
    clone_thread = 0x00010000 | 0x00000100 | 0x00000800  # CLONE_THREAD | CLONE_VM | CLONE_SIGHAND
    assert _run(program, nr=numbers["clone"], arch=audit, args=(clone_thread,)) == seccomp.RET_ALLOW
    assert _run(program, nr=numbers["clone"], arch=audit, args=(17,)) == seccomp.RET_ALLOW  # fork: SIGCHLD
    for flag in (0x10000000, 0x00020000, 0x20000000, 0x40000000, 0x04000000, 0x08000000, 0x02000000):
        assert _run(program, nr=numbers["clone"], arch=audit, args=(flag | 17,)) == EPERM, hex(flag)
    assert _run(program, nr=numbers["clone3"], arch=audit) == seccomp.RET_ERRNO | errno.ENOSYS


def test_network_allowed_filter_still_denies_ptrace_but_not_sockets():
    audit, numbers = seccomp.ARCHES["x86_64"]
    program = seccomp.build_program("x86_64", block_network=False)
    assert _run(program, nr=numbers["socket"], arch=audit, args=(AF_INET, 1)) == seccomp.RET_ALLOW
    assert _run(program, nr=numbers["connect"], arch=audit) == seccomp.RET_ALLOW
    assert _run(program, nr=numbers["ptrace"], arch=audit) == EPERM
    assert _run(program, nr=seccomp.X32_SYSCALL_BIT | 41, arch=audit) == EPERM


def test_unknown_architecture_is_refused():
    with pytest.raises(seccomp.UnsupportedArchitecture, match="riscv64"):
        seccomp.build_program("riscv64", block_network=True)

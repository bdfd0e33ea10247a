import pytest

from codex_actors.exec import seccomp


def _run(program, *, nr, arch, arg0=0):
    """A tiny classic-BPF interpreter for the instructions the builder emits."""
    data = {0: nr, 4: arch, 16: arg0}
    acc = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:
            acc = data[k]
            pc += 1
        elif code == 0x15:
            pc += 1 + (jt if acc == k else jf)
        elif code == 0x35:
            pc += 1 + (jt if acc >= k else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_network_filter_allows_only_unix_sockets(machine):
    audit, numbers = seccomp.ARCHES[machine]
    program = seccomp.build_program(machine, block_network=True)
    eperm = seccomp.RET_ERRNO | 1
    assert _run(program, nr=numbers["socket"], arch=audit, arg0=1) == seccomp.RET_ALLOW  # AF_UNIX
    assert _run(program, nr=numbers["socket"], arch=audit, arg0=2) == eperm  # AF_INET
    assert _run(program, nr=numbers["socket"], arch=audit, arg0=10) == eperm  # AF_INET6
    assert _run(program, nr=numbers["socketpair"], arch=audit, arg0=16) == eperm  # AF_NETLINK
    assert _run(program, nr=numbers["ptrace"], arch=audit) == eperm
    assert _run(program, nr=numbers["io_uring_setup"], arch=audit) == eperm
    assert _run(program, nr=0, arch=audit) == seccomp.RET_ALLOW
    assert _run(program, nr=0, arch=0x40000003) == seccomp.RET_KILL_PROCESS  # i386 compat: killed


def test_network_allowed_filter_still_denies_ptrace_but_not_sockets():
    audit, numbers = seccomp.ARCHES["x86_64"]
    program = seccomp.build_program("x86_64", block_network=False)
    assert _run(program, nr=numbers["socket"], arch=audit, arg0=2) == seccomp.RET_ALLOW
    assert _run(program, nr=numbers["ptrace"], arch=audit) == seccomp.RET_ERRNO | 1
    assert _run(program, nr=seccomp.X32_SYSCALL_BIT | 41, arch=audit) == seccomp.RET_ERRNO | 1


def test_unknown_architecture_is_refused():
    with pytest.raises(seccomp.UnsupportedArchitecture, match="riscv64"):
        seccomp.build_program("riscv64", block_network=True)

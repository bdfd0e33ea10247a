"""`--log-denials`: each syscall the seccomp filter refuses is reported, with the same EPERM to the command."""

import subprocess
import sys

import pytest

from codex_actors.exec import denials, landlock, seccomp
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.spawn import launcher_argv


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_each_denial_reads_as_what_and_why(machine):
    numbers = seccomp.ARCHES[machine][1]
    assert denials.format_denial(machine, 7, "python3", numbers["socket"], (2, 1 | 0o2000000, 0, 0, 0, 0)) == (
        "codex-actors sandbox: denied socket(AF_INET, SOCK_STREAM) by pid 7 (python3): the network is off")
    assert denials.format_denial(machine, 7, "nc", numbers["connect"], (3, 0, 0, 0, 0, 0)).endswith(
        "denied connect() by pid 7 (nc): the network is off: no connection to anything outside the sandbox")
    assert denials.describe(machine, numbers["socket"], (1, 2, 0, 0, 0, 0)) == (
        "socket(AF_UNIX, SOCK_DGRAM)", "a datagram Unix socket could send to a listener outside")
    assert denials.describe(machine, numbers["clone"], (0x10000000 | 17, 0, 0, 0, 0, 0)) == (
        "clone(flags=0x10000011)", "new namespaces, mounts and chroot are not allowed in the sandbox")
    assert denials.describe(machine, numbers["ptrace"], (0,) * 6)[1] == (
        "tracing other processes is not allowed in the sandbox")
    assert denials.describe(machine, numbers["bpf"], (0,) * 6) == (
        "bpf()", "this kernel interface is not allowed in the sandbox")


def test_an_x32_call_is_named_as_such():
    assert denials.describe("x86_64", seccomp.X32_SYSCALL_BIT | 41, (0,) * 6) == (
        "x32 socket", "the x32 syscall ABI is not allowed")


def test_the_filter_notifies_instead_of_failing_only_when_asked():
    plain = seccomp.build_program("x86_64", block_network=True)
    notify = seccomp.build_program("x86_64", block_network=True, notify=True)
    returns = lambda program: {k for code, _, _, k in program if code == 0x06}  # noqa: E731
    assert seccomp.RET_USER_NOTIF not in returns(plain)
    assert returns(notify) == returns(plain) - {seccomp.RET_ERRNO | 1} | {seccomp.RET_USER_NOTIF}


@pytest.mark.skipif(not sys.platform.startswith("linux") or landlock.abi_version() < 1,
                    reason="kernel without Landlock: the sandbox refuses to run here")
@pytest.mark.parametrize("log", [True, False])
def test_log_denials_reports_each_refused_call_and_the_command_sees_the_same_errors(tmp_path, log):
    script = ("python3 -c \"import socket\ntry:\n socket.socket(socket.AF_INET)\nexcept OSError as e: print('py', e)\"; "
              "unshare -U true; echo unshare=$?")
    argv = launcher_argv(["bash", "-c", script], cwd=str(tmp_path), policy=SandboxPolicy("read-only"), tty=False,
                         log_denials=log)
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "py [Errno 1] Operation not permitted\nunshare=1\n"
    reported = [line for line in proc.stderr.splitlines() if line.startswith("codex-actors sandbox: ")]
    if not log:
        assert reported == []
        return
    assert reported[0] == denials.NOTE
    assert any(line.startswith("codex-actors sandbox: denied socket(AF_INET, SOCK_STREAM) by pid ")
               and line.endswith("(python3): the network is off") for line in reported), proc.stderr
    assert any(line.startswith("codex-actors sandbox: denied unshare() by pid ") and "(unshare)" in line
               for line in reported), proc.stderr

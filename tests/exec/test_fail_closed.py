"""FAIL CLOSED: when the kernel cannot enforce the policy, the launcher refuses to run the command."""

import os
import subprocess
import sys

import pytest

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.spawn import launcher_argv

# Runs the launcher in a process where landlock_create_ruleset (444) fails with ENOSYS, as on a kernel
# built without Landlock. The filter is installed with our own seccomp structures.
HIDE_LANDLOCK = r"""
import ctypes, os, sys
from codex_actors.exec import seccomp
from codex_actors.exec._libc import prctl, set_no_new_privs
program = [(0x20, 0, 0, 0), (0x15, 0, 1, 444), (0x06, 0, 0, 0x00050000 | 38), (0x06, 0, 0, 0x7FFF0000)]
array = (seccomp._SockFilter * 4)(*[seccomp._SockFilter(*insn) for insn in program])
set_no_new_privs()
prctl(seccomp.PR_SET_SECCOMP, seccomp.SECCOMP_MODE_FILTER, ctypes.addressof(seccomp._SockFprog(4, array)))
os.execv(sys.executable, [sys.executable] + sys.argv[1:])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux launcher")
@pytest.mark.parametrize("mode", ["read-only", "workspace-write"])
def test_launcher_refuses_to_run_without_landlock(tmp_path, mode):
    argv = launcher_argv(["touch", "ran"], cwd=str(tmp_path), policy=SandboxPolicy(mode), tty=False)
    proc = subprocess.run([sys.executable, "-I", "-c", HIDE_LANDLOCK, *argv[1:]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr == ("codex-actors sandbox: refusing to run: this kernel does not support Landlock, so file "
                           "access cannot be restricted\n")
    assert not (tmp_path / "ran").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux launcher")
def test_danger_full_access_needs_no_landlock(tmp_path):
    argv = launcher_argv(["touch", "ran"], cwd=str(tmp_path), policy=SandboxPolicy("danger-full-access"), tty=False)
    proc = subprocess.run([sys.executable, "-I", "-c", HIDE_LANDLOCK, *argv[1:]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ran").exists()


def test_launcher_rejects_bad_arguments():
    proc = subprocess.run([sys.executable, "-I", "-m", "codex_actors.exec.sandbox", "--policy", "{bad", "--", "true"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith("codex-actors sandbox: bad launcher arguments:")


@pytest.mark.parametrize(("options", "message"), [
    (["--mode", "sandboxed"], "bad launcher arguments: unknown sandbox mode 'sandboxed'"),
    (["--mode", "workspace-write", "--writable-root", "rel"], "bad launcher arguments: sandbox_workspace_write"),
    (["--mode", "read-only", "--policy", '{"type": "read-only"}'], "give --policy or --mode, not both"),
    (["--writable-root", "/tmp"], "--writable-root and the policy flags need --mode"),
])
def test_launcher_policy_flags_are_checked_before_anything_runs(tmp_path, options, message):
    proc = subprocess.run([sys.executable, "-I", "-m", "codex_actors.exec.sandbox", *options, "--", "touch", "ran"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"codex-actors sandbox: {message}"), proc.stderr
    assert not (tmp_path / "ran").exists()


# The same, for any one syscall: `python -c HIDE_SYSCALL NR ERRNO <launcher argv...>` makes syscall NR fail
# with ERRNO in the launcher and everything it starts.
HIDE_SYSCALL = r"""
import ctypes, os, sys
from codex_actors.exec import seccomp
from codex_actors.exec._libc import prctl, set_no_new_privs
nr, err = int(sys.argv[1]), int(sys.argv[2])
program = [(0x20, 0, 0, 0), (0x15, 0, 1, nr), (0x06, 0, 0, 0x00050000 | err), (0x06, 0, 0, 0x7FFF0000)]
array = (seccomp._SockFilter * 4)(*[seccomp._SockFilter(*insn) for insn in program])
set_no_new_privs()
prctl(seccomp.PR_SET_SECCOMP, seccomp.SECCOMP_MODE_FILTER, ctypes.addressof(seccomp._SockFprog(4, array)))
os.execv(sys.executable, [sys.executable] + sys.argv[3:])
"""

# (syscall, errno, the refusal's text): no user/PID/network namespaces (user namespaces disabled, a
# container's seccomp profile), no mount_setattr (a kernel older than 5.12), no fresh /proc.
MISSING_LAYERS = [
    ("unshare", 1, "cannot create the sandbox's namespaces (unshare("),
    ("mount_setattr", 38, "cannot make the filesystem read-only outside the writable roots (mount_setattr(/, "
                          "read-only): Function not implemented)"),
    ("mount", 1, "cannot make the filesystem read-only outside the writable roots (make / a private mount: "
                 "Operation not permitted)"),
]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux launcher")
@pytest.mark.parametrize("mode", ["read-only", "workspace-write"])
@pytest.mark.parametrize("syscall,err,reason", MISSING_LAYERS)
def test_launcher_refuses_to_run_without_each_layer(tmp_path, mode, syscall, err, reason):
    from codex_actors.exec import seccomp

    nr = seccomp.ARCHES[os.uname().machine][1][syscall]
    argv = launcher_argv(["touch", "ran"], cwd=str(tmp_path), policy=SandboxPolicy(mode), tty=False)
    proc = subprocess.run([sys.executable, "-I", "-c", HIDE_SYSCALL, str(nr), str(err), *argv[1:]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.startswith("codex-actors sandbox: refusing to run: " + reason), proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "ran").exists()

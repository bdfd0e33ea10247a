"""The sandbox-denial heuristic (spec agent-core 5.3 step 6)."""

import signal

import pytest

from codex_actors.tools.approvals import is_sandbox_denial


@pytest.mark.parametrize(
    "output",
    [
        "touch: cannot touch 'x': Permission denied",
        "mkdir: cannot create directory: Read-only file system",
        "bash: /etc/x: Operation not permitted",
        "killed by SECCOMP filter",
        "blocked by sandbox",
        "landlock: access denied",
        "error: failed to write file out.bin",
    ],
)
def test_failure_naming_a_denial_is_a_sandbox_denial(output):
    assert is_sandbox_denial(1, output)
    assert is_sandbox_denial(126, output)


def test_success_is_never_a_denial():
    assert not is_sandbox_denial(0, "Permission denied")


@pytest.mark.parametrize("code", [1, 2, 126, 127])
def test_exit_code_alone_is_not_a_denial(code):
    assert not is_sandbox_denial(code, "something else went wrong")


def test_sigsys_exit_is_a_denial_on_linux_only():
    code = 128 + int(signal.SIGSYS)
    assert is_sandbox_denial(code, "", platform="linux")
    assert not is_sandbox_denial(code, "", platform="darwin")

"""The argv that starts a command through the launcher (`codex_actors.exec.sandbox`), and PTY plumbing."""

from __future__ import annotations

import fcntl
import os
import struct
import sys
import termios
from collections.abc import Sequence

from codex_actors.exec.policy import SandboxPolicy

PTY_ROWS = 24
PTY_COLS = 80


#: The directory holding the `codex_actors` package: the launcher runs with `-S` (no site-packages, whose
#: start-up hooks cost tens of milliseconds per command) and finds the package here instead.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOTSTRAP = ("import sys; sys.path.insert(0, {root!r}); from codex_actors.exec.sandbox import exit_now, main; "
              "exit_now(main())")


def launcher_argv(command: Sequence[str], *, cwd: str, policy: SandboxPolicy | None, tty: bool,
                  lifeline: int | None = None, log_denials: bool = False) -> list[str]:
    """`[python, -I, -S, -c, <bootstrap>, --cwd, cwd, ..., --, *command]` running `codex_actors.exec.sandbox`;
    the policy as `--mode MODE [--writable-root DIR]... [--network-access] [--exclude-tmpdir-env-var]
    [--exclude-slash-tmp]` (plain flags: parsing JSON would cost the launcher the `json` and `re` imports), none
    when unrestricted; `--lifeline FD` when given (see `sandbox.run_as_reaper`); `--log-denials` when asked
    (denials.py)."""
    argv = [sys.executable, "-I", "-S", "-c", _BOOTSTRAP.format(root=PACKAGE_PARENT), "--cwd", cwd]
    if policy is not None and not policy.is_unrestricted:
        argv += ["--mode", policy.mode]
        for root in policy.writable_roots:
            argv += ["--writable-root", root]
        for flag, on in (("--network-access", policy.network_access),
                         ("--exclude-tmpdir-env-var", policy.exclude_tmpdir_env_var),
                         ("--exclude-slash-tmp", policy.exclude_slash_tmp)):
            if on:
                argv.append(flag)
    if tty:
        argv.append("--tty")
    if lifeline is not None:
        argv += ["--lifeline", str(lifeline)]
    if log_denials:
        argv.append("--log-denials")
    return [*argv, "--", *command]


def open_pty() -> tuple[int, int]:
    """A (master, slave) PTY pair sized PTY_ROWS x PTY_COLS; both fds are close-on-exec in this process."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", PTY_ROWS, PTY_COLS, 0, 0))
    os.set_inheritable(master, False)
    return master, slave

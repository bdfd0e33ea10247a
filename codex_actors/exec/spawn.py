"""The argv that starts a command through the launcher (`codex_actors.exec.sandbox`), and PTY plumbing."""

from __future__ import annotations

import fcntl
import json
import os
import struct
import sys
import termios
from collections.abc import Sequence

from codex_actors.exec.policy import SandboxPolicy

PTY_ROWS = 24
PTY_COLS = 80


def launcher_argv(command: Sequence[str], *, cwd: str, policy: SandboxPolicy | None, tty: bool) -> list[str]:
    """`[python, -I, -m, codex_actors.exec.sandbox, ..., --, *command]`; no `--policy` when unrestricted."""
    argv = [sys.executable, "-I", "-m", "codex_actors.exec.sandbox", "--cwd", cwd]
    if policy is not None and not policy.is_unrestricted:
        argv += ["--policy", json.dumps(policy.to_json())]
    if tty:
        argv.append("--tty")
    return [*argv, "--", *command]


def open_pty() -> tuple[int, int]:
    """A (master, slave) PTY pair sized PTY_ROWS x PTY_COLS; both fds are close-on-exec in this process."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", PTY_ROWS, PTY_COLS, 0, 0))
    os.set_inheritable(master, False)
    return master, slave

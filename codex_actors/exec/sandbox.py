"""The launcher: `python -I -m codex_actors.exec.sandbox [--policy JSON] [--cwd DIR] [--tty] -- COMMAND...`.

Every command codex-actors runs goes through this small program (spec 5.4 describes Codex's helper). It plays
two roles, in two processes:

* **Reaper** (this process, L). It becomes a child subreaper, so every process the command leaves behind is
  re-parented to L instead of to PID 1 (which on some machines never reaps). L forks the command, reaps every
  descendant, and when the command exits, or when L gets SIGTERM/SIGHUP, it terminates what is left of the
  tree: SIGTERM, a short grace, then SIGKILL, round after round until it has no child left. Only then does it
  exit, with the command's status (128+N for a signal). So "L exited" means "the whole tree is gone", and the
  pipes or PTY held by L reach end-of-file exactly then.
* **Sandboxed command** (the forked child, C). For read-only and workspace-write it enters the policy: protected
  subpaths bind-mounted read-only (mounts.py), no_new_privs, Landlock (landlock.py), then the seccomp filter
  (seccomp.py); then it `exec`s the command, and every descendant inherits all of it. FAIL CLOSED: if any step
  cannot be enforced it prints `codex-actors sandbox: refusing to run: <why>` on stderr and exits 1 without
  running the command.

Standard library only (it starts once per command). With `--tty`, L takes fd 0 as its controlling terminal
and C stays in the foreground process group, so Ctrl-C written to the PTY reaches the command, not L.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import termios
import time

from codex_actors.exec._libc import PR_SET_CHILD_SUBREAPER, prctl
from codex_actors.exec.policy import SandboxPolicy, SandboxUnavailable

REFUSAL_PREFIX = "codex-actors sandbox: refusing to run: "
TERM_GRACE_S = 0.5
KILL_ROUND_S = 1.0
_RESET_SIGNALS = ("SIGINT", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGTERM", "SIGHUP", "SIGPIPE",
                  "SIGXFSZ")


class _Stop(Exception):
    """SIGTERM/SIGHUP reached the reaper: stop the command's tree now."""


def usage_error(message: str) -> int:
    print(f"codex-actors sandbox: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the launcher with `argv` (default `sys.argv[1:]`); returns the command's exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        return usage_error("usage: python -m codex_actors.exec.sandbox [--policy JSON] [--cwd DIR] [--tty] -- CMD...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    if not command:
        return usage_error("no command given after --")
    policy: SandboxPolicy | None = None
    cwd = os.getcwd()
    tty = False
    i = 0
    try:
        while i < len(options):
            if options[i] == "--policy":
                policy = SandboxPolicy.from_json(json.loads(options[i + 1]))
                i += 2
            elif options[i] == "--cwd":
                cwd = options[i + 1]
                i += 2
            elif options[i] == "--tty":
                tty = True
                i += 1
            else:
                return usage_error(f"unknown option {options[i]!r}")
    except (IndexError, ValueError) as exc:
        return usage_error(f"bad launcher arguments: {exc}")
    return run_as_reaper(command, policy=policy, cwd=cwd, tty=tty)


def run_as_reaper(
    command: list[str], *, policy: SandboxPolicy | None, cwd: str, tty: bool = False,
    env: dict[str, str] | None = None,
) -> int:
    """Fork `command` in `cwd` under `policy` with `env` (None = ours), reap the whole tree, return its exit
    code (128+N for signal N). This process must own no other children; the CLI calls this in-process."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    if tty:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for name in ("SIGINT", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(command, policy, cwd, env)
    statuses: dict[int, int] = {}
    try:
        _reap_until(statuses, stop_when=pid)
    except _Stop:
        pass
    _terminate_tree(statuses)
    status = statuses.get(pid)
    if status is None:
        return 128 + signal.SIGKILL
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def apply_policy(policy: SandboxPolicy, cwd: str) -> None:
    """Enter `policy` in this process (irreversible). Raises `SandboxUnavailable` saying what is missing."""
    from codex_actors.exec import landlock, mounts, seccomp

    if policy.is_unrestricted:
        return
    roots = policy.effective_writable_roots(cwd)
    protected = [path for root in roots for path in root.read_only_subpaths]
    try:
        mounts.make_read_only(protected)
    except OSError as exc:
        raise SandboxUnavailable(f"cannot keep {', '.join(protected)} read-only ({exc})") from exc
    if landlock.abi_version() < 1:
        raise SandboxUnavailable("this kernel does not support Landlock, so file access cannot be restricted")
    try:
        landlock.restrict_self([root.root for root in roots], deny_tcp=policy.network_blocked)
    except OSError as exc:
        raise SandboxUnavailable(f"Landlock failed: {exc}") from exc
    try:
        seccomp.install(block_network=policy.network_blocked)
    except (OSError, seccomp.UnsupportedArchitecture) as exc:
        raise SandboxUnavailable(f"seccomp failed: {exc}") from exc


def _child(command: list[str], policy: SandboxPolicy | None, cwd: str, env: dict[str, str] | None) -> None:
    try:
        for name in _RESET_SIGNALS:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        os.chdir(cwd)
        if policy is not None:
            apply_policy(policy, cwd)
    except BaseException as exc:  # noqa: BLE001 - whatever went wrong, the command must not run
        os.write(2, f"{REFUSAL_PREFIX}{exc}\n".encode())
        os._exit(1)
    try:
        if env is None:
            os.execvp(command[0], command)
        os.execvpe(command[0], command, env)
    except OSError as exc:
        os.write(2, f"codex-actors sandbox: cannot run {command[0]}: {exc.strerror}\n".encode())
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)


_stop_requested = False


def _raise_stop(signum, frame) -> None:
    """Interrupt the blocking wait for the command, once; later signals are no-ops."""
    global _stop_requested
    if not _stop_requested:
        _stop_requested = True
        raise _Stop()


def _reap_until(statuses: dict[int, int], *, stop_when: int) -> None:
    """Reap children (blocking) until `stop_when` is reaped or no child is left."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        statuses[pid] = status
        if pid == stop_when:
            return


def _reap_for(statuses: dict[int, int], timeout: float) -> bool:
    """Reap whatever has exited, for up to `timeout` seconds; True as soon as no child is left.

    Polls every 10 ms: this runs only while a tree is being torn down, in the launcher (never on trio's
    thread), and a timed blocking wait would need an alarm signal that can fire at any bytecode."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid:
            statuses[pid] = status
            continue
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _terminate_tree(statuses: dict[int, int]) -> None:
    """SIGTERM what is left of the tree, wait up to TERM_GRACE_S, then SIGKILL in rounds until no child is left."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    targets = _tree_pids()
    if not targets and _reap_for(statuses, 0):
        return
    for pid in targets:
        _signal(pid, signal.SIGTERM)
        _signal(pid, signal.SIGCONT)
    if _reap_for(statuses, TERM_GRACE_S) and not _tree_pids():
        return
    deadline = time.monotonic() + 10 * KILL_ROUND_S
    while time.monotonic() < deadline:
        for pid in _tree_pids():
            _signal(pid, signal.SIGKILL)
        if _reap_for(statuses, KILL_ROUND_S) and not _tree_pids():
            return


def _tree_pids() -> set[int]:
    """Live (non-zombie) descendants of this process. As a subreaper it inherits every orphan of the tree, so
    this is exactly what is left of the command (process groups are not used: the CLI runs the reaper inside
    the user's job, whose other members are not ours to kill)."""
    me = os.getpid()
    children: dict[int, list[int]] = {}
    live: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        if fields[0] != b"Z":
            live.add(pid)
    found: set[int] = set()
    stack = list(children.get(me, ()))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found & live


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main())

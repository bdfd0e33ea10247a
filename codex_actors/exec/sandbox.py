"""The launcher: `python -I -S -c <bootstrap> [POLICY] [--cwd DIR] [--tty] [--lifeline FD] -- COMMAND...`.

POLICY is `--mode MODE [--writable-root DIR]... [--network-access] [--exclude-tmpdir-env-var]
[--exclude-slash-tmp]` (what `spawn.launcher_argv` writes: the fields of `SandboxPolicy`) or `--policy JSON` (the
spec 5.1 shape); none means danger-full-access.

Every command codex-actors runs goes through this small program (spec 5.4 describes Codex's helper;
`spawn.launcher_argv` builds the argv). Its process L:

* **danger-full-access** (no `--policy`): L becomes a child subreaper, so every process the command leaves
  behind is re-parented to L instead of to PID 1. L forks the command, reaps every descendant, and when the
  command exits, or when L gets SIGTERM/SIGHUP, terminates what is left of the tree: SIGTERM, a short grace,
  then SIGKILL, round after round until it has no child left.
* **read-only / workspace-write**: L first builds the sandbox (`prepare`): new user (unless root), mount,
  PID and, with the network off, network namespaces, and a filesystem that is read-only outside the writable
  roots (mounts.py). Then it forks I, PID 1 of the new PID namespace: I dies with L (PR_SET_PDEATHSIG), mounts
  a fresh /proc, forks the command C and reaps every orphan; when C exits, I SIGTERMs what is left, waits a
  short grace and exits, and the kernel SIGKILLs everything still in the namespace. Processes inside can
  neither see nor signal anything outside it, nor stop I (`kill -9 1` is void for a namespace's init). C then
  `confine`s itself: closes every fd but 0, 1, 2, sets no_new_privs, enforces Landlock (landlock.py), drops
  every capability (capabilities.py), installs the seccomp filter (seccomp.py) and `exec`s the command.
  FAIL CLOSED: if any step cannot be enforced, `codex-actors sandbox: refusing to run: <why>` goes to stderr
  and the exit code is 1, without running the command.

Either way L exits only once the whole tree is gone, with the command's status (128+N for a signal N), so
the pipes or PTY held by L reach end-of-file exactly then. With `--lifeline FD` (the read end of a pipe whose
write end only the caller holds), the kernel signals L (SIGIO) when the caller dies, even by SIGKILL, and L
tears the tree down as for SIGTERM: nothing a session started outlives it.

Standard library only (it starts once per command). With `--tty`, L takes fd 0 as its controlling terminal
and C stays in the foreground process group, so Ctrl-C written to the PTY reaches the command, not L.
"""

from __future__ import annotations

import _signal as signal  # `signal` without its enum wrappers: same functions, plain ints (see below)
import fcntl
import os
import select
import sys
import termios
from _collections_abc import Mapping  # what `collections.abc` re-exports, already loaded by `os`

from codex_actors.exec import reaping
from codex_actors.exec._libc import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, prctl
from codex_actors.exec.placeholders import Placeholders
from codex_actors.exec.policy import PROTECTED_EVEN_WHEN_MISSING, SandboxPolicy, SandboxUnavailable, WritableRoot

# Start-up cost matters here: this module runs once per command. It imports the C module behind `signal`
# (`_signal`: the same functions and signal numbers; `signal` wraps them in enums, and importing `enum` with
# `functools` and `collections` costs ~7 ms of CPU per command on this VM), `json` only for `--policy` (it pulls
# in `re`; `launcher_argv` passes the policy as plain flags), `socket` only for `--log-denials`, and neither
# `typing` nor `collections`: the `socket.socket` annotations below are never evaluated (postponed annotations).

REFUSAL_PREFIX = "codex-actors sandbox: refusing to run: "
_RESET_SIGNALS = ("SIGINT", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGTERM", "SIGHUP", "SIGPIPE",
                  "SIGXFSZ", "SIGIO")
MAX_FD = 2**31 - 1
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGHUP, signal.SIGIO}


def usage_error(message: str) -> int:
    print(f"codex-actors sandbox: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the launcher with `argv` (default `sys.argv[1:]`); returns the command's exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        return usage_error("usage: python -m codex_actors.exec.sandbox [--policy JSON | --mode MODE "
                           "[--writable-root DIR]... [--network-access] [--exclude-tmpdir-env-var] "
                           "[--exclude-slash-tmp]] [--cwd DIR] [--tty] [--lifeline FD] [--log-denials] -- CMD...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    if not command:
        return usage_error("no command given after --")
    policy: SandboxPolicy | None = None
    mode: str | None = None
    roots: list[str] = []
    flags = {"--network-access": False, "--exclude-tmpdir-env-var": False, "--exclude-slash-tmp": False}
    cwd = os.getcwd()
    tty = False
    lifeline: int | None = None
    log_denials = False
    i = 0
    try:
        while i < len(options):
            if options[i] == "--policy":
                import json

                policy = SandboxPolicy.from_json(json.loads(options[i + 1]))
                i += 2
            elif options[i] == "--mode":
                mode = options[i + 1]
                i += 2
            elif options[i] == "--writable-root":
                roots.append(options[i + 1])
                i += 2
            elif options[i] in flags:
                flags[options[i]] = True
                i += 1
            elif options[i] == "--cwd":
                cwd = options[i + 1]
                i += 2
            elif options[i] == "--tty":
                tty = True
                i += 1
            elif options[i] == "--log-denials":
                log_denials = True
                i += 1
            elif options[i] == "--lifeline":
                lifeline = int(options[i + 1])
                i += 2
            else:
                return usage_error(f"unknown option {options[i]!r}")
        if mode is not None:
            if policy is not None:
                return usage_error("give --policy or --mode, not both")
            policy = SandboxPolicy(mode, tuple(roots), network_access=flags["--network-access"],
                                   exclude_tmpdir_env_var=flags["--exclude-tmpdir-env-var"],
                                   exclude_slash_tmp=flags["--exclude-slash-tmp"])
        elif roots or any(flags.values()):
            return usage_error("--writable-root and the policy flags need --mode")
    except (IndexError, ValueError) as exc:
        return usage_error(f"bad launcher arguments: {exc}")
    return run_as_reaper(command, policy=policy, cwd=cwd, tty=tty, lifeline=lifeline, log_denials=log_denials)


def run_as_reaper(
    command: list[str], *, policy: SandboxPolicy | None, cwd: str, tty: bool = False,
    env: dict[str, str] | None = None, lifeline: int | None = None, log_denials: bool = False,
) -> int:
    """Fork `command` in `cwd` under `policy` with `env` (None = ours), reap the whole tree, return its exit
    code (128+N for signal N; 1 when the sandbox refused to run it).

    `lifeline`: the read end of a pipe whose write end only the caller holds; when every write end is closed
    (the caller died, even by SIGKILL), the kernel sends this process SIGIO and the tree is torn down.
    `log_denials`: report each syscall the seccomp filter refuses on stderr (denials.py).
    This process must be single-threaded (namespaces demand it) and own no other children: the CLI execs the
    launcher rather than calling this in-process."""
    # The stop signals stay blocked until each reaping loop is ready for them, so a SIGTERM that arrives
    # early (even between a fork and its loop) is held, never lost, and never leaves a child unreaped.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    if tty:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for name in ("SIGINT", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    signal.signal(signal.SIGTERM, reaping.raise_stop)
    signal.signal(signal.SIGHUP, reaping.raise_stop)
    try:
        if lifeline is not None and not reaping.watch_lifeline(lifeline):
            return 128 + signal.SIGKILL  # the caller is already gone: run nothing
        sys.stdout.flush()
        sys.stderr.flush()
        if policy is None or policy.is_unrestricted:
            return _run_unsandboxed(command, cwd, env)
        placeholders = Placeholders()
        try:
            roots = prepare(policy, cwd, os.environ if env is None else env, placeholders)
            return _run_sandboxed(command, policy, roots, cwd, env, log_denials)
        finally:
            from codex_actors.exec import mounts

            placeholders.release(unmount=mounts.detach)  # the tree is gone (or never started)
    except SandboxUnavailable as exc:
        os.write(2, f"{REFUSAL_PREFIX}{exc}\n".encode())
        return 1


def prepare(policy: SandboxPolicy, cwd: str, env: Mapping[str, str], placeholders: Placeholders) -> list[WritableRoot]:
    """Launcher side of `policy` (irreversible for this process): check Landlock, create `placeholders` for
    protected paths that do not exist yet (the caller releases them once the tree is gone), enter new user
    (when not root), mount, PID and (network off) network namespaces, and build the read-only filesystem view.
    Returns the effective writable roots. Raises `SandboxUnavailable` naming the missing layer."""
    # Everything the command side needs is imported here, once, before the forks (not in each child).
    from codex_actors.exec import capabilities, landlock, mounts, namespaces, seccomp  # noqa: F401

    if landlock.abi_version() < 1:
        raise SandboxUnavailable("this kernel does not support Landlock, so file access cannot be restricted")
    roots = policy.effective_writable_roots(cwd, env)
    protected = [path for root in roots for path in root.read_only_subpaths]
    try:
        placeholders.claim(path for path in protected if os.path.basename(path) in PROTECTED_EVEN_WHEN_MISSING)
    except OSError as exc:
        raise SandboxUnavailable(f"cannot protect a missing path ({_why(exc)})") from exc
    try:
        namespaces.enter(network=not policy.network_blocked)
    except OSError as exc:
        raise SandboxUnavailable(f"cannot create the sandbox's namespaces ({_why(exc)})") from exc
    try:
        mounts.build([root.root for root in roots], protected)
    except OSError as exc:
        raise SandboxUnavailable(
            f"cannot make the filesystem read-only outside the writable roots ({_why(exc)})") from exc
    return roots


def confine(policy: SandboxPolicy, roots: list[WritableRoot], channel: socket.socket | None = None) -> None:
    """Command side of `policy`, just before exec (irreversible): close every fd but 0, 1, 2, set
    no_new_privs, enforce Landlock, drop every capability, install the seccomp filter. With a `channel`
    (`--log-denials`), the filter notifies instead of failing, and its listener fd goes to PID 1 over it.
    Raises `SandboxUnavailable` naming the step that failed."""
    from codex_actors.exec import capabilities, landlock, seccomp

    keep = -1 if channel is None else channel.fileno()
    os.closerange(3, keep if keep > 3 else 3)
    os.closerange(max(3, keep + 1), MAX_FD)
    try:
        landlock.restrict_self([root.root for root in roots], deny_tcp=policy.network_blocked)
    except OSError as exc:
        raise SandboxUnavailable(f"Landlock failed: {_why(exc)}") from exc
    try:
        capabilities.drop_all()
    except OSError as exc:
        raise SandboxUnavailable(f"cannot drop capabilities: {_why(exc)}") from exc
    try:
        listener = seccomp.install(block_network=policy.network_blocked, notify=channel is not None)
    except (OSError, seccomp.UnsupportedArchitecture) as exc:
        raise SandboxUnavailable(f"seccomp failed: {exc}") from exc
    if channel is not None and listener is not None:
        import socket

        socket.send_fds(channel, [b"L"], [listener])
        os.close(listener)
        channel.close()


def _run_unsandboxed(command: list[str], cwd: str, env: dict[str, str] | None) -> int:
    """danger-full-access: this process is a child subreaper, so it can find and end every descendant."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    pid = os.fork()
    if pid == 0:
        _child(command, None, [], cwd, env)
    statuses: dict[int, int] = {}
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        reaping.reap_until(statuses, stop_when=pid)
    except reaping.Stop:
        pass
    reaping.terminate_tree(statuses)
    return reaping.exit_code(statuses.get(pid))


def _run_sandboxed(command: list[str], policy: SandboxPolicy, roots: list[WritableRoot], cwd: str,
                   env: dict[str, str] | None, log_denials: bool) -> int:
    """Fork the PID namespace's init (I), which forks the command; when I exits the kernel kills everything
    left in the namespace, so reaping I means the whole tree is gone."""
    alive_r, alive_w = os.pipe()  # I checks it once: this process may die before I arms PDEATHSIG
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        _init(command, policy, roots, cwd, env, alive_r, log_denials)
    os.close(alive_r)
    statuses: dict[int, int] = {}
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        reaping.reap_until(statuses, stop_when=pid)
    except reaping.Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGIO, signal.SIG_IGN)
        reaping.send_signal(pid, signal.SIGTERM)
        if not reaping.reap_for(statuses, reaping.TERM_GRACE_S + reaping.KILL_ROUND_S):
            reaping.send_signal(pid, signal.SIGKILL)
            reaping.reap_until(statuses, stop_when=pid)
    os.close(alive_w)
    return reaping.exit_code(statuses.get(pid))


def _init(command: list[str], policy: SandboxPolicy, roots: list[WritableRoot], cwd: str,
          env: dict[str, str] | None, alive: int, log_denials: bool) -> None:
    """PID 1 of the sandbox: dies with the launcher (PDEATHSIG), mounts /proc, forks the command, reaps every
    orphan; once the command exits it SIGTERMs what is left, waits TERM_GRACE_S, and exits (the kernel then
    SIGKILLs the rest). Signals from inside reach it only through handlers it set, so `kill -9 1` is void."""
    from codex_actors.exec import mounts

    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if select.select([alive], [], [], 0)[0]:
            os._exit(128 + signal.SIGKILL)  # EOF: the launcher is already gone
        signal.signal(signal.SIGIO, signal.SIG_IGN)
        try:
            mounts.mount_proc()
        except OSError as exc:
            raise SandboxUnavailable(f"cannot mount /proc for the sandbox's PID namespace ({_why(exc)})") from exc
        channel = _start_denial_log() if log_denials else None
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(command, policy, roots, cwd, env, None if channel is None else channel[1])
        if channel is not None:
            _serve_denials(*channel)
        statuses: dict[int, int] = {}
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            reaping.reap_until(statuses, stop_when=pid)
        except reaping.Stop:
            pass
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if not reaping.reap_for(statuses, 0):
            for signum in (signal.SIGTERM, signal.SIGCONT):
                reaping.send_signal(-1, signum)
            reaping.reap_for(statuses, reaping.TERM_GRACE_S)
        os._exit(reaping.exit_code(statuses.get(pid)))
    except BaseException as exc:  # noqa: BLE001 - whatever went wrong, the command must not run
        os.write(2, f"{REFUSAL_PREFIX}{exc}\n".encode())
        os._exit(1)


def _child(command: list[str], policy: SandboxPolicy | None, roots: list[WritableRoot], cwd: str,
           env: dict[str, str] | None, channel: socket.socket | None = None) -> None:
    try:
        for name in _RESET_SIGNALS:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # the mask survives exec
        os.chdir(cwd)  # after the mounts: a writable root's path now leads to its read-write clone
        if policy is not None:
            confine(policy, roots, channel)
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


def _start_denial_log() -> tuple[socket.socket, socket.socket]:
    """`--log-denials`, in PID 1 before forking the command: say so once, and open the channel the command
    sends its seccomp listener fd over."""
    import socket

    from codex_actors.exec import denials

    os.write(2, (denials.NOTE + "\n").encode())
    return socket.socketpair()


def _serve_denials(ours: socket.socket, theirs: socket.socket) -> None:
    """In PID 1 after the fork: receive the listener fd and serve it from a thread (PID 1's main thread reaps;
    it never forks again, and its `os._exit` ends the thread)."""
    import socket
    import threading

    from codex_actors.exec import denials

    theirs.close()

    def run() -> None:
        _, fds, _, _ = socket.recv_fds(ours, 1, 1)
        ours.close()
        if fds:
            denials.serve(fds[0])

    threading.Thread(target=run, name="codex-actors-denials", daemon=True).start()


def _why(exc: OSError) -> str:
    """`what: strerror` (as `_libc.check` words it), or `path: strerror`, without Python's `[Errno N]`."""
    if exc.strerror is None:
        return str(exc)
    return exc.strerror if exc.filename is None else f"{exc.filename}: {exc.strerror}"


def exit_now(code: int) -> None:
    """Flush and leave at once: the launcher has nothing to clean up, and interpreter shutdown costs
    milliseconds per command."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())

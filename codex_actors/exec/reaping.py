"""Reaping and ending a process tree, for the launcher (sandbox.py): blocking waits, the SIGTERM/SIGKILL
ladder, the stop signal, and the lifeline. Standard library only, no trio (the launcher is its own process)."""

from __future__ import annotations

import _signal as signal  # `signal` without its enum wrappers (their import costs the launcher; see sandbox.py)
import fcntl
import os
import select
import time

TERM_GRACE_S = 0.5
KILL_ROUND_S = 1.0


class Stop(Exception):
    """SIGTERM/SIGHUP (or SIGIO from the lifeline) reached the reaper: stop the command's tree now."""


_stop_requested = False


def raise_stop(signum: int, frame: object) -> None:
    """Signal handler: interrupt the blocking wait for the command with `Stop`, once; later signals are no-ops."""
    global _stop_requested
    if not _stop_requested:
        _stop_requested = True
        raise Stop()


def reap_until(statuses: dict[int, int], *, stop_when: int) -> None:
    """Reap children (blocking) until `stop_when` is reaped or no child is left."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        statuses[pid] = status
        if pid == stop_when:
            return


def reap_for(statuses: dict[int, int], timeout: float) -> bool:
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


def terminate_tree(statuses: dict[int, int]) -> None:
    """SIGTERM what is left of the tree, wait up to TERM_GRACE_S, then SIGKILL in rounds until no child is left."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if reap_for(statuses, 0):
        # No child left means no descendant left: as a subreaper this process inherits every orphan of the
        # tree, so the common case (the command left nothing behind) needs no walk of /proc, which costs
        # milliseconds per command on a machine with many processes.
        return
    targets = tree_pids()
    for pid in targets:
        send_signal(pid, signal.SIGTERM)
        send_signal(pid, signal.SIGCONT)
    if reap_for(statuses, TERM_GRACE_S) and not tree_pids():
        return
    deadline = time.monotonic() + 10 * KILL_ROUND_S
    while time.monotonic() < deadline:
        for pid in tree_pids():
            send_signal(pid, signal.SIGKILL)
        if reap_for(statuses, KILL_ROUND_S) and not tree_pids():
            return


def tree_pids() -> list[int]:
    """Live (non-zombie) descendants of this process, every parent before its children. As a subreaper it
    inherits every orphan of the tree, so this is exactly what is left of the command (process groups are not
    used: the CLI runs the reaper inside the user's job, whose other members are not ours to kill). Signalled
    in this order, a shell dies before the commands it waits on, so it cannot report their deaths
    ("Terminated") into the output of a command that timed out."""
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
    found: dict[int, None] = {}  # insertion-ordered: a pid is found only after its parent
    stack = list(children.get(me, ()))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found[pid] = None
            stack.extend(children.get(pid, ()))
    return [pid for pid in found if pid in live]


def send_signal(pid: int, signum: int) -> None:
    """os.kill, ignoring a process that is already gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def watch_lifeline(lifeline: int) -> bool:
    """Have the kernel send SIGIO (-> Stop) when the lifeline's last writer closes; False if it already has."""
    signal.signal(signal.SIGIO, raise_stop)
    fcntl.fcntl(lifeline, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(lifeline, fcntl.F_SETFL, fcntl.fcntl(lifeline, fcntl.F_GETFL) | os.O_ASYNC | os.O_NONBLOCK)
    return not select.select([lifeline], [], [], 0)[0]


def exit_code(status: int | None) -> int:
    """A wait status as a shell would report it (128+N for signal N); 128+SIGKILL when never reaped."""
    if status is None:
        return 128 + signal.SIGKILL
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code

"""reaping.tree_pids: the order in which the launcher signals what is left of a command's tree."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time

from codex_actors.exec.reaping import tree_pids

DEPTH = 6


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = _parent_of(pid)
        except OSError:
            return False
    return False


def test_every_parent_comes_before_its_children():
    """Signalled parents first, a shell dies before the command it waits on and cannot print "Terminated" into
    a timed-out command's output (which it did under load when the order was a set's)."""
    chain = "sleep 300"
    for _ in range(DEPTH - 1):
        chain = f"sh -c {shlex.quote(chain + '; :')}"  # `; :` keeps each shell from exec-ing its last command
    top = subprocess.Popen(["sh", "-c", chain + "; :"])
    try:
        deadline = time.monotonic() + 10
        while len(found := [pid for pid in tree_pids() if _descends_from(pid, top.pid)]) < DEPTH:
            assert time.monotonic() < deadline, found
            time.sleep(0.02)
        position = {pid: index for index, pid in enumerate(found)}
        assert position[top.pid] == 0, found
        for pid in found[1:]:
            assert position[_parent_of(pid)] < position[pid], found
    finally:
        # Found before any is killed: a killed shell's children are re-parented at once and no longer descend
        # from `top`, so checking while killing left all but `top` running.
        doomed = [pid for pid in tree_pids() if _descends_from(pid, top.pid)]
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        top.wait()

"""Process-table checks for tests: nothing we started may survive, nothing may be left a zombie."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator


def _processes(*, with_cmdline: bool = False) -> Iterator[tuple[int, list[bytes], str]]:
    """(pid, /proc/<pid>/stat fields after the command name, cmdline or "") of every process still readable."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = ""
            if with_cmdline:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        yield int(entry), stat[stat.rfind(b")") + 2:].split(), cmdline


def processes_with(marker: str) -> list[tuple[int, str, str]]:
    """(pid, state, cmdline) of every process, zombies included, whose command line contains `marker` as whole
    words: `sleep 5` finds `bash -c sleep 5` but not someone else's `sleep 540` on a shared machine."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(marker)}(?![\w.])")
    return [(pid, fields[0].decode(), cmdline) for pid, fields, cmdline in _processes(with_cmdline=True)
            if pattern.search(cmdline)]


def zombie_children() -> list[int]:
    """Pids of zombie children of this (test) process: something we spawned was never reaped."""
    me = os.getpid()
    return [pid for pid, fields, _ in _processes() if fields[0] == b"Z" and int(fields[1]) == me]


def assert_nothing_left(marker: str) -> None:
    survivors = processes_with(marker)
    assert not survivors, f"processes left behind: {survivors}"
    assert not zombie_children(), f"unreaped children: {zombie_children()}"

"""Process-table checks for tests: nothing we started may survive, nothing may be left a zombie."""

from __future__ import annotations

import os


def processes_with(marker: str) -> list[tuple[int, str, str]]:
    """(pid, state, cmdline) of every process, zombies included, whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if marker in cmdline:
            found.append((int(entry), stat[stat.rfind(b")") + 2:].split()[0].decode(), cmdline))
    return found


def zombie_children() -> list[int]:
    """Pids of zombie children of this (test) process: something we spawned was never reaped."""
    me = os.getpid()
    zombies = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] == b"Z" and int(fields[1]) == me:
            zombies.append(int(entry))
    return zombies


def assert_nothing_left(marker: str) -> None:
    survivors = processes_with(marker)
    assert not survivors, f"processes left behind: {survivors}"
    assert not zombie_children(), f"unreaped children: {zombie_children()}"

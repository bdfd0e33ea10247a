"""Shell snapshots shared by the job sessions of one batch process.

A session captures its user's login shell once (`exec/shell_snapshot.py`: `bash -lc <capture>`, then a `bash -c`
that sources the result), which for a one-command job is two extra processes per job. Jobs whose snapshot would
be made the same way, i.e. the same shell, snapshot directory, cwd and base environment, get the same capture, so
the batch makes it once and lends it to each of them: the first such job's first model request starts the
capture, later jobs find the file ready. A snapshot that fails fails for all of its jobs (each command then runs
`bash -lc`, as in a session whose own snapshot failed); the fallback warning is shown to the first job that hits
it. Every snapshot lives until the batch ends (its file is then deleted); one per distinct (shell, directory,
cwd, environment), so a batch over N working directories keeps at most N.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import trio

from codex_actors.exec.shell_snapshot import ShellSnapshot


class SharedShellSnapshots:
    """Hands out `ShellSnapshot`s running in `nursery` (the batch's), one per (shell, directory, cwd, env).

    The tool registry calls `await get(...)` instead of making a session's own snapshot when a session is lent
    this object (`runtime.SharedResources.shell_snapshots`); sessions never stop a snapshot they were lent.
    Cancelling `nursery` stops them all and deletes their files."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._snapshots: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], ShellSnapshot] = {}

    def __len__(self) -> int:
        return len(self._snapshots)

    async def get(self, shell: str, *, directory: Path, cwd: str, env: Mapping[str, str]) -> ShellSnapshot:
        """The running snapshot of `shell` in `cwd` with base environment `env`, its file under `directory`
        (started, not yet captured, when it is the first such request)."""
        key = (shell, str(directory), cwd, tuple(sorted(env.items())))
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            snapshot = ShellSnapshot(shell, directory=directory, session_id=f"batch-{os.getpid()}-{len(self)}",
                                     cwd=cwd, env=env)
            self._snapshots[key] = snapshot
            await self._nursery.start(snapshot.run)
        return snapshot

"""The batch's counts and its live progress line on a terminal (stderr only; stdout carries results or nothing).

`Tally` is plain bookkeeping the runner's collector updates; `ProgressDisplay.run` redraws it with rich every
0.1 s while stderr is a terminal: `done 12/40  failed 1  running 8  3.4 jobs/s  ETA 8s`. Rich's own refresh
thread is not used (auto_refresh off): the redraw is a trio task, so no thread outlives the batch.
"""

from __future__ import annotations

import sys
import time

import attrs
import trio

REFRESH_S = 0.1


@attrs.define
class Tally:
    """Counts of this run: `total` jobs to run (bad lines included, skipped ids not), `skipped` ids already
    completed in the results file; `running` is kept by the runner."""

    total: int = 0
    skipped: int = 0
    completed: int = 0
    failed: int = 0
    interrupted: int = 0
    running: int = 0
    started_at: float = attrs.field(factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.interrupted

    def add(self, status: str) -> None:
        if status == "completed":
            self.completed += 1
        elif status == "interrupted":
            self.interrupted += 1
        else:
            self.failed += 1

    def line(self) -> str:
        """`done D/T  failed F  running R  X jobs/s  ETA Ys` (ETA once a job has finished)."""
        elapsed = max(time.monotonic() - self.started_at, 1e-6)
        rate = self.done / elapsed
        parts = [f"done {self.done}/{self.total}", f"failed {self.failed}", f"running {self.running}",
                 f"{rate:.1f} jobs/s"]
        if self.interrupted:
            parts.insert(2, f"interrupted {self.interrupted}")
        if self.done and self.done < self.total:
            parts.append(f"ETA {int((self.total - self.done) / rate)}s")
        return "  ".join(parts)

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started_at
        text = (f"batch: {self.completed} completed, {self.failed} failed, {self.interrupted} interrupted in "
                f"{elapsed:.1f}s")
        if self.skipped:
            text += f" ({self.skipped} skipped: already completed)"
        return text


class ProgressDisplay:
    """Redraws `tally` on stderr until cancelled; does nothing unless stderr is a terminal."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    async def run(self) -> None:
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        spinner = Spinner("dots", text=self.tally.line())
        with Live(spinner, console=Console(stderr=True), transient=True, auto_refresh=False,
                  redirect_stdout=False, redirect_stderr=False) as live:
            while True:
                spinner.text = self.tally.line()
                live.refresh()
                await trio.sleep(REFRESH_S)

"""The batch's counts and its live progress line on a terminal (stderr only; stdout carries results or nothing).

`Tally` is plain bookkeeping the runner's collector updates; `ProgressDisplay` redraws it with rich every 0.1 s
while stderr is a terminal: `done 12/40  failed 1  running 8  3.4 jobs/s  ETA 8s`. Rich's own refresh thread is
not used (auto_refresh off): the one-process runner redraws from a trio task, the Ray driver from its `ray.wait`
loop, so no thread outlives the batch.
"""

from __future__ import annotations

import sys
import time
from typing import Any

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
    """The live progress line of `tally` on stderr, drawn only while stderr is a terminal (`active`).

    Use as a context manager: `with ProgressDisplay(tally) as display:`; then either `await display.run()` (trio:
    redraws every REFRESH_S until cancelled) or call `display.refresh()` from a loop of your own (the Ray driver,
    between `ray.wait` calls of at most REFRESH_S). `display.print(text)` writes a line above the live line (to
    stderr in any case). Leaving the block erases the line; no thread is started either way."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.active = sys.stderr.isatty()
        self._live: Any = None
        self._spinner: Any = None

    def __enter__(self) -> ProgressDisplay:
        if self.active:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner

            self._spinner = Spinner("dots", text=self.tally.line())
            self._live = Live(self._spinner, console=Console(stderr=True), transient=True, auto_refresh=False,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def refresh(self) -> None:
        """Redraw the line with the tally's current counts (nothing when not on a terminal)."""
        if self._live is not None:
            self._spinner.text = self.tally.line()
            self._live.refresh()

    def print(self, text: str) -> None:
        """`text` as a line on stderr, above the live line when there is one."""
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr)

    async def run(self) -> None:
        """Redraw every REFRESH_S until cancelled (returns at once when not on a terminal)."""
        if self._live is None:
            return
        while True:
            self.refresh()
            await trio.sleep(REFRESH_S)

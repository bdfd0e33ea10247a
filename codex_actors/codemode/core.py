"""The cell lifecycle as a sans-I/O state machine (spec code-mode.md 3.2-3.5, 5.2).

Rules, in the h11 manner (the driver in cell.py feeds events, this class never sleeps or touches a thread):
- A cell is RUNNING until its runtime reports the script finished (FINISHING: notifications drain, nested calls
  are cancelled), then COMPLETED once `complete()` commits; or TERMINATING once terminate is asked while no
  completion is buffered, then CLOSED once `terminated()` is fed. Delivering a completed/terminated outcome closes.
- At most one observer. A yield-mode observer is answered by the first of: completion, `yield_control()`, or its
  deadline (`now >= deadline`, checked before any later event is applied, so an expired timer wins over output
  still queued behind it).
- `yield_control()` before the first observer sets an initial yield boundary: the first observation gets exactly
  the items before it. With an observer attached, it answers `Yielded`. Otherwise it does nothing.
- Natural completion wins over terminate once committed; stored writes are returned by `complete()` only.
Answers are `(target, outcome)` pairs; targets are opaque tokens chosen by the driver.
"""

from __future__ import annotations

import enum
from typing import Any, Hashable

import attrs

from codex_actors.codemode.output import OutputItem

RUNTIME_ENDED = "exec runtime ended unexpectedly"


@attrs.frozen
class Yielded:
    """The cell is still running; `items` is the output since the previous answer (spec 3.2)."""

    cell_id: str
    items: tuple[OutputItem, ...]


@attrs.frozen
class Completed:
    """The script ended: `error_text` None means success (spec 3.2 step 3, 3.4)."""

    cell_id: str
    items: tuple[OutputItem, ...]
    error_text: str | None = None


@attrs.frozen
class Terminated:
    """The cell was stopped; `items` is output buffered but never delivered (spec 3.5)."""

    cell_id: str
    items: tuple[OutputItem, ...]


@attrs.frozen
class MissingCell:
    """No such cell (unknown, closed, or terminating): `error_text` is `exec cell <id> not found` (spec 1.2)."""

    cell_id: str
    error_text: str


CellOutcome = Yielded | Completed | Terminated | MissingCell


def missing_cell(cell_id: str) -> MissingCell:
    return MissingCell(cell_id, f"exec cell {cell_id} not found")


class CellError(Exception):
    """A refused request with an exact spec message, e.g. `exec cell 1 already has an active observer`."""


class Phase(enum.Enum):
    RUNNING = "running"
    FINISHING = "finishing"
    COMPLETED = "completed"
    TERMINATING = "terminating"
    CLOSED = "closed"


@attrs.define
class _Observer:
    target: Hashable
    yield_time_s: float
    deadline: float | None


Answer = tuple[Hashable, CellOutcome]


class CellCore:
    """State of one cell; times are trio clock seconds, yield times are given in ms."""

    def __init__(self, cell_id: str):
        self.cell_id = cell_id
        self.phase = Phase.RUNNING
        self._buffer: list[OutputItem] = []
        self._boundary: int | None = None
        self._observed = False
        self._started = False
        self._observer: _Observer | None = None
        self._terminators: list[Hashable] = []
        self._completion: tuple[str | None, dict[str, Any]] | None = None

    # ---- queries ------------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    @property
    def deadline(self) -> float | None:
        """When the attached observer must be answered with `Yielded` (None: no timer to run)."""
        if self._observer is None or self.phase not in (Phase.RUNNING, Phase.FINISHING):
            return None
        return self._observer.deadline

    @property
    def observer_target(self) -> Hashable | None:
        return None if self._observer is None else self._observer.target

    # ---- observer side ------------------------------------------------------------------------------------

    def attach(self, target: Hashable, yield_time_ms: int, now: float) -> list[Answer]:
        """A new exec/wait observation. Raises CellError if one is already attached (spec 3.2 step 5-6)."""
        if self.phase in (Phase.CLOSED, Phase.TERMINATING):
            return [(target, missing_cell(self.cell_id))]
        if self._observer is not None:
            raise CellError(f"exec cell {self.cell_id} already has an active observer")
        self._observed = True
        if self._boundary is not None:
            return [(target, Yielded(self.cell_id, self._take(self._boundary)))]
        if self.phase is Phase.COMPLETED:
            return [(target, self._completed())]
        seconds = yield_time_ms / 1000
        self._observer = _Observer(target, seconds, now + seconds if self._started else None)
        return []

    def detach(self, target: Hashable) -> None:
        """The observer went away before being answered: it consumes nothing (spec 3.2 step 6, G3)."""
        if self._observer is not None and self._observer.target == target:
            self._observer = None

    def restore(self, outcome: CellOutcome) -> None:
        """Put back the items of a `Yielded` answer whose receiver was cancelled before reading it."""
        if isinstance(outcome, Yielded) and self.phase is not Phase.CLOSED:
            self._buffer[0:0] = outcome.items
            if self._boundary is not None:
                self._boundary += len(outcome.items)

    def timer_fired(self, target: Hashable, now: float) -> list[Answer]:
        """The driver's timer for `target` went off."""
        if self._observer is None or self._observer.target != target:
            return []
        return self._expire(now)

    # ---- runtime side -------------------------------------------------------------------------------------

    def started(self, now: float) -> list[Answer]:
        self._started = True
        if self._observer is not None and self._observer.deadline is None:
            self._observer.deadline = now + self._observer.yield_time_s
        return []

    def item(self, item: OutputItem, now: float) -> list[Answer]:
        answers = self._expire(now)
        if self.phase in (Phase.RUNNING, Phase.FINISHING, Phase.TERMINATING):
            self._buffer.append(item)
        return answers

    def yield_requested(self, now: float) -> list[Answer]:
        answers = self._expire(now)
        if self.phase is not Phase.RUNNING:
            return answers
        if self._observer is not None:
            answers.append(self._yield_now())
        elif not self._observed:
            self._boundary = len(self._buffer)
        return answers

    def finished(self, error_text: str | None, writes: dict[str, Any], now: float) -> list[Answer]:
        """The script settled; the driver now drains notifications, cancels nested calls, then calls complete()."""
        answers = self._expire(now)
        if self.phase is Phase.RUNNING:
            self.phase = Phase.FINISHING
            self._completion = (error_text, dict(writes))
        return answers

    def runtime_lost(self, now: float) -> list[Answer]:
        """The runtime thread ended without a result (spec 3.2 step 8)."""
        return self.finished(RUNTIME_ENDED, {}, now)

    def complete(self) -> tuple[list[Answer], dict[str, Any] | None]:
        """Commit the natural completion: returns answers and the writes to merge (None if terminate won)."""
        if self.phase is not Phase.FINISHING:
            return [], None
        self.phase = Phase.COMPLETED
        assert self._completion is not None
        writes = self._completion[1]
        if self._observer is None or self._boundary is not None:
            return [], writes
        target = self._observer.target
        self._observer = None
        return [(target, self._completed())], writes

    # ---- terminate ----------------------------------------------------------------------------------------

    def request_terminate(self, target: Hashable) -> list[Answer]:
        """Terminate asked (spec 3.5 steps 1, 2, 7). An empty answer list means: stop the runtime, cancel the
        callbacks, wait for the thread, then feed `terminated()`."""
        if self.phase is Phase.CLOSED:
            return [(target, missing_cell(self.cell_id))]
        if self.phase is Phase.TERMINATING:
            raise CellError(f"exec cell {self.cell_id} is already terminating")
        if self.phase is Phase.COMPLETED:
            self._boundary = None
            return [(target, self._completed())]
        self.phase = Phase.TERMINATING
        self._terminators.append(target)
        return []

    def terminated(self) -> list[Answer]:
        """The runtime thread is gone: answer the terminator(s) and any waiting observer with `Terminated`."""
        if self.phase is not Phase.TERMINATING:
            return []
        outcome = Terminated(self.cell_id, self._take(len(self._buffer)))
        targets = list(self._terminators)
        if self._observer is not None:
            targets.append(self._observer.target)
            self._observer = None
        self.phase = Phase.CLOSED
        return [(t, outcome) for t in targets]

    # ---- internals ----------------------------------------------------------------------------------------

    def _expire(self, now: float) -> list[Answer]:
        deadline = self.deadline
        if deadline is None or now < deadline:
            return []
        return [self._yield_now()]

    def _yield_now(self) -> Answer:
        assert self._observer is not None
        target = self._observer.target
        self._observer = None
        return target, Yielded(self.cell_id, self._take(len(self._buffer)))

    def _take(self, count: int) -> tuple[OutputItem, ...]:
        taken = tuple(self._buffer[:count])
        del self._buffer[:count]
        self._boundary = None
        return taken

    def _completed(self) -> Completed:
        assert self._completion is not None
        self.phase = Phase.CLOSED
        return Completed(self.cell_id, self._take(len(self._buffer)), self._completion[0])

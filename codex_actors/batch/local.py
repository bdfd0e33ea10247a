"""`codex-actors batch` in one process: every job a session actor under one nursery, at most `concurrency` at once.

Tasks of one run, all under `run_local`'s nursery:
- the spawner walks the jobs in file order; each job waits for a slot of the `CapacityLimiter`, then runs as its
  own task (`run_job`: its session, its sandbox, its rollout); bad lines become `failed` results at once;
- the collector is the only writer of the results (and the tally): job tasks send it `JobResult`s on a channel;
- the signal watcher: the first Ctrl-C (SIGINT) stops the spawner (jobs not started stay unrecorded, so a re-run
  does them) and interrupts every running turn (recorded `interrupted`); a second one, or SIGTERM, cancels the
  jobs at once (still recorded `interrupted`);
- the progress display (terminal only).
"""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import IO, Any, Sequence

import attrs
import trio

from codex_actors.batch.job import BatchSettings, ConfigCache, run_job
from codex_actors.batch.jobs import BadLine, Job
from codex_actors.batch.progress import ProgressDisplay, Tally
from codex_actors.batch.results import JobResult, ResultsWriter
from codex_actors.batch.sessions import JobSessions
from codex_actors.cli.jsonl import JsonlTranslator
from codex_actors.config import Config


@attrs.frozen
class LocalRun:
    """What the local runner needs: the jobs still to run (and bad lines), the settings for all of them, the
    batch-level `config` (shared resources), `concurrency` (>= 1), where results and events go."""

    items: Sequence[Job | BadLine]
    settings: BatchSettings
    config: Config
    concurrency: int
    writer: ResultsWriter
    events_dir: Path | None = None
    handle_signals: bool = True


def bad_line_result(item: BadLine) -> JobResult:
    """The `failed` result recorded for a line that cannot run."""
    return JobResult(id=item.id, status="failed", error=item.error, line=item.line)


class EventsFile:
    """One job's `DIR/<id>.jsonl`: truncated when the job starts, the `exec --json` lines of each event appended
    and flushed as produced (as `exec --json` flushes stdout), so the file can be followed while the job runs."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def __call__(self, lines: list[dict[str, Any]]) -> None:
        self._file.write("".join(JsonlTranslator.dumps(line) + "\n" for line in lines))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


async def run_local(run: LocalRun, tally: Tally) -> bool:
    """Run every job; returns True when the batch was interrupted (Ctrl-C / SIGTERM). Results are written as jobs
    end; `tally` is updated as they are."""
    send, receive = trio.open_memory_channel[JobResult](math.inf)
    stop = trio.Event()
    jobs_scope = trio.CancelScope()
    interrupted = False

    async def collect() -> None:
        async with receive:
            async for result in receive:
                run.writer.write(result)
                tally.add(result.status)

    async def watch_signals() -> None:
        nonlocal interrupted
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                interrupted = True
                if stop.is_set() or signum == signal.SIGTERM:
                    jobs_scope.cancel()
                    return
                display.print("^C interrupting the running jobs (press Ctrl-C again to stop at once)")
                stop.set()

    with ProgressDisplay(tally) as display:
        async with trio.open_nursery() as outer:
            outer.start_soon(collect)  # ends once every result sent has been written
            async with trio.open_nursery() as side:
                if run.handle_signals:
                    side.start_soon(watch_signals)
                side.start_soon(display.run)
                async with send, JobSessions.open_shared(run.config, max_connections=run.concurrency) as sessions:
                    with jobs_scope:
                        await _spawn_all(run, sessions, tally, stop, send)
                side.cancel_scope.cancel()
    return interrupted


async def _spawn_all(run: LocalRun, sessions: JobSessions, tally: Tally, stop: trio.Event,
                     send: trio.MemorySendChannel) -> None:
    limiter = trio.CapacityLimiter(run.concurrency)
    configs = ConfigCache(run.settings)

    async def one(job: Job, slot: object) -> None:
        result: JobResult | None = None
        on_events: EventsFile | None = None
        tally.running += 1
        try:
            if run.events_dir is not None:
                on_events = EventsFile(run.events_dir / f"{job.id}.jsonl")
            result = await run_job(job, run.settings, sessions, stop=stop, on_events=on_events, configs=configs)
        except OSError as exc:  # the events file could not be created
            result = JobResult(id=job.id, status="failed", error=f"--events-dir: {exc}", line=job.line)
        finally:
            tally.running -= 1
            if on_events is not None:
                on_events.close()
            if result is None:  # cancelled by a second Ctrl-C
                result = JobResult(id=job.id, status="interrupted", error="batch stopped", line=job.line)
            send.send_nowait(result)
            limiter.release_on_behalf_of(slot)

    stopped = trio.CancelScope()

    async def stop_spawning() -> None:
        await stop.wait()
        stopped.cancel()

    async with trio.open_nursery() as guard:
        guard.start_soon(stop_spawning)
        async with trio.open_nursery() as nursery:
            with stopped:
                for item in run.items:
                    if isinstance(item, BadLine):
                        send.send_nowait(bad_line_result(item))
                        continue
                    slot = object()
                    await limiter.acquire_on_behalf_of(slot)
                    nursery.start_soon(one, item, slot, name=f"batch job {item.id}")
        guard.cancel_scope.cancel()

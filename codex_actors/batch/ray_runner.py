"""`codex-actors batch --ray [ADDRESS]`: the same jobs on a Ray cluster, results streamed back in completion order.

The driver (this process) joins the cluster with `ray.init(address)` (no address: `RAY_ADDRESS` if set, else a new
local cluster) and starts one `BatchWorker` actor per CPU of the cluster (at most `--concurrency`). Each worker is a
Ray actor process running one trio loop on its own thread, with its own shared HTTP pool and V8 pool, and runs up to
`ceil(concurrency / workers)` jobs at once (Ray's `max_concurrency`: each call waits on its thread for its job's trio
task). Ray places the actors and restarts a dead one; each job call is retried once on a restarted worker
(`max_task_retries=1`); a job whose worker dies again is recorded `failed`. The driver only keeps at most
`--concurrency` calls in flight, each to the least busy worker, and writes each result (and its events, sent back
with it) as `ray.wait` hands it over, so resuming works exactly as in one process.

Workers get the driver's `CODEX_ACTORS_*` variables and API keys through Ray's `runtime_env` (`env_vars`); a job's
`cwd` must exist on the machine its worker runs on. Ctrl-C: the workers interrupt their running turns (recorded
`interrupted`), jobs not yet sent stay unrecorded; exit 130. On a terminal the driver redraws the progress line
between `ray.wait` calls of at most 0.1 s (the same `ProgressDisplay` as in one process).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import attrs
import ray

from codex_actors.batch.job import BatchSettings
from codex_actors.batch.jobs import BadLine, Job
from codex_actors.batch.local import bad_line_result
from codex_actors.batch.progress import REFRESH_S, ProgressDisplay, Tally
from codex_actors.batch.results import JobResult, ResultsWriter
from codex_actors.cli.jsonl import JsonlTranslator

FORWARDED_ENV = re.compile(r"^(CODEX_ACTORS_\w+|\w+_API_KEY|OPENAI_BASE_URL)$")
DRAIN_TIMEOUT_S = 30.0


@attrs.frozen
class RayRun:
    """What the Ray driver needs: as `LocalRun`, plus `address` (None: `RAY_ADDRESS` or a new local cluster) and
    `base_cwd`, where workers resolve the batch-level config."""

    items: Sequence[Job | BadLine]
    settings: BatchSettings
    concurrency: int
    writer: ResultsWriter
    events_dir: Path | None = None
    address: str | None = None
    base_cwd: str = attrs.field(factory=os.getcwd)


class BatchWorker:
    """A Ray actor: one trio loop (on a thread of its own) running many job sessions. Created by `run_ray`."""

    def __init__(self, settings: dict[str, Any], base_cwd: str, max_connections: int) -> None:
        import trio

        from codex_actors.batch.job import ConfigCache
        from codex_actors.config import load_config

        self._settings = BatchSettings.from_json(settings)
        config = load_config(cwd=base_cwd, overrides=self._settings.overrides, flags=self._settings.flags,
                             profile=self._settings.profile)
        self._configs = ConfigCache(self._settings)
        ready = threading.Event()
        self._token: Any = None
        self._stop: Any = None
        self._closed: Any = None

        failure: list[BaseException] = []

        async def serve() -> None:
            from codex_actors.batch.sessions import JobSessions

            self._stop, self._closed = trio.Event(), trio.Event()
            async with JobSessions.open_shared(config, max_connections=max_connections) as sessions:
                self._sessions = sessions
                self._token = trio.lowlevel.current_trio_token()
                ready.set()
                await self._closed.wait()

        def loop() -> None:
            try:
                trio.run(serve)
            except BaseException as exc:  # noqa: BLE001 - handed to the constructor, raised there
                failure.append(exc)
            finally:
                ready.set()

        self._thread = threading.Thread(target=loop, name="batch-worker-trio", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise RuntimeError(f"batch worker failed to start: {failure[0]!r}")

    def run_job(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job (a `Job.to_json()`); returns `{"result": JobResult json, "events": [exec --json lines]}`."""
        import trio

        from codex_actors.batch.job import run_job

        lines: list[dict[str, Any]] = []

        async def one() -> JobResult:
            return await run_job(Job.from_json(job), self._settings, self._sessions, stop=self._stop,
                                 on_events=lines.extend, configs=self._configs)

        result = trio.from_thread.run(one, trio_token=self._token)
        return {"result": result.to_json(), "events": lines}

    def interrupt(self) -> None:
        """Interrupt every running job of this worker (they end `interrupted`) and refuse new ones."""
        import trio

        trio.from_thread.run_sync(self._stop.set, trio_token=self._token)

    def close(self) -> None:
        """Shut the trio loop down (sessions, V8 threads) and join its thread."""
        import trio

        trio.from_thread.run_sync(self._closed.set, trio_token=self._token)
        self._thread.join()


def run_ray(run: RayRun, tally: Tally) -> bool:
    """Run the jobs on Ray; returns True when interrupted by Ctrl-C. Results are written as they come back; on a
    terminal, stderr shows the live progress line meanwhile."""
    env_vars = {k: v for k, v in os.environ.items() if FORWARDED_ENV.match(k)}
    with ProgressDisplay(tally) as display:
        try:
            ray.init(address=run.address, log_to_driver=False, include_dashboard=False,
                     logging_level=logging.WARNING, runtime_env={"env_vars": env_vars} if env_vars else None)
        except KeyboardInterrupt:  # Ctrl-C while joining: nothing ran, nothing to record
            display.print("^C stopped before any job was sent")
            return True
        workers: list[Any] = []
        try:
            cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
            count = max(1, min(cpus, run.concurrency))
            per_worker = math.ceil(run.concurrency / count)
            actor = ray.remote(BatchWorker).options(num_cpus=1, max_concurrency=per_worker + 2, max_restarts=-1,
                                                    max_task_retries=1)
            workers = [actor.remote(run.settings.to_json(), run.base_cwd, per_worker) for _ in range(count)]
            return _Dispatch(run, tally, workers, display).run()
        finally:
            for worker in workers:
                try:
                    ray.get(worker.close.remote(), timeout=DRAIN_TIMEOUT_S)
                except Exception:  # noqa: BLE001 - a dead worker has nothing left to close
                    pass
                ray.kill(worker)
            ray.shutdown()


class _Dispatch:
    """The driver's loop: at most `concurrency` job calls in flight, each to the least busy worker; results
    written (and the display redrawn) as `ray.wait` hands them over. Ctrl-C: the workers interrupt their running
    jobs, whose results are collected for up to DRAIN_TIMEOUT_S (a second Ctrl-C stops waiting); a job still
    without a result is recorded `interrupted` ("batch stopped"); jobs never sent stay unrecorded."""

    def __init__(self, run: RayRun, tally: Tally, workers: list[Any], display: ProgressDisplay) -> None:
        self.batch = run
        self.tally = tally
        self.workers = workers
        self.display = display
        self.busy = {id(w): 0 for w in workers}
        self.pending: dict[Any, tuple[Job, Any]] = {}
        # Without a display to redraw, ray.wait blocks until a result is there.
        self.wait_s = REFRESH_S if display.active else None

    def run(self) -> bool:
        queue = list(self.batch.items)
        queue.reverse()
        try:
            while queue or self.pending:
                while queue and len(self.pending) < self.batch.concurrency:
                    self._send(queue.pop())
                self._wait_some(self.wait_s)
        except KeyboardInterrupt:
            self._interrupt()
            return True
        return False

    def _send(self, item: Job | BadLine) -> None:
        if isinstance(item, BadLine):
            self._record(bad_line_result(item), None)
            return
        worker = min(self.workers, key=lambda w: self.busy[id(w)])
        self.busy[id(worker)] += 1
        self.pending[worker.run_job.remote(item.to_json())] = (item, worker)
        self.tally.running = len(self.pending)

    def _wait_some(self, timeout: float | None) -> None:
        if self.pending:
            ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
            for ref in ready:
                self._collect(ref)
        self.display.refresh()

    def _interrupt(self) -> None:
        self.display.print("^C interrupting the running jobs (press Ctrl-C again to stop waiting for them)")
        for worker in self.workers:
            worker.interrupt.remote()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        try:
            while self.pending and time.monotonic() < deadline:
                self._wait_some(min(REFRESH_S, max(deadline - time.monotonic(), 0.0)))
        except KeyboardInterrupt:
            pass
        for job, _ in list(self.pending.values()):
            self._record(JobResult(id=job.id, status="interrupted", error="batch stopped", line=job.line), None)
        self.pending.clear()

    def _collect(self, ref: Any) -> None:
        job, worker = self.pending.pop(ref)
        self.busy[id(worker)] -= 1
        self.tally.running = len(self.pending)
        try:
            answer = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self._record(JobResult(id=job.id, status="failed", line=job.line,
                                   error=f"worker lost twice (Ray retried the job once): {type(exc).__name__}"),
                         None)
            return
        self._record(JobResult.from_json(answer["result"]), answer["events"])

    def _record(self, result: JobResult, events: list[dict[str, Any]] | None) -> None:
        events_dir = self.batch.events_dir
        if events_dir is not None and events is not None and result.id is not None:
            text = "".join(JsonlTranslator.dumps(line) + "\n" for line in events)
            (events_dir / f"{result.id}.jsonl").write_text(text, encoding="utf-8")
        self.batch.writer.write(result)
        self.tally.add(result.status)

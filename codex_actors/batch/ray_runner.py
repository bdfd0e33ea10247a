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
`interrupted`), jobs not yet sent stay unrecorded; exit 130.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

import attrs
import ray

from codex_actors.batch.job import BatchSettings
from codex_actors.batch.jobs import BadLine, Job
from codex_actors.batch.local import bad_line_result
from codex_actors.batch.progress import Tally
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
    """Run the jobs on Ray; returns True when interrupted by Ctrl-C. Results are written as they come back."""
    env_vars = {k: v for k, v in os.environ.items() if FORWARDED_ENV.match(k)}
    ray.init(address=run.address, log_to_driver=False, include_dashboard=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": env_vars} if env_vars else None)
    workers: list[Any] = []
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        count = max(1, min(cpus, run.concurrency))
        per_worker = math.ceil(run.concurrency / count)
        actor = ray.remote(BatchWorker).options(num_cpus=1, max_concurrency=per_worker + 2, max_restarts=-1,
                                                max_task_retries=1)
        workers = [actor.remote(run.settings.to_json(), run.base_cwd, per_worker) for _ in range(count)]
        return _dispatch(run, tally, workers)
    finally:
        for worker in workers:
            try:
                ray.get(worker.close.remote(), timeout=DRAIN_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - a dead worker has nothing left to close
                pass
            ray.kill(worker)
        ray.shutdown()


def _dispatch(run: RayRun, tally: Tally, workers: list[Any]) -> bool:
    busy = {id(w): 0 for w in workers}
    pending: dict[Any, tuple[Job, Any]] = {}
    queue = list(run.items)
    queue.reverse()
    interrupted = False

    def record(result: JobResult, events: list[dict[str, Any]] | None) -> None:
        if run.events_dir is not None and events is not None and result.id is not None:
            text = "".join(JsonlTranslator.dumps(line) + "\n" for line in events)
            (run.events_dir / f"{result.id}.jsonl").write_text(text, encoding="utf-8")
        run.writer.write(result)
        tally.add(result.status)

    def collect(ref: Any) -> None:
        job, worker = pending.pop(ref)
        busy[id(worker)] -= 1
        tally.running = len(pending)
        try:
            answer = ray.get(ref)
        except ray.exceptions.RayError as exc:
            record(JobResult(id=job.id, status="failed", line=job.line,
                             error=f"worker lost twice (Ray retried the job once): {type(exc).__name__}"), None)
            return
        record(JobResult.from_json(answer["result"]), answer["events"])

    try:
        while queue or pending:
            while queue and len(pending) < run.concurrency:
                item = queue.pop()
                if isinstance(item, BadLine):
                    record(bad_line_result(item), None)
                    continue
                worker = min(workers, key=lambda w: busy[id(w)])
                busy[id(worker)] += 1
                pending[worker.run_job.remote(item.to_json())] = (item, worker)
                tally.running = len(pending)
            if pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    collect(ref)
    except KeyboardInterrupt:
        interrupted = True
        print("^C interrupting the running jobs", file=sys.stderr)
        for worker in workers:
            worker.interrupt.remote()
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=DRAIN_TIMEOUT_S)
        for ref in ready:
            collect(ref)
        for job, _ in list(pending.values()):
            record(JobResult(id=job.id, status="interrupted", error="batch stopped", line=job.line), None)
    return interrupted

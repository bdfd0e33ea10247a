"""One batch job, start to end: its config, its session, one turn, its `exec --json` events, its `JobResult`.

The turn is driven as `exec` drives it (spec agent-core 6), by the same `protocol.turn_outcome.TurnTracker`:
approvals `never` (a request that still arrives is declined), the turn submitted once `session_configured` arrives,
the outcome read from `task_complete` / `turn_aborted` of that turn. Events are rendered by the `exec --json` translator (`cli/jsonl.py`), so a job's
events file holds exactly what `codex-actors exec --json` prints for the same job.

Anything that goes wrong inside a job (bad config, untrusted cwd, missing image, model error, crashed actor) ends
that job `failed` with the message; it never reaches the other jobs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import attrs
import trio

from codex_actors.batch.jobs import Job, override_args
from codex_actors.batch.results import JobResult
from codex_actors.cli.errors import UsageError
from codex_actors.cli.exec_cmd import NOT_TRUSTED, image_paths, is_trusted_directory
from codex_actors.cli.jsonl import JsonlTranslator
from codex_actors.config import Config, ConfigError, load_config
from codex_actors.protocol import ops
from codex_actors.protocol.turn_outcome import Reply, SubmitTurn, TurnEnded, TurnTracker

EventLines = Callable[[list[dict[str, Any]]], None]


@attrs.frozen
class BatchSettings:
    """What the batch's flags decide for every job. `overrides`: the `-c` strings (a job's `config` comes after
    them); `flags`: the dotted keys of dedicated flags (`-m`, `-s`, ...; they beat `-c`, as in `exec`);
    `output_schema` / `images`: defaults a job's own replace / extend. Plain data, so it can travel to Ray."""

    overrides: tuple[str, ...] = ()
    flags: dict[str, Any] = attrs.field(factory=dict)
    profile: str | None = None
    skip_git_repo_check: bool = False
    ephemeral: bool = False
    add_dirs: tuple[str, ...] = ()
    output_schema: dict[str, Any] | None = None
    images: tuple[str, ...] = ()
    thread_source: str | None = None
    originator: str = "codex_exec"

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchSettings:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def job_config(job: Job, settings: BatchSettings) -> Config:
    """The resolved config of `job`: the batch's `-c`, then the job's `config`, then the dedicated flags, in
    the job's cwd. Raises ConfigError."""
    return load_config(cwd=job.cwd, overrides=[*settings.overrides, *override_args(job.config)],
                       flags=settings.flags, profile=settings.profile)


class ConfigCache:
    """Resolved configs of one batch run by (cwd, job overrides): jobs sharing both share one `Config` (config
    files are read once per run, ~5 ms a resolution). Errors are not cached."""

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings
        self._configs: dict[tuple[str, tuple[str, ...]], Config] = {}

    def get(self, job: Job) -> Config:
        key = (job.cwd, tuple(override_args(job.config)))
        config = self._configs.get(key)
        if config is None:
            config = self._configs[key] = job_config(job, self.settings)
        return config


async def run_job(job: Job, settings: BatchSettings, sessions: Any, *, stop: trio.Event,
                  on_events: EventLines | None = None, configs: ConfigCache | None = None) -> JobResult:
    """Run `job` to its end and return its result. `sessions` is a `JobSessions`; setting `stop` interrupts the
    turn (result `interrupted`); `on_events` receives each batch of `exec --json` lines as they are produced;
    `configs` caches resolved configs across the jobs of a run."""
    started = time.monotonic()

    def result(status: str, **fields: Any) -> JobResult:
        return JobResult(id=job.id, status=status, line=job.line,
                         duration_ms=int((time.monotonic() - started) * 1000), **fields)

    from codex_actors.actors import unwrap_group
    from codex_actors.runtime import RunOptions, sandbox_policy
    from codex_actors.session.persistence import RolloutError

    try:
        if not Path(job.cwd).is_dir():
            raise UsageError(f"cwd {job.cwd}: not a directory")
        config = configs.get(job) if configs is not None else job_config(job, settings)
        if not settings.skip_git_repo_check and not is_trusted_directory(config):
            raise UsageError(NOT_TRUSTED)
        images = [*image_paths(list(settings.images), Path(config.cwd)), *image_paths(list(job.images), Path(job.cwd))]
        schema = job.output_schema if job.output_schema is not None else settings.output_schema
        options = RunOptions(ephemeral=settings.ephemeral, output_schema=schema, originator=settings.originator,
                             source="exec", add_dirs=settings.add_dirs, thread_source=settings.thread_source)
        inputs: list[ops.UserInput] = [ops.TextInput(job.prompt), *(ops.LocalImageInput(p) for p in images)]
        turn = ops.UserTurn(items=inputs, cwd=str(config.cwd), approval_policy="never",
                            sandbox_policy=sandbox_policy(config, settings.add_dirs).to_json(),
                            model=config.get("model"), final_output_json_schema=schema)
        if stop.is_set():
            return result("interrupted", error="interrupted before it started")
        async with sessions.open(config, options) as handle:
            outcome = await _drive(handle, turn, stop, on_events)
    except (UsageError, ConfigError, RolloutError) as exc:
        return result("failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one job's failure of any kind must not stop the others
        leaf = unwrap_group(exc)
        return result("failed", error=f"{type(leaf).__name__}: {leaf}")
    return result(outcome.status, final_message=outcome.final_message, thread_id=outcome.thread_id,
                  usage=outcome.usage, error=outcome.error if outcome.status != "completed" else None)


@attrs.frozen
class _Outcome:
    status: str
    error: str | None
    final_message: str | None
    thread_id: str | None
    usage: dict[str, int] | None


async def _drive(handle: Any, turn: ops.UserTurn, stop: trio.Event, on_events: EventLines | None) -> _Outcome:
    tracker = TurnTracker()
    translator = JsonlTranslator()

    async def interrupt_on_stop() -> None:
        await stop.wait()
        await handle.submit(ops.Interrupt())

    async with trio.open_nursery() as nursery:
        async for event in handle.events:
            lines = translator.feed(event.msg)
            if lines and on_events is not None:
                on_events(lines)
            step = tracker.feed(event)
            if isinstance(step, SubmitTurn):
                if stop.is_set():
                    return _Outcome(status="interrupted", error="interrupted before it started", final_message=None,
                                    thread_id=handle.session_id, usage=None)
                tracker.turn_submitted(await handle.submit(turn))
                nursery.start_soon(interrupt_on_stop)
            elif isinstance(step, Reply):
                await handle.submit(step.op)
            elif isinstance(step, TurnEnded):
                break
        nursery.cancel_scope.cancel()
    outcome = tracker.finish()
    return _Outcome(status=outcome.status or "failed", error=outcome.error,
                    final_message=outcome.last_agent_message, thread_id=handle.session_id, usage=translator.usage)

"""`codex-actors batch JOBS.jsonl [-o RESULTS.jsonl] [--concurrency N] [--events-dir DIR] [--ray [ADDRESS]]`:
many `exec` jobs, each a session, in one process (or on Ray); one result line per job (issue 20).

Flags shared by every job are `exec`'s: `-c`, `-p`, `-C` (the default cwd of jobs), `-m`, `--oss`, `-s`,
`--full-auto`, `--yolo`, `--add-dir`, `--skip-git-repo-check`, `--ephemeral`, `--ignore-rules`, `--output-schema`,
`-i`, `--thread-source`. Results go to `-o` (appended; a re-run skips ids already completed there) or stdout.

Exit codes: 0 when every job completed; 1 when any failed (a bad line counts as a failed job); 2 for usage errors
(unreadable jobs file, a results file that is not a batch's, bad `-c`); 130 after Ctrl-C, once the running jobs
are recorded `interrupted`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from codex_actors.cli.errors import UsageError

DEFAULT_CONCURRENCY = 8
RAY_MISSING = "--ray needs Ray: pip install 'codex-actors[ray]'"


def configure(parser: argparse.ArgumentParser) -> None:
    """Attach batch's arguments to `parser` (the `batch` subparser)."""
    from codex_actors.cli.common import add_config_options
    from codex_actors.cli.exec_cmd import one_line_errors
    from codex_actors.config.schema import SANDBOX_MODES

    add = parser.add_argument
    add("jobs", metavar="JOBS.jsonl", help='one job per line: {"id", "prompt", "cwd"?, "config"?, "images"?, '
                                           '"output_schema"?}')
    add("-o", "--output", metavar="RESULTS.jsonl",
        help="append one result line per job here (default stdout); a re-run skips ids completed there")
    add("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
        help=f"jobs running at once (default {DEFAULT_CONCURRENCY})")
    add("--events-dir", metavar="DIR", help="write each job's `exec --json` events to DIR/<id>.jsonl")
    add("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
        help="run the jobs on a Ray cluster: join ADDRESS (or $RAY_ADDRESS), else start a local one")
    add_config_options(parser)
    add("-m", "--model", help="model slug")
    add("--oss", action="store_true", help="use the local chat-wire provider 'oss'")
    add("-s", "--sandbox", choices=SANDBOX_MODES, help="sandbox mode for model commands")
    add("--full-auto", action="store_true", help="shortcut for --sandbox workspace-write")
    add("--dangerously-bypass-approvals-and-sandbox", "--yolo", dest="yolo", action="store_true",
        help="no sandbox, no git check (only inside an externally sandboxed environment)")
    add("--add-dir", dest="add_dirs", action="append", default=[], metavar="DIR", help="extra writable root")
    add("--skip-git-repo-check", action="store_true", help="allow jobs outside a Git repository")
    add("--ephemeral", action="store_true", help="write no rollout (session file) for any job")
    add("--ignore-rules", action="store_true", help="skip the execpolicy .rules files")
    add("--output-schema", metavar="FILE", help="JSON Schema every final answer must follow (a job's own wins)")
    add("-i", "--image", dest="images", action="append", default=[], metavar="FILE[,FILE...]",
        help="attach image(s) to every job's prompt")
    add("--thread-source", metavar="VALUE", help="recorded in each rollout's session_meta")
    one_line_errors(parser)


def run(args: argparse.Namespace) -> int:
    """Entry point of `codex-actors batch`; returns the exit code."""
    from codex_actors.batch.job import BatchSettings
    from codex_actors.batch.jobs import BadLine, JobsFileError, read_jobs
    from codex_actors.batch.progress import Tally
    from codex_actors.batch.results import ResultsFileError, ResultsWriter, completed_ids
    from codex_actors.cli.common import load_config_from_args
    from codex_actors.cli.exec_cmd import ORIGINATOR_ENV, config_flags, image_paths, read_output_schema

    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.full_auto and args.yolo:
        raise UsageError("--full-auto conflicts with --dangerously-bypass-approvals-and-sandbox")
    flags = config_flags(args)
    config = load_config_from_args(args, flags)
    schema = read_output_schema(args.output_schema) if args.output_schema else None
    images = image_paths(args.images, Path(config.cwd))
    events_dir = Path(args.events_dir).resolve() if args.events_dir else None
    if events_dir is not None:
        try:
            events_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--events-dir {args.events_dir}: {exc.strerror or exc}") from None
    try:
        items = list(read_jobs(args.jobs, base_cwd=Path(config.cwd), file_safe_ids=events_dir is not None))
    except JobsFileError as exc:
        raise UsageError(str(exc)) from None
    output = Path(args.output).resolve() if args.output else None
    try:
        done = completed_ids(output) if output is not None else set()
    except ResultsFileError as exc:
        raise UsageError(str(exc)) from None
    todo = [item for item in items if isinstance(item, BadLine) or item.id not in done]
    tally = Tally(total=len(todo), skipped=len(items) - len(todo))
    settings = BatchSettings(
        overrides=tuple(args.overrides), flags=flags, profile=args.profile,
        skip_git_repo_check=args.skip_git_repo_check or args.yolo, ephemeral=args.ephemeral,
        add_dirs=tuple(args.add_dirs), output_schema=schema, images=tuple(images),
        thread_source=args.thread_source, originator=os.environ.get(ORIGINATOR_ENV) or "codex_exec")
    try:
        writer = ResultsWriter(output)
    except OSError as exc:
        raise UsageError(f"-o {args.output}: {exc.strerror or exc}") from None
    try:
        if args.ray is not None:
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise UsageError(RAY_MISSING)
            from codex_actors.batch.ray_runner import RayRun, run_ray

            interrupted = run_ray(RayRun(items=todo, settings=settings, concurrency=args.concurrency,
                                         writer=writer, events_dir=events_dir, address=args.ray or None), tally)
        else:
            interrupted = _run_local(todo, settings, config, args.concurrency, writer, events_dir, tally)
    finally:
        writer.close()
    print(tally.summary(), file=sys.stderr)
    if interrupted:
        return 130
    return 0 if tally.completed == tally.total else 1


def _run_local(todo, settings, config, concurrency, writer, events_dir, tally) -> bool:  # type: ignore[no-untyped-def]
    import trio

    from codex_actors.batch.local import LocalRun, run_local

    run = LocalRun(items=todo, settings=settings, config=config, concurrency=concurrency, writer=writer,
                   events_dir=events_dir)
    return trio.run(run_local, run, tally)

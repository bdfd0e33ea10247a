"""`codex-actors sessions` (list recorded rollouts) and `codex-actors resume [--last | ID] [PROMPT]` (continue one
interactively), spec agent-core 8 "Resume" / "listing".

Both are served by this module; `configure` looks at the parser's name to know which one it is setting up.
"""

from __future__ import annotations

import argparse
import sys

from codex_actors.cli.errors import UsageError

PROMPT_PREVIEW_CHARS = 70


def configure(parser: argparse.ArgumentParser) -> None:
    """Attach the arguments of `sessions` or `resume` (chosen by `parser.prog`)."""
    from codex_actors.cli.common import add_config_options
    from codex_actors.cli.exec_cmd import one_line_errors

    if parser.prog.endswith("resume"):
        from codex_actors.cli.run_cmd import add_run_flags

        add_config_options(parser)
        add_run_flags(parser)
        parser.add_argument("--last", action="store_true", help="the newest session recorded in this directory")
        parser.add_argument("--all", action="store_true", help="with --last: the newest session from any directory")
        parser.add_argument("session_id", nargs="?", metavar="ID", help="thread id (UUID) of the session")
        parser.add_argument("prompt", nargs="?", help="first message after resuming")
        parser.set_defaults(_sessions_action="resume")
    else:
        add_config_options(parser)
        parser.add_argument("--all", action="store_true", help="sessions from every directory (default: this one)")
        parser.add_argument("-n", "--limit", type=int, default=20, help="how many to show (default 20; 0 = all)")
        parser.set_defaults(_sessions_action="list")
    one_line_errors(parser)


def run(args: argparse.Namespace) -> int:
    """Entry point of both subcommands; returns the exit code."""
    if args._sessions_action == "resume":
        return _resume(args)
    return _list(args)


def _list(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codex_actors.cli.common import load_config_from_args
    from codex_actors.session.persistence import list_rollouts

    if args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    config = load_config_from_args(args)
    cwd = Path(config.cwd)
    shown = 0
    for summary in list_rollouts(config.home):
        if not args.all and summary.cwd is not None and Path(summary.cwd) != cwd:
            continue
        prompt = " ".join((summary.first_prompt or "").split())
        if len(prompt) > PROMPT_PREVIEW_CHARS:
            prompt = prompt[: PROMPT_PREVIEW_CHARS - 1] + "…"
        print(f"{summary.thread_id}  {summary.created:%Y-%m-%d %H:%M}  {prompt or '(no prompt)'}")
        shown += 1
        if args.limit and shown >= args.limit:
            break
    if shown == 0:
        where = "" if args.all else f" for {cwd} (use --all for every directory)"
        print(f"no recorded sessions{where}", file=sys.stderr)
    return 0


def _resume(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codex_actors.cli.exec_cmd import find_session
    from codex_actors.cli.run_cmd import load_run_config, run_interactive

    if args.last and args.session_id is not None:
        # With --last the positional is the prompt (spec 6.1 `resume`).
        args.prompt, args.session_id = args.session_id, None
    if not args.last and args.session_id is None:
        raise UsageError("give a session ID or --last (list them with `codex-actors sessions`)")
    config = load_run_config(args)
    path = find_session(config.home, args.session_id, cwd=Path(config.cwd), any_cwd=args.all)
    return run_interactive(config, args, resume=path)

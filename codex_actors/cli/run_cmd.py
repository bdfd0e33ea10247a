"""`codex-actors run [PROMPT]`: an interactive session in the terminal (spec agent-core 9, rows 1, 2, 35, 39).

An input line with history (`history.jsonl`) pinned at the bottom, the run streamed above it as `exec` renders
it (answers as markdown), one-key approval questions (y / n / a = always for this session / p = persist a
rule; Esc aborts the turn) for the policies that ask, an activity line with a spinner and the elapsed time
while the model or a tool works, and a footer with the modes, the context window left and the session's
tokens (see `interactive` and `prompt_thread`). Ctrl-C interrupts the running turn and keeps the session; at an idle
prompt a second Ctrl-C (or Ctrl-D, or /quit) leaves. A line typed while a turn runs steers that turn.

Slash commands: /new, /resume [ID], /compact, /diff, /status, /model [NAME], /approvals [POLICY], /rename NAME,
/help, /quit.
/model and /approvals restart the session on the same rollout with the new setting (the session's settings are
fixed for its life), so the conversation goes on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from codex_actors.cli.errors import StartupError, UsageError
from codex_actors.config.schema import APPROVAL_POLICIES, SANDBOX_MODES

SLASH_HELP = [
    ("/new", "start a new session"),
    ("/resume [ID]", "continue the newest session of this directory, or the one with ID"),
    ("/compact", "summarise the conversation to free context"),
    ("/diff", "show `git diff` of the working tree, untracked files included"),
    ("/status", "session id, model, policies, context window, token usage"),
    ("/model [NAME]", "pick one of the models the provider lists, or switch to NAME"),
    ("/approvals [POLICY]", "show or change the approval policy (untrusted | on-failure | on-request | never | "
                            "granular sandbox_approval=B rules=B mcp_elicitations=B)"),
    ("/rename NAME", "name this session, so that `resume NAME` / `exec resume NAME` find it"),
    ("/quit", "leave (also /exit, Ctrl-D)"),
]


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `run` and `resume`."""

    add = parser.add_argument
    add("-m", "--model", help="model slug")
    add("-s", "--sandbox", choices=SANDBOX_MODES, help="sandbox mode for model commands")
    add("-a", "--ask-for-approval", dest="approval_policy", choices=APPROVAL_POLICIES,
        help="when to ask before running a command or applying a patch")
    add("--full-auto", action="store_true", help="workspace-write sandbox, approvals on request")
    add("--dangerously-bypass-approvals-and-sandbox", "--yolo", dest="yolo", action="store_true",
        help="no sandbox, no approvals (only inside an externally sandboxed environment)")
    add("--add-dir", dest="add_dirs", action="append", default=[], metavar="DIR", help="extra writable root")
    add("-i", "--image", dest="images", action="append", default=[], metavar="FILE", help="attach to the first prompt")
    add("--ephemeral", action="store_true", help="write no rollout")
    add("--color", choices=("always", "never", "auto"), default="auto", help="ANSI colour")


def configure(parser: argparse.ArgumentParser) -> None:
    """Attach `run`'s arguments to `parser`."""
    from codex_actors.cli.common import add_config_options
    from codex_actors.cli.exec_cmd import one_line_errors

    add_config_options(parser)
    add_run_flags(parser)
    parser.add_argument("prompt", nargs="?", help="first message (optional)")
    one_line_errors(parser)


def load_run_config(args: argparse.Namespace, **changes: Any):
    """The config of an interactive run: dedicated flags, then `changes` (dotted keys from /model, /approvals)."""
    from codex_actors.cli.common import load_config_from_args

    if args.full_auto and args.yolo:
        raise UsageError("--full-auto conflicts with --dangerously-bypass-approvals-and-sandbox")
    flags: dict[str, Any] = {"model": args.model, "approval_policy": args.approval_policy,
                             "sandbox_mode": args.sandbox}
    if args.full_auto:
        flags["sandbox_mode"] = args.sandbox or "workspace-write"
        flags["approval_policy"] = args.approval_policy or "on-request"
    if args.yolo:
        flags.update(sandbox_mode="danger-full-access", approval_policy="never")
    flags.update(changes)
    return load_config_from_args(args, flags)


def run(args: argparse.Namespace) -> int:
    """Entry point of `codex-actors run`; returns the exit code."""
    config = load_run_config(args)
    return run_interactive(config, args, resume=None)


def run_interactive(config: Any, args: argparse.Namespace, *, resume: Path | None) -> int:
    """Run the interactive loop until the user leaves; 0 on a normal exit. Config problems raise StartupError."""
    from codex_actors.cli.exec_cmd import image_paths

    images = image_paths(args.images, Path(config.cwd))
    if not sys.stdin.isatty():
        raise UsageError("run needs a terminal on stdin; use `codex-actors exec` for piped input")
    import trio

    from codex_actors.cli.interactive import InteractiveApp

    app = InteractiveApp(args, config, first_prompt=args.prompt, images=images, resume=resume)
    try:
        code = trio.run(app.main)
    except KeyboardInterrupt:
        return 130
    if app.failure is not None:
        raise StartupError(app.failure)
    return code

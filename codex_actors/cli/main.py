"""`codex-actors` entry point: argument parsing and lazy dispatch to one module per subcommand.

Each subcommand lives in its own module exposing `configure(parser)` and `run(args) -> int` (the exit code).
Only the chosen subcommand's module is imported, so `codex-actors --help` loads neither trio, httpx nor V8.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from codex_actors.cli.errors import UsageError

# (name, module, one-line help). Order is the order shown by --help.
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("exec", "codex_actors.cli.exec_cmd", "run one turn headless (human output or --json JSONL events)"),
    ("batch", "codex_actors.cli.batch_cmd", "run many exec jobs from a JSONL file (sessions in one process, or on Ray)"),
    ("run", "codex_actors.cli.run_cmd", "start an interactive session in the terminal"),
    ("resume", "codex_actors.cli.sessions_cmd", "continue a recorded session interactively (--last | ID)"),
    ("sessions", "codex_actors.cli.sessions_cmd", "list recorded sessions (id, date, first prompt)"),
    ("config", "codex_actors.cli.config_cmd", "show the resolved configuration and where each key came from"),
    ("mcp", "codex_actors.cli.mcp_cmd", "manage MCP servers in config.toml (list | get | add | remove)"),
    ("sandbox", "codex_actors.cli.sandbox_cmd", "run a command under the configured sandbox (linux | landlock)"),
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand's parser attached (modules imported on demand)."""
    parser = argparse.ArgumentParser(
        prog="codex-actors",
        description="A coding-agent runtime in the spirit of the Codex CLI, built as actors on trio.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in SUBCOMMANDS:
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default `sys.argv[1:]`), run the subcommand, return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="codex-actors", add_help=False)
    parser.add_argument("command", nargs="?")
    known, _ = parser.parse_known_args(argv[:1])
    full = build_parser()
    names = {name: module for name, module, _ in SUBCOMMANDS}
    if known.command in names:
        # Attach the real arguments of the one subcommand that runs.
        module = importlib.import_module(names[known.command])
        sub_action = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
        module.configure(sub_action.choices[known.command])
    args = full.parse_args(argv)
    if args.command is None:
        full.print_help()
        return 0
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except UsageError as exc:
        print(f"codex-actors {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

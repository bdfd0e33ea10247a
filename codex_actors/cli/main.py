"""`codex-actors` entry point: argument parsing and lazy dispatch to one module per subcommand.

Each subcommand lives in its own module exposing `configure(parser)` and `run(args) -> int` (the exit code).
Only the chosen subcommand's module is imported, so `codex-actors --help` loads neither trio, httpx nor V8.
As in Codex, `codex-actors [PROMPT]` with no subcommand starts the interactive session (`run`), `e` is `exec`,
and `--version` / `-V` prints the version.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from codex_actors.cli import attrs_code_cache
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
    ("app-server", "codex_actors.cli.app_server_cmd", "serve the Codex app-server protocol (JSON-RPC v2) for SDKs and IDEs"),
    ("mcp-server", "codex_actors.cli.mcp_server_cmd", "serve codex-actors as an MCP server over stdio (tools codex, codex-reply)"),
]


ALIASES = {"e": "exec"}
VERSION = "0.1.0"  # codex_actors.runtime.CLI_VERSION, kept here so that --version imports nothing


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand's parser attached (modules imported on demand)."""
    parser = argparse.ArgumentParser(
        prog="codex-actors",
        description="A coding-agent runtime in the spirit of the Codex CLI, built as actors on trio.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"codex-actors {VERSION}")
    parser.add_argument("-c", "--config", dest="top_overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for the subcommand that follows (repeatable)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in SUBCOMMANDS:
        aliases = [alias for alias, target in ALIASES.items() if target == name]
        sub_parser = sub.add_parser(name, help=help_text, description=help_text, aliases=aliases)
        sub_parser.set_defaults(_module=module)
    return parser


def _bare_is_run(argv: list[str], names: dict[str, str]) -> bool:
    """`codex-actors`, `codex-actors "fix it"`, `codex-actors -m o3 "fix it"`: no subcommand means `run` (as
    `codex [PROMPT]` starts Codex's TUI). Help, version and the top-level `-c` keep their own meaning."""
    if not argv:
        return True
    first = argv[0]
    if first in names or first in ALIASES:
        return False
    return first not in ("-h", "--help", "-V", "--version", "-c", "--config")


def main(argv: list[str] | None = None, *, exit_fast: bool = False) -> int:
    """Parse `argv` (default `sys.argv[1:]`), run the subcommand, return its exit code.

    `exit_fast` (the console script and `python -m codex_actors`, never a caller in-process): once a subcommand
    whose module sets `EXIT_FAST = True` has returned, flush stdout/stderr and end the process at once
    (`os._exit`) instead of tearing the interpreter down, which costs `exec` 20 ms on an idle machine and
    200-500 ms on a loaded one (freeing ~700 modules and V8's heap). By then everything the run started has been
    stopped and reaped (actors return only once stopped) and its files are closed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top_overrides, argv = split_top_level_config(argv)
    names = {name: module for name, module, _ in SUBCOMMANDS}
    if _bare_is_run(argv, names):
        argv = ["run", *argv]
    parser = argparse.ArgumentParser(prog="codex-actors", add_help=False)
    parser.add_argument("command", nargs="?")
    known, _ = parser.parse_known_args(argv[:1])
    full = build_parser()
    known.command = ALIASES.get(known.command, known.command)
    if known.command in names:
        attrs_code_cache.install()  # before any attrs class of the subcommand is defined (issue 21)
        # Attach the real arguments of the one subcommand that runs.
        module = importlib.import_module(names[known.command])
        sub_action = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
        module.configure(sub_action.choices[known.command])
    args = full.parse_args(argv)
    if top_overrides:
        # Top-level `-c` come first, so the subcommand's own `-c` win (the order the SDKs rely on).
        args.overrides = [*top_overrides, *(getattr(args, "overrides", None) or [])]
    if args.command is None:
        full.print_help()
        return 0
    args.command = ALIASES.get(args.command, args.command)
    module = importlib.import_module(args._module)
    try:
        code = int(module.run(args) or 0)
    except UsageError as exc:
        print(f"codex-actors {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    if exit_fast and getattr(module, "EXIT_FAST", False):
        _exit_now(code)
    return code


def console() -> None:
    """The `codex-actors` console script: `main` with `exit_fast`."""
    sys.exit(main(exit_fast=True))


def _exit_now(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed or broken stream: let the interpreter's own exit report it, as it always has
    os._exit(code)


def split_top_level_config(argv: list[str]) -> tuple[list[str], list[str]]:
    """Take the `-c KEY=VALUE` / `--config KEY=VALUE` / `--config=KEY=VALUE` options given before the
    subcommand (`codex-actors -c k=v app-server`, as the official SDKs start it): (those values, the rest)."""
    values: list[str] = []
    rest = list(argv)
    while rest:
        head = rest[0]
        if head in ("-c", "--config") and len(rest) >= 2:
            values.append(rest[1])
            rest = rest[2:]
        elif head.startswith("--config="):
            values.append(head.split("=", 1)[1])
            rest = rest[1:]
        elif head.startswith("-c") and len(head) > 2:
            values.append(head[2:])
            rest = rest[1:]
        else:
            break
    return values, rest

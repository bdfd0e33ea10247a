"""The known-safe command list (spec agent-core 5.3 "Known-safe commands").

A known-safe command is auto-approved even under the `untrusted` approval policy. The check is pure: it looks
at an argv only, never at the filesystem. `zsh` is treated exactly like `bash`, and a plain `bash -lc
"<script>"` is safe when every simple command of the script is (see `command_split`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import PurePosixPath

from codex_actors.tools.approvals.command_split import split_for_evaluation

#: Commands that are safe with any arguments.
ALWAYS_SAFE = frozenset(
    "cat cd cut echo expr false grep head id ls nl paste pwd rev seq stat tail tr true uname uniq wc which "
    "whoami".split()
)
#: Safe with any arguments on Linux only.
LINUX_ONLY_SAFE = frozenset({"numfmt", "tac"})

FIND_UNSAFE_OPTIONS = frozenset(
    {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fls", "-fprint", "-fprint0", "-fprintf"}
)
RG_UNSAFE_OPTIONS_WITH_VALUE = ("--pre", "--hostname-bin")
RG_UNSAFE_FLAGS = frozenset({"--search-zip", "-z"})

GIT_READ_ONLY_SUBCOMMANDS = frozenset({"status", "log", "diff", "show"})
#: Global options that redirect git's configuration, repository or helpers.
GIT_CONFIG_OVERRIDE_OPTIONS = (
    "-c", "--git-dir", "--work-tree", "--exec-path", "--namespace", "--super-prefix", "--config-env",
)
#: Global options taking a separate value argument (so the value is not mistaken for the subcommand).
GIT_GLOBAL_OPTIONS_WITH_VALUE = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env", "--exec-path"}
)
#: Subcommand options that write files, run helpers or start a pager.
GIT_UNSAFE_SUBCOMMAND_OPTIONS = ("--output", "--ext-diff", "--textconv", "--exec", "--paginate")
GIT_BRANCH_READ_ONLY_FLAGS = frozenset(
    {"--list", "-l", "--show-current", "-a", "--all", "-r", "--remotes", "-v", "-vv", "--verbose"}
)


def is_known_safe_command(argv: Sequence[str], *, platform: str = sys.platform) -> bool:
    """True when `argv` may run without approval under any policy (spec 5.3).

    `argv` is the command as the tool call gives it (e.g. `["bash", "-lc", "ls && pwd"]`). A shell script is
    safe only when it splits into plain simple commands (`command_split.split_for_evaluation` kind "plain")
    that are each safe. `platform` is `sys.platform`-style; `numfmt`/`tac` are safe on "linux" only.
    """
    argv = normalize_shell(argv)
    if is_safe_simple_command(argv, platform=platform):
        return True
    split = split_for_evaluation(argv)
    return split.kind == "plain" and all(is_safe_simple_command(s, platform=platform) for s in split.segments)


def normalize_shell(argv: Sequence[str]) -> tuple[str, ...]:
    """Return `argv` as a tuple with a leading `zsh` replaced by `bash` (spec 5.3: zsh is treated like bash)."""
    argv = tuple(argv)
    if argv and argv[0] == "zsh":
        return ("bash", *argv[1:])
    return argv


def is_safe_simple_command(argv: Sequence[str], *, platform: str = sys.platform) -> bool:
    """True when one simple command (no shell syntax) is on the known-safe list with safe arguments."""
    if not argv:
        return False
    name = PurePosixPath(argv[0]).name
    args = list(argv[1:])
    if name in ALWAYS_SAFE:
        return True
    if name in LINUX_ONLY_SAFE:
        return platform.startswith("linux")
    if name == "base64":
        return not any(_is_base64_output_option(a) for a in args)
    if name == "find":
        return not any(a in FIND_UNSAFE_OPTIONS for a in args)
    if name == "rg":
        return not any(_is_unsafe_rg_option(a) for a in args)
    if name == "git":
        return _is_safe_git(args)
    if name == "sed":
        return len(argv) <= 4 and len(args) >= 2 and args[0] == "-n" and _is_sed_print_range(args[1])
    return False


def _is_base64_output_option(arg: str) -> bool:
    return arg in ("-o", "--output") or arg.startswith("--output=") or (arg.startswith("-o") and arg != "-o")


def _is_unsafe_rg_option(arg: str) -> bool:
    if arg in RG_UNSAFE_FLAGS:
        return True
    return any(arg == opt or arg.startswith(opt + "=") for opt in RG_UNSAFE_OPTIONS_WITH_VALUE)


def _matches_option(arg: str, options: Sequence[str]) -> bool:
    """`--opt`, `--opt=value`, and for short options the joined form `-cvalue`."""
    for opt in options:
        if arg == opt or arg.startswith(opt + "="):
            return True
        if len(opt) == 2 and arg.startswith(opt):
            return True
    return False


def _is_safe_git(args: list[str]) -> bool:
    if any(_matches_option(a, GIT_CONFIG_OVERRIDE_OPTIONS) for a in args):
        return False
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-"):
            break
        if arg in ("-p", "--paginate"):
            return False
        index += 2 if arg in GIT_GLOBAL_OPTIONS_WITH_VALUE else 1
    else:
        return False
    subcommand, sub_args = args[index], args[index + 1:]
    if any(_matches_option(a, GIT_UNSAFE_SUBCOMMAND_OPTIONS) and a.startswith("--") for a in sub_args):
        return False
    if subcommand in GIT_READ_ONLY_SUBCOMMANDS:
        return True
    if subcommand == "branch":
        return all(a in GIT_BRANCH_READ_ONLY_FLAGS or a.startswith("--format=") for a in sub_args)
    return False


def _is_sed_print_range(arg: str) -> bool:
    """`Np` or `M,Np` with decimal line numbers."""
    if not arg.endswith("p"):
        return False
    parts = arg[:-1].split(",")
    return 1 <= len(parts) <= 2 and all(p.isascii() and p.isdigit() for p in parts)

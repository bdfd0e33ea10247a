"""`codex-actors sandbox linux [--full-auto] [-c key=value ...] -- COMMAND...` (spec 5.5; alias `landlock`).

Loads the normal config (`-c` overrides, `-p`, `-C`, `sandbox_mode`, `[sandbox_workspace_write]`,
`[shell_environment_policy]`); `--full-auto` means workspace-write. Runs COMMAND through the same launcher
as tool calls (this process execs the launcher, which needs a single-threaded process to create the
sandbox's namespaces) and exits with the command's status (128+N when killed by signal N). If the sandbox cannot be enforced, the command does not run:
`codex-actors sandbox: refusing to run: <why>` on stderr, exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from codex_actors.cli.common import add_config_options, load_config_from_args
from codex_actors.cli.errors import UsageError

USAGE = "codex-actors sandbox linux [--full-auto] [--log-denials] [-c key=value ...] -- COMMAND..."


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sandbox_platform", metavar="PLATFORM", required=True)
    for name in ("linux", "landlock"):
        platform = sub.add_parser(name, help="run COMMAND under the Linux sandbox (Landlock + seccomp)",
                                  usage=USAGE)
        platform.add_argument("--full-auto", action="store_true",
                              help="workspace-write: cwd, /tmp and $TMPDIR writable, no network")
        platform.add_argument("--log-denials", action="store_true",
                              help="print each syscall the sandbox's seccomp filter denies, and why (stderr)")
        add_config_options(platform)
        platform.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND...")


def run(args: argparse.Namespace) -> int:
    from codex_actors.exec.environment import build_env
    from codex_actors.exec.policy import SandboxPolicy
    from codex_actors.exec.spawn import launcher_argv

    command = list(args.argv)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError(f"no command given; usage: {USAGE}")
    if not sys.platform.startswith("linux"):
        raise UsageError("the Linux sandbox only runs on Linux")
    flags = {"sandbox_mode": "workspace-write"} if args.full_auto else None
    config = load_config_from_args(args, flags=flags)
    try:
        policy = SandboxPolicy.from_config(config.get("sandbox_mode"), config.get("sandbox_workspace_write") or {})
        env = build_env(config.get("shell_environment_policy") or {}, os.environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    env.update(policy.env_overrides())
    argv = launcher_argv(command, cwd=str(config.cwd), policy=policy, tty=False, log_denials=args.log_denials)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)

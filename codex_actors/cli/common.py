"""Options shared by the subcommands that load config: `-c/--config`, `-p/--profile`, `-C/--cd`,
`--ignore-user-config`, `--enable/--disable FEATURE`."""

from __future__ import annotations

import argparse
from typing import Any, Mapping

from codex_actors.cli.errors import StartupError, UsageError


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Attach `-c key=value` (repeatable), `-p NAME` and `-C DIR` to `parser`."""
    parser.add_argument("-c", "--config", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (dotted path; value parsed as TOML, else a literal string)")
    parser.add_argument("-p", "--profile", help="config profile from [profiles.NAME]")
    parser.add_argument("-C", "--cd", dest="cwd", metavar="DIR", help="working root for the agent")
    parser.add_argument("--enable", dest="enable_features", action="append", default=[], metavar="FEATURE",
                        help="turn a feature on: the same as -c features.FEATURE=true (repeatable)")
    parser.add_argument("--disable", dest="disable_features", action="append", default=[], metavar="FEATURE",
                        help="turn a feature off: the same as -c features.FEATURE=false (repeatable)")
    parser.add_argument("--ignore-user-config", action="store_true",
                        help="skip the user config files ($CODEX_ACTORS_HOME/config.toml and Codex's "
                             "$CODEX_HOME/config.toml)")


def load_config_from_args(args: argparse.Namespace, flags: Mapping[str, Any] | None = None, **kwargs: Any):
    """Resolve the config for parsed `args`; a ConfigError becomes a one-line StartupError (exit code 1). The
    config's warning (keys not understood) is printed as one `warning:` line on stderr."""
    import sys

    from codex_actors.config import ConfigError, load_config

    kwargs.setdefault("ignore_user_config", bool(getattr(args, "ignore_user_config", False)))
    overrides = [*(args.overrides or []), *feature_overrides(args)]
    try:
        config = load_config(cwd=args.cwd, overrides=overrides, flags=flags, profile=args.profile, **kwargs)
    except ConfigError as exc:
        raise StartupError(str(exc)) from None
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return config


def feature_overrides(args: argparse.Namespace) -> list[str]:
    """`--enable NAME` / `--disable NAME` as the `-c features.NAME=true|false` they stand for (spec 6.1), in
    that order after the `-c` values. Raises UsageError for a name that is not a bare key."""
    out = []
    for value, names in (("true", getattr(args, "enable_features", None) or []),
                         ("false", getattr(args, "disable_features", None) or [])):
        for name in names:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise UsageError(f"--{'enable' if value == 'true' else 'disable'} {name}: not a feature name")
            out.append(f"features.{name}={value}")
    return out

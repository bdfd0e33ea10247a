"""`codex-actors [-c KEY=VALUE ...] app-server [--listen stdio:// | ws://HOST:PORT]`: serve the app-server
protocol (see `codex_actors/app_server/`). The official SDKs start it as `<bin> --config k=v ... app-server
--listen stdio://`. Exit codes: 0 when the client (stdio) disconnects or on Ctrl-C; 2 for a bad `--listen`."""

from __future__ import annotations

import argparse
import re

from codex_actors.cli.errors import UsageError

_WS = re.compile(r"^ws://([^:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})/?$")


def configure(parser: argparse.ArgumentParser) -> None:
    """Attach app-server's arguments to `parser`."""
    parser.add_argument("-c", "--config", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every thread (TOML value)")
    parser.add_argument("--listen", default="stdio://", metavar="URL",
                        help="stdio:// (default: one client on stdin/stdout) or ws://HOST:PORT")


def parse_listen(value: str) -> tuple[str, int] | None:
    """None for stdio://, else (host, port) of ws://HOST:PORT; raises UsageError for anything else."""
    if value == "stdio://":
        return None
    match = _WS.match(value)
    if match is None or int(match[2]) > 65535:
        raise UsageError(f"--listen {value}: expected stdio:// or ws://HOST:PORT")
    return match[1].strip("[]"), int(match[2])


def run(args: argparse.Namespace) -> int:
    """Entry point of `codex-actors app-server`; returns the exit code."""
    import trio

    from codex_actors.app_server.server import serve_stdio, serve_websocket
    from codex_actors.config import ConfigError
    from codex_actors.config.loader import codex_home

    listen = parse_listen(args.listen)
    try:
        home = codex_home()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        if listen is None:
            trio.run(serve_stdio, args.overrides, home)
        else:
            trio.run(serve_websocket, args.overrides, home, listen[0], listen[1])
    except KeyboardInterrupt:
        return 0
    return 0

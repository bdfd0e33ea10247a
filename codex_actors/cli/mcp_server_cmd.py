"""`codex-actors [-c KEY=VALUE ...] mcp-server`: codex-actors as an MCP server over stdio (tools `codex` and
`codex-reply`; see `codex_actors/mcp_server/`). Exit code 0 when the client disconnects."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Attach mcp-server's arguments to `parser`."""
    parser.add_argument("-c", "--config", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every session (TOML value)")


def run(args: argparse.Namespace) -> int:
    """Entry point of `codex-actors mcp-server`; returns the exit code."""
    import trio

    from codex_actors.mcp_server.server import serve_stdio

    try:
        trio.run(serve_stdio, args.overrides)
    except KeyboardInterrupt:
        pass
    return 0

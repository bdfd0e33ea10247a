"""`codex-actors config show [--json]`: the resolved config, and per key the layer it came from."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from codex_actors.cli.common import add_config_options, load_config_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the resolved config with each key's layer")
    show.add_argument("--json", action="store_true", help="print JSON for machines: {values, origins, ...}")
    add_config_options(show)


def run(args: argparse.Namespace) -> int:
    config = load_config_from_args(args)
    if args.json:
        payload = {
            "home": str(config.home),
            "cwd": str(config.cwd),
            "profile": config.profile,
            "layers": [{"name": l.name, "path": str(l.path) if l.path else None} for l in config.layers],
            "values": config.values,
            "origins": config.origins,
            "notes": list(config.notes),
        }
        json.dump(payload, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    _print_table(config)
    return 0


def _print_table(config: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"codex-actors config (home: {config.home})", show_lines=False)
    table.add_column("key", style="bold", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("from", style="dim")
    for dotted in sorted(config.origins):
        table.add_row(dotted, json.dumps(config.get(dotted)), config.origins[dotted])
    console.print(table)
    for layer in config.layers:
        if layer.path is not None:
            console.print(f"[dim]{layer.name}: {layer.path}[/dim]")
    for note in config.notes:
        console.print(f"[yellow]note:[/yellow] {note}")

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


MIN_VALUE_WIDTH = 24  # below this a value column would be mostly wrapping: use the `key = value` layout


def _print_table(config: Any) -> None:
    """The config as a table. Key names and layer names are never broken: with room for a value column of
    `MIN_VALUE_WIDTH` beside the longest key, three columns (key, value, from); otherwise two, `key = value`
    wrapping after the `=` and inside the value, and the layer."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    keys = sorted(config.origins)
    longest_key = max((len(key) for key in keys), default=3)
    longest_origin = max((len(config.origins[key]) for key in keys), default=4)
    table = Table(title=f"codex-actors config (home: {config.home})", show_lines=False, box=box.SIMPLE_HEAD)
    three_columns = longest_key + MIN_VALUE_WIDTH + longest_origin + 8 <= console.width  # 8: padding, edges
    if three_columns:
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
    else:
        table.add_column("key = value", overflow="fold")
    table.add_column("from", style="dim", no_wrap=True)
    for dotted in keys:
        value = json.dumps(config.get(dotted))
        if three_columns:
            table.add_row(dotted, value, config.origins[dotted])
        else:
            table.add_row(Text.assemble((dotted, "bold"), " = ", value), config.origins[dotted])
    console.print(table)
    for layer in config.layers:
        if layer.path is not None:
            console.print(f"[dim]{layer.name}: {layer.path}[/dim]")
    for note in config.notes:
        console.print(f"[yellow]note:[/yellow] {note}")

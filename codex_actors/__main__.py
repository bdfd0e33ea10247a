"""`python -m codex_actors` runs the CLI."""

from codex_actors.cli.main import main

raise SystemExit(main(exit_fast=True))

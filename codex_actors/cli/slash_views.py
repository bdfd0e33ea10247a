"""What `/diff`, `/status` and `/model` print in `run` (the loop in `interactive` decides; these only show).

`show_diff`: `git diff` of the tracked files, then each untracked file (`git ls-files --others
--exclude-standard`) as an added file, the way Codex's /diff shows the working tree. `show_rows`: `key: value`
lines. `model_menu`: the numbered models of the `/model` picker and the question under them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from codex_actors.cli.human import render_file_change

MODEL_PICKS = 9  # one digit each


async def show_diff(console: Console, cwd: Path) -> None:
    """Print the working tree's changes under `cwd` (git's error as one red line when git fails)."""
    from codex_actors.cli.git_diff import GitError, working_tree_changes

    try:
        changes = await working_tree_changes(cwd)
    except GitError as exc:
        console.print(Text(f"/diff: {exc}", style="red"))
        return
    if not changes:
        console.print(Text("no changes", style="dim"))
        return
    for path, change in changes:
        console.print(render_file_change(path, change))


def show_rows(console: Console, rows: list[tuple[str, Any]]) -> None:
    for key, value in rows:
        console.print(Text.assemble((f"{key}: ", "bold"), str(value)))


def model_menu(console: Console, current: str, listed: list[str]) -> tuple[list[str], Text]:
    """Print up to `MODEL_PICKS` models, `current` first, numbered from 1; returns (the numbered models, the
    question to ask). `listed` must not be empty."""
    choices = [current] + [model for model in listed if model != current]
    shown = choices[:MODEL_PICKS]
    console.print(Text("models the provider lists:", style="bold"))
    for number, model in enumerate(shown, 1):
        mark = " (current)" if model == current else ""
        console.print(Text.assemble(f"  [{number}] ", (model, "bold"), (mark, "dim")))
    if len(choices) > MODEL_PICKS:
        console.print(Text(f"  … {len(choices) - MODEL_PICKS} more: /model NAME", style="dim"))
    return shown, Text.assemble(("Model? ", "bold yellow"), f"[1-{len(shown)}]", (" · [esc] keep " + current, "dim"))

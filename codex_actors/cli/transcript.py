"""The earlier transcript of a resumed session, compactly, from its rollout (spec agent-core 8 "Resume").

`replay(lines)` turns the rollout's lines into what `run` prints before the prompt: each user prompt (`› ...`,
from the always-persisted `user_message` events), each command the model ran with its exit code (from the
`function_call` / `function_call_output` response items: the unified-exec text `Process exited with code N`
or the `shell` tool's JSON `metadata.exit_code`), each patch with its files and whether it applied (the
`apply_patch` call's input and its `Success. ...` output), the model's answers (`agent_message` events),
interruptions and compactions. Long prompts and answers are cut to `MAX_LINES` lines. `entry_renderable`
is how one entry reads on screen (`› prompt`, `ran CMD · exit N`, `patch A path · applied`, `codex` + answer).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

import attrs
from rich.console import Group, RenderableType
from rich.text import Text

MAX_LINES = 6
COMMAND_TOOLS = ("exec_command", "shell", "shell_command", "local_shell")
PATCH_HEADER = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$", re.MULTILINE)
EXIT_CODE = re.compile(r"^Process exited with code (-?\d+)$", re.MULTILINE)


@attrs.frozen
class Entry:
    """One transcript entry. `kind`: "user" | "answer" | "command" | "patch" | "aborted" | "compacted";
    `text`: the prompt / answer / command line / patch files (`A path`, one per line); `exit_code`: of a
    command (None while unknown: no output recorded, or still running); `ok`: whether a patch applied."""

    kind: str
    text: str
    exit_code: int | None = None
    ok: bool | None = None


def replay(lines: Iterable[Any]) -> list[Entry]:
    """The entries of rollout `lines` (objects with `.type` and `.payload`, as `read_rollout` gives them)."""
    lines = list(lines)
    outputs = {p.get("call_id"): p.get("output") for p in _payloads(lines, "response_item")
               if p.get("type") in ("function_call_output", "custom_tool_call_output")}
    entries: list[Entry] = []
    for line in lines:
        payload = line.payload
        if line.type == "compacted":
            entries.append(Entry("compacted", "earlier conversation compacted"))
        elif line.type == "event_msg":
            kind = payload.get("type")
            if kind == "user_message" and isinstance(payload.get("message"), str):
                entries.append(Entry("user", _cut(payload["message"])))
            elif kind == "agent_message" and isinstance(payload.get("message"), str):
                entries.append(Entry("answer", _cut(payload["message"])))
            elif kind == "turn_aborted":
                entries.append(Entry("aborted", f"turn {payload.get('reason', 'interrupted')}"))
        elif line.type == "response_item":
            entry = _tool_entry(payload, outputs)
            if entry is not None:
                entries.append(entry)
    return entries


def entry_renderable(entry: Entry, message: Callable[[str], RenderableType]) -> RenderableType:
    """One entry as `run` prints it; `message(text)` renders an answer (markdown or plain, as the session does)."""
    if entry.kind == "user":
        return Text("› " + entry.text, style="bold")
    if entry.kind == "answer":
        return Group(Text("codex", style="bold magenta italic"), message(entry.text))
    if entry.kind == "command":
        code = entry.exit_code
        outcome = (Text("no exit code", style="dim") if code is None else
                   Text(f"exit {code}", style="green" if code == 0 else "red"))
        return Text.assemble(("ran ", "magenta italic"), (entry.text, "bold"), " · ", outcome)
    if entry.kind == "patch":
        label, style = {True: ("applied", "green"), False: ("failed", "red"), None: ("no result", "dim")}[entry.ok]
        files = ", ".join(entry.text.splitlines()) or "(no files)"
        return Text.assemble(("patch ", "magenta italic"), files, " · ", (label, style))
    return Text(entry.text, style="yellow" if entry.kind == "aborted" else "dim")


def _tool_entry(item: dict[str, Any], outputs: dict[Any, Any]) -> Entry | None:
    kind, name = item.get("type"), item.get("name")
    output = _output_text(outputs.get(item.get("call_id")))
    if name == "apply_patch" and kind in ("custom_tool_call", "function_call"):
        patch = item.get("input") if kind == "custom_tool_call" else _arguments(item).get("input")
        files = [f"{verb[0] if verb != 'Update' else 'M'} {path.strip()}"
                 for verb, path in PATCH_HEADER.findall(str(patch or ""))]
        return Entry("patch", "\n".join(files), ok=None if output is None else output.startswith("Success."))
    if kind == "function_call" and name in COMMAND_TOOLS:
        args = _arguments(item)
        command = args.get("cmd") or args.get("command")
        if isinstance(command, list):
            import shlex

            command = shlex.join(str(part) for part in command)
        if not isinstance(command, str):
            return None
        return Entry("command", command, exit_code=_exit_code(output))
    return None


def _exit_code(output: str | None) -> int | None:
    if output is None:
        return None
    match = EXIT_CODE.search(output)
    if match:
        return int(match.group(1))
    try:
        code = json.loads(output).get("metadata", {}).get("exit_code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def _output_text(output: Any) -> str | None:
    """A tool output as text: the string itself, or the text parts of a content list."""
    if output is None or isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(str(part.get("text", "")) for part in output if isinstance(part, dict))
    if isinstance(output, dict) and isinstance(output.get("content"), str):
        return output["content"]
    return json.dumps(output)


def _arguments(item: dict[str, Any]) -> dict[str, Any]:
    try:
        args = json.loads(item.get("arguments") or "{}")
    except (TypeError, ValueError):
        return {}
    return args if isinstance(args, dict) else {}


def _payloads(lines: list[Any], kind: str) -> list[dict[str, Any]]:
    return [line.payload for line in lines if line.type == kind]


def _cut(text: str) -> str:
    rows = text.rstrip("\n").splitlines()
    if len(rows) <= MAX_LINES:
        return "\n".join(rows)
    return "\n".join(rows[:MAX_LINES]) + f"\n… +{len(rows) - MAX_LINES} lines"

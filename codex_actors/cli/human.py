"""Human output of `exec` and `run` (spec agent-core 6.3), rendered with rich.

`HumanRenderer.feed(msg)` prints what one engine event means to a person: the agent's messages, each command
with its exit code, duration and a dimmed tail of its output, file changes as a coloured diff, plan updates as a
checklist, reasoning summaries dimmed, errors and warnings. `status()` describes the current activity for a
live status line (spinner + elapsed seconds), which the driver shows only on a terminal; the renderer itself
never touches a clock it was not handed, so it is testable with a recording console.

Agent messages are markdown (headings, emphasis, lists, highlighted code blocks) when the console is a terminal
with colour, and the model's text as it is otherwise (a pipe, `--color never`). While a message streams,
`live_view()` is its text so far (rendered the same way, cut to the last `LIVE_MAX_LINES` lines) for the
driver's live area; the complete message replaces it, printed once.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Callable

from rich.console import Console, RenderableType
from rich.text import Text

from codex_actors.cli.jsonl import command_string
from codex_actors.protocol import events

OUTPUT_TAIL_LINES = 6
DIFF_MAX_LINES = 80
STATUS_PREVIEW_CHARS = 60
LIVE_MAX_LINES = 8


class HumanRenderer:
    """Prints events on `console` (stderr for `exec`). `clock()` is monotonic seconds (tests may pass a fake).
    `rich_text`: render agent messages as markdown; by default when `console` is a terminal with colour."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic,
                 rich_text: bool | None = None) -> None:
        self.console = console
        self._clock = clock
        self.rich_text = is_rich(console) if rich_text is None else rich_text
        self._draft = ""  # the agent message streaming now
        self._activity: str | None = None
        self._since = clock()
        self._streamed = ""
        self._commands: dict[str, str] = {}
        self.total_tokens: int | None = None
        self.last_agent_message: str | None = None

    # -- header -----------------------------------------------------------------------------------------

    def header(self, version: str, rows: list[tuple[str, str]], prompt: str | None) -> None:
        """The run header: name + version, a key/value table (workdir, model, ...), then the user's prompt."""
        self.console.print(Text(f"codex-actors v{version} (research preview)", style="bold"))
        self.console.print(Text("-" * 8, style="dim"))
        for key, value in rows:
            self.console.print(Text.assemble((f"{key}: ", "bold"), value))
        self.console.print(Text("-" * 8, style="dim"))
        if prompt is not None:
            self.console.print(Text("user", style="bold cyan"))
            self.console.print(Text(prompt))

    # -- status line ------------------------------------------------------------------------------------

    def status(self) -> str | None:
        """`"<activity> (<n>s)"` while the model or a tool works, else None."""
        if self._activity is None:
            return None
        elapsed = int(self._clock() - self._since)
        preview = " ".join(self._streamed.split())[-STATUS_PREVIEW_CHARS:]
        tail = f": {preview}" if preview else ""
        return f"{self._activity} ({elapsed}s){tail}"

    def live_view(self) -> RenderableType | None:
        """The agent message streaming now (its last `LIVE_MAX_LINES` lines), or None when none is."""
        if not self._draft.strip():
            return None
        from codex_actors.cli.markdown import tail  # markdown support (markdown-it, pygments) only when shown

        return tail(self.message_renderable(self._draft), LIVE_MAX_LINES)

    def message_renderable(self, text: str) -> RenderableType:
        """An agent message as printed: markdown when `rich_text`, else the text unchanged."""
        if not self.rich_text:
            return Text(text)
        from codex_actors.cli.markdown import markdown  # imported on first use: ~70 ms a pipe never needs

        return markdown(text)

    def _set_activity(self, activity: str | None) -> None:
        if activity != self._activity:
            self._since = self._clock()
        self._activity = activity
        self._streamed = ""

    # -- events -----------------------------------------------------------------------------------------

    def feed(self, msg: events.EventMsg) -> None:
        """Render one engine event."""
        handler = getattr(self, f"_on_{getattr(msg, 'TYPE', '')}", None)
        if handler is not None:
            handler(msg)

    def _on_task_started(self, msg: events.TaskStarted) -> None:
        self._set_activity("working")

    def _on_task_complete(self, msg: events.TaskComplete) -> None:
        self._set_activity(None)
        self._draft = ""
        if msg.last_agent_message is not None:
            self.last_agent_message = msg.last_agent_message
        if self.total_tokens is not None:
            self.console.print(Text("tokens used", style="magenta italic"))
            self.console.print(f"{self.total_tokens:,}")

    def _on_turn_aborted(self, msg: events.TurnAborted) -> None:
        self._set_activity(None)
        if self._draft.strip():  # what streamed before the interrupt stays where the user saw it
            self.console.print(Text("codex", style="bold magenta italic"))
            self.console.print(self.message_renderable(self._draft), soft_wrap=not self.rich_text)
        self._draft = ""
        self.console.print(Text(f"turn {msg.reason}", style="bold red"))

    def _on_error(self, msg: events.Error) -> None:
        self.console.print(Text(f"ERROR: {msg.message}", style="bold red"))

    def _on_stream_error(self, msg: events.StreamError) -> None:
        details = f" ({msg.additional_details})" if msg.additional_details else ""
        self.console.print(Text(f"{msg.message}{details}", style="yellow"))

    def _on_warning(self, msg: events.Warning) -> None:
        self.console.print(Text(f"warning: {msg.message}", style="yellow"))

    def _on_token_count(self, msg: events.TokenCount) -> None:
        total = (msg.info or {}).get("total_token_usage") or {}
        if "total_tokens" in total:
            self.total_tokens = int(total["total_tokens"])

    def _on_agent_message_delta(self, msg: events.AgentMessageDelta) -> None:
        if self._activity in ("working", "thinking"):
            self._activity = "responding"
        self._draft += msg.delta  # shown by `live_view`, not previewed in the status line

    def _on_agent_reasoning_delta(self, msg: events.AgentReasoningDelta) -> None:
        if self._activity == "working":
            self._activity = "thinking"
        self._streamed += msg.delta

    def _on_agent_message(self, msg: events.AgentMessage) -> None:
        self.last_agent_message = msg.message
        self._draft = ""
        self.console.print(Text("codex", style="bold magenta italic"))
        self.console.print(self.message_renderable(msg.message), soft_wrap=not self.rich_text)
        self._set_activity("working")

    def _on_agent_reasoning(self, msg: events.AgentReasoning) -> None:
        if msg.text.strip():
            self.console.print(Text("thinking", style="magenta italic"))
            self.console.print(Text(msg.text, style="dim italic"))
        self._set_activity("working")

    def _on_plan_update(self, msg: events.PlanUpdate) -> None:
        self.console.print(Text("plan", style="bold magenta italic"))
        if msg.explanation:
            self.console.print(Text(msg.explanation, style="dim"))
        marks = {"completed": ("✓", "green"), "in_progress": ("→", "cyan bold")}
        for step in msg.plan:
            mark, style = marks.get(step.get("status", ""), ("•", "dim"))
            self.console.print(Text.assemble(f"  {mark} ", (str(step.get("step", "")), style)))

    def _on_exec_command_begin(self, msg: events.ExecCommandBegin) -> None:
        command = command_string(msg.command)
        self._commands[msg.call_id] = command
        self.console.print(Text.assemble(("exec ", "magenta italic"), (command, "bold"), (f" in {msg.cwd}", "dim")))
        self._set_activity(f"running {_short(command)}")

    def _on_exec_command_output_delta(self, msg: events.ExecCommandOutputDelta) -> None:
        try:
            self._streamed += base64.b64decode(msg.chunk).decode("utf-8", errors="replace")
        except ValueError:
            pass
        self._streamed = self._streamed[-4 * STATUS_PREVIEW_CHARS:]

    def _on_exec_command_end(self, msg: events.ExecCommandEnd) -> None:
        command = self._commands.pop(msg.call_id, None) or command_string(msg.command)
        took = _duration_text(msg.duration)
        if msg.status == "declined":
            self.console.print(Text(f"{_short(command)} declined", style="red"))
        elif msg.exit_code == 0:
            self.console.print(Text(f"{_short(command)} succeeded in {took}:", style="green"))
        else:
            self.console.print(Text(f"{_short(command)} exited {msg.exit_code} in {took}:", style="red"))
        tail = _tail(msg.aggregated_output, OUTPUT_TAIL_LINES)
        if tail:
            self.console.print(Text(tail, style="dim"))
        self._set_activity("working")

    def _on_exec_approval_request(self, msg: events.ExecApprovalRequest) -> None:
        self._set_activity(None)

    def _on_apply_patch_approval_request(self, msg: events.ApplyPatchApprovalRequest) -> None:
        self._set_activity(None)

    def _on_patch_apply_begin(self, msg: events.PatchApplyBegin) -> None:
        self.console.print(Text.assemble(("apply patch", "magenta italic"),
                                         (f" ({len(msg.changes)} file{'s' * (len(msg.changes) != 1)})", "dim")))
        self._set_activity("applying patch")

    def _on_patch_apply_end(self, msg: events.PatchApplyEnd) -> None:
        style = "green" if msg.success and msg.status == "completed" else "red"
        self.console.print(Text(f"patch: {msg.status}", style=style))
        for path, change in msg.changes.items():
            self.console.print(render_file_change(path, change))
        self._set_activity("working")

    def _on_mcp_tool_call_begin(self, msg: events.McpToolCallBegin) -> None:
        inv = msg.invocation
        self._set_activity(f"mcp {inv.get('server')}/{inv.get('tool')}")

    def _on_mcp_tool_call_end(self, msg: events.McpToolCallEnd) -> None:
        inv = msg.invocation
        result = msg.result.get("Ok") or {}
        ok = "Ok" in msg.result and not (result.get("isError") or result.get("is_error"))
        status = "completed" if ok else "failed"
        call = f"{inv.get('server')}/{inv.get('tool')}"
        if not ok:  # what was asked and what went wrong, not only "(failed)"
            call += f"({json.dumps(inv.get('arguments'), ensure_ascii=False)})" if inv.get("arguments") else "()"
        self.console.print(Text.assemble(("mcp: ", "magenta italic"), f"{call} ",
                                         (f"({status})", "green" if ok else "red")))
        if not ok:
            self.console.print(Text(mcp_error_text(msg.result), style="red"))
        self._set_activity("working")

    def _on_web_search_end(self, msg: events.WebSearchEnd) -> None:
        self.console.print(Text.assemble(("web search: ", "magenta italic"), msg.query))

    def _on_view_image_tool_call(self, msg: events.ViewImageToolCall) -> None:
        self.console.print(Text.assemble(("view image ", "magenta italic"), msg.path))


def mcp_error_text(result: dict[str, Any]) -> str:
    """The error of a failed MCP call: the `Err` text, else the text blocks of an `isError` result."""
    if "Err" in result:
        return str(result["Err"])
    content = (result.get("Ok") or {}).get("content") or []
    texts = [str(block.get("text", "")) for block in content if isinstance(block, dict) and block.get("type") == "text"]
    return "\n".join(t for t in texts if t) or "(no error text)"


def render_file_change(path: str, change: dict[str, Any]) -> Text:
    """One file of a patch as coloured text: `A`/`D`/`M` + path, then its diff lines (+ green, - red, @@ cyan)."""
    kind = change.get("type", "update")
    out = Text()
    letter = {"add": "A", "delete": "D"}.get(kind, "M")
    target = change.get("move_path")
    out.append(f"{letter} {path}" + (f" -> {target}" if target else ""), style="bold")
    if kind == "add":
        lines = [f"+{line}" for line in str(change.get("content", "")).splitlines()]
    elif kind == "delete":
        lines = [f"-{line}" for line in str(change.get("content", "")).splitlines()]
    else:
        lines = [line for line in str(change.get("unified_diff", "")).splitlines()
                 if not line.startswith(("---", "+++"))]
    shown = lines[:DIFF_MAX_LINES]
    for line in shown:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else \
            "cyan" if line.startswith("@@") else "dim"
        out.append("\n")
        out.append(line, style=style)
    if len(lines) > len(shown):
        out.append(f"\n… +{len(lines) - len(shown)} lines", style="dim")
    return out


def _tail(text: str, n: int) -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) <= n:
        return "\n".join(lines)
    return f"… +{len(lines) - n} lines\n" + "\n".join(lines[-n:])


def _short(command: str, limit: int = 60) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"


def _duration_text(duration: dict[str, Any]) -> str:
    ms = int(duration.get("secs", 0)) * 1000 + int(duration.get("nanos", 0)) // 1_000_000
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def is_rich(console: Console) -> bool:
    """Whether `console` shows styles: a terminal (or `--color always`) with a colour system."""
    return console.is_terminal and console.color_system is not None and not console.no_color


def make_console(color: str, *, stderr: bool, file: Any = None) -> Console:
    """A rich Console on stderr or stdout (or `file`) honouring `--color always|never|auto`; never wraps long
    lines of plain text."""
    kwargs: dict[str, Any] = {"stderr": stderr, "highlight": False, "soft_wrap": True}
    if file is not None:
        kwargs["file"] = file
    if color == "always":
        kwargs["force_terminal"] = True
    elif color == "never":
        kwargs["no_color"] = True
        kwargs["color_system"] = None
    return Console(**kwargs)

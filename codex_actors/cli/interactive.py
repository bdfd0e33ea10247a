"""The interactive loop of `codex-actors run` / `resume`: one trio task merging engine events and prompt answers.

Everything the loop decides happens on the trio thread, one inbox message at a time: ("event", Event) from the
session, ("input", Result) from the prompt thread, ("signal", None) for a SIGINT that arrived while no prompt
held the terminal. At most one prompt is outstanding; an approval request preempts the line prompt (keeping
what was typed) and the line prompt comes back once every pending approval is answered.

A session ends with a `Next` plan: quit, or open another session (new, resumed, or the same rollout with a
changed model / approval policy).
"""

from __future__ import annotations

import argparse
import collections
import math
import signal
from pathlib import Path
from typing import Any

import attrs
import trio
from rich.text import Text

from codex_actors.cli.errors import UsageError
from codex_actors.cli.human import HumanRenderer, make_console, render_file_change
from codex_actors.cli.jsonl import command_string
from codex_actors.cli.prompt_thread import (
    EndOfInput,
    Interrupted,
    LineRequest,
    Preempted,
    PromptThread,
    StatusBox,
)
from codex_actors.cli.run_cmd import SLASH_HELP, load_run_config
from codex_actors.config import ConfigError
from codex_actors.config.schema import APPROVAL_POLICIES
from codex_actors.protocol import events, ops
from codex_actors.session.persistence import RolloutError

LINE_PROMPT = "› "
APPROVAL_ANSWERS = {"y": "approved", "yes": "approved", "a": "approved_for_session", "always": "approved_for_session",
                    "n": "denied", "no": "denied"}
STATUS_TICK_S = 0.2


def _proposed_rule(request: Any) -> list[str] | None:
    """The command prefix an exec approval request proposes to allow for good (`[p]ersist`), if any."""
    proposal = getattr(request, "proposed_execpolicy_amendment", None)
    command = proposal.get("command") if isinstance(proposal, dict) else None
    return command if isinstance(command, list) and command else None


@attrs.frozen
class Next:
    """What to do after a session closes: `quit`, or open a session (`resume` rollout or None for a new one)
    with `changes` (dotted config keys) applied."""

    quit: bool = False
    resume: Path | None = None
    changes: dict[str, Any] = attrs.field(factory=dict)


class InteractiveApp:
    """Owns the prompt thread for the whole run and opens one session after another."""

    def __init__(self, args: argparse.Namespace, config: Any, *, first_prompt: str | None, images: list[str],
                 resume: Path | None) -> None:
        self.args = args
        self.config = config
        self.first_prompt = first_prompt
        self.images = images
        self.resume = resume
        self.console = make_console(args.color, stderr=False)
        self.status = StatusBox("starting…")
        self.failure: str | None = None

    async def main(self) -> int:
        send, receive = trio.open_memory_channel(math.inf)
        prompts = PromptThread(history=_load_history(self.config.home), status=self.status)
        async with trio.open_nursery() as nursery:
            await nursery.start(prompts.run, send)
            plan = Next(resume=self.resume)
            changes: dict[str, Any] = {}
            while not plan.quit:
                changes.update(plan.changes)
                try:
                    config = load_run_config(self.args, **changes) if changes else self.config
                    plan = await self._session(config, plan.resume, prompts, receive)
                except (ConfigError, RolloutError, UsageError) as exc:
                    self.failure = str(exc)  # reported by the caller as one line, exit code 2
                    plan = Next(quit=True)
            nursery.cancel_scope.cancel()
        return 0

    async def _session(self, config: Any, resume: Path | None, prompts: PromptThread,
                       answers: trio.MemoryReceiveChannel) -> Next:
        from codex_actors.runtime import RunOptions, open_configured_session

        options = RunOptions(ephemeral=self.args.ephemeral, resume=resume, originator="codex_cli_py", source="cli",
                             add_dirs=tuple(self.args.add_dirs))
        async with open_configured_session(config, options) as handle:
            loop = SessionLoop(handle, config, prompts, self.console, self.status, add_dirs=self.args.add_dirs)
            first, self.first_prompt = self.first_prompt, None
            images, self.images = self.images, []
            return await loop.run(answers, first_prompt=first, images=images)


class SessionLoop:
    """The loop of one session (see the module docstring)."""

    def __init__(self, handle: Any, config: Any, prompts: PromptThread, console: Any, status: StatusBox, *,
                 add_dirs: list[str]) -> None:
        from codex_actors.session.persistence import HistoryLog

        self.handle = handle
        self.config = config
        self.prompts = prompts
        self.console = console
        self.status = status
        self.add_dirs = tuple(add_dirs)
        self.renderer = HumanRenderer(console)
        self.history = HistoryLog(config.home, persistence=config.get("history.persistence", "save-all"),
                                  max_bytes=config.get("history.max_bytes") or None)  # 0: no cap
        self.approvals: collections.deque[events.EventMsg] = collections.deque()
        self.outstanding: str | None = None  # "line" | "approval" while a prompt is on screen
        self.draft = ""
        self.turn_running = False
        self.ctrl_c_armed = False
        self.rollout_path: Path | None = None

    # -- main loop --------------------------------------------------------------------------------------

    async def run(self, answers: trio.MemoryReceiveChannel, *, first_prompt: str | None, images: list[str]) -> Next:
        inbox_send, inbox = trio.open_memory_channel(math.inf)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_forward, self.handle.events, inbox_send, "event")
            nursery.start_soon(_forward, answers, inbox_send, "input")
            nursery.start_soon(self._watch_sigint, inbox_send)
            nursery.start_soon(self._tick_status)
            if first_prompt:
                self.console.print(Text(LINE_PROMPT + first_prompt, style="bold"))
                await self._submit_turn(first_prompt, images)
            self._ensure_prompt()
            plan = Next(quit=True)
            async for kind, item in inbox:
                if kind == "event":
                    plan = await self._on_event(item)
                elif kind == "input":
                    answered, self.outstanding = self.outstanding, None
                    plan = await self._on_input(item, answered)
                else:
                    plan = await self._on_ctrl_c()
                if plan is not None:
                    break
                self._ensure_prompt()
            nursery.cancel_scope.cancel()
        if self.outstanding is not None:
            self.prompts.preempt()
            await self._drain_answer(answers)
        return plan

    async def _drain_answer(self, answers: trio.MemoryReceiveChannel) -> None:
        """Wait for the preempted prompt's result so the next session starts with a clean slate."""
        with trio.move_on_after(5):
            await answers.receive()
        self.outstanding = None

    def _ensure_prompt(self) -> None:
        if self.outstanding is not None:
            return
        if self.approvals:
            request = self.approvals[0]
            self._print_approval(request)
            question = "Allow? [y]es / [n]o / [a]lways for this session"
            proposal = _proposed_rule(request)
            if proposal:
                question += f" / [p]ersist a rule allowing `{command_string(proposal)}`"
            self.prompts.ask(LineRequest(question + ": ", history=False))
            self.outstanding = "approval"
        else:
            self.prompts.ask(LineRequest(LINE_PROMPT, default=self.draft))
            self.draft = ""
            self.outstanding = "line"

    async def _tick_status(self) -> None:
        model = self.config.get("model")
        policy = self.config.get("approval_policy")
        while True:
            busy = self.renderer.status()
            if busy is not None:
                self.status.set(f"{busy} · Ctrl-C to interrupt", busy=True)
            else:
                self.status.set(f"{model} · approvals: {policy} · /help for commands", busy=False)
            await trio.sleep(STATUS_TICK_S)

    async def _watch_sigint(self, inbox: trio.MemorySendChannel) -> None:
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                inbox.send_nowait(("signal", None))

    # -- events -----------------------------------------------------------------------------------------

    async def _on_event(self, event: Any) -> Next | None:
        msg = event.msg
        if isinstance(msg, events.SessionConfigured):
            self.rollout_path = self.handle.rollout_path
            self._print_header(msg)
            return None
        self.renderer.feed(msg)
        if isinstance(msg, events.TaskStarted):
            self.turn_running = True
        elif isinstance(msg, (events.TaskComplete, events.TurnAborted)):
            self.turn_running = False
            # Requests of a turn that ended cannot be answered any more (an `abort` answer ends the turn with
            # other requests still queued here): drop them, and take back a question already on screen.
            if self.approvals:
                self.approvals.clear()
                if self.outstanding == "approval":
                    self.prompts.preempt()
        elif isinstance(msg, (events.ExecApprovalRequest, events.ApplyPatchApprovalRequest)):
            self.approvals.append(msg)
            if self.outstanding == "line":
                self.prompts.preempt()
        return None

    # -- input ------------------------------------------------------------------------------------------

    async def _on_input(self, result: Any, answered: str | None) -> Next | None:
        if isinstance(result, Preempted):
            if answered == "line":
                self.draft = result.text
            return None
        if isinstance(result, EndOfInput):
            return Next(quit=True)
        if isinstance(result, Interrupted):
            if answered == "approval" and self.approvals:
                await self._answer_approval("abort")
                self.approvals.clear()  # the abort ends the turn, and with it the turn's other requests
                return None
            return await self._on_ctrl_c()
        text = result.text
        if answered == "approval" and self.approvals:
            answer = text.strip().lower()
            decision: Any = APPROVAL_ANSWERS.get(answer)
            proposal = _proposed_rule(self.approvals[0])
            if answer in ("p", "persist") and proposal:
                decision = {"approved_execpolicy_amendment": {"proposed_execpolicy_amendment": {"command": proposal}}}
            if decision is None:
                self.console.print(Text("answer y, n, a or p" if proposal else "answer y, n or a", style="yellow"))
            else:
                await self._answer_approval(decision)
            return None
        self.ctrl_c_armed = False
        if not text.strip():
            return None
        if text.strip().startswith("/"):
            return await self._slash(text.strip())
        await self._submit_turn(text, [])
        return None

    async def _on_ctrl_c(self) -> Next | None:
        if self.turn_running:
            self.console.print(Text("interrupting…", style="yellow"))
            await self.handle.submit(ops.Interrupt())
            return None
        if self.ctrl_c_armed:
            return Next(quit=True)
        self.ctrl_c_armed = True
        self.console.print(Text("press Ctrl-C again to quit (or type /quit)", style="dim"))
        return None

    async def _submit_turn(self, text: str, images: list[str]) -> None:
        from codex_actors.runtime import sandbox_policy

        items: list[ops.UserInput] = [ops.TextInput(text)] + [ops.LocalImageInput(p) for p in images]
        if self.turn_running:
            self.console.print(Text("(steering the running turn)", style="dim"))
        await self.handle.submit(ops.UserTurn(
            items=items, cwd=str(self.config.cwd), approval_policy=self.config.get("approval_policy"),
            sandbox_policy=sandbox_policy(self.config, self.add_dirs).to_json(), model=self.config.get("model")))
        try:
            await self.history.append(self.handle.session_id, text)
        except OSError as exc:
            self.console.print(Text(f"warning: history not saved: {exc}", style="yellow"))

    # -- approvals --------------------------------------------------------------------------------------

    def _print_approval(self, msg: Any) -> None:
        if isinstance(msg, events.ExecApprovalRequest):
            self.console.print(Text.assemble(("approval needed: ", "bold yellow"), "run ",
                                             (command_string(msg.command), "bold"), (f" in {msg.cwd}", "dim")))
        else:
            self.console.print(Text("approval needed: apply this patch", style="bold yellow"))
            for path, change in msg.changes.items():
                self.console.print(render_file_change(path, change))
        if msg.reason:
            self.console.print(Text(f"reason: {msg.reason}", style="dim"))

    async def _answer_approval(self, decision: str) -> None:
        msg = self.approvals.popleft()
        if isinstance(msg, events.ExecApprovalRequest):
            await self.handle.submit(ops.ExecApproval(id=msg.approval_id or msg.call_id, decision=decision,
                                                      turn_id=msg.turn_id))
        else:
            await self.handle.submit(ops.PatchApproval(id=msg.call_id, decision=decision))

    # -- slash commands ---------------------------------------------------------------------------------

    async def _slash(self, line: str) -> Next | None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit"):
            return Next(quit=True)
        if name == "/help":
            for command, text in SLASH_HELP:
                self.console.print(Text.assemble((f"{command:22}", "bold"), text))
            return None
        if name == "/compact":
            await self.handle.submit(ops.Compact())
            return None
        if name == "/diff":
            await self._show_diff()
            return None
        if name == "/status":
            self._show_status()
            return None
        if name == "/rename":
            self._rename(arg)
            return None
        if name in ("/new", "/resume", "/model", "/approvals") and self.turn_running:
            self.console.print(Text(f"{name}: a turn is running; press Ctrl-C to interrupt it first", style="yellow"))
            return None
        if name == "/new":
            return Next()
        if name == "/resume":
            return self._resume(arg or None)
        if name == "/model":
            if not arg:
                self.console.print(f"model: {self.config.get('model')}")
                return None
            return self._restart({"model": arg})
        if name == "/approvals":
            if not arg:
                self.console.print(f"approvals: {self.config.get('approval_policy')} "
                                   f"(choices: {', '.join(APPROVAL_POLICIES)})")
                return None
            if arg not in APPROVAL_POLICIES:
                self.console.print(Text(f"/approvals: expected one of {', '.join(APPROVAL_POLICIES)}", style="red"))
                return None
            return self._restart({"approval_policy": arg})
        self.console.print(Text(f"unknown command {name}; /help lists them", style="red"))
        return None

    def _resume(self, session_id: str | None) -> Next | None:
        from codex_actors.cli.exec_cmd import find_session

        try:
            path = find_session(self.config.home, session_id, cwd=Path(self.config.cwd), any_cwd=session_id is not None)
        except UsageError as exc:
            self.console.print(Text(f"/resume: {exc}", style="red"))
            return None
        return Next(resume=path)

    def _restart(self, changes: dict[str, Any]) -> Next:
        path = self.rollout_path
        resume = path if path is not None and Path(path).is_file() else None
        return Next(resume=resume, changes=changes)

    async def _show_diff(self) -> None:
        proc = await trio.run_process(["git", "diff"], cwd=str(self.config.cwd), capture_stdout=True,
                                      capture_stderr=True, check=False)
        if proc.returncode != 0:
            self.console.print(Text(f"/diff: {proc.stderr.decode(errors='replace').strip()}", style="red"))
            return
        diff = proc.stdout.decode(errors="replace")
        if not diff.strip():
            self.console.print(Text("no changes", style="dim"))
            return
        self.console.print(render_file_change("git diff", {"type": "update", "unified_diff": diff}))

    def _rename(self, name: str) -> None:
        from codex_actors.session.persistence.session_index import append_thread_name

        if not name:
            self.console.print(Text("/rename: give the new name, e.g. /rename fix-login", style="red"))
            return
        try:
            append_thread_name(self.config.home, self.handle.session_id, name)
        except OSError as exc:
            self.console.print(Text(f"/rename: not saved: {exc}", style="red"))
            return
        self.console.print(Text(f"session named {name!r}: `codex-actors resume {name}` continues it", style="dim"))

    def _show_status(self) -> None:
        rows = [("session", self.handle.session_id), ("workdir", str(self.config.cwd)),
                ("model", self.config.get("model")), ("provider", self.config.get("model_provider")),
                ("approvals", self.config.get("approval_policy")), ("sandbox", self.config.get("sandbox_mode")),
                ("rollout", str(self.rollout_path or "(none)")),
                ("tokens used", str(self.renderer.total_tokens or 0))]
        for key, value in rows:
            self.console.print(Text.assemble((f"{key}: ", "bold"), str(value)))

    def _print_header(self, msg: events.SessionConfigured) -> None:
        from codex_actors.runtime import CLI_VERSION

        self.console.print(Text(f"codex-actors v{CLI_VERSION} · {msg.model} · approvals: {msg.approval_policy} · "
                                f"sandbox: {msg.sandbox_policy.get('type')}", style="bold"))
        self.console.print(Text(f"session {msg.session_id} in {msg.cwd} · /help for commands", style="dim"))


async def _forward(source: Any, sink: trio.MemorySendChannel, kind: str) -> None:
    async for item in source:
        sink.send_nowait((kind, item))


def _load_history(home: Path) -> list[str]:
    """Prompt texts from `<home>/history.jsonl`, oldest first (unreadable lines skipped)."""
    import json

    try:
        raw = (Path(home) / "history.jsonl").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    texts = []
    for line in raw.splitlines():
        try:
            text = json.loads(line).get("text")
        except (ValueError, AttributeError):
            continue
        if isinstance(text, str):
            texts.append(text)
    return texts

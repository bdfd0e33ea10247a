"""The interactive loop of `codex-actors run` / `resume`: one trio task merging engine events and terminal input.

Everything the loop decides happens on the trio thread, one inbox message at a time: ("event", Event) from the
session, ("input", Result) from the terminal thread (`prompt_thread.TerminalThread`: a line, an answer key,
Ctrl-C, Ctrl-D), ("signal", None) for a SIGINT sent from outside. The input line stays at the bottom of the
screen for the whole run; output is printed above it, and a submitted line is echoed once, as `› text`.
An approval request replaces the input line with a one-key question (y / n / a / p, Esc or Ctrl-C aborts the
turn); the line, with what was typed, comes back once every pending request is answered.

A session ends with a `Next` plan: quit, or open another session (new, resumed, or the same rollout with a
changed model / approval policy).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import math
import signal
import sys
from pathlib import Path
from typing import Any

import attrs
import trio
from rich.text import Text

from codex_actors.cli.errors import UsageError
from codex_actors.cli.human import HumanRenderer, make_console, render_file_change
from codex_actors.cli.jsonl import command_string
from codex_actors.cli.markdown import render_plain
from codex_actors.cli.prompt_thread import (
    ABORT,
    LINE_PROMPT,
    Choice,
    EndOfInput,
    Interrupted,
    Question,
    StatusBox,
    TerminalFile,
    TerminalThread,
)
from codex_actors.cli.run_cmd import SLASH_HELP, load_run_config
from codex_actors.cli.slash_views import model_menu, show_diff, show_rows
from codex_actors.cli.status_line import ContextMeter
from codex_actors.config import ConfigError
from codex_actors.cli.approval_arg import describe_approval_policy, parse_approvals_arg
from codex_actors.config.schema import APPROVAL_POLICIES
from codex_actors.protocol import events, ops
from codex_actors.session.persistence import RolloutError

APPROVAL_KEYS = {"y": "approved", "a": "approved_for_session", "n": "denied"}
APPROVAL_RECORDS = {"approved": "✔ approved {what} this time", "approved_for_session": "✔ approved {what} for this session",
                    "denied": "✗ denied {what}", ABORT: "✗ aborted the turn at {what}"}
STATUS_TICK_S = 0.2
LIVE_REFRESH_S = 0.1


SHELL_WRAPPERS = {"bash", "/bin/bash", "/usr/bin/bash", "sh", "/bin/sh", "zsh", "/bin/zsh"}


def _shown_command(argv: list[str]) -> str:
    """A command as the user reads it: the script of a `bash -lc SCRIPT` / `sh -c SCRIPT` wrapper, else the
    shell-quoted argv."""
    if len(argv) == 3 and argv[0] in SHELL_WRAPPERS and argv[1] in ("-c", "-lc"):
        return argv[2]
    return command_string(argv)


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
    """Owns the terminal thread for the whole run and opens one session after another."""

    def __init__(self, args: argparse.Namespace, config: Any, *, first_prompt: str | None, images: list[str],
                 resume: Path | None) -> None:
        self.args = args
        self.config = config
        self.first_prompt = first_prompt
        self.images = images
        self.resume = resume
        self.status = StatusBox("starting…")
        self.terminal = TerminalThread(history=_recall_history(config), status=self.status)
        self.console = make_console(args.color, stderr=False, file=TerminalFile(self.terminal, stream=sys.stdout))
        self.failure: str | None = None

    async def main(self) -> int:
        send, receive = trio.open_memory_channel(math.inf)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.terminal.run, send)
            plan = Next(resume=self.resume)
            changes: dict[str, Any] = {}
            while not plan.quit:
                changes.update(plan.changes)
                try:
                    config = load_run_config(self.args, **changes) if changes else self.config
                    plan = await self._session(config, plan, receive)
                except (ConfigError, RolloutError, UsageError) as exc:
                    self.failure = str(exc)  # reported by the caller as one line, exit code 2
                    plan = Next(quit=True)
            nursery.cancel_scope.cancel()
        return 0

    async def _session(self, config: Any, plan: Next, answers: trio.MemoryReceiveChannel) -> Next:
        from codex_actors.runtime import RunOptions, open_configured_session

        options = RunOptions(ephemeral=self.args.ephemeral, resume=plan.resume, originator="codex_cli_py",
                             source="cli", add_dirs=tuple(self.args.add_dirs))
        async with open_configured_session(config, options) as handle:
            loop = SessionLoop(handle, config, self.terminal, self.console, self.status, add_dirs=self.args.add_dirs)
            first, self.first_prompt = self.first_prompt, None
            images, self.images = self.images, []
            # A /model or /approvals restart reopens the same rollout: its transcript is on screen already.
            replay = plan.resume if plan.resume is not None and not plan.changes else None
            return await loop.run(answers, first_prompt=first, images=images, replay=replay)


class SessionLoop:
    """The loop of one session (see the module docstring)."""

    def __init__(self, handle: Any, config: Any, terminal: TerminalThread, console: Any, status: StatusBox, *,
                 add_dirs: list[str]) -> None:
        from codex_actors.session.persistence import HistoryLog

        self.handle = handle
        self.config = config
        self.terminal = terminal
        self.console = console
        self.status = status
        self.add_dirs = tuple(add_dirs)
        self.renderer = HumanRenderer(console)
        self.meter = ContextMeter(config.get("model_context_window"))
        self.history = HistoryLog(config.home, persistence=config.get("history.persistence", "save-all"),
                                  max_bytes=config.get("history.max_bytes") or None)  # 0: no cap
        self.approvals: collections.deque[events.EventMsg] = collections.deque()
        self.question: Question | None = None  # the approval question (or the /model picker) on screen
        self.model_choices: list[str] = []  # the models the /model picker on screen offers
        self.question_ids = itertools.count(1)
        self.live = ""
        self.live_at = -math.inf  # trio time of the last live render
        self.turn_running = False
        self.ctrl_c_armed = False
        self.rollout_path: Path | None = None
        self.first_turn: tuple[str, list[str]] | None = None
        self.replay: Path | None = None

    # -- main loop --------------------------------------------------------------------------------------

    async def run(self, answers: trio.MemoryReceiveChannel, *, first_prompt: str | None, images: list[str],
                  replay: Path | None = None) -> Next:
        self.replay = replay
        inbox_send, inbox = trio.open_memory_channel(math.inf)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_forward, self.handle.events, inbox_send, "event")
            nursery.start_soon(_forward, answers, inbox_send, "input")
            nursery.start_soon(self._watch_sigint, inbox_send)
            nursery.start_soon(self._tick_status)
            self.first_turn = (first_prompt, images) if first_prompt else None  # sent once the header is out
            plan = Next(quit=True)
            async for kind, item in inbox:
                if kind == "event":
                    plan = await self._on_event(item)
                elif kind == "input":
                    plan = await self._on_input(item)
                else:
                    plan = await self._on_ctrl_c()
                if plan is not None:
                    break
                self._ensure_question()
                self._sync_live()
            nursery.cancel_scope.cancel()
        if self.question is not None:
            self.terminal.withdraw(self.question.id)
        self.terminal.set_live("")
        return plan

    def _ensure_question(self) -> None:
        """Put the first pending approval request on screen, unless a question is there already."""
        if self.question is not None or not self.approvals:
            return
        request = self.approvals[0]
        self._print_approval(request)
        keys = "[y]es · [n]o · [a]lways for this session"
        proposal = _proposed_rule(request)
        if proposal:
            keys += f" · [p]ersist a rule allowing `{command_string(proposal)}`"
        prompt = Text.assemble(("Allow? ", "bold yellow"), keys, (" · [esc] abort the turn", "dim"))
        self.question = Question(next(self.question_ids), render_plain(self.console, prompt).rstrip("\n"),
                                 tuple(APPROVAL_KEYS) + (("p",) if proposal else ()))
        self.terminal.ask(self.question)

    def _sync_live(self) -> None:
        """Show the agent message streaming now in the terminal's live area: re-rendered at most every
        `LIVE_REFRESH_S` (a markdown render per delta would cost quadratic time on a long answer; the status
        tick catches up on the last deltas), cleared at once when the message completed."""
        view = self.renderer.live_view()
        if view is None:
            live = ""
        elif trio.current_time() - self.live_at < LIVE_REFRESH_S:
            return
        else:
            self.live_at = trio.current_time()
            live = render_plain(self.console, view).rstrip("\n")
        if live != self.live:
            self.live = live
            self.terminal.set_live(live)

    def _footer(self) -> str:
        approvals = describe_approval_policy(self.config.get("approval_policy"))
        parts = [str(self.config.get("model")), f"approvals: {approvals}",
                 f"sandbox: {self.config.get('sandbox_mode')}", *self.meter.describe()]
        return " · ".join(parts)

    async def _tick_status(self) -> None:
        while True:
            self._sync_live()
            busy = self.renderer.status()
            if busy is not None:
                self.status.set(f"{busy} · Ctrl-C to interrupt", self._footer())
            else:
                self.status.set(None, self._footer())
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
            if self.replay is not None:
                await self._replay(self.replay)
            if self.first_turn is not None:
                (text, images), self.first_turn = self.first_turn, None
                await self._submit_turn(text, images)
            return None
        self.renderer.feed(msg)
        if isinstance(msg, events.TokenCount):
            self.meter.update(msg.info)
        elif isinstance(msg, events.TaskStarted):
            self.turn_running = True
            self.meter.set_window(msg.model_context_window)
        elif isinstance(msg, (events.TaskComplete, events.TurnAborted)):
            self.turn_running = False
            # Requests of a turn that ended cannot be answered any more (an `abort` answer ends the turn with
            # other requests still queued here): drop them, and take back a question already on screen.
            self.approvals.clear()
            if self.question is not None and not self.model_choices:  # a /model picker stays
                self.terminal.withdraw(self.question.id)
                self.question = None
        elif isinstance(msg, (events.ExecApprovalRequest, events.ApplyPatchApprovalRequest)):
            self.approvals.append(msg)
        return None

    # -- input ------------------------------------------------------------------------------------------

    async def _on_input(self, result: Any) -> Next | None:
        if isinstance(result, EndOfInput):
            return Next(quit=True)
        if isinstance(result, Interrupted):
            return await self._on_ctrl_c()
        if isinstance(result, Choice):
            if self.question is None or result.question_id != self.question.id:
                return None  # an answer to a question already withdrawn
            self.question = None
            if self.model_choices:
                return self._on_model_choice(result.key)
            await self._on_choice(result.key)
            return None
        text = result.text
        self.ctrl_c_armed = False
        if not text.strip():
            return None
        if text.strip().startswith("/"):
            self._echo(text)
            return await self._slash(text.strip())
        await self._submit_turn(text, [])
        return None

    def _echo(self, text: str, *, steering: bool = False) -> None:
        """The user's line in the transcript, once."""
        line = Text(LINE_PROMPT, style="bold")
        line.append(text, style="bold")
        if steering:
            line.append("  (steering the running turn)", style="dim")
        self.console.print(line)

    async def _on_choice(self, key: str) -> None:
        request = self.approvals[0]
        decision: Any = APPROVAL_KEYS.get(key, ABORT)
        proposal = _proposed_rule(request)
        what = (f"`{_shown_command(request.command)}`" if isinstance(request, events.ExecApprovalRequest)
                else "the patch")
        record = APPROVAL_RECORDS.get(decision, "").format(what=what)
        if key == "p" and proposal:
            decision = {"approved_execpolicy_amendment": {"proposed_execpolicy_amendment": {"command": proposal}}}
            record = f"✔ approved {what}, and from now on commands starting with `{command_string(proposal)}`"
        self.console.print(Text(record, style="green" if record.startswith("✔") else "red"))
        await self._answer_approval(decision)
        if decision == ABORT:
            self.approvals.clear()  # the abort ends the turn, and with it the turn's other requests

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
        """Send the user's line and echo it, labelled as steering only when the session says it went into the
        running turn: a turn seen running here may have ended meanwhile, and a task that takes no input (a
        compaction) is replaced by a new turn instead."""
        from codex_actors.runtime import sandbox_policy

        items: list[ops.UserInput] = [ops.TextInput(text)] + [ops.LocalImageInput(p) for p in images]
        _, answer = await self.handle.ask(ops.UserTurn(
            items=items, cwd=str(self.config.cwd), approval_policy=self.config.get("approval_policy"),
            sandbox_policy=sandbox_policy(self.config, self.add_dirs).to_json(), model=self.config.get("model")))
        self._echo(text, steering=answer == "steered")
        try:
            await self.history.append(self.handle.session_id, text)
        except OSError as exc:
            self.console.print(Text(f"warning: history not saved: {exc}", style="yellow"))

    # -- approvals --------------------------------------------------------------------------------------

    def _print_approval(self, msg: Any) -> None:
        if isinstance(msg, events.ExecApprovalRequest):
            self.console.print(Text.assemble(("approval needed: ", "bold yellow"), "run ",
                                             (_shown_command(msg.command), "bold"), (f" in {msg.cwd}", "dim")))
        else:
            self.console.print(Text("approval needed: apply this patch", style="bold yellow"))
            for path, change in msg.changes.items():
                self.console.print(render_file_change(path, change))
        if msg.reason:
            self.console.print(Text(f"reason: {msg.reason}", style="dim"))

    async def _answer_approval(self, decision: Any) -> None:
        msg = self.approvals.popleft()
        if isinstance(msg, events.ExecApprovalRequest):
            await self.handle.submit(ops.ExecApproval(id=msg.approval_id or msg.call_id, decision=decision,
                                                      turn_id=msg.turn_id))
        else:
            await self.handle.submit(ops.PatchApproval(id=msg.call_id, decision=decision))

    # -- resume -----------------------------------------------------------------------------------------

    async def _replay(self, path: Path) -> None:
        """Print the resumed session's earlier transcript, compactly, and restore the token meter."""
        from codex_actors.cli.transcript import entry_renderable, replay
        from codex_actors.session.persistence import read_rollout

        try:
            rollout = await trio.to_thread.run_sync(read_rollout, path)
        except (OSError, ValueError) as exc:
            self.console.print(Text(f"warning: earlier transcript not shown: {exc}", style="yellow"))
            return
        self.meter.update(rollout.token_info)
        entries = replay(rollout.lines)
        turns = sum(entry.kind == "user" for entry in entries)
        self.console.print(Text(f"↻ resumed session {rollout.thread_id} · {turns} earlier "
                                f"prompt{'s' * (turns != 1)}", style="dim"))
        for entry in entries:
            self.console.print(entry_renderable(entry, self.renderer.message_renderable),
                               soft_wrap=entry.kind != "answer")
        self.console.print(Text("─" * 8 + " earlier transcript ends here", style="dim"))

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
            await show_diff(self.console, Path(self.config.cwd))
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
                await self._pick_model()
                return None
            return self._restart({"model": arg})
        if name == "/approvals":
            if not arg:
                self.console.print(f"approvals: {describe_approval_policy(self.config.get('approval_policy'))} "
                                   f"(choices: {', '.join(APPROVAL_POLICIES)}, granular KEY=true|false ...)")
                return None
            policy, problem = parse_approvals_arg(arg)
            if problem is not None:
                self.console.print(Text(f"/approvals: {problem}", style="red"))
                return None
            return self._restart({"approval_policy": policy})
        self.console.print(Text(f"unknown command {name}; /help lists them", style="red"))
        return None

    async def _pick_model(self) -> None:
        """Offer the models the provider lists (`slash_views.model_menu`) as a one-key question; with none
        listed, say so and name the configured model."""
        from codex_actors.model.listing import provider_models
        from codex_actors.runtime import provider_info

        current = str(self.config.get("model"))
        listed, reason = await provider_models(provider_info(self.config))
        if not listed:
            self.console.print(f"model: {current} (the provider lists no models: {reason}; /model NAME switches)")
            return
        self.model_choices, prompt = model_menu(self.console, current, listed)
        self.question = Question(next(self.question_ids), render_plain(self.console, prompt).rstrip("\n"),
                                 tuple(str(n) for n in range(1, len(self.model_choices) + 1)))
        self.terminal.ask(self.question)

    def _on_model_choice(self, key: str) -> Next | None:
        choices, self.model_choices = self.model_choices, []
        if key == ABORT or choices[int(key) - 1] == self.config.get("model"):
            self.console.print(Text(f"model: {self.config.get('model')} (unchanged)", style="dim"))
            return None
        model = choices[int(key) - 1]
        self.console.print(Text(f"model: {model}", style="green"))
        return self._restart({"model": model})

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
        show_rows(self.console, [
            ("session", self.handle.session_id), ("workdir", str(self.config.cwd)),
            ("model", self.config.get("model")), ("provider", self.config.get("model_provider")),
            ("approvals", describe_approval_policy(self.config.get("approval_policy"))),
            ("sandbox", self.config.get("sandbox_mode")),
            ("rollout", str(self.rollout_path or "(none)")), *self.meter.status_rows()])

    def _print_header(self, msg: events.SessionConfigured) -> None:
        from codex_actors.runtime import CLI_VERSION

        approvals = describe_approval_policy(msg.approval_policy)
        self.console.print(Text(f"codex-actors v{CLI_VERSION} · {msg.model} · approvals: {approvals} · "
                                f"sandbox: {msg.sandbox_policy.get('type')}", style="bold"))
        self.console.print(Text(f"session {msg.session_id} in {msg.cwd} · /help for commands", style="dim"))


async def _forward(source: Any, sink: trio.MemorySendChannel, kind: str) -> None:
    async for item in source:
        sink.send_nowait((kind, item))


def _recall_history(config: Any) -> list[str]:
    """Up-arrow recall: the prompts of Codex's `history.jsonl` (read only) and ours, oldest first by time."""
    from codex_actors.session.persistence.history import recall_texts

    codex_dir = config.codex_home if config.codex_home != config.home else None
    return recall_texts(codex_dir, config.home)

"""The trio side of `codex-actors exec`: start a thread in the thread manager, submit one turn, print its events,
pick the exit code.

Spec agent-core 6: approvals are `never` (any approval request that still arrives is declined); Ctrl-C sends
`interrupt` and the run ends once `turn_aborted` arrives; a second Ctrl-C (or SIGTERM) leaves at once, after
the session has shut down its processes. Output goes through `JsonlTranslator` (`--json`) or `HumanRenderer`.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any, TextIO

import attrs
import trio

from codex_actors.cli.errors import StartupError
from codex_actors.cli.jsonl import JsonlTranslator
from codex_actors.config import Config, ConfigError
from codex_actors.protocol import events, ops
from codex_actors.protocol.turn_outcome import Reply, SubmitTurn, TurnEnded, TurnOutcome, TurnTracker

STATUS_REFRESH_S = 0.1


@attrs.frozen
class ExecRequest:
    """Everything `exec` decided before the session starts. Paths are absolute; `output_schema` is parsed JSON."""

    prompt: str
    images: tuple[str, ...] = ()
    output_schema: dict[str, Any] | None = None
    json: bool = False
    color: str = "auto"
    output_last_message: str | None = None
    ephemeral: bool = False
    resume: Path | None = None
    add_dirs: tuple[str, ...] = ()
    thread_source: str | None = None
    originator: str = "codex_exec"


class _Exit(Exception):
    """Raised inside the driver to leave at once (second Ctrl-C, SIGTERM)."""

    def __init__(self, code: int) -> None:
        self.code = code


def run_exec(config: Config, request: ExecRequest) -> int:
    """Run the turn; returns the exit code (0 completed, 1 failed or interrupted, 130 on a forced exit).
    Raises StartupError for config problems found while starting (e.g. a missing API key)."""
    try:
        return trio.run(_main, config, request)
    except KeyboardInterrupt:
        return 130


async def _main(config: Config, request: ExecRequest) -> int:
    from codex_actors.actors import unwrap_group
    from codex_actors.runtime import RunOptions
    from codex_actors.session.persistence import RolloutError
    from codex_actors.threads import open_thread_manager

    options = RunOptions(ephemeral=request.ephemeral, resume=request.resume, output_schema=request.output_schema,
                         originator=request.originator, source="exec", add_dirs=request.add_dirs,
                         thread_source=request.thread_source)
    try:
        # The same thread manager as app-server and mcp-server: one thread, driven until its turn ends.
        async with open_thread_manager() as threads:
            thread = await threads.start(config, options)
            try:
                outcome = await _drive(thread, config, request)
            except _Exit as exit_:
                return exit_.code
    except BaseExceptionGroup as group:
        leaf = unwrap_group(group)
        if isinstance(leaf, _Exit):
            return leaf.code
        if isinstance(leaf, (ConfigError, RolloutError)):
            raise StartupError(str(leaf)) from None
        raise
    except (ConfigError, RolloutError) as exc:
        raise StartupError(str(exc)) from None
    return _finish(outcome, request)


def _finish(outcome: TurnOutcome, request: ExecRequest) -> int:
    if request.output_last_message:
        text = outcome.last_agent_message
        if text is None:
            print(f"Warning: no last agent message; wrote empty content to {request.output_last_message}",
                  file=sys.stderr)
        try:
            Path(request.output_last_message).write_text(text or "", encoding="utf-8")
        except OSError as exc:
            print(f"Failed to write last message file {request.output_last_message}: {exc.strerror}",
                  file=sys.stderr)
    if outcome.status == "completed":
        return 0
    if request.json:
        print(f"ERROR: {outcome.error}", file=sys.stderr)
    return 1


async def _drive(handle: Any, config: Config, request: ExecRequest) -> TurnOutcome:
    tracker = TurnTracker()
    printer: Any = _JsonPrinter(sys.stdout) if request.json else None
    started = False
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_signals, handle)
        async for event in handle.events:
            step = tracker.feed(event)
            if isinstance(step, SubmitTurn):
                tracker.turn_submitted(await handle.submit(_user_turn(config, request)))
                if printer is None:
                    # The human renderer (rich) loads once the first request is out; events wait in the queue.
                    await handle.first_request_out()
            if printer is None:
                printer = _HumanPrinter(config, request)
            if not started:
                printer.start(nursery)
                started = True
            printer.feed(event.msg)
            if isinstance(step, Reply):
                await handle.submit(step.op)
            elif isinstance(step, TurnEnded):
                break
        outcome = tracker.finish()
        if printer is not None:
            printer.finish(outcome)
        nursery.cancel_scope.cancel()
    return outcome


def _user_turn(config: Config, request: ExecRequest) -> ops.UserTurn:
    from codex_actors.runtime import sandbox_policy

    inputs: list[ops.UserInput] = [ops.TextInput(request.prompt)]
    inputs += [ops.LocalImageInput(path) for path in request.images]
    return ops.UserTurn(items=inputs, cwd=str(config.cwd), approval_policy="never",
                        sandbox_policy=sandbox_policy(config, request.add_dirs).to_json(),
                        model=config.get("model"), final_output_json_schema=request.output_schema)


async def _watch_signals(handle: Any) -> None:
    """First Ctrl-C: interrupt the turn. Second Ctrl-C or SIGTERM: leave now (exit 130 / 143)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        interrupted = False
        async for signum in signals:
            if signum == signal.SIGTERM:
                raise _Exit(143)
            if interrupted:
                raise _Exit(130)
            interrupted = True
            print("^C interrupting the turn (press Ctrl-C again to exit)", file=sys.stderr)
            await handle.submit(ops.Interrupt())


class _JsonPrinter:
    """`--json`: one JSONL line per translated event, flushed at once; nothing else on stdout."""

    def __init__(self, out: TextIO) -> None:
        self.translator = JsonlTranslator()
        self.out = out

    def start(self, nursery: trio.Nursery) -> None:
        pass

    def feed(self, msg: events.EventMsg) -> None:
        for line in self.translator.feed(msg):
            self.out.write(JsonlTranslator.dumps(line) + "\n")
        self.out.flush()

    def finish(self, outcome: TurnOutcome) -> None:
        pass


class _HumanPrinter:
    """Human mode: everything on stderr, the final message on stdout unless both are terminals (spec 6.3)."""

    def __init__(self, config: Config, request: ExecRequest) -> None:
        # Imported only for human output: rich costs ~30 ms of start-up that `--json` runs need not pay.
        from codex_actors.cli.human import HumanRenderer, make_console

        self.console = make_console(request.color, stderr=True)
        self.renderer = HumanRenderer(self.console)
        self.config = config
        self.request = request
        self.live: Any = None

    def start(self, nursery: trio.Nursery) -> None:
        if sys.stderr.isatty():
            nursery.start_soon(self._tick)

    async def _tick(self) -> None:
        from rich.console import Group
        from rich.live import Live
        from rich.spinner import Spinner

        spinner = Spinner("dots")

        def view() -> Any:
            # Asked at every refresh, also the one a print above the live area causes: a message that just
            # completed is never shown both in the live area and above it.
            status = self.renderer.status()
            spinner.text = status or ""
            parts = [part for part in (self.renderer.live_view(), spinner if status else None) if part is not None]
            return Group(*parts)

        with Live(console=self.console, transient=True, auto_refresh=False, redirect_stdout=False,
                  redirect_stderr=False, get_renderable=view) as live:
            self.live = live
            try:
                while True:
                    live.refresh()
                    await trio.sleep(STATUS_REFRESH_S)
            finally:
                self.live = None

    def feed(self, msg: events.EventMsg) -> None:
        if isinstance(msg, events.SessionConfigured):
            self.renderer.header(_version(), _header_rows(self.config, msg), self.request.prompt)
            return
        self.renderer.feed(msg)

    def finish(self, outcome: TurnOutcome) -> None:
        if self.live is not None:
            self.live.refresh()  # the turn ended: no activity, no draft, an empty live area
        if outcome.status == "completed" and outcome.last_agent_message is not None:
            if not (sys.stdout.isatty() and sys.stderr.isatty()):
                sys.stdout.write(outcome.last_agent_message.rstrip("\n") + "\n")
                sys.stdout.flush()


def _version() -> str:
    from codex_actors.runtime import CLI_VERSION

    return CLI_VERSION


def _header_rows(config: Config, msg: events.SessionConfigured) -> list[tuple[str, str]]:
    return [
        ("workdir", msg.cwd),
        ("model", msg.model),
        ("provider", msg.model_provider_id),
        ("approval", msg.approval_policy),
        ("sandbox", str(msg.sandbox_policy.get("type", ""))),
        ("reasoning effort", str(config.get("model_reasoning_effort") or "none")),
        ("reasoning summaries", str(config.get("model_reasoning_summary") or "auto")),
        ("session id", msg.session_id),
    ]

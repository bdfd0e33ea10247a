"""Unified exec tools `exec_command` and `write_stdin` (spec 4.4) over `exec.ProcessActor`s.

`UnifiedExec` owns the live processes of one agent session (at most 64, pruned as the spec says) in a nursery
its owner provides; its `exec_command` / `write_stdin` (behind the router handlers of `unified_exec_handlers`;
arguments read by `exec_arguments`) are called concurrently from tool-call tasks of the trio thread that owns the
`UnifiedExec` (all bookkeeping is synchronous, so no lock is needed). Every call returns an `ExecToolOutput`
whose `text` is exactly what the model sees:

    Chunk ID: 3f9a1c
    Wall time: 0.5012 seconds
    Process exited with code 0          (or: Process running with session ID 48213)
    Original token count: 12
    Output:
    <output since the last read, truncated to max_output_tokens>

Events go through the injected async `emit(dict)`: `exec_command_begin` (source `unified_exec_startup`),
`exec_command_output_delta` (<= 8 KiB base64 slices, at most 10 000 per process), `terminal_interaction` for
each write, and exactly one `exec_command_end` per process: from the call that sees it exit, from a background
watcher when it exits while nobody is reading, or when it is cancelled, pruned or shut down.
Not done here: intercepting an `apply_patch` heredoc given as `cmd` (spec 4.4) belongs to the router.
"""

from __future__ import annotations

import os
import random
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import trio

from codex_actors.actors import ActorCrashed, ActorRef, start_actor
from codex_actors.exec.events import (
    MAX_DELTA_EVENTS, decode, exec_command_begin, exec_command_end, output_deltas, terminal_interaction,
)
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.shell_snapshot import ShellSnapshot
from codex_actors.exec.truncation import approx_token_count, formatted_truncate
from codex_actors.tools.exec_arguments import (
    ToolArgumentError, optional_bool, optional_number, optional_str, required_str, resolve_workdir, session_id_of,
)

if TYPE_CHECKING:
    from codex_actors.exec.process import ProcessSummary
# `codex_actors.exec.process` (the process actor, ~10 ms of imports) is imported by the calls that start or reach a
# process, not here: a session builds this tool before its first model request, which needs none of it (issue 21).

Emit = Callable[[dict[str, Any]], Awaitable[None]]

UNIFIED_EXEC_ENV = {
    "NO_COLOR": "1", "TERM": "dumb", "LANG": "C.UTF-8", "LC_CTYPE": "C.UTF-8", "LC_ALL": "C.UTF-8",
    "COLORTERM": "", "PAGER": "cat", "GIT_PAGER": "cat", "GH_PAGER": "cat", "CODEX_CI": "1",
}
MAX_SESSIONS = 64
WARN_SESSIONS = 60
PROTECTED_RECENT = 8
MIN_YIELD_MS = 250
MAX_YIELD_MS = 30_000
DEFAULT_EXEC_YIELD_MS = 10_000
DEFAULT_WRITE_YIELD_MS = 250
MIN_EMPTY_POLL_MS = 5_000
DEFAULT_BACKGROUND_MAX_MS = 300_000
DEFAULT_MAX_OUTPUT_TOKENS = 10_000
WRITE_SETTLE_S = 0.1
STDIN_CLOSED = ("write_stdin failed: stdin is closed for this session; rerun exec_command with tty=true to keep "
                "stdin open")

# The approval parameters every shell tool takes (spec agent-core 4.2), described as Codex describes them.
APPROVAL_PARAMETERS: dict[str, Any] = {
    "sandbox_permissions": {
        "type": "string", "enum": ["use_default", "require_escalated"],
        "description": ("Sandbox permissions for the command. \"use_default\" (the default) runs it in the "
                        "sandbox; set \"require_escalated\" to ask the user to run it outside the sandbox, "
                        "for example when it needs the network or writes outside the writable roots."),
    },
    "justification": {
        "type": "string",
        "description": ("Only with sandbox_permissions = \"require_escalated\": one short question shown to the "
                        "user, e.g. \"Do you want to install the dependencies from the network?\""),
    },
    "prefix_rule": {
        "type": "array", "items": {"type": "string"},
        "description": ("Only with sandbox_permissions = \"require_escalated\": a command prefix the user may "
                        "allow from now on, e.g. [\"npm\", \"install\"]; keep it narrow."),
    },
}

EXEC_COMMAND_TOOL: dict[str, Any] = {
    "type": "function", "name": "exec_command", "strict": False,
    "description": ("Runs a command in a PTY, returning output or a session ID for ongoing interaction. "
                    "Always set `workdir` instead of using `cd`."),
    "parameters": {"type": "object", "additionalProperties": False, "required": ["cmd"], "properties": {
        "cmd": {"type": "string", "description": "Shell command to execute."},
        "workdir": {"type": "string", "description": "Working directory; defaults to the turn cwd."},
        "shell": {"type": "string", "description": "Shell binary to launch; defaults to the user's shell."},
        "tty": {"type": "boolean", "description": "Allocate a TTY so write_stdin can send input (default false)."},
        "yield_time_ms": {"type": "number", "description": "How long to wait for output before yielding."},
        "max_output_tokens": {"type": "number", "description": "Maximum number of tokens to return."},
        "login": {"type": "boolean", "description": "Run the shell with -l/-i semantics (default true)."},
        **APPROVAL_PARAMETERS,
    }},
}


def without_login(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with no `login` parameter: what the model is offered when `allow_login_shell` is false."""
    properties = {k: v for k, v in spec["parameters"]["properties"].items() if k != "login"}
    return {**spec, "parameters": {**spec["parameters"], "properties": properties}}
WRITE_STDIN_TOOL: dict[str, Any] = {
    "type": "function", "name": "write_stdin", "strict": False,
    "description": "Writes characters to an existing unified exec session and returns recent output.",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["session_id"], "properties": {
        "session_id": {"type": "number", "description": "Identifier of the running unified exec session."},
        "chars": {"type": "string", "description": "Bytes to write to stdin (may be empty to poll)."},
        "yield_time_ms": {"type": "number", "description": "How long to wait for output before yielding."},
        "max_output_tokens": {"type": "number", "description": "Maximum number of tokens to return."},
    }},
}


@attrs.frozen
class ExecContext:
    """Per-call facts the session supplies: `call_id`, `turn_id`, the turn `cwd`, and the async `emit`."""

    call_id: str
    turn_id: str
    cwd: str
    emit: Emit


@attrs.frozen
class ExecToolOutput:
    """What the model gets: `text` (the function_call_output content) and `success`; `structured` is the
    code-mode value. `exit_code` (None while the process runs, or when it never started) and `output` (the
    decoded, untruncated output this call collected) let the approval layer spot a sandbox denial (spec 5.3)."""

    text: str
    success: bool = True
    structured: dict[str, Any] | None = None
    exit_code: int | None = None
    output: str = ""


@attrs.define
class _Session:
    process_id: int
    ref: ActorRef
    tty: bool
    begin: dict[str, Any]
    emit: Emit
    deltas_sent: int = 0
    summary: ProcessSummary | None = None
    end_emitted: bool = False
    busy: int = 0


class SessionStore:
    """The live-session bookkeeping of spec 4.4, without I/O: ids, recency and the pruning choice."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._order: OrderedDict[int, bool] = OrderedDict()  # id -> exited, least recently used first

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, process_id: int) -> bool:
        return process_id in self._order

    def new_id(self) -> int:
        """A random unused id in [1000, 100000)."""
        while True:
            candidate = self._rng.randrange(1000, 100_000)
            if candidate not in self._order:
                return candidate

    def add(self, process_id: int) -> None:
        self._order[process_id] = False
        self._order.move_to_end(process_id)

    def touch(self, process_id: int) -> None:
        self._order.move_to_end(process_id)

    def mark_exited(self, process_id: int) -> None:
        if process_id in self._order:
            self._order[process_id] = True

    def remove(self, process_id: int) -> None:
        self._order.pop(process_id, None)

    def prune_candidate(self) -> int | None:
        """When full (64): the least recently used exited session, else the LRU one outside the 8 most recent."""
        if len(self._order) < MAX_SESSIONS:
            return None
        for process_id, exited in self._order.items():
            if exited:
                return process_id
        ids = list(self._order)
        return ids[0] if len(ids) > PROTECTED_RECENT else None


class UnifiedExec:
    """The unified-exec processes of one agent session.

    `nursery`: where the process actors live (the session's; they outlive single tool calls).
    `policy`: the `SandboxPolicy` every command runs under. `env`: the base environment built from
    `shell_environment_policy` (None = this process's environment); spec 4.4 variables and the policy's
    variables are added on top. `default_shell`: used when the call gives no `shell` (default `$SHELL` or
    /bin/bash). `allow_login_shell`: when False, `login` is ignored and `-c` is always used. `snapshot`: the
    session's `ShellSnapshot`; login commands in its shell then run as `-c` with the snapshot sourced (the
    command shown in events stays `[shell, -lc, cmd]`), and fall back to `-lc` with one `warning` event when
    the snapshot failed. None = always `-lc`. `output_token_limit` (tokens; config `tool_output_token_limit`,
    None = none): the most any call returns to the model, whatever `max_output_tokens` it asks for.
    Call `await aclose()` (or cancel the nursery) to kill every live process.
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        *,
        policy: SandboxPolicy,
        env: Mapping[str, str] | None = None,
        default_shell: str | None = None,
        allow_login_shell: bool = True,
        background_terminal_max_timeout_ms: int = DEFAULT_BACKGROUND_MAX_MS,
        output_token_limit: int | None = None,
        rng: random.Random | None = None,
        snapshot: ShellSnapshot | None = None,
    ) -> None:
        self._token_limit = output_token_limit
        self._nursery = nursery
        self.snapshot = snapshot
        self.policy = policy
        self._env = dict(os.environ if env is None else env)
        self._default_shell = default_shell or os.environ.get("SHELL") or "/bin/bash"
        self._allow_login = allow_login_shell
        self._background_max_ms = background_terminal_max_timeout_ms
        self._store = SessionStore(rng)
        self._sessions: dict[int, _Session] = {}

    @property
    def allows_login_shell(self) -> bool:
        """Config `allow_login_shell`: whether `login` is offered and honoured."""
        return self._allow_login

    @property
    def live_session_ids(self) -> list[int]:
        return list(self._sessions)

    # -- exec_command ---------------------------------------------------------------------------------
    async def exec_command(self, args: Mapping[str, Any], ctx: ExecContext, *,
                           policy: SandboxPolicy | None = None) -> ExecToolOutput:
        """Start `args["cmd"]` and wait up to `yield_time_ms` (clamped to [250, 30000]) for it to finish.

        `policy` overrides the session's sandbox policy for this one command (an approved escalation runs
        under danger-full-access, spec 5.3 step 4).

        Cancellation kills the process tree, emits its `exec_command_end` with the output so far, then
        propagates. Bad arguments or an unstartable command give `success=False` with the reason.
        """
        started = trio.current_time()
        try:
            cmd = required_str(args, "cmd")
            workdir = resolve_workdir(args, ctx.cwd)
            shell = optional_str(args, "shell") or self._default_shell
            tty = optional_bool(args, "tty", False)
            login = optional_bool(args, "login", True) and self._allow_login
            yield_ms = _clamp(optional_number(args, "yield_time_ms", DEFAULT_EXEC_YIELD_MS), MIN_YIELD_MS,
                              MAX_YIELD_MS)
            max_tokens = _max_tokens(args, self._token_limit)
        except ToolArgumentError as exc:
            return ExecToolOutput(str(exc), success=False)
        command = [shell, "-lc" if login else "-c", cmd]
        policy = policy or self.policy
        argv, env = command, self._command_env(policy)
        if self.snapshot is not None:
            argv, env, warning = await self.snapshot.prepare(command, env)
            if warning is not None:
                await ctx.emit({"type": "warning", "message": warning})
        process_id = self._store.new_id()
        begin = exec_command_begin(call_id=ctx.call_id, turn_id=ctx.turn_id, command=command, cwd=workdir,
                                   source="unified_exec_startup", process_id=process_id)
        await ctx.emit(begin)
        await self._prune_for_new_session()
        from codex_actors.exec.process import ProcessActor, ProcessSpec, SpawnError

        spec = ProcessSpec(argv, workdir, env=env, tty=tty, policy=policy)
        session = _Session(process_id, ref=None, tty=tty, begin=begin, emit=ctx.emit)  # type: ignore[arg-type]
        try:
            session.ref = await start_actor(
                self._nursery,
                ProcessActor(spec, on_output=self._output_sink(session), on_exit=self._exit_watcher(session)),
            )
        except ActorCrashed as crash:
            if not isinstance(crash.cause, SpawnError):
                raise
            text = str(crash.cause)
            await ctx.emit(exec_command_end(begin, stdout=b"", stderr=text.encode(), aggregated=text.encode(),
                                            exit_code=-1, duration_s=0.0, formatted_output=text))
            return ExecToolOutput(text, success=False)
        except BaseException:
            # Cancelled while the actor started: its on_stop killed the tree and handed on_exit the summary, but
            # the session was not registered yet, so the end event the begin event is owed is sent from here.
            with trio.CancelScope(shield=True):
                await self._emit_owed_end(session)
            raise
        self._sessions[process_id] = session
        self._store.add(process_id)
        return await self._collect(session, started + yield_ms / 1000, started, max_tokens)

    # -- write_stdin ----------------------------------------------------------------------------------
    async def write_stdin(self, args: Mapping[str, Any], ctx: ExecContext) -> ExecToolOutput:
        """Write `chars` to session `session_id` (TTY sessions only), then collect until the deadline.

        Unknown ids give `Unknown process id N`; writing to a non-TTY session gives the spec's stdin-closed
        text. Non-empty writes wait `yield_time_ms` (default 250, clamped to [250, 30000]) after a ~100 ms
        settle; empty polls wait at least 5000 ms and at most `background_terminal_max_timeout_ms`.
        """
        started = trio.current_time()
        try:
            process_id = session_id_of(args)
            chars = optional_str(args, "chars") or ""
            yield_ms = optional_number(args, "yield_time_ms", DEFAULT_WRITE_YIELD_MS)
            max_tokens = _max_tokens(args, self._token_limit)
        except ToolArgumentError as exc:
            return ExecToolOutput(str(exc), success=False)
        session = self._sessions.get(process_id)
        if session is None:
            return ExecToolOutput(f"Unknown process id {process_id}", success=False)
        if chars and not session.tty:
            return ExecToolOutput(STDIN_CLOSED, success=False)
        self._store.touch(process_id)
        if chars:
            yield_ms = _clamp(yield_ms, MIN_YIELD_MS, MAX_YIELD_MS)
            await ctx.emit(terminal_interaction(call_id=session.begin["call_id"], process_id=process_id,
                                                stdin=chars))
            from codex_actors.exec.process import WriteStdin

            error = await session.ref.ask(WriteStdin(chars.encode("utf-8")))
            if error is not None:
                return ExecToolOutput(f"write_stdin failed: {error}", success=False)
            await trio.sleep(WRITE_SETTLE_S)
        else:
            yield_ms = _clamp(yield_ms, MIN_EMPTY_POLL_MS, max(MIN_EMPTY_POLL_MS, self._background_max_ms))
        return await self._collect(session, started + yield_ms / 1000, started, max_tokens)

    # -- shutdown ---------------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Kill and reap every live process, emitting the `exec_command_end` events still owed."""
        for process_id in list(self._sessions):
            await self._discard(process_id)

    # -- internals ---------------------------------------------------------------------------------------
    async def _collect(self, session: _Session, deadline: float, started: float, max_tokens: int) -> ExecToolOutput:
        from codex_actors.exec.process import Collect, Summarize

        session.busy += 1
        collected = False
        try:
            chunk = await session.ref.ask(Collect(deadline))
            collected = True
        finally:
            session.busy -= 1
            if not collected:  # cancelled: kill the tree, report the output so far in exec_command_end
                with trio.CancelScope(shield=True):
                    await self._discard(session.process_id)
        text = decode(chunk.output)
        chunk_id, wall_time = secrets.token_hex(3), trio.current_time() - started
        truncated = formatted_truncate(text, max_tokens)
        # What a code-mode cell's `await tools.exec_command(...)` resolves to (spec code-mode 2.4).
        structured: dict[str, Any] = {"chunk_id": chunk_id, "wall_time_seconds": round(wall_time, 4),
                                      "output": truncated}
        lines = [f"Chunk ID: {chunk_id}", f"Wall time: {wall_time:.4f} seconds"]
        if chunk.exit_code is None:
            lines.append(f"Process running with session ID {session.process_id}")
            structured["session_id"] = session.process_id
        else:
            lines.append(f"Process exited with code {chunk.exit_code}")
            structured["exit_code"] = chunk.exit_code
        lines += [f"Original token count: {approx_token_count(text)}", "Output:", truncated]
        formatted = "\n".join(lines)
        if chunk.exit_code is not None:
            summary = await session.ref.ask(Summarize())
            await self._emit_end(session, summary, formatted)
            self._forget(session.process_id)
            await session.ref.stop()
        return ExecToolOutput(formatted, structured=structured, exit_code=chunk.exit_code, output=text)

    async def _prune_for_new_session(self) -> None:
        victim = self._store.prune_candidate()
        if victim is not None:
            await self._discard(victim)
        if len(self._store) + 1 >= WARN_SESSIONS and self._sessions:
            newest = next(reversed(self._sessions.values()))
            await newest.emit({
                "type": "warning",
                "message": (f"The maximum number of unified exec processes you can keep open is {MAX_SESSIONS} "
                            f"and you currently have {len(self._store) + 1} processes open. Reuse older processes "
                            "or close them to prevent automatic pruning of old processes"),
            })

    async def _discard(self, process_id: int) -> None:
        """Kill (if needed) and forget one session; emits its end event if still owed."""
        session = self._sessions.get(process_id)
        if session is None:
            return
        self._forget(process_id)
        with trio.CancelScope(shield=True):
            await session.ref.stop()  # kill ladder + reap; on_exit then records the summary
            await self._emit_owed_end(session)

    def _forget(self, process_id: int) -> None:
        self._sessions.pop(process_id, None)
        self._store.remove(process_id)

    async def _emit_owed_end(self, session: _Session) -> None:
        """The end event of a process stopped before a call saw it exit: "failed", with the output so far."""
        if session.summary is not None:
            await self._emit_end(session, session.summary, decode(session.summary.aggregated), status="failed")

    async def _emit_end(self, session: _Session, summary: ProcessSummary, formatted: str,
                        status: str | None = None) -> None:
        if session.end_emitted:
            return
        session.end_emitted = True
        exit_code = -1 if summary.exit_code is None else summary.exit_code
        await session.emit(exec_command_end(
            session.begin, stdout=summary.stdout, stderr=summary.stderr, aggregated=summary.aggregated,
            exit_code=exit_code, duration_s=summary.duration_s, formatted_output=formatted, status=status))

    def _output_sink(self, session: _Session) -> Callable[[str, bytes], Awaitable[None]]:
        async def on_output(stream: str, data: bytes) -> None:
            for event in output_deltas(session.begin["call_id"], stream, data):
                if session.deltas_sent >= MAX_DELTA_EVENTS:
                    return
                session.deltas_sent += 1
                await session.emit(event)
        return on_output

    def _exit_watcher(self, session: _Session) -> Callable[[ProcessSummary], Awaitable[None]]:
        async def on_exit(summary: ProcessSummary) -> None:
            session.summary = summary
            self._store.mark_exited(session.process_id)
            if not session.busy and session.process_id in self._sessions:
                await self._emit_end(session, summary, decode(summary.aggregated))
        return on_exit

    def _command_env(self, policy: SandboxPolicy) -> dict[str, str]:
        return {**self._env, **UNIFIED_EXEC_ENV, **policy.env_overrides()}


def _max_tokens(args: Mapping[str, Any], limit: int | None = None) -> int:
    requested = max(1, int(optional_number(args, "max_output_tokens", DEFAULT_MAX_OUTPUT_TOKENS)))
    return min(requested, limit) if limit is not None else requested


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)

"""ProcessActor: one command's process tree, its output buffers and its lifetime (spec 4.2 / 4.4).

The actor spawns the launcher (sandbox.py) in a new session; the launcher forks the command, reaps every
descendant and exits only once the whole tree is gone; it holds the read end of a lifeline pipe whose write
end only this process holds, so if this process dies (even by SIGKILL) the launcher ends the tree. So:

* output is read until end-of-file, which arrives exactly when the tree is gone;
* the kill ladder is: SIGTERM to the launcher (it SIGTERMs the tree, waits `reaping.TERM_GRACE_S`, then
  SIGKILLs the rest and reaps), and only if the launcher itself does not exit within `LAUNCHER_GRACE_S`,
  SIGKILL to the launcher's whole process group; the launcher is then reaped before anything is reported;
* output collected before a timeout or cancellation is kept (head+tail capped at 1 MiB per buffer).

Messages (all answered, never raising inside the actor): `Collect(deadline)` -> `Chunk`, `WriteStdin(data)`
-> `str | None` (an error text), `Terminate()` -> `Chunk`, `Summarize()` -> `ProcessSummary`.
`run_command` is the one-shot helper used by the `shell` tool.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio

from codex_actors.actors import Actor, ActorCrashed, start_actor
from codex_actors.exec.buffer import HeadTailBuffer
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.spawn import launcher_argv, open_pty

READ_SIZE = 64 * 1024
LAUNCHER_GRACE_S = 5.0
DRAIN_S = 2.0

OutputCallback = Callable[[str, bytes], Awaitable[None]]
ExitCallback = Callable[["ProcessSummary"], Awaitable[None]]


class SpawnError(Exception):
    """The command could not be started at all (missing cwd, launcher not executable, ...)."""


def _as_tuple(items: Any) -> tuple[Any, ...]:
    """`tuple(items)`, as a Python function: attrs reads a converter's signature, and for the builtin `tuple` that
    means parsing its text signature with `tokenize`, whose regexes then compile (~4 ms of every start-up)."""
    return tuple(items)


@attrs.frozen
class ProcessSpec:
    """What to run: `argv` (program + args), in `cwd`, with `env` (None = inherit), on a PTY if `tty`,
    under `policy` (None or danger-full-access = no sandbox)."""

    argv: tuple[str, ...] = attrs.field(converter=_as_tuple)
    cwd: str
    env: Mapping[str, str] | None = None
    tty: bool = False
    policy: SandboxPolicy | None = None

    @argv.validator
    def _check_argv(self, attribute: Any, value: tuple[str, ...]) -> None:
        if not value or not all(isinstance(part, str) for part in value):
            raise ValueError(f"argv must be a non-empty list of strings, got {list(value)!r}")


@attrs.frozen
class Collect:
    """Wait until `deadline` (trio clock, seconds; `math.inf` = until exit) or the exit of the whole tree,
    then answer the output gathered since the previous Collect/Terminate as a `Chunk`."""

    deadline: float = math.inf


@attrs.frozen
class WriteStdin:
    """Write `data` to the PTY. Answered with None, or an error text when stdin is not writable."""

    data: bytes


@attrs.frozen
class Terminate:
    """Run the kill ladder, wait for the tree to be gone, answer the remaining output as a `Chunk`."""


@attrs.frozen
class Summarize:
    """Answer a `ProcessSummary` (whole-run buffers, for exec_command_end)."""


@attrs.frozen
class Chunk:
    """Output since the last read (bytes, head+tail capped at 1 MiB) and `exit_code` (None while running)."""

    output: bytes
    exit_code: int | None
    dropped_bytes: int = 0


@attrs.frozen
class ProcessSummary:
    """The whole run: `stdout`, `stderr`, `aggregated` (each head+tail capped at 1 MiB; a PTY has no stderr),
    `exit_code` (None while running; 128+N when killed by signal N), `duration_s`, launcher `pid`."""

    stdout: bytes
    stderr: bytes
    aggregated: bytes
    exit_code: int | None
    duration_s: float
    pid: int


class StdinClosed(Exception):
    """Raised by helpers (not by the actor) when stdin of a session is not writable."""


class ProcessActor(Actor):
    """Owns one command's process tree. Start with `ref = await start_actor(nursery, ProcessActor(spec))`.

    `on_output(stream, data)` (optional, async) sees every read as it happens (`stream` is "stdout" or
    "stderr"; up to READ_SIZE bytes). `on_exit(summary)` (optional, async) runs exactly once, from the actor:
    when the whole tree has exited and all output is read, or, if the actor is stopped first, after the kill
    ladder (with the output gathered so far). Callers that are cancelled get the output so far this way, since
    a `Collect` in progress keeps the mailbox busy until its deadline; stop the actor instead of asking. Stopping the actor (`ref.stop()`, cancellation of its nursery, session
    shutdown) runs the kill ladder and reaps the launcher before `stop()` returns.
    `on_start` raises `SpawnError` when the command cannot be started.
    """

    mailbox_size = 16

    def __init__(
        self, spec: ProcessSpec, *, on_output: OutputCallback | None = None, on_exit: ExitCallback | None = None
    ) -> None:
        self.spec = spec
        self._on_exit = on_exit
        self.name = f"process:{spec.argv[0]}"
        self._on_output = on_output
        self._process: trio.Process | None = None
        self._master: trio.lowlevel.FdStream | None = None
        self._pending = HeadTailBuffer()
        self._stdout = HeadTailBuffer()
        self._stderr = HeadTailBuffer()
        self._aggregated = HeadTailBuffer()
        self._finished = trio.Event()
        self._exit_code: int | None = None
        self._started_at = 0.0
        self._ended_at: float | None = None
        self._exit_reported = False
        self._lifeline: int | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def on_start(self) -> None:
        spec = self.spec
        # The lifeline: the launcher holds the read end; the write end lives only in this process (close-on-exec),
        # so when this process dies, however it dies, the launcher is told and ends the tree.
        lifeline_r, self._lifeline = os.pipe()
        argv = launcher_argv(spec.argv, cwd=spec.cwd, policy=spec.policy, tty=spec.tty, lifeline=lifeline_r)
        env = None if spec.env is None else dict(spec.env)
        self._started_at = trio.current_time()
        try:
            if spec.tty:
                master, slave = open_pty()
                try:
                    self._process = await trio.lowlevel.open_process(
                        argv, stdin=slave, stdout=slave, stderr=slave, cwd=spec.cwd, env=env,
                        start_new_session=True, pass_fds=(lifeline_r,))
                except BaseException:
                    os.close(master)
                    raise
                finally:
                    os.close(slave)
                self._master = trio.lowlevel.FdStream(master)
            else:
                self._process = await trio.lowlevel.open_process(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=spec.cwd,
                    env=env, start_new_session=True, pass_fds=(lifeline_r,))
        except OSError as exc:
            self._close_lifeline()
            raise SpawnError(f"failed to start {spec.argv[0]!r} in {spec.cwd!r}: {exc.strerror or exc}") from exc
        except BaseException:
            self._close_lifeline()
            raise
        finally:
            os.close(lifeline_r)
        self.name = f"process:{spec.argv[0]}:{self._process.pid}"

    async def background(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._supervise)

    async def _supervise(self) -> None:
        process = self._process
        assert process is not None
        readers_done = trio.Event()
        async with trio.open_nursery() as nursery:
            async def read_all() -> None:
                async with trio.open_nursery() as readers:
                    if self._master is not None:
                        readers.start_soon(self._pump, self._master, "stdout")
                    else:
                        readers.start_soon(self._pump, process.stdout, "stdout")
                        readers.start_soon(self._pump, process.stderr, "stderr")
                readers_done.set()

            nursery.start_soon(read_all)
            await process.wait()
            # The launcher exits only after the whole tree is gone, so EOF is immediate; bound it anyway.
            with trio.move_on_after(DRAIN_S):
                await readers_done.wait()
            nursery.cancel_scope.cancel()
        self._exit_code = _exit_code(process.returncode)
        self._ended_at = trio.current_time()
        self._finished.set()
        await self._report_exit()

    async def _report_exit(self) -> None:
        if self._on_exit is not None and not self._exit_reported:
            self._exit_reported = True
            await self._on_exit(self._summary())

    async def _pump(self, stream: Any, name: str) -> None:
        while True:
            try:
                data = await stream.receive_some(READ_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # a PTY master reads EIO once every slave fd is closed
            if not data:
                return
            self._pending.push(data)
            self._aggregated.push(data)
            (self._stderr if name == "stderr" else self._stdout).push(data)
            if self._on_output is not None:
                await self._on_output(name, data)

    async def handle(self, message: Any) -> Any:
        if isinstance(message, Collect):
            with trio.move_on_at(message.deadline):
                await self._finished.wait()
            return self._chunk()
        if isinstance(message, WriteStdin):
            return await self._write(message.data)
        if isinstance(message, Terminate):
            await self._kill_ladder()
            await self._finished.wait()
            return self._chunk()
        if isinstance(message, Summarize):
            return self._summary()
        raise TypeError(f"ProcessActor cannot handle {type(message).__name__}")

    def _close_lifeline(self) -> None:
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None

    async def on_stop(self) -> None:
        if self._process is None:
            self._close_lifeline()
            return
        await self._kill_ladder()
        self._close_lifeline()
        if self._exit_code is None:
            self._exit_code = _exit_code(self._process.returncode)
            self._ended_at = trio.current_time()
        for stream in (self._master, self._process.stdout, self._process.stderr):
            if stream is not None:
                await stream.aclose()
        await self._report_exit()

    async def _write(self, data: bytes) -> str | None:
        if self._master is None:
            return "stdin is closed for this session"
        if self._finished.is_set():
            return "the process has exited"
        try:
            await self._master.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            return f"stdin write failed: {exc}"
        return None

    async def _kill_ladder(self) -> None:
        process = self._process
        assert process is not None
        if process.returncode is not None:
            return
        _signal(process.pid, signal.SIGTERM, group=False)
        with trio.move_on_after(LAUNCHER_GRACE_S):
            await process.wait()
        if process.returncode is None:
            _signal(process.pid, signal.SIGKILL, group=True)
            await process.wait()

    def _chunk(self) -> Chunk:
        dropped = self._pending.dropped_bytes
        return Chunk(self._pending.take(), self._exit_code, dropped)

    def _summary(self) -> ProcessSummary:
        end = self._ended_at if self._ended_at is not None else trio.current_time()
        return ProcessSummary(
            stdout=self._stdout.getvalue(),
            stderr=self._stderr.getvalue(),
            aggregated=self._aggregated.getvalue(),
            exit_code=self._exit_code,
            duration_s=end - self._started_at,
            pid=self._process.pid if self._process is not None else 0,
        )


def _exit_code(returncode: int | None) -> int | None:
    if returncode is None:
        return None
    return 128 - returncode if returncode < 0 else returncode


def _signal(pid: int, signum: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


@attrs.frozen
class CommandResult:
    """Outcome of `run_command`: whole-run buffers, `exit_code` (124 when it timed out), `timed_out`,
    `duration_s` (seconds)."""

    stdout: bytes
    stderr: bytes
    aggregated: bytes
    exit_code: int
    timed_out: bool
    duration_s: float


async def run_command(
    spec: ProcessSpec,
    *,
    timeout_s: float | None,
    on_output: OutputCallback | None = None,
    on_exit: ExitCallback | None = None,
) -> CommandResult:
    """Run `spec` to completion or until `timeout_s` seconds (None = no limit), killing the tree on timeout.

    On timeout the exit code is 124 and the output gathered so far is kept. If the caller is cancelled, the
    tree is killed and reaped before the cancellation propagates; `on_exit` (see ProcessActor) then still
    receives the output gathered so far. Raises `SpawnError` if it cannot start.
    """
    spawn_error: SpawnError | None = None
    async with trio.open_nursery() as nursery:
        try:
            ref = await start_actor(nursery, ProcessActor(spec, on_output=on_output, on_exit=on_exit))
        except ActorCrashed as crash:
            if not isinstance(crash.cause, SpawnError):
                raise
            spawn_error = crash.cause
        else:
            try:
                deadline = math.inf if timeout_s is None else trio.current_time() + timeout_s
                chunk = await ref.ask(Collect(deadline))
                timed_out = chunk.exit_code is None
                if timed_out:
                    await ref.ask(Terminate())
                summary = await ref.ask(Summarize())
            finally:
                with trio.CancelScope(shield=True):
                    await ref.stop()
    if spawn_error is not None:
        raise spawn_error  # raised here, outside the nursery, so callers see it bare
    return CommandResult(
        stdout=summary.stdout,
        stderr=summary.stderr,
        aggregated=summary.aggregated,
        exit_code=124 if timed_out else int(summary.exit_code or 0),
        timed_out=timed_out,
        duration_s=summary.duration_s,
    )

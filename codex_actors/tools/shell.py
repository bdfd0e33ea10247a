"""The argv `shell` tool (spec 4.2): run `command` via execvp under the sandbox policy, with `timeout_ms`.

Output to the model is the JSON string `{"output": "<aggregated, truncated>", "metadata": {"exit_code": N,
"duration_seconds": S}}` (S rounded to 0.1 s). On timeout (default 10 000 ms) the process tree is killed,
the exit code is 124 and the output is prefixed with `command timed out after N milliseconds`. Events:
`exec_command_begin` (source `agent`), `exec_command_output_delta` (<= 8 KiB base64 slices, at most 10 000),
`exec_command_end`, through the injected `emit`. Cancellation kills and reaps the tree, emits the end event
with the output gathered so far, then propagates.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from codex_actors.exec.events import MAX_DELTA_EVENTS, decode, exec_command_begin, exec_command_end, output_deltas
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.shell_snapshot import ShellSnapshot
from codex_actors.exec.truncation import formatted_truncate
from codex_actors.tools.exec_arguments import ToolArgumentError, resolve_workdir
from codex_actors.tools.unified_exec import APPROVAL_PARAMETERS, DEFAULT_MAX_OUTPUT_TOKENS, ExecContext, ExecToolOutput
from codex_actors.tools.unified_exec_handlers import exec_context, tool_result

if TYPE_CHECKING:
    from codex_actors.exec.process import ProcessSummary

DEFAULT_TIMEOUT_MS = 10_000

SHELL_TOOL: dict[str, Any] = {
    "type": "function", "name": "shell", "strict": False,
    "description": ("Runs a shell command and returns its output. The arguments are passed to execvp(); most "
                    "commands should be prefixed with [\"bash\", \"-lc\"]. Always set the `workdir` param "
                    "instead of using `cd`."),
    "parameters": {"type": "object", "additionalProperties": False, "required": ["command"], "properties": {
        "command": {"type": "array", "items": {"type": "string"}, "description": "The command to execute."},
        "workdir": {"type": "string", "description": "The working directory to execute the command in."},
        "timeout_ms": {"type": "number", "description": "The timeout for the command in milliseconds."},
        **APPROVAL_PARAMETERS,
    }},
}


class ShellTool:
    """Handler for `shell`. `policy`: the SandboxPolicy commands run under; `env`: base environment from
    `shell_environment_policy` (None = this process's); `max_output_tokens`: the model truncation budget;
    `snapshot`: the session's `ShellSnapshot` (a `[bash, -lc, script]` command then sources it instead of
    running the login profile, as in `UnifiedExec`), or None.

    Call it directly as `await tool(args, ExecContext(...))`, or through the router (`handle(call, ctx)`).
    """

    name = "shell"
    kind = "function"
    parallel = True

    def spec(self) -> dict[str, Any]:
        return SHELL_TOOL

    async def handle(self, call: Any, ctx: Any) -> Any:
        """Router entry point: `ToolCall` + `ToolContext` -> `ToolResult`."""
        return tool_result(await self.run(call, ctx))

    async def run(self, call: Any, ctx: Any, *, policy: SandboxPolicy | None = None) -> ExecToolOutput:
        """Run a router call under `policy` (None = `self.policy`); the approval layer's entry point."""
        return await self(call.arguments(), exec_context(call, ctx), policy=policy)

    def __init__(self, *, policy: SandboxPolicy, env: Mapping[str, str] | None = None,
                 max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS, snapshot: ShellSnapshot | None = None) -> None:
        self.policy = policy
        self.snapshot = snapshot
        self._env = dict(os.environ if env is None else env)
        self._max_tokens = max_output_tokens

    async def __call__(self, args: Mapping[str, Any], ctx: ExecContext, *,
                       policy: SandboxPolicy | None = None) -> ExecToolOutput:
        """Run one `shell` call; bad arguments and unstartable commands give `success=False`.

        `policy` overrides `self.policy` for this call (an approved escalation or an approved retry runs
        under danger-full-access, spec 5.3 steps 4-5)."""
        policy = policy or self.policy
        try:
            command = args.get("command")
            if (not isinstance(command, list) or not command
                    or not all(isinstance(part, str) for part in command)):
                raise ToolArgumentError(
                    "failed to parse function arguments: `command` must be a non-empty array of strings")
            workdir = resolve_workdir(args, ctx.cwd)
            timeout_ms = args.get("timeout_ms", DEFAULT_TIMEOUT_MS)
            if timeout_ms is None:
                timeout_ms = DEFAULT_TIMEOUT_MS
            if (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float))
                    or not math.isfinite(timeout_ms) or timeout_ms <= 0):
                raise ToolArgumentError("failed to parse function arguments: `timeout_ms` must be a positive number")
        except ToolArgumentError as exc:
            return ExecToolOutput(str(exc), success=False)
        timeout_ms = int(timeout_ms)
        argv, env = command, {**self._env, **policy.env_overrides()}
        if self.snapshot is not None:
            argv, env, warning = await self.snapshot.prepare(command, env)
            if warning is not None:
                await ctx.emit({"type": "warning", "message": warning})
        begin = exec_command_begin(call_id=ctx.call_id, turn_id=ctx.turn_id, command=command, cwd=workdir,
                                   source="agent")
        await ctx.emit(begin)
        from codex_actors.exec.process import ProcessSpec, SpawnError, run_command  # at the call (unified_exec)

        deltas = 0
        final: list[ProcessSummary] = []

        async def on_output(stream: str, data: bytes) -> None:
            nonlocal deltas
            for event in output_deltas(ctx.call_id, stream, data):
                if deltas >= MAX_DELTA_EVENTS:
                    return
                deltas += 1
                await ctx.emit(event)

        async def on_exit(summary: ProcessSummary) -> None:
            final.append(summary)

        spec = ProcessSpec(argv, workdir, env=env, policy=policy)
        completed = False
        try:
            result = await run_command(spec, timeout_s=timeout_ms / 1000, on_output=on_output, on_exit=on_exit)
            completed = True
        except SpawnError as exc:
            text = str(exc)
            await ctx.emit(exec_command_end(begin, stdout=b"", stderr=text.encode(), aggregated=text.encode(),
                                            exit_code=-1, duration_s=0.0, formatted_output=text))
            return ExecToolOutput(text, success=False)
        finally:
            if not completed and final:  # cancelled (possibly wrapped in a group): report what we have
                with trio.CancelScope(shield=True):
                    s = final[0]
                    await ctx.emit(exec_command_end(
                        begin, stdout=s.stdout, stderr=s.stderr, aggregated=s.aggregated, exit_code=-1,
                        duration_s=s.duration_s, formatted_output=decode(s.aggregated), status="failed"))
        output = decode(result.aggregated)
        if result.timed_out:
            output = f"command timed out after {timeout_ms} milliseconds\n{output}"
        text = json.dumps({
            "output": formatted_truncate(output, self._max_tokens),
            "metadata": {"exit_code": result.exit_code, "duration_seconds": round(result.duration_s, 1)},
        })
        await ctx.emit(exec_command_end(
            begin, stdout=result.stdout, stderr=result.stderr, aggregated=result.aggregated,
            exit_code=result.exit_code, duration_s=result.duration_s, formatted_output=output))
        return ExecToolOutput(text, exit_code=result.exit_code, output=output)

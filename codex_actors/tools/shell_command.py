"""The `shell_command` tool (spec agent-core 4.3): a script string run as `[shell, "-lc" | "-c", command]`.

Offered instead of `exec_command` + `write_stdin` when `features.unified_exec = false`, as Codex does. It runs
through the argv `shell` tool's machinery (sandbox policy, `timeout_ms`, exit 124 on timeout, the exec events)
and answers in the text form of spec 4.2:

    Exit code: 0
    Wall time: 1.2 seconds
    Output:
    <aggregated output, truncated to the token budget>

`login` (default true) is offered and honoured only when `allow_login_shell` is true.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.tools.shell import ShellTool
from codex_actors.tools.unified_exec import APPROVAL_PARAMETERS, ExecToolOutput, without_login
from codex_actors.tools.unified_exec_handlers import exec_context, tool_result

SHELL_COMMAND_TOOL: dict[str, Any] = {
    "type": "function", "name": "shell_command", "strict": False,
    "description": ("Runs a shell command (a script string) and returns its output. Always set the `workdir` "
                    "param instead of using `cd`."),
    "parameters": {"type": "object", "additionalProperties": False, "required": ["command"], "properties": {
        "command": {"type": "string", "description": "The shell script to execute."},
        "workdir": {"type": "string", "description": "The working directory to execute the command in."},
        "timeout_ms": {"type": "number", "description": "The timeout for the command in milliseconds."},
        "login": {"type": "boolean", "description": "Run the shell as a login shell (-lc, default true)."},
        **APPROVAL_PARAMETERS,
    }},
}


def shell_argv(command: str, *, shell: str, login: bool) -> list[str]:
    """`[shell, "-lc" | "-c", command]`."""
    return [shell, "-lc" if login else "-c", command]


def text_form(shell_json: str) -> str:
    """The `shell` tool's JSON answer (`{"output", "metadata": {"exit_code", "duration_seconds"}}`) as the
    `Exit code: / Wall time: / Output:` text of spec 4.2; other text (an argument error) is returned as is."""
    try:
        data = json.loads(shell_json)
        meta = data["metadata"]
        return (f"Exit code: {meta['exit_code']}\nWall time: {meta['duration_seconds']} seconds\n"
                f"Output:\n{data['output']}")
    except (ValueError, KeyError, TypeError):
        return shell_json


class ShellCommandTool:
    """Router handler for `shell_command`, running through `runner` (a `ShellTool`). `default_shell`: the
    user's shell (default `$SHELL`, else /bin/bash); `allow_login_shell`: config `allow_login_shell`."""

    name = "shell_command"
    kind = "function"
    parallel = True

    def __init__(self, runner: ShellTool, *, default_shell: str | None = None, allow_login_shell: bool = True):
        self._runner = runner
        self._shell = default_shell or os.environ.get("SHELL") or "/bin/bash"
        self._allow_login = allow_login_shell

    @property
    def user_shell(self) -> str:
        return self._shell

    def spec(self) -> dict[str, Any]:
        return SHELL_COMMAND_TOOL if self._allow_login else without_login(SHELL_COMMAND_TOOL)

    def argv(self, args: Mapping[str, Any]) -> list[str] | None:
        """The argv a call runs, or None when `command` is not a string (the run words the error)."""
        command = args.get("command")
        if not isinstance(command, str):
            return None
        login = args.get("login", True) is not False and self._allow_login
        return shell_argv(command, shell=self._shell, login=login)

    async def handle(self, call: Any, ctx: Any) -> Any:
        return tool_result(await self.run(call, ctx))

    async def run(self, call: Any, ctx: Any, *, policy: SandboxPolicy | None = None) -> ExecToolOutput:
        """Run a router call under `policy` (None = the runner's); the approval layer's entry point."""
        args = call.arguments()
        argv = self.argv(args)
        if argv is None or not args["command"].strip():
            return ExecToolOutput("failed to parse function arguments: `command` must be a non-empty string",
                                  success=False)
        shell_args = {key: args[key] for key in ("workdir", "timeout_ms") if key in args}
        out = await self._runner({**shell_args, "command": argv}, exec_context(call, ctx), policy=policy)
        return ExecToolOutput(text_form(out.text), success=out.success, exit_code=out.exit_code, output=out.output)

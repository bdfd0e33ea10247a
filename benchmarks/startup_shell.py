"""The per-command rows of `benchmarks.startup` (issue 21): what one shell command costs, and its floors.

- `login_shell`: `bash -lc true` with this machine's real login profile (HOME as it is), spawn to exit.
- `snapshot_shell`: `bash -c true` sourcing a snapshot of that same profile (`BASH_ENV`, as `exec_command` runs it).
- `sandbox_true`: the sandbox launcher alone running `/bin/true` under workspace-write (the floor under every
  command; the launcher belongs to the sandbox issue).
- `exec_command_true`, `exec_command_true_lc`: `exec_command {"cmd": "true"}` in a turn of a configured session
  (workspace-write, approval never), from its `exec_command_begin` event to its `exec_command_end` event as the
  client receives them, with `shell_snapshot` on and off. One turn makes `samples + 1` calls one after another
  (one per model response); the first is not counted (it may wait for the snapshot being made).
- `python_trio_httpx`: `python -c "import trio, httpx"` (httpx without its CLI, as codex-actors imports it).
- `python_trio_httpx_httpcore`: the same plus `import httpcore`, which httpx imports only when its first client is
  built (with h11, socksio and certifi): the floor of any start-up that sends a request with these libraries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from codex_actors.testing import function_call, response, serve_scripted_model, text_message

USER_SHELL = "/bin/bash"


def time_argv(argv: list[str], samples: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall seconds from spawn to exit of `argv`, `samples` times (stdout/stderr discarded; must exit 0)."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
        times.append(time.perf_counter() - started)
    return times


async def shell_rows(samples: int, tmp: Path) -> dict[str, list[float]]:
    """`login_shell`, `snapshot_shell`, `sandbox_true` and the `python_*` floors (seconds per sample)."""
    from codex_actors.exec.policy import SandboxPolicy
    from codex_actors.exec.shell_snapshot import capture
    from codex_actors.exec.spawn import launcher_argv

    snapshot = tmp / "shell_snapshots" / "bench.sh"
    await capture(USER_SHELL, cwd=str(tmp), env=dict(os.environ), path=snapshot)
    policy = SandboxPolicy.from_config("workspace-write", {})
    rows = {
        "login_shell": [USER_SHELL, "-lc", "true"],
        "snapshot_shell": [USER_SHELL, "-c", "true"],
        "sandbox_true": launcher_argv(["/bin/true"], cwd=str(tmp), policy=policy, tty=False),
        "python_trio_httpx": [sys.executable, "-c", "import sys; sys.modules['httpx._main'] = None; "
                                                    "import trio, httpx"],
        "python_trio_httpx_httpcore": [sys.executable, "-c", "import sys; sys.modules['httpx._main'] = None; "
                                                             "import trio, httpx, httpcore"],
    }
    out = {}
    for name, argv in rows.items():
        env = {**os.environ, "BASH_ENV": str(snapshot)} if name == "snapshot_shell" else None
        out[name] = await trio.to_thread.run_sync(time_argv, argv, samples, env)
    return out


async def true_turn(calls: int, snapshot: bool, on_event: Callable[[Any, float], None]) -> None:
    """One turn of a configured session (workspace-write, approval never, `shell_snapshot` as given, scripted model)
    making `calls` `exec_command {"cmd": "true"}` calls one after another (ids c0, c1, ...); `on_event(msg,
    perf_counter)` sees every event message as the client receives it. Raises when a call does not exit 0."""
    from codex_actors.config import load_config
    from codex_actors.protocol import events, ops
    from codex_actors.runtime import RunOptions, open_configured_session

    script = [response(function_call("exec_command", {"cmd": "true"}, f"c{i}")) for i in range(calls)]
    script.append(response(text_message("done")))
    with tempfile.TemporaryDirectory(prefix="bench-exec-command-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "home").mkdir()
        (tmp / "work").mkdir()
        async with serve_scripted_model(script) as server:
            provider = (f'model_providers.x={{name="x",base_url="{server.url}",wire_api="responses",'
                        'stream_max_retries=0,request_max_retries=0,supports_websockets=false}')
            config = load_config(cwd=tmp / "work", environ={"CODEX_ACTORS_HOME": str(tmp / "home")}, overrides=[
                "model_provider=x", provider, "approval_policy=never", "sandbox_mode=workspace-write",
                f"shell_snapshot={'true' if snapshot else 'false'}"])
            async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
                await session.submit(ops.UserInputOp(items=[ops.TextInput("run true")]))
                with trio.fail_after(300):
                    async for event in session.events:
                        now = time.perf_counter()
                        msg = event.msg
                        if isinstance(msg, events.ExecCommandEnd) and msg.exit_code != 0:
                            raise RuntimeError(f"exec_command true failed: {msg.aggregated_output!r}")
                        on_event(msg, now)
                        if isinstance(msg, events.TaskComplete):
                            break


async def exec_command_times(samples: int, snapshot: bool) -> list[float]:
    """Seconds from `exec_command_begin` to `exec_command_end` of `true`, per call after the first."""
    from codex_actors.protocol import events

    begins: dict[str, float] = {}
    spans: dict[str, float] = {}

    def on_event(msg: Any, now: float) -> None:
        if isinstance(msg, events.ExecCommandBegin):
            begins[msg.call_id] = now
        elif isinstance(msg, events.ExecCommandEnd):
            spans[msg.call_id] = now - begins[msg.call_id]

    await true_turn(samples + 1, snapshot, on_event)
    if len(spans) != samples + 1:
        raise RuntimeError(f"expected {samples + 1} exec_command calls, saw {len(spans)}")
    return [spans[f"c{i}"] for i in range(1, samples + 1)]


async def command_rows(samples: int, tmp: Path) -> dict[str, Any]:
    """All rows of this module (seconds per sample), in table order."""
    rows = await shell_rows(samples, tmp)
    rows["exec_command_true"] = await exec_command_times(samples, snapshot=True)
    rows["exec_command_true_lc"] = await exec_command_times(samples, snapshot=False)
    return rows

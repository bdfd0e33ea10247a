"""kill -9 of the real `bin/codex-actors exec` process mid-command: nothing the session started survives it
(issue 16 item 7), sandboxed or not. The model is the scripted server; the command is a real process tree."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, response
from tests.cli.test_exec import cli_env, provider_args
from tests.exec.proctable import processes_with

CLI = Path(__file__).resolve().parents[2] / "bin" / "codex-actors"


@pytest.mark.parametrize("mode", ["--full-auto", "--dangerously-bypass-approvals-and-sandbox"])
async def test_kill_9_of_the_cli_leaves_no_process_behind(tmp_path, mode):
    marker = f"{6_000_000 + uuid.uuid4().int % 10**6}"
    command = f"setsid sleep {marker} & sleep {marker}"
    script = [response(function_call("exec_command", {"cmd": command, "yield_time_ms": 30000}, "c1"))]
    async with serve_scripted_model(script, websocket=False) as server:
        argv = [str(CLI), "exec", "--json", "--skip-git-repo-check", mode, *provider_args(server.url), "go"]
        proc = await trio.lowlevel.open_process(argv, cwd=tmp_path, env=cli_env(tmp_path / "home"),
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
        try:
            with trio.fail_after(60):
                while len([p for p in processes_with(marker) if p[2].startswith("sleep")]) < 2:
                    await trio.sleep(0.05)
            assert "codex_actors" in open(f"/proc/{proc.pid}/cmdline").read()  # bin/ execs the CLI
            os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()
            with trio.move_on_after(2):
                while processes_with(marker):
                    await trio.sleep(0.05)
            survivors = processes_with(marker)
        finally:
            for pid, _, _ in processes_with(marker):
                os.kill(pid, signal.SIGKILL)
            if proc.returncode is None:
                proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
    assert survivors == [], f"still running 2 s after kill -9 of the CLI: {survivors}"
    assert len(server.requests) == 1

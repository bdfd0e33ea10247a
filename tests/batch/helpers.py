"""Helpers of the batch tests: the real CLI in a subprocess against the stateless scripted model (in this process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A CLI run's environment: its own CODEX_ACTORS_HOME, a dummy API key, no inherited base URL."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_ACTORS_HOME", "RAY_ADDRESS")}
    env.update({"CODEX_ACTORS_HOME": str(home), "OPENAI_API_KEY": "test-key", "NO_COLOR": "1",
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def provider_args(url: str) -> list[str]:
    """`-c` overrides pointing the CLI at `url` (HTTP SSE Responses wire, no retries)."""
    table = (f'{{name="x",base_url="{url}",env_key="OPENAI_API_KEY",wire_api="responses",'
             'request_max_retries=0,stream_max_retries=0,supports_websockets=false}')
    return ["-c", "model_provider=x", "-c", f"model_providers.x={table}"]


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "codex_actors", *args]


async def run_cli(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 90
                  ) -> subprocess.CompletedProcess:
    with trio.fail_after(timeout):
        return await trio.run_process(cli_command(*args), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      capture_stdout=True, capture_stderr=True, check=False)


def write_jobs(path: Path, jobs: list[dict[str, Any] | str]) -> Path:
    """Write a jobs file: dicts as JSON lines, strings verbatim (for malformed lines)."""
    path.write_text("".join((j if isinstance(j, str) else json.dumps(j)) + "\n" for j in jobs), encoding="utf-8")
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def by_id(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in results if r["id"] is not None}


async def read_terminal(stream: trio.lowlevel.FdStream, drawn: bytearray) -> None:
    """Append what is written to the pseudo-terminal whose master end is `stream` to `drawn`, until its last
    writer is gone (EIO) or the task is cancelled."""
    try:
        while chunk := await stream.receive_some(65536):
            drawn.extend(chunk)
    except (trio.BrokenResourceError, OSError):
        pass

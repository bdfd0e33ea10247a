"""Shared by the app-server tests: the CLI path, the provider overrides that point it at a scripted model
server, and a raw JSON-RPC client over the server's stdin/stdout pipe."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import trio

from tests.cli.test_exec import cli_env

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "bin" / "codex-actors"


def provider_overrides(url: str) -> tuple[str, ...]:
    """`--config` values selecting a provider `x` at `url` (HTTP Responses wire, one retry)."""
    table = (f'{{name="x",base_url="{url}",env_key="OPENAI_API_KEY",wire_api="responses",'
             f'request_max_retries=1,stream_max_retries=1}}')
    return ("model_provider=x", f"model_providers.x={table}")


def server_env(home: Path) -> dict[str, str]:
    return cli_env(home)


class RawClient:
    """A JSON-RPC client written straight onto the pipe of `python -m codex_actors app-server` (for the error
    paths the SDK never produces). `send` writes one line; `next` reads the next message."""

    def __init__(self, proc: trio.Process) -> None:
        self.proc = proc
        self._buffer = b""
        self._next_id = 0

    @classmethod
    async def start(cls, url: str, home: Path, cwd: Path, nursery: trio.Nursery) -> "RawClient":
        args = [sys.executable, "-m", "codex_actors"]
        for value in provider_overrides(url):
            args += ["-c", value]
        proc = await nursery.start(lambda task_status: trio.run_process(
            [*args, "app-server", "--listen", "stdio://"], stdin=-1,
            stdout=-1, env=server_env(home), cwd=cwd, check=False, task_status=task_status))
        return cls(proc)

    async def send_raw(self, text: str) -> None:
        await self.proc.stdin.send_all(text.encode() + b"\n")

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(message))

    async def next(self) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            chunk = await self.proc.stdout.receive_some(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    async def call(self, method: str, params: Any = None, *, seen: list | None = None) -> dict[str, Any]:
        """Send a request; return its answer (result or error message), collecting other messages in `seen`."""
        self._next_id += 1
        request_id = self._next_id
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)
        while True:
            answer = await self.next()
            assert answer is not None, f"server closed stdout before answering {method}"
            if answer.get("id") == request_id and "method" not in answer:
                return answer
            if seen is not None:
                seen.append(answer)

    async def initialize(self) -> None:
        answer = await self.call("initialize", {"clientInfo": {"name": "raw", "version": "1"}})
        assert "result" in answer, answer
        await self.send({"method": "initialized"})

    async def until(self, method: str, seen: list | None = None, **match: Any) -> dict[str, Any]:
        """Read until a notification `method` whose params contain `match`."""
        while True:
            message = await self.next()
            assert message is not None, f"server closed stdout before {method}"
            if seen is not None:
                seen.append(message)
            params = message.get("params") or {}
            if message.get("method") == method and all(params.get(k) == v for k, v in match.items()):
                return message

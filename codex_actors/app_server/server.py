"""`codex-actors app-server`: the shared state of one server process and its two listeners.

`stdio://` serves exactly one client on stdin/stdout (one JSON message per line) and returns when stdin ends;
`ws://HOST:PORT` serves any number of clients, one text frame per message, each connection on its own. Both
run every thread through one `ThreadManager`, so two clients of one WebSocket server can work on different
threads at once. Logs and failures go to stderr; stdout carries only protocol messages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

import trio

from codex_actors.app_server.connection import Connection, Transport
from codex_actors.app_server.methods import METHODS
from codex_actors.threads import ThreadManager, open_thread_manager

MAX_LINE = 64 * 1024 * 1024


class AppServerState:
    """What all connections of one server share: the thread manager, the base config inputs (`-c` overrides,
    the process cwd), the home, and the API key of `account/login/start` (None until then)."""

    def __init__(self, manager: ThreadManager, overrides: list[str], cwd: Path, home: Path) -> None:
        self.manager = manager
        self.overrides = list(overrides)
        self.cwd = cwd
        self.home = home
        self.api_key: str | None = None

    async def load_config(self, *, cwd: str | None = None, flags: Mapping[str, Any] | None = None) -> Any:
        """The config of a thread: `-c` overrides, then `flags` (thread params), then the login's key as the
        provider's bearer token. Raises ConfigError."""
        from codex_actors.config import load_config

        base = Path(cwd) if cwd else self.cwd
        flags = dict(flags or {})
        config = await trio.to_thread.run_sync(lambda: load_config(cwd=base, overrides=self.overrides, flags=flags))
        if self.api_key is not None:
            provider = config.get("model_provider")
            flags[f"model_providers.{provider}.experimental_bearer_token"] = self.api_key
            config = await trio.to_thread.run_sync(lambda: load_config(cwd=base, overrides=self.overrides, flags=flags))
        return config


class StdioTransport(Transport):
    """One JSON message per line on fd 0 / fd 1 (read and written without blocking the trio thread)."""

    def __init__(self, stdin: trio.abc.ReceiveStream, stdout: trio.abc.SendStream) -> None:
        self._in = stdin
        self._out = stdout
        self._buffer = bytearray()
        self._eof = False

    async def receive(self) -> str | None:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[:newline + 1]
                return line.decode("utf-8", errors="replace")
            if self._eof:
                if self._buffer:
                    line, self._buffer = bytes(self._buffer), bytearray()
                    return line.decode("utf-8", errors="replace")
                return None
            if len(self._buffer) > MAX_LINE:
                self._buffer.clear()
                return "\x00 line too long"  # answered with a parse error; the connection goes on
            chunk = await self._in.receive_some(65536)
            if not chunk:
                self._eof = True
            self._buffer += chunk

    async def send(self, text: str) -> None:
        await self._out.send_all(text.encode("utf-8") + b"\n")


class WebSocketTransport(Transport):
    """One JSON message per text frame of a trio-websocket connection."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    async def receive(self) -> str | None:
        import trio_websocket

        try:
            message = await self._ws.get_message()
        except trio_websocket.ConnectionClosed:
            return None
        return message if isinstance(message, str) else message.decode("utf-8", errors="replace")

    async def send(self, text: str) -> None:
        import trio_websocket

        try:
            await self._ws.send_message(text)
        except trio_websocket.ConnectionClosed:
            raise trio.BrokenResourceError("websocket closed") from None


async def serve_stdio(overrides: list[str], home: Path) -> None:
    """Serve one client on stdin/stdout until stdin ends (or SIGINT / SIGTERM, which the official SDKs send right
    after closing stdin); every thread is closed before this returns."""
    async with open_thread_manager() as manager:
        state = AppServerState(manager, overrides, Path(os.getcwd()), home)
        stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
        stdout = trio.lowlevel.FdStream(os.dup(sys.stdout.fileno()))
        async with stdin, stdout, trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_signals, nursery.cancel_scope)
            await Connection(StdioTransport(stdin, stdout), state, METHODS).serve()
            nursery.cancel_scope.cancel()


async def _cancel_on_signals(scope: trio.CancelScope) -> None:
    """SIGINT / SIGTERM end the listener through a cancel, so every connection closes its threads and the
    manager shuts their sessions down before the process exits."""
    import signal

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            scope.cancel()
            return


async def serve_websocket(overrides: list[str], home: Path, host: str, port: int, *,
                          task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Serve WebSocket clients on ws://host:port until cancelled; reports the bound port through
    `task_status` and on stderr as `codex-actors app-server listening on ws://HOST:PORT`. SIGINT / SIGTERM
    stop it cleanly."""
    import trio_websocket

    async with open_thread_manager() as manager:
        state = AppServerState(manager, overrides, Path(os.getcwd()), home)

        async def handler(request: Any) -> None:
            ws = await request.accept()
            await Connection(WebSocketTransport(ws), state, METHODS).serve()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_signals, nursery.cancel_scope)
            server = await nursery.start(trio_websocket.serve_websocket, handler, host, port, None)
            bound = server.port
            print(f"codex-actors app-server listening on ws://{host}:{bound}", file=sys.stderr, flush=True)
            task_status.started(bound)

"""Helpers for session tests: a session against the scripted model server with a chosen tool set."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from typing import Any

import trio

from codex_actors.model.client import ModelClient
from codex_actors.model.provider import ProviderInfo
from codex_actors.protocol import ops
from codex_actors.session.session import open_session
from codex_actors.session.settings import SessionSettings
from codex_actors.testing import serve_scripted_model
from codex_actors.tools.router import ToolResult, ToolRouter


def settings_for(cwd, **overrides: Any) -> SessionSettings:
    base = dict(cwd=str(cwd), model="test-model", provider_id="scripted", approval_policy="never",
                sandbox_policy={"type": "workspace-write", "writable_roots": [], "network_access": False,
                                "exclude_tmpdir_env_var": False, "exclude_slash_tmp": False},
                instructions="You are a test.")
    base.update(overrides)
    return SessionSettings(**base)


def tools_from(handlers):
    async def build(nursery, services):
        return ToolRouter(list(handlers))

    return build


@asynccontextmanager
async def scripted_session(script, cwd, *, handlers=(), build_tools=None, websocket=False, on_turn_complete=None,
                           **settings):
    async with serve_scripted_model(script, websocket=websocket) as server:
        provider = ProviderInfo.from_table("scripted", {"base_url": server.url, "wire_api": "responses",
                                                         "stream_max_retries": 2, "request_max_retries": 1})
        open_client = functools.partial(_open_client, provider)
        async with open_session(settings_for(cwd, **settings), open_client=open_client,
                                build_tools=build_tools or tools_from(handlers),
                                on_turn_complete=on_turn_complete) as session:
            yield session, server


def _open_client(provider, notify):
    return ModelClient.open(provider, "test-model", notify=notify, env={})


def user_turn(text: str, cwd) -> ops.UserInputOp:
    """Input under the session's own settings (a `user_turn` op would replace them with its context)."""
    return ops.UserInputOp(items=[ops.TextInput(text)])


class Blocking:
    """A parallel-safe tool that blocks until its gate opens (or forever); records whether it was cancelled."""

    kind = "function"
    parallel = True

    def __init__(self, name="block"):
        self.name = name
        self.started = trio.Event()
        self.gate = trio.Event()
        self.cancelled = False

    def spec(self):
        return {"type": "function", "name": self.name, "description": "blocks", "strict": False,
                "parameters": {"type": "object", "properties": {}}}

    async def handle(self, call, ctx):
        self.started.set()
        try:
            await self.gate.wait()
        except trio.Cancelled:
            self.cancelled = True
            raise
        return ToolResult(f"{self.name} released")


class Echo:
    kind = "function"
    parallel = True
    name = "echo"

    def spec(self):
        return {"type": "function", "name": "echo", "description": "echo", "strict": False,
                "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}

    async def handle(self, call, ctx):
        return ToolResult(call.arguments().get("text", ""))

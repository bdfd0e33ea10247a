"""Test helpers for code embedding codex-actors, the way `trio.testing` ships helpers with trio.

`ScriptedModelServer` / `serve_scripted_model` run a real HTTP + WebSocket model server on 127.0.0.1 that
answers each request with the next scripted response; `script` has the builders. See `script` for the format.
"""

from codex_actors.testing.script import (
    custom_tool_call,
    error_response,
    function_call,
    reasoning,
    response,
    text_message,
    usage,
)
from codex_actors.testing.server import RecordedRequest, ScriptedModelServer, serve_scripted_model

__all__ = [
    "RecordedRequest",
    "ScriptedModelServer",
    "custom_tool_call",
    "error_response",
    "function_call",
    "reasoning",
    "response",
    "serve_scripted_model",
    "text_message",
    "usage",
]

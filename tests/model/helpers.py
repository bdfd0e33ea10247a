"""Shared helpers for the model client tests (a plain module: this package has no conftest)."""

from __future__ import annotations

from typing import Any

from codex_actors.model import events as ev
from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.provider import ProviderInfo
from codex_actors.protocol.items import InputText, Message


def user(text: str) -> Message:
    return Message(role="user", content=[InputText(text)])


def provider(url: str, **table: Any) -> ProviderInfo:
    return ProviderInfo.from_table("scripted", {"base_url": url, **table}, env={})


class Notes:
    """Collects what the client announces through `notify` (StreamError / Warning protocol messages)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def __call__(self, msg: Any) -> None:
        self.messages.append(msg)

    @property
    def texts(self) -> list[str]:
        return [m.message for m in self.messages]


async def collect(client: ModelClient, prompt: Prompt) -> list[ev.ResponseEvent]:
    """Every event of one request, in order; ModelError propagates."""
    async with client.stream(prompt) as stream:
        return [event async for event in stream]


def done_items(events: list[ev.ResponseEvent]) -> list[Any]:
    return [e.item for e in events if isinstance(e, ev.OutputItemDone)]


def text_after_last_discard(events: list[ev.ResponseEvent]) -> str:
    """The streamed text a UI shows once provisional output of discarded attempts is dropped."""
    shown: list[str] = []
    for event in events:
        if isinstance(event, ev.AttemptDiscarded):
            shown.clear()
        elif isinstance(event, ev.OutputTextDelta):
            shown.append(event.delta)
    return "".join(shown)

"""The session's Recorder over a RolloutRecorder actor: protocol objects in, rollout lines out (spec 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codex_actors.actors import ActorRef
from codex_actors.protocol import events, items
from codex_actors.session.persistence import Flush, Record, compacted, event_msg, response_item, turn_context


class RolloutSink:
    """Implements the session's `Recorder` protocol by sending to a started `RolloutRecorder` (`ref`).

    Items and events are sent without waiting (the recorder writes and flushes each line as it arrives);
    `flush()` waits for the fsync. `path` is where the recorder writes (the file may not exist yet)."""

    def __init__(self, ref: ActorRef, path: Path) -> None:
        self.ref = ref
        self.path = path

    async def record_item(self, item: items.ResponseItem) -> None:
        await self.ref.send(Record([response_item(items.item_to_json(item))]))

    async def record_event(self, msg: events.EventMsg) -> None:
        await self.ref.send(Record([event_msg(events.EVENT_MSGS.unstructure(msg))]))

    async def record_turn_context(self, payload: dict[str, Any]) -> None:
        await self.ref.send(Record([turn_context(payload)]))

    async def record_compacted(self, message: str, replacement: list[items.ResponseItem]) -> None:
        await self.ref.send(Record([compacted(message, [items.item_to_json(i) for i in replacement])]))

    async def flush(self) -> None:
        if not self.ref.stopped:
            await self.ref.ask(Flush())

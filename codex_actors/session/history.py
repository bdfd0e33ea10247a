"""The conversation history of one session, and how it is turned into a prompt (spec agent-core 2.2, 2.6).

Sans-I/O: a plain class the session actor owns. Items are protocol `ResponseItem`s in the order they happened.
"""

from __future__ import annotations

import json
from typing import Iterable

from codex_actors.protocol import items

BYTES_PER_TOKEN = 4


def _call_id(item: items.ResponseItem) -> str | None:
    return getattr(item, "call_id", None)


def _is_call(item: items.ResponseItem) -> bool:
    return isinstance(item, (items.FunctionCall, items.CustomToolCall))


def _is_output(item: items.ResponseItem) -> bool:
    return isinstance(item, (items.FunctionCallOutput, items.CustomToolCallOutput))


def estimate_tokens(item: items.ResponseItem) -> int:
    """A byte-based token estimate (about 4 bytes per token) of one item's JSON."""
    return (len(json.dumps(items.item_to_json(item), ensure_ascii=False).encode()) + BYTES_PER_TOKEN - 1) \
        // BYTES_PER_TOKEN


class History:
    """Ordered conversation items, with the prompt normalisation of spec 2.2 step 4.

    `tokens_at_last_response` is the `total_tokens` reported by the last `response.completed` (tokens);
    `items_since_response` counts the items appended after it, so `estimated_tokens()` can add a byte estimate
    of those to the server's number (spec 2.6 "Current usage").
    """

    def __init__(self, initial: Iterable[items.ResponseItem] = ()) -> None:
        self.items: list[items.ResponseItem] = list(initial)
        self.tokens_at_last_response = 0
        self._index_at_last_response = 0
        # (item, estimate_tokens(item)) by position, reused while the same (frozen) item is at that position:
        # without a server count every request would re-encode the whole history (~2 ms per request in a 60-call turn).
        self._estimates: list[tuple[items.ResponseItem | None, int]] = []

    def append(self, item: items.ResponseItem) -> None:
        self.items.append(item)

    def extend(self, new: Iterable[items.ResponseItem]) -> None:
        self.items.extend(new)

    def replace(self, new: Iterable[items.ResponseItem]) -> None:
        """Swap in a new history (after compaction); token accounting restarts from the estimate."""
        self.items = list(new)
        self.tokens_at_last_response = 0
        self._index_at_last_response = 0

    def record_usage(self, total_tokens: int) -> None:
        """Remember the server's token count for everything up to now."""
        self.tokens_at_last_response = total_tokens
        self._index_at_last_response = len(self.items)

    def estimated_tokens(self) -> int:
        """Tokens: the last server count plus about 4 bytes per token for the items appended since."""
        start = 0 if self.tokens_at_last_response == 0 else self._index_at_last_response
        cache = self._estimates
        del cache[len(self.items):]
        cache.extend([(None, 0)] * (len(self.items) - len(cache)))
        total = 0
        for index in range(start, len(self.items)):
            item = self.items[index]
            cached, tokens = cache[index]
            if cached is not item:
                tokens = estimate_tokens(item)
                cache[index] = (item, tokens)
            total += tokens
        return self.tokens_at_last_response + total

    def for_prompt(self) -> list[items.ResponseItem]:
        """The items to send: every tool call gets an output (a missing one is synthesised as "aborted", right
        after its call) and outputs whose call is not in history are dropped."""
        call_ids = {_call_id(i) for i in self.items if _is_call(i)}
        answered = {_call_id(i) for i in self.items if _is_output(i)}
        prompt: list[items.ResponseItem] = []
        for item in self.items:
            if _is_output(item) and _call_id(item) not in call_ids:
                continue
            prompt.append(item)
            if _is_call(item) and _call_id(item) not in answered:
                if isinstance(item, items.CustomToolCall):
                    prompt.append(items.CustomToolCallOutput(call_id=item.call_id, output="aborted"))
                else:
                    prompt.append(items.FunctionCallOutput(call_id=item.call_id, output="aborted"))
        return prompt

    def last_assistant_text(self) -> str | None:
        for item in reversed(self.items):
            if isinstance(item, items.Message) and item.role == "assistant":
                return item.text()
        return None

"""The Prompt of one sampling request and the Responses request body built from it (spec agent-core 2.3, 3.1)."""

from __future__ import annotations

from typing import Any

import attrs

from codex_actors.model.events import Item, OtherItem
from codex_actors.protocol.items import item_from_json, item_to_json
from codex_actors.protocol.registry import ProtocolError

OUTPUT_SCHEMA_NAME = "codex_output_schema"


@attrs.frozen
class Prompt:
    """Everything one request sends besides the model name.

    - `instructions`: base instructions; omitted from the body when empty.
    - `input`: the whole conversation, protocol `ResponseItem`s (or `OtherItem`s), oldest first.
    - `tools`: tool spec JSON objects as spec 4 / Appendix A shows: `{"type":"function","name",...}` and
      freeform `{"type":"custom","name","description","format":{...}}`.
    - `parallel_tool_calls`: whether the model may emit several calls in one response.
    - `reasoning`: e.g. `{"effort":"medium","summary":"auto"}`, or None for models without reasoning; when set,
      `include: ["reasoning.encrypted_content"]` is sent too.
    - `output_schema`: a JSON schema; sent as `text.format` (json_schema, strict, named `codex_output_schema`).
    - `output_schema_strict`: false only for the guardian reviewer.
    - `verbosity`: `text.verbosity` ("low"/"medium"/"high") for models that support it.
    - `prompt_cache_key`: the thread id. `service_tier`: "priority" / "flex" or None.
    """

    input: list[Item] = attrs.field(factory=list)
    instructions: str = ""
    tools: list[dict[str, Any]] = attrs.field(factory=list)
    parallel_tool_calls: bool = False
    reasoning: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    output_schema_strict: bool = True
    verbosity: str | None = None
    prompt_cache_key: str | None = None
    service_tier: str | None = None


def item_json(item: Item) -> dict[str, Any]:
    """The request JSON of one input item; `id`s are never re-serialized (spec 1.4)."""
    if isinstance(item, OtherItem):
        return {k: v for k, v in item.raw.items() if k != "id"}
    return item_to_json(item)


def parse_item(data: dict[str, Any]) -> Item:
    """A server-sent item as a protocol item, or `OtherItem` when its type is not modelled (e.g. web_search_call)."""
    try:
        return item_from_json(data)
    except ProtocolError:
        return OtherItem(dict(data))


def build_responses_body(model: str, prompt: Prompt) -> dict[str, Any]:
    """The JSON body of `POST {base_url}/responses` exactly as spec 3.1 lists it (key order kept). Over the
    WebSocket transport the same fields are sent inside a `response.create` frame."""
    body: dict[str, Any] = {"model": model}
    if prompt.instructions:
        body["instructions"] = prompt.instructions
    body["input"] = [item_json(item) for item in prompt.input]
    body["tools"] = list(prompt.tools)
    body["tool_choice"] = "auto"
    body["parallel_tool_calls"] = prompt.parallel_tool_calls
    if prompt.reasoning is not None:
        body["reasoning"] = dict(prompt.reasoning)
    body["store"] = False
    body["stream"] = True
    body["include"] = ["reasoning.encrypted_content"] if prompt.reasoning is not None else []
    if prompt.service_tier:
        body["service_tier"] = prompt.service_tier
    if prompt.prompt_cache_key:
        body["prompt_cache_key"] = prompt.prompt_cache_key
    text: dict[str, Any] = {}
    if prompt.verbosity:
        text["verbosity"] = prompt.verbosity
    if prompt.output_schema is not None:
        text["format"] = {
            "type": "json_schema",
            "strict": prompt.output_schema_strict,
            "schema": prompt.output_schema,
            "name": OUTPUT_SCHEMA_NAME,
        }
    if text:
        body["text"] = text
    return body

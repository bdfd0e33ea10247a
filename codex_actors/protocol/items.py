"""Conversation items: the Responses API shapes of spec agent-core 1.4.

`ResponseItem` members are what history holds and what requests send as `input`; `ContentItem` members are
the parts of a message or of a tool output. A tool output (`function_call_output.output`,
`custom_tool_call_output.output`) is either a plain string or a list of content items.
"""

from __future__ import annotations

from typing import Any, ClassVar, Union

import attrs

from codex_actors.protocol.registry import ProtocolError, TaggedUnion, converter


class ContentItem:
    """Base of the content parts: input_text, input_image, output_text."""


class ResponseItem:
    """Base of the conversation items."""


CONTENT_ITEMS = TaggedUnion("content item", ContentItem)
RESPONSE_ITEMS = TaggedUnion("response item", ResponseItem)


@CONTENT_ITEMS.register
@attrs.frozen
class InputText(ContentItem):
    TYPE: ClassVar[str] = "input_text"
    text: str


@CONTENT_ITEMS.register
@attrs.frozen
class InputImage(ContentItem):
    """`image_url` is usually a `data:` URL; `detail` is auto | low | high | original."""

    TYPE: ClassVar[str] = "input_image"
    image_url: str
    detail: str | None = None


@CONTENT_ITEMS.register
@attrs.frozen
class OutputText(ContentItem):
    TYPE: ClassVar[str] = "output_text"
    text: str


ToolOutput = Union[str, list[ContentItem]]


def _structure_tool_output(data: Any, _type: Any) -> ToolOutput:
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        return [CONTENT_ITEMS.structure(part) for part in data]
    raise ProtocolError(f"tool output must be a string or a list of content items, got {type(data).__name__}")


def _unstructure_tool_output(value: ToolOutput) -> Any:
    if isinstance(value, str):
        return value
    return [CONTENT_ITEMS.unstructure(part) for part in value]


converter.register_structure_hook(ToolOutput, _structure_tool_output)
converter.register_unstructure_hook(ToolOutput, _unstructure_tool_output)


@RESPONSE_ITEMS.register
@attrs.frozen
class Message(ResponseItem):
    """role: user | assistant | developer | system; phase: commentary | final_answer (assistant only)."""

    TYPE: ClassVar[str] = "message"
    role: str
    content: list[ContentItem]
    end_turn: bool | None = None
    phase: str | None = None

    def text(self) -> str:
        """The concatenated text of the text parts (images left out)."""
        return "".join(part.text for part in self.content if isinstance(part, (InputText, OutputText)))


@RESPONSE_ITEMS.register
@attrs.frozen
class Reasoning(ResponseItem):
    """`summary` is a list of `{"type":"summary_text","text":...}`; `content` of reasoning_text / text parts."""

    TYPE: ClassVar[str] = "reasoning"
    summary: list[dict[str, Any]]
    content: list[dict[str, Any]] | None = None
    encrypted_content: str | None = None


@RESPONSE_ITEMS.register
@attrs.frozen
class FunctionCall(ResponseItem):
    """`arguments` is a JSON *string*, exactly as the model produced it."""

    TYPE: ClassVar[str] = "function_call"
    name: str
    arguments: str
    call_id: str
    namespace: str | None = None


@RESPONSE_ITEMS.register
@attrs.frozen
class FunctionCallOutput(ResponseItem):
    TYPE: ClassVar[str] = "function_call_output"
    call_id: str
    output: ToolOutput


@RESPONSE_ITEMS.register
@attrs.frozen
class CustomToolCall(ResponseItem):
    """A freeform tool call: `input` is raw text (e.g. a patch or a code-mode script)."""

    TYPE: ClassVar[str] = "custom_tool_call"
    call_id: str
    name: str
    input: str
    status: str | None = None


@RESPONSE_ITEMS.register
@attrs.frozen
class CustomToolCallOutput(ResponseItem):
    TYPE: ClassVar[str] = "custom_tool_call_output"
    call_id: str
    output: ToolOutput
    name: str | None = None


def item_from_json(data: Any) -> ResponseItem:
    """Structure one conversation item from its JSON object; raises ProtocolError."""
    return RESPONSE_ITEMS.structure(data)


def item_to_json(item: ResponseItem) -> dict[str, Any]:
    """The JSON object of one conversation item, `"type"` first."""
    return RESPONSE_ITEMS.unstructure(item)

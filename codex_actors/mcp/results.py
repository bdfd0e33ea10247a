"""CallToolResult conversions (spec agent-core 4.8 "Result to the model", code-mode 2.4 "MCP tools"). Pure.

`call_result_to_dict` gives the JSON-ready wire form that code mode resolves with and that
`mcp_tool_call_end.result.Ok` carries; `model_output` turns that dict into the `function_call_output`
payload the model reads.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_types import CallToolResult

from codex_actors.protocol.items import ContentItem, InputImage, InputText


def call_result_to_dict(result: CallToolResult) -> dict[str, Any]:
    """`{"content": [block, ...], "structuredContent": obj | None, "isError": bool, "_meta": obj | None}`,
    blocks in their MCP wire form (camelCase keys, unset fields left out)."""
    return {
        "content": [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content],
        "structuredContent": result.structured_content,
        "isError": bool(result.is_error),
        "_meta": result.meta,
    }


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def model_output(result: dict[str, Any]) -> tuple[str | list[ContentItem], bool]:
    """(output, success) for the model from a `call_result_to_dict` dict.

    `structuredContent` present -> its compact JSON text; else, when any block is an image, content items
    (`text` -> input_text, `image` -> input_image with a `data:` URL, other blocks -> input_text of their
    JSON); else the compact JSON of the `content` array. `success` is `not isError`.
    """
    success = not result.get("isError", False)
    if result.get("structuredContent") is not None:
        return _compact(result["structuredContent"]), success
    content = result.get("content", [])
    if not any(block.get("type") == "image" for block in content):
        return _compact(content), success
    items: list[ContentItem] = []
    for block in content:
        if block.get("type") == "text":
            items.append(InputText(text=block.get("text", "")))
        elif block.get("type") == "image":
            mime = block.get("mimeType") or "image/png"
            items.append(InputImage(image_url=f"data:{mime};base64,{block.get('data', '')}"))
        else:
            items.append(InputText(text=_compact(block)))
    return items, success

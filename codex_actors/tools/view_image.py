"""`view_image`: attach a local image file to the conversation (spec agent-core 4.7).

The file is sent as-is (no resizing: this project ships no image library); the MIME type comes from the
file's magic bytes, so a misnamed file is still labelled right and a non-image is refused.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import trio

from codex_actors.protocol import events, items
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult

MAX_IMAGE_BYTES = 20 * 1024 * 1024

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type of PNG, JPEG, GIF or WebP data from its first bytes; None for anything else."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_data_url(path: str) -> str:
    """Read an image file (at most 20 MiB) into a `data:<mime>;base64,...` URL.

    Raises ToolError naming the path when it is missing, not a file, unreadable, too large or not an image."""
    if not os.path.exists(path):
        raise ToolError(f"unable to locate image at `{path}`: No such file or directory")
    if not os.path.isfile(path):
        raise ToolError(f"image path `{path}` is not a file")
    try:
        size = os.path.getsize(path)
        if size > MAX_IMAGE_BYTES:
            raise ToolError(f"image `{path}` is too large ({size} bytes; the limit is {MAX_IMAGE_BYTES})")
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ToolError(f"unable to read image at `{path}`: {exc.strerror}") from None
    mime = sniff_image_type(data[:16])
    if mime is None:
        raise ToolError(f"`{path}` is not a supported image (PNG, JPEG, GIF or WebP)")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class ViewImageTool:
    """`{"path": str}` (relative to the turn cwd) -> `[{"type":"input_image","image_url":"data:...","detail":"high"}]`."""

    name = "view_image"
    kind = "function"
    parallel = True

    def spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.name,
            "description": "View a local image from the filesystem (only use if given a full filepath by the "
                           "user, and the image isn't already attached to the thread context within "
                           "<image ...> tags).",
            "strict": False,
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "required": ["path"],
                "properties": {"path": {"type": "string", "description": "Local filesystem path to an image file"}},
            },
        }

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        args = call.arguments()
        raw = args.get("path")
        if not isinstance(raw, str) or not raw:
            raise ToolError("failed to parse function arguments: missing field `path`")
        path = os.path.join(ctx.cwd, raw)
        url = await trio.to_thread.run_sync(image_data_url, path)
        await ctx.emit(events.ViewImageToolCall(call_id=call.call_id, path=path))
        return ToolResult([items.InputImage(image_url=url, detail="high")],
                          code_mode_value={"image_url": url, "detail": "high"})

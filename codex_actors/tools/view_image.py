"""`view_image`: attach a local image file to the conversation (spec agent-core 4.7).

The file is decoded with Pillow, so a misnamed file is still labelled right and a non-image (or a truncated
image) is refused with a message naming the path. An image that fits in 2048 x 768 pixels and is PNG, JPEG or
WebP is sent byte for byte; a larger one is scaled down to fit, keeping its aspect ratio, and re-encoded (JPEG at
quality 85 if it was a JPEG, else PNG); other formats (GIF, BMP, TIFF, ...) are re-encoded as PNG. The bounds and
the quality are codex-rs's (`codex-rs/utils/image`, `load_and_resize_to_fit`). Local images attached to a user
message (`-i`) go through the same function.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import trio

from codex_actors.protocol import events, items
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_WIDTH_PX = 2048
MAX_HEIGHT_PX = 768
JPEG_QUALITY = 85

# Formats the Responses API takes as they are (Pillow's format names → MIME types).
_PASS_THROUGH = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def _read(path: str) -> bytes:
    if not os.path.exists(path):
        raise ToolError(f"unable to locate image at `{path}`: No such file or directory")
    if not os.path.isfile(path):
        raise ToolError(f"image path `{path}` is not a file")
    try:
        size = os.path.getsize(path)
        if size > MAX_IMAGE_BYTES:
            raise ToolError(f"image `{path}` is too large ({size} bytes; the limit is {MAX_IMAGE_BYTES})")
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ToolError(f"unable to read image at `{path}`: {exc.strerror}") from None


def fit_image(data: bytes, *, name: str = "image") -> tuple[str, bytes]:
    """`(mime type, bytes)` of image `data` as it should be sent: unchanged when it is PNG / JPEG / WebP within
    MAX_WIDTH_PX x MAX_HEIGHT_PX, else scaled down to fit (never up) and re-encoded per the module rules.

    Raises ToolError naming `name` when `data` is not a decodable image (Pillow's decompression-bomb guard, about
    179 million pixels, counts as not decodable)."""
    # Imported here: Pillow costs ~30 ms to import and most sessions never see an image.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            source_format = image.format or ""
            if source_format in _PASS_THROUGH and image.width <= MAX_WIDTH_PX and image.height <= MAX_HEIGHT_PX:
                return _PASS_THROUGH[source_format], data
            image.thumbnail((MAX_WIDTH_PX, MAX_HEIGHT_PX), Image.Resampling.BILINEAR)
            out = io.BytesIO()
            if source_format == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
                return "image/jpeg", out.getvalue()
            if image.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):
                image = image.convert("RGBA")
            image.save(out, "PNG")
            return "image/png", out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ToolError(f"`{name}` is not a supported image: {detail}") from None


def image_data_url(path: str) -> str:
    """Read an image file (at most 20 MiB) into a `data:<mime>;base64,...` URL, fitted per `fit_image`. Blocking
    (decoding and scaling take tens of ms for a large image): call it from a worker thread.

    Raises ToolError naming the path when it is missing, not a file, unreadable, too large or not an image."""
    mime, data = fit_image(_read(path), name=path)
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

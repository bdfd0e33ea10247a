"""Output items, truncation and the model-facing content list (spec code-mode.md 1.1 header, 4.1-4.4)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs

from codex_actors.truncation import approx_tokens_from_bytes, fits, formatted_truncate, truncate_middle_bytes

DEFAULT_IMAGE_DETAIL = "high"
IMAGE_DETAILS = ("auto", "low", "high", "original")


@attrs.frozen
class TextItem:
    """An `InputText` output item (spec 4.1)."""

    text: str


@attrs.frozen
class ImageItem:
    """An `InputImage` output item; `detail` is one of auto|low|high|original or None (spec 4.1)."""

    image_url: str
    detail: str | None = None


OutputItem = TextItem | ImageItem


def item_from_json(value: dict[str, Any]) -> OutputItem:
    """Build an item from the runtime's JSON form `{"type": "text"|"image", ...}`; raises ValueError otherwise."""
    kind = value.get("type")
    if kind == "text":
        return TextItem(str(value["text"]))
    if kind == "image":
        return ImageItem(str(value["image_url"]), value.get("detail"))
    raise ValueError(f"unknown output item type {kind!r}")


def approx_tokens(byte_count: int) -> int:
    """Token estimate used by truncation: ceil(bytes / 4) (spec 4.3)."""
    return approx_tokens_from_bytes(byte_count)


def format_header(status: str, wall_time_s: float) -> str:
    """`<STATUS>\\nWall time <S.s> seconds\\nOutput:\\n` with the wall time in seconds to one decimal (spec 1.1)."""
    return f"{status}\nWall time {wall_time_s:.1f} seconds\nOutput:\n"


def truncate_items(items: Sequence[dict[str, Any]], max_tokens: int) -> list[dict[str, Any]]:
    """Fit wire content items into `max_tokens` (bytes = tokens * 4), per spec 4.3.

    All-text lists are returned unchanged when the "\\n"-joined text fits, else replaced by one item
    `Total output lines: <N>\\n\\n<middle-truncated text>`. With images, texts are paid for in order, the first
    that does not fit is middle-truncated, later ones are counted in `[omitted <k> text items ...]`; images are free.
    """
    budget = max(0, max_tokens) * 4
    texts = [item["text"] for item in items if item["type"] == "input_text"]
    if len(texts) == len(items):
        joined = "\n".join(texts)
        if fits(joined, max_tokens):
            return list(items)
        return [{"type": "input_text", "text": formatted_truncate(joined, max_tokens)}]
    kept: list[dict[str, Any]] = []
    omitted = 0
    for item in items:
        if item["type"] != "input_text":
            kept.append(item)
            continue
        text = item["text"]
        if not text:
            continue
        size = len(text.encode("utf-8"))
        if budget <= 0:
            omitted += 1
        elif size <= budget:
            kept.append(item)
            budget -= size
        else:
            kept.append({"type": "input_text", "text": truncate_middle_bytes(text, budget)})
            budget = 0
    if omitted:
        kept.append({"type": "input_text", "text": f"[omitted {omitted} text items ...]"})
    return kept


def wire_items(items: Iterable[OutputItem], *, supports_original_detail: bool = True) -> list[dict[str, Any]]:
    """Convert output items to Responses content items (spec 4.2 steps 1-2; an image without detail gets `high`)."""
    wire: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, TextItem):
            wire.append({"type": "input_text", "text": item.text})
            continue
        detail = item.detail or DEFAULT_IMAGE_DETAIL
        image: dict[str, Any] = {"type": "input_image", "image_url": item.image_url}
        if detail != "original" or supports_original_detail:
            image["detail"] = detail
        wire.append(image)
    return wire


def build_content_items(
    status: str,
    wall_time_s: float,
    items: Iterable[OutputItem],
    *,
    error_text: str | None = None,
    max_tokens: int,
    supports_original_detail: bool = True,
) -> list[dict[str, Any]]:
    """The full model-facing list for one exec/wait response (spec 4.2): header first, then truncated items,
    with `Script error:\\n<error_text>` last when the script failed."""
    wire = wire_items(items, supports_original_detail=supports_original_detail)
    if error_text is not None:
        wire.append({"type": "input_text", "text": f"Script error:\n{error_text}"})
    return [{"type": "input_text", "text": format_header(status, wall_time_s)}, *truncate_items(wire, max_tokens)]

"""Model-facing truncation of command output by an approximate token budget (spec 4.2 / 4.4).

Tokens are estimated as 4 bytes each (the estimate Codex uses). Text within budget is returned unchanged;
longer text becomes `Total output lines: N\n\n<head>…K tokens truncated…<tail>`, head and tail each taking
half of the byte budget and cut on character boundaries. Pure functions.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 4


def approx_token_count(text: str) -> int:
    """Estimated tokens in `text`: ceil(utf-8 bytes / 4)."""
    return (len(text.encode("utf-8")) + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def truncate_middle(text: str, max_tokens: int) -> str:
    """`text` if it fits `max_tokens`, else head + `…K tokens truncated…` + tail (no line-count header)."""
    data = text.encode("utf-8")
    budget = max(0, max_tokens) * BYTES_PER_TOKEN
    if len(data) <= budget:
        return text
    left_budget = budget // 2
    right_budget = budget - left_budget
    head = data[:left_budget].decode("utf-8", errors="ignore")
    tail = data[len(data) - right_budget:].decode("utf-8", errors="ignore") if right_budget else ""
    removed = len(data) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    removed_tokens = (removed + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN
    return f"{head}…{removed_tokens} tokens truncated…{tail}"


def formatted_truncate(text: str, max_tokens: int) -> str:
    """Spec 4.4 truncation: unchanged within budget, else `Total output lines: N` + blank line + middle cut."""
    if len(text.encode("utf-8")) <= max(0, max_tokens) * BYTES_PER_TOKEN:
        return text
    total_lines = len(text.splitlines())
    return f"Total output lines: {total_lines}\n\n{truncate_middle(text, max_tokens)}"

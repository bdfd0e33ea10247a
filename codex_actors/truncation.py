"""Middle truncation by an approximate token budget: the one implementation behind both specs that describe it
(agent-core.md 4.2 / 4.4 for command output, code-mode.md 4.3 for exec cell output).

Tokens are estimated as ceil(UTF-8 bytes / 4), the estimate Codex uses (codex-rs `codex-utils-output-truncation`).
Text within budget is returned unchanged; longer text keeps a head and a tail of half the byte budget each, cut
on character boundaries, joined by `…K tokens truncated…` (K = the removed bytes as tokens); the formatted form
puts `Total output lines: N\\n\\n` first, with N counted as Rust's `str::lines` does (`\\n`-separated, a final
newline ends the last line). Pure functions; imports nothing from the project.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 4


def approx_tokens_from_bytes(byte_count: int) -> int:
    """ceil(byte_count / 4)."""
    return (byte_count + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def approx_token_count(text: str) -> int:
    """Estimated tokens in `text`: ceil(utf-8 bytes / 4)."""
    return approx_tokens_from_bytes(len(text.encode("utf-8")))


def line_count(text: str) -> int:
    """Lines as Rust's `str::lines` counts them: "" -> 0, "a" -> 1, "a\\n" -> 1, "a\\nb" -> 2 (only `\\n` splits)."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def truncate_middle_bytes(text: str, max_bytes: int) -> str:
    """`text` if its UTF-8 form fits `max_bytes`, else head + `…K tokens truncated…` + tail, head and tail each
    at most half the budget (the tail gets the odd byte), cut on character boundaries."""
    data = text.encode("utf-8")
    budget = max(0, max_bytes)
    if len(data) <= budget:
        return text
    left_budget = budget // 2
    right_budget = budget - left_budget
    head = data[:left_budget].decode("utf-8", errors="ignore")
    tail = data[len(data) - right_budget:].decode("utf-8", errors="ignore") if right_budget else ""
    removed = len(data) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return f"{head}…{approx_tokens_from_bytes(removed)} tokens truncated…{tail}"


def truncate_middle(text: str, max_tokens: int) -> str:
    """`truncate_middle_bytes` with a budget of `max_tokens * 4` bytes (no line-count header)."""
    return truncate_middle_bytes(text, max(0, max_tokens) * BYTES_PER_TOKEN)


def fits(text: str, max_tokens: int) -> bool:
    """Whether `text` fits `max_tokens` unchanged."""
    return len(text.encode("utf-8")) <= max(0, max_tokens) * BYTES_PER_TOKEN


def formatted_truncate(text: str, max_tokens: int) -> str:
    """Unchanged within budget, else `Total output lines: N\\n\\n` + the middle-truncated text."""
    if fits(text, max_tokens):
        return text
    return f"Total output lines: {line_count(text)}\n\n{truncate_middle(text, max_tokens)}"

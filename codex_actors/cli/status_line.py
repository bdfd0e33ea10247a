"""How full the context window is and what the session has used, for `run`'s status line and `/status`.

Fed the `info` of `token_count` events (spec agent-core 2.7): `total_token_usage` is the session's cumulative
use, `last_token_usage.total_tokens` what the last request put in the window. Context left follows Codex's
TUI: `(window - 12000 baseline - used) / (window - 12000)`, rounded to a whole percentage, clamped to 0..100. The window
is the event's `model_context_window`, else `model_context_window` from config, else the window the session
itself assumes for auto-compaction (`session.compaction.DEFAULT_CONTEXT_WINDOW`), said so in `/status`.
"""

from __future__ import annotations

from typing import Any

from codex_actors.session.compaction import DEFAULT_CONTEXT_WINDOW

BASELINE_TOKENS = 12_000


class ContextMeter:
    """Token bookkeeping of one session. `configured_window`: tokens, or None when not configured."""

    def __init__(self, configured_window: int | None) -> None:
        self.window: int | None = configured_window
        self.used = 0  # tokens in the window after the last request
        self.session_tokens = 0  # total_tokens summed over the session

    def set_window(self, window: int | None) -> None:
        if window:
            self.window = int(window)

    def update(self, info: dict[str, Any] | None) -> None:
        """Take a `token_count` event's `info` (None or partial: what is missing is left as it was)."""
        info = info or {}
        self.set_window(info.get("model_context_window"))
        last = info.get("last_token_usage") or {}
        total = info.get("total_token_usage") or {}
        if isinstance(last.get("total_tokens"), int):
            self.used = last["total_tokens"]
        if isinstance(total.get("total_tokens"), int):
            self.session_tokens = total["total_tokens"]

    @property
    def effective_window(self) -> int:
        return self.window or DEFAULT_CONTEXT_WINDOW

    def percent_left(self) -> int:
        """Whole percent of the window left (0..100)."""
        usable = self.effective_window - BASELINE_TOKENS
        if usable <= 0:
            return 0
        return max(0, min(100, round((usable - self.used) * 100 / usable)))

    def describe(self) -> list[str]:
        """The status-line parts: `["87% context left", "12,345 tokens"]`."""
        return [f"{self.percent_left()}% context left", f"{self.session_tokens:,} tokens"]

    def status_rows(self) -> list[tuple[str, str]]:
        """`/status` rows: the context window and the session's tokens."""
        window = f"{self.effective_window:,} tokens" + ("" if self.window else " (assumed; set model_context_window)")
        return [("context window", f"{self.percent_left()}% left ({self.used:,} used of {window})"),
                ("tokens used", f"{self.session_tokens:,}")]

"""Model-facing truncation of command output by an approximate token budget (spec agent-core 4.2 / 4.4).

The arithmetic lives in `codex_actors.truncation`, shared with code mode's exec output (code-mode.md 4.3).
"""

from __future__ import annotations

from codex_actors.truncation import BYTES_PER_TOKEN, approx_token_count, formatted_truncate, truncate_middle

__all__ = ["BYTES_PER_TOKEN", "approx_token_count", "formatted_truncate", "truncate_middle"]

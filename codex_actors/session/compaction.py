"""Local compaction (spec agent-core 2.6, method A): ask the model for a hand-off summary, then rebuild history
from the most recent user messages plus that summary. The request itself is made by the turn runner; this
module holds the prompt, the trigger arithmetic and the history rebuild as pure functions."""

from __future__ import annotations

from codex_actors.protocol import items
from codex_actors.session.history import estimate_tokens
from codex_actors.session.persistence.resume import CONTEXT_MESSAGE_PREFIXES

COMPACT_PROMPT = """You are performing a CONTEXT CHECKPOINT COMPACTION. Create a handoff summary for another LLM \
that will resume the task.

Include:
- Current progress and key decisions made
- Important context, constraints, or user preferences
- What remains to be done (clear next steps)
- Any critical data, examples, or references needed to continue

Be concise, structured, and focused on helping the next LLM seamlessly continue the work."""

SUMMARY_PREFIX = """Another language model started to solve this problem and produced a summary of its thinking \
process. You also have access to the state of the tools that were used by that language model. Use this to build \
on the work that has already been done and avoid duplicating work. Here is the summary produced by the other \
language model, use the information in this summary to assist with your own analysis:"""

USER_MESSAGE_BUDGET_TOKENS = 20_000
DEFAULT_CONTEXT_WINDOW = 272_000



def auto_compact_limit(context_window: int | None, configured_limit: int | None) -> int:
    """Tokens: min(model_auto_compact_token_limit if set, 90% of the context window)."""
    window = context_window or DEFAULT_CONTEXT_WINDOW
    limit = window * 9 // 10
    return min(limit, configured_limit) if configured_limit else limit


def oversized_input(message: items.Message, context_window: int | None, configured_limit: int | None) -> str | None:
    """The user-facing error for a new user message whose text alone reaches the auto-compact limit (tokens,
    estimated at 4 bytes each; images are not counted), else None. Such a message could never be sent whole:
    compaction would keep only its first 20000 tokens (spec 2.6 step 3), so the turn is refused instead."""
    text_bytes = sum(len(part.text.encode()) for part in message.content if isinstance(part, items.InputText))
    tokens = (text_bytes + 3) // 4
    limit = auto_compact_limit(context_window, configured_limit)
    if tokens < limit:
        return None
    return (f"the input is too long for the model: about {tokens:,} tokens ({text_bytes:,} bytes), and at most "
            f"{limit:,} fit (model_auto_compact_token_limit, or 90% of the "
            f"{context_window or DEFAULT_CONTEXT_WINDOW:,}-token context window); nothing was sent")


def is_real_user_message(item: items.ResponseItem) -> bool:
    """A user message the person typed (not an injected context block, nor an earlier summary)."""
    if not isinstance(item, items.Message) or item.role != "user":
        return False
    text = item.text()
    return not text.lstrip().startswith(CONTEXT_MESSAGE_PREFIXES) and not text.startswith(SUMMARY_PREFIX)


def compaction_request_input(history: list[items.ResponseItem]) -> list[items.ResponseItem]:
    """The input of the summarisation request: the history plus the compaction prompt as a user message."""
    return [*history, items.Message(role="user", content=[items.InputText(COMPACT_PROMPT)])]


def shortened_message_note(history: list[items.ResponseItem], replacement: list[items.ResponseItem]) -> str | None:
    """What a user is told when `compacted_history` kept only the start of one of their messages (None when
    every kept message is whole): the truncated one is the oldest kept, the first item of `replacement`."""
    kept = replacement[0] if len(replacement) > 1 else None
    if kept is None or not is_real_user_message(kept):
        return None
    kept_text = kept.text()  # type: ignore[attr-defined]
    for original in reversed([i for i in history if is_real_user_message(i)]):
        text = original.text()  # type: ignore[attr-defined]
        if text != kept_text and text.startswith(kept_text):
            return (f"compaction kept only the first {len(kept_text):,} of {len(text):,} characters of a message "
                    f"({USER_MESSAGE_BUDGET_TOKENS:,} tokens of user messages are kept)")
        if text == kept_text:
            return None
    return None


def compacted_history(history: list[items.ResponseItem], summary: str) -> list[items.ResponseItem]:
    """The most recent real user messages (newest first, at most 20000 tokens in all, the oldest one that does
    not fit truncated), in chronological order, then one user message `SUMMARY_PREFIX + "\\n" + summary`."""
    kept: list[items.ResponseItem] = []
    budget = USER_MESSAGE_BUDGET_TOKENS
    for item in reversed([i for i in history if is_real_user_message(i)]):
        cost = estimate_tokens(item)
        if cost <= budget:
            kept.append(item)
            budget -= cost
            continue
        if budget > 0:
            text = item.text()[: budget * 4]  # type: ignore[attr-defined]
            kept.append(items.Message(role="user", content=[items.InputText(text)]))
        break
    kept.reverse()
    kept.append(items.Message(role="user", content=[items.InputText(f"{SUMMARY_PREFIX}\n{summary}")]))
    return kept

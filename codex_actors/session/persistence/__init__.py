"""Session persistence: rollout files and resume, history.jsonl, AGENTS.md loading, the notify program
(spec agent-core 7.4, 7.5, 7.7, 8)."""

from codex_actors.session.persistence.agents_md import (
    PROJECT_DOC_SEPARATOR,
    agents_md_message_text,
    discover_project_docs,
    find_project_root,
    load_global_instructions,
    load_project_docs,
    load_user_instructions,
)
from codex_actors.session.persistence.history import HistoryEntry, HistoryError, HistoryLog, HistoryMetadata
from codex_actors.session.persistence.listing import RolloutSummary, find_rollout, iter_rollout_paths, list_rollouts
from codex_actors.session.persistence.notify import NotifyError, notify_payload, spawn_notify
from codex_actors.session.persistence.resume import ResumedRollout, RolloutLine, read_rollout, rebuild_history
from codex_actors.session.persistence.rollout import (
    Flush,
    Record,
    RolloutError,
    RolloutItem,
    RolloutRecorder,
    compacted,
    event_msg,
    response_item,
    rollout_path,
    should_persist,
    turn_context,
)

__all__ = [
    "PROJECT_DOC_SEPARATOR",
    "Flush",
    "HistoryEntry",
    "HistoryError",
    "HistoryLog",
    "HistoryMetadata",
    "NotifyError",
    "Record",
    "ResumedRollout",
    "RolloutError",
    "RolloutItem",
    "RolloutLine",
    "RolloutRecorder",
    "RolloutSummary",
    "agents_md_message_text",
    "compacted",
    "discover_project_docs",
    "event_msg",
    "find_project_root",
    "find_rollout",
    "iter_rollout_paths",
    "list_rollouts",
    "load_global_instructions",
    "load_project_docs",
    "load_user_instructions",
    "notify_payload",
    "read_rollout",
    "rebuild_history",
    "response_item",
    "rollout_path",
    "should_persist",
    "spawn_notify",
    "turn_context",
]

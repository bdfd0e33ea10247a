"""The session actor: turn loop, history and context, compaction, rollout files."""

"""Threads: the thread manager (many live sessions in one actor) and the stored-thread catalogue (list, read,
archive, names) that the front ends (`exec`, `app-server`, `mcp-server`) share."""

from codex_actors.threads.manager import ThreadHandle, ThreadInfo, ThreadManager, UnknownThread, open_thread_manager

__all__ = ["ThreadHandle", "ThreadInfo", "ThreadManager", "UnknownThread", "open_thread_manager"]

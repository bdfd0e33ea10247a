"""Process actors and the Linux sandbox (spec agent-core.md sections 4.2-4.4 and 5).

Layering inside this package (arrows point down; nothing here imports `session/` or `tools/`):

    process.py     ProcessActor: one child process tree, its output buffers and its lifetime (trio)
    spawn.py       the argv that starts a command through the launcher
    sandbox.py     the launcher (spawn.launcher_argv): reaper + sandbox, then exec (no trio)
      reaping.py   waits, the SIGTERM/SIGKILL ladder, the stop signal, the lifeline
      namespaces.py, mounts.py, landlock.py, capabilities.py, seccomp.py   kernel mechanisms, small ctypes wrappers
      denials.py   `--log-denials`: the seccomp listener served by the sandbox's PID 1
    policy.py      SandboxPolicy: what a command may touch (pure)
    buffer.py, truncation.py              pure output handling

The launcher must start fast and imports only the standard library, so this `__init__` re-exports lazily.
"""

from __future__ import annotations

_EXPORTS = {
    "HeadTailBuffer": "codex_actors.exec.buffer",
    "SandboxPolicy": "codex_actors.exec.policy",
    "SandboxUnavailable": "codex_actors.exec.policy",
    "ProcessActor": "codex_actors.exec.process",
    "ProcessSpec": "codex_actors.exec.process",
    "Collect": "codex_actors.exec.process",
    "WriteStdin": "codex_actors.exec.process",
    "Terminate": "codex_actors.exec.process",
    "Chunk": "codex_actors.exec.process",
    "StdinClosed": "codex_actors.exec.process",
    "run_command": "codex_actors.exec.process",
    "CommandResult": "codex_actors.exec.process",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:  # neither `typing` nor `importlib` at import: they cost the launcher
    import importlib

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'codex_actors.exec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

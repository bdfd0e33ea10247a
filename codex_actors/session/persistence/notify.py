"""The `notify` program run after each completed turn (spec agent-core 7.5).

The configured argv gets one extra argument, a JSON string with kebab-case keys:
`{"type":"agent-turn-complete","thread-id":...,"turn-id":...,"cwd":...,"client":... (only when known),
"input-messages":[...],"last-assistant-message":... or null}`. stdin/stdout/stderr go to /dev/null. The turn
does not wait for it; a reaper task in the caller's nursery (the session's) waits for the exit so no zombie is
left, and if that nursery is cancelled the program gets `grace_s` seconds to finish before it is killed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence

import trio

DEFAULT_GRACE_S = 2.0


class NotifyError(OSError):
    """The notify program could not be started; the message names it."""


def notify_payload(
    *,
    thread_id: str,
    turn_id: str,
    cwd: str | os.PathLike[str],
    input_messages: Sequence[str],
    last_assistant_message: str | None,
    client: str | None = None,
) -> str:
    """The JSON argument of spec 7.5 (compact, keys in the spec's order; `client` omitted when None)."""
    payload: dict[str, object] = {
        "type": "agent-turn-complete",
        "thread-id": thread_id,
        "turn-id": turn_id,
        "cwd": os.fspath(cwd),
    }
    if client is not None:
        payload["client"] = client
    payload["input-messages"] = list(input_messages)
    payload["last-assistant-message"] = last_assistant_message
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def spawn_notify(
    nursery: trio.Nursery, argv: Sequence[str], payload: str, *, grace_s: float = DEFAULT_GRACE_S
) -> int:
    """Start `argv + [payload]` and return its pid at once; a task in `nursery` reaps it.

    Raises ValueError for an empty argv and NotifyError when the program cannot be started. The program's
    exit status is not reported (spec: not awaited).
    """
    if not argv:
        raise ValueError("notify is configured with an empty command")
    try:
        process = await trio.lowlevel.open_process(
            [*argv, payload],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise NotifyError(exc.errno, f"notify program {argv[0]!r} could not be started: {exc.strerror or exc}") from exc
    nursery.start_soon(_reap, process, grace_s, name=f"notify-reaper[{process.pid}]")
    return process.pid


async def _reap(process: trio.Process, grace_s: float) -> None:
    try:
        await process.wait()
    finally:
        if process.returncode is None:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(grace_s):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()

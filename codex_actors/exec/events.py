"""Event dicts for command execution, shaped as spec 1.3 (`exec_command_begin`, `exec_command_output_delta`,
`terminal_interaction`, `exec_command_end`). Plain dicts with a `"type"` key; pure functions."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

DELTA_CHUNK_BYTES = 8 * 1024
MAX_DELTA_EVENTS = 10_000


def exec_command_begin(
    *, call_id: str, turn_id: str, command: Sequence[str], cwd: str, source: str, process_id: int | None = None,
    interaction_input: str | None = None,
) -> dict[str, Any]:
    """`source` is `agent`, `user_shell`, `unified_exec_startup` or `unified_exec_interaction`."""
    event: dict[str, Any] = {
        "type": "exec_command_begin",
        "call_id": call_id,
        "turn_id": turn_id,
        "command": list(command),
        "cwd": cwd,
        "parsed_cmd": [],
        "source": source,
    }
    if process_id is not None:
        event["process_id"] = str(process_id)
    if interaction_input is not None:
        event["interaction_input"] = interaction_input
    return event


def output_deltas(call_id: str, stream: str, data: bytes) -> list[dict[str, Any]]:
    """`exec_command_output_delta` events for `data`, one per <= 8 KiB slice, `chunk` base64-encoded."""
    return [
        {
            "type": "exec_command_output_delta",
            "call_id": call_id,
            "stream": stream,
            "chunk": base64.b64encode(data[i:i + DELTA_CHUNK_BYTES]).decode("ascii"),
        }
        for i in range(0, len(data), DELTA_CHUNK_BYTES)
    ]


def terminal_interaction(*, call_id: str, process_id: int, stdin: str) -> dict[str, Any]:
    return {"type": "terminal_interaction", "call_id": call_id, "process_id": str(process_id), "stdin": stdin}


def exec_command_end(
    begin: dict[str, Any], *, stdout: bytes, stderr: bytes, aggregated: bytes, exit_code: int, duration_s: float,
    formatted_output: str, status: str | None = None,
) -> dict[str, Any]:
    """The begin event's fields plus results; `duration` as serde's `{"secs", "nanos"}`; `status` defaults
    to `completed` for exit code 0 and `failed` otherwise."""
    secs = int(max(0.0, duration_s))
    nanos = int(round((max(0.0, duration_s) - secs) * 1e9))
    if nanos >= 1_000_000_000:
        secs, nanos = secs + 1, nanos - 1_000_000_000
    event = {**begin, "type": "exec_command_end"}
    event.update(
        stdout=decode(stdout),
        stderr=decode(stderr),
        aggregated_output=decode(aggregated),
        exit_code=exit_code,
        duration={"secs": secs, "nanos": nanos},
        formatted_output=formatted_output,
        status=status or ("completed" if exit_code == 0 else "failed"),
    )
    return event


def decode(data: bytes) -> str:
    """Command output as text: UTF-8 with invalid bytes replaced."""
    return data.decode("utf-8", errors="replace")

"""What a session needs to know that the config decides: model, policies, instructions, limits."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class SessionSettings:
    """Resolved per-session settings.

    - `cwd`: absolute path string of the working root.
    - `approval_policy`: "untrusted" | "on-failure" | "on-request" | "never" | GranularApproval.
    - `sandbox_policy`: SandboxPolicy JSON (`{"type": "workspace-write", "writable_roots": [...], ...}`).
    - `context_window` / `auto_compact_limit` / `max_tool_calls_per_turn`: tokens / tokens / calls.
    - `user_instructions`: the AGENTS.md text (already loaded), or None.
    - `output_schema`: JSON schema for the final answer (`--output-schema`), or None.
    - `verbosity`: config `model_verbosity` ("low" | "medium" | "high"), sent with every request, or None.
    - `originator`: "codex_exec" or "codex_cli" (rollout session_meta and request header).
    """

    cwd: str
    model: str
    provider_id: str
    approval_policy: Any  # a policy name, or a GranularApproval (codex_actors.tools.approvals.policy)
    sandbox_policy: dict[str, Any]
    instructions: str = ""
    developer_instructions: str | None = None
    user_instructions: str | None = None
    reasoning: dict[str, Any] | None = None
    context_window: int | None = None
    auto_compact_limit: int | None = None
    max_tool_calls_per_turn: int = 200
    output_schema: dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    originator: str = "codex_exec"
    notify: tuple[str, ...] = ()
    verbosity: str | None = None

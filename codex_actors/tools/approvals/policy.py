"""Approval policies and sandbox modes as plain values (spec agent-core 5.1, 5.2)."""

from __future__ import annotations

from typing import Any, Literal, Union

import attrs

from codex_actors.config.schema import APPROVAL_POLICIES

UNTRUSTED, ON_FAILURE, ON_REQUEST, NEVER = APPROVAL_POLICIES

READ_ONLY = "read-only"
WORKSPACE_WRITE = "workspace-write"
DANGER_FULL_ACCESS = "danger-full-access"
EXTERNAL_SANDBOX = "external-sandbox"
SANDBOX_MODES = (READ_ONLY, WORKSPACE_WRITE, DANGER_FULL_ACCESS, EXTERNAL_SANDBOX)
#: Modes in which the filesystem is unrestricted (no platform sandbox wraps the command).
UNRESTRICTED_MODES = frozenset({DANGER_FULL_ACCESS, EXTERNAL_SANDBOX})


@attrs.frozen
class GranularApproval:
    """The `granular{...}` approval policy: per category, True = may prompt, False = auto-reject (spec 5.2).

    Commands use `sandbox_approval` for heuristic prompts (escalation, dangerous commands, sandbox-denial
    retries) and `rules` for prompts demanded by an execpolicy rule; patches use `sandbox_approval`.
    """

    sandbox_approval: bool = True
    rules: bool = True
    skill_approval: bool = True
    request_permissions: bool = True
    mcp_elicitations: bool = True


ApprovalPolicy = Union[str, GranularApproval]


def approval_policy_from_config(value: str | dict[str, Any]) -> ApprovalPolicy:
    """The policy of an `approval_policy` config value (already checked by the config schema): a name, or
    Codex's `{"granular": {...}}` table as a GranularApproval (absent optional flags are False, as in Codex)."""
    if isinstance(value, dict):
        flags = value["granular"]
        return GranularApproval(**{field: bool(flags.get(field, False)) for field in attrs.fields_dict(GranularApproval)})
    return value


def approval_policy_json(policy: ApprovalPolicy) -> str | dict[str, Any]:
    """The config/rollout spelling of a policy: the name, or `{"granular": {...}}`."""
    return {"granular": attrs.asdict(policy)} if isinstance(policy, GranularApproval) else policy


def check_approval_policy(policy: ApprovalPolicy) -> ApprovalPolicy:
    """Return `policy` if it is one of `APPROVAL_POLICIES` or a `GranularApproval`; else raise ValueError."""
    if isinstance(policy, GranularApproval) or policy in APPROVAL_POLICIES:
        return policy
    raise ValueError(
        f"unknown approval policy {policy!r}; expected one of {', '.join(APPROVAL_POLICIES)} or granular"
    )


def check_sandbox_mode(mode: str) -> str:
    """Return `mode` (a SandboxPolicy `type`) if known; else raise ValueError."""
    if mode in SANDBOX_MODES:
        return mode
    raise ValueError(f"unknown sandbox mode {mode!r}; expected one of {', '.join(SANDBOX_MODES)}")


def policy_name(policy: ApprovalPolicy) -> str:
    """The config spelling of a policy ("granular" for `GranularApproval`)."""
    return "granular" if isinstance(policy, GranularApproval) else policy


Outcome = Literal["allow", "prompt", "forbidden"]

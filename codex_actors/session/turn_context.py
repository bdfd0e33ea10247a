"""Per-turn context changes (spec agent-core 1.2 `user_turn` / `override_turn_context`, 2.1 step 1): a turn's
cwd, policies and model, checked and applied to the session's settings, which later turns keep.

Sans-I/O: `apply_turn_context` returns new settings or raises `TurnContextError` naming the bad field;
`context_update_items` words what changed for the model (the permissions block, the environment block).
"""

from __future__ import annotations

import json
import os
from typing import Any

import attrs

from codex_actors.config import schema
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.protocol import items
from codex_actors.session.context import environment_context, permissions_text
from codex_actors.session.settings import SessionSettings
from codex_actors.tools.approvals.policy import GranularApproval, approval_policy_from_config


class TurnContextError(ValueError):
    """A turn context field is invalid; the message names the field and what it must be."""


def apply_turn_context(
    settings: SessionSettings,
    *,
    cwd: str | None = None,
    approval_policy: str | None = None,
    sandbox_policy: dict[str, Any] | None = None,
    model: str | None = None,
    effort: str | None = None,
    summary: str | None = None,
) -> SessionSettings:
    """`settings` with every given (non-None) field replaced. `cwd` must be an absolute path to a directory;
    `approval_policy` a policy name, Codex's `{"granular": {...}}` or a GranularApproval; `sandbox_policy` a SandboxPolicy JSON object (stored normalized);
    `effort` / `summary` change the reasoning settings of a model that has them (ignored for one that has
    none, whose requests carry no reasoning). Raises TurnContextError."""
    changes: dict[str, Any] = {}
    if cwd is not None:
        if not (isinstance(cwd, str) and os.path.isabs(cwd) and os.path.isdir(cwd)):
            raise TurnContextError(f"cwd must be an absolute path to an existing directory, got {cwd!r}")
        changes["cwd"] = os.path.normpath(cwd)
    if approval_policy is not None:
        if not isinstance(approval_policy, GranularApproval):
            problem = schema.approval_policy(approval_policy)
            if problem is not None:
                raise TurnContextError(f"unknown approval_policy {approval_policy!r}; expected {problem}")
            approval_policy = approval_policy_from_config(approval_policy)
        changes["approval_policy"] = approval_policy
    if sandbox_policy is not None:
        try:
            changes["sandbox_policy"] = SandboxPolicy.from_json(sandbox_policy).to_json()
        except (ValueError, TypeError, AttributeError) as exc:
            raise TurnContextError(f"invalid sandbox_policy {json.dumps(sandbox_policy)}: {exc}") from None
    if model is not None:
        if not isinstance(model, str) or not model.strip():
            raise TurnContextError(f"model must be a non-empty string, got {model!r}")
        changes["model"] = model
    if settings.reasoning is not None and (effort is not None or summary is not None):
        reasoning = dict(settings.reasoning)
        if effort is not None:
            reasoning["effort"] = effort
        if summary is not None:
            reasoning["summary"] = summary
        changes["reasoning"] = reasoning
    return attrs.evolve(settings, **changes) if changes else settings


def context_key(settings: SessionSettings) -> tuple[str, Any, str]:
    """What the model has been told about its context: cwd, approval policy, sandbox policy (as JSON text)."""
    return settings.cwd, settings.approval_policy, json.dumps(settings.sandbox_policy, sort_keys=True)


def context_update_items(before: tuple[str, str, str], settings: SessionSettings) -> list[items.ResponseItem]:
    """The messages telling the model what changed since `before` (a `context_key`): a developer message with
    the new permissions block when a policy changed, a user message with the new environment block when the cwd
    changed (spec 2.2 step 2: later turns get only the diffs). Empty when nothing changed."""
    cwd, approval_policy, sandbox_json = context_key(settings)
    out: list[items.ResponseItem] = []
    if (approval_policy, sandbox_json) != before[1:]:
        text = permissions_text(settings.sandbox_policy, settings.approval_policy)
        out.append(items.Message(role="developer", content=[items.InputText(text)]))
    if cwd != before[0]:
        out.append(items.Message(role="user", content=[items.InputText(environment_context(cwd))]))
    return out

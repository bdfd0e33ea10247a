"""The initial context of a conversation (spec agent-core 2.2 step 2): a developer message with the
permissions block and a user message with the AGENTS.md and environment blocks."""

from __future__ import annotations

import datetime
import os
from typing import Any

from codex_actors.protocol import items
from codex_actors.session.persistence.agents_md import agents_md_message_text
from codex_actors.tools.approvals.policy import GranularApproval

_SANDBOX_TEXT = {
    "read-only": "The sandbox only permits reading files. Commands cannot write anywhere.",
    "workspace-write": (
        "The sandbox permits reading files everywhere and editing files in the workspace (the cwd and the "
        "writable roots listed below); `.git` and `.codex-actors` stay read-only."
    ),
    "danger-full-access": "There is no sandbox: commands can read and write anywhere.",
}

_APPROVAL_TEXT = {
    "untrusted": (
        "Approval policy is `untrusted`: only known-safe read-only commands run automatically; the user is asked "
        "to approve every other command and every patch."
    ),
    "on-failure": (
        "Approval policy is `on-failure`: commands run in the sandbox; if one fails because of the sandbox, the "
        "user is asked whether to rerun it without."
    ),
    "on-request": (
        "Approval policy is `on-request`: commands run in the sandbox without asking. When a command needs more "
        "(network, writing outside the writable roots), rerun it with `sandbox_permissions` set to "
        "\"require_escalated\" and a one-sentence `justification`; the user will be asked."
    ),
    "never": (
        "Approval policy is `never`: the user is never asked. Anything that would need approval is rejected; work "
        "within the sandbox and report what could not be done."
    ),
}


def permissions_text(sandbox_policy: dict[str, Any], approval_policy: Any) -> str:
    """The `<permissions instructions>` block for a SandboxPolicy JSON object and an approval policy (a name
    or a GranularApproval)."""
    mode = sandbox_policy.get("type", "read-only")
    network = "enabled" if sandbox_policy.get("network_access") or mode == "danger-full-access" else "restricted"
    lines = [
        "<permissions instructions>",
        f"Filesystem sandboxing: `{mode}`. {_SANDBOX_TEXT.get(mode, '')}",
        f"Network access is {network}.",
        _approval_text(approval_policy),
    ]
    roots = sandbox_policy.get("writable_roots") or []
    if mode == "workspace-write" and roots:
        lines.append("Writable roots: " + ", ".join(f"`{r}`" for r in roots))
    lines.append("</permissions instructions>")
    return "\n".join(lines)


_GRANULAR_LABELS = (("sandbox_approval", "sandbox escalations and risky commands"),
                    ("rules", "commands an execpolicy rule asks about"))


def _approval_text(policy: Any) -> str:
    if isinstance(policy, GranularApproval):
        text = _APPROVAL_TEXT["on-request"].replace("`on-request`", "granular (as `on-request`)")
        refused = [label for name, label in _GRANULAR_LABELS if not getattr(policy, name)]
        return text + (f" Never asked, rejected instead: {', '.join(refused)}." if refused else "")
    return _APPROVAL_TEXT.get(policy, f"Approval policy is `{policy}`.")


def environment_context(cwd: str, shell: str | None = None, now: datetime.datetime | None = None) -> str:
    """The `<environment_context>` block: cwd, shell name, current date and timezone."""
    now = now or datetime.datetime.now().astimezone()
    shell_name = os.path.basename(shell or os.environ.get("SHELL") or "bash")
    timezone = _timezone_name()
    return (
        "<environment_context>\n"
        f"  <cwd>{cwd}</cwd>\n"
        f"  <shell>{shell_name}</shell>\n"
        f"  <current_date>{now.date().isoformat()}</current_date>\n"
        f"  <timezone>{timezone}</timezone>\n"
        "</environment_context>"
    )


def _timezone_name() -> str:
    tz = os.environ.get("TZ")
    if tz:
        return tz.lstrip(":")
    try:
        link = os.readlink("/etc/localtime")
        return link.split("zoneinfo/", 1)[1]
    except (OSError, IndexError):
        return "UTC"


def initial_context(
    *,
    cwd: str,
    sandbox_policy: dict[str, Any],
    approval_policy: str,
    developer_instructions: str | None = None,
    user_instructions: str | None = None,
) -> list[items.ResponseItem]:
    """Up to two messages: developer (permissions + developer_instructions) and user (AGENTS.md +
    environment)."""
    developer_parts = [items.InputText(permissions_text(sandbox_policy, approval_policy))]
    if developer_instructions:
        developer_parts.append(items.InputText(developer_instructions))
    user_parts = []
    if user_instructions:
        user_parts.append(items.InputText(agents_md_message_text(cwd, user_instructions)))
    user_parts.append(items.InputText(environment_context(cwd)))
    return [
        items.Message(role="developer", content=developer_parts),
        items.Message(role="user", content=user_parts),
    ]

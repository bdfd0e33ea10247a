"""Approval decisions for commands and patches (spec agent-core 5.2, 5.3): pure logic, no I/O.

`decide_command` / `decide_patch` turn a request plus the approval policy and sandbox mode into a `Decision`
(allow / prompt / forbidden); `is_sandbox_denial` classifies a failed sandboxed run; `ApprovalCache` holds a
session's `approved_for_session` answers. The session actor drives prompts and retries from these.
"""

from codex_actors.exec.policy import WritableRoot
from codex_actors.tools.approvals.cache import ApprovalCache, CommandKey
from codex_actors.tools.approvals.command_split import (
    SplitCommand,
    split_for_evaluation,
)
from codex_actors.tools.approvals.decide import (
    EMPTY_PATCH_REASON,
    PATCH_OUTSIDE_PROJECT_REASON,
    PATCH_READ_ONLY_REASON,
    PROMPT_CONFLICT_REASON,
    RETRY_WITHOUT_SANDBOX_REASON,
    Decision,
    RuleMatch,
    command_might_be_dangerous,
    decide_command,
    decide_patch,
    escalation_refused_message,
    is_sandbox_denial,
    offers_unsandboxed_retry,
)
from codex_actors.tools.approvals.policy import (
    APPROVAL_POLICIES,
    SANDBOX_MODES,
    GranularApproval,
)
from codex_actors.tools.approvals.safe_commands import is_known_safe_command

__all__ = [
    "APPROVAL_POLICIES",
    "EMPTY_PATCH_REASON",
    "PATCH_OUTSIDE_PROJECT_REASON",
    "PATCH_READ_ONLY_REASON",
    "PROMPT_CONFLICT_REASON",
    "RETRY_WITHOUT_SANDBOX_REASON",
    "SANDBOX_MODES",
    "ApprovalCache",
    "CommandKey",
    "Decision",
    "GranularApproval",
    "RuleMatch",
    "SplitCommand",
    "WritableRoot",
    "command_might_be_dangerous",
    "decide_command",
    "decide_patch",
    "escalation_refused_message",
    "is_known_safe_command",
    "is_sandbox_denial",
    "offers_unsandboxed_retry",
    "split_for_evaluation",
]

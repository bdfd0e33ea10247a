"""Deciding whether a command or a patch may run, must be approved, or is refused (spec agent-core 5.3).

Pure functions over argv / paths and policy values; nothing here touches a process or the user. The session
turns a `Decision` into action: "allow" runs, "prompt" emits an approval request, "forbidden" sends
`Decision.reason` back to the model as the tool output.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

import attrs

from codex_actors.exec.policy import WritableRoot
from codex_actors.tools.approvals.command_split import (
    NotPlain,
    shell_script,
    split_for_evaluation,
    split_plain_script,
)
from codex_actors.tools.approvals.policy import (
    DANGER_FULL_ACCESS,
    NEVER,
    ON_FAILURE,
    ON_REQUEST,
    READ_ONLY,
    UNRESTRICTED_MODES,
    UNTRUSTED,
    ApprovalPolicy,
    GranularApproval,
    Outcome,
    check_approval_policy,
    check_sandbox_mode,
    policy_name,
)
from codex_actors.tools.approvals.safe_commands import (
    is_known_safe_command,
    normalize_shell,
)

PROMPT_CONFLICT_REASON = "approval required by policy, but approval policy is never"
PATCH_OUTSIDE_PROJECT_REASON = "writing outside of the project; rejected by user approval settings"
PATCH_READ_ONLY_REASON = "writing is blocked by read-only sandbox; rejected by user approval settings"
EMPTY_PATCH_REASON = "empty patch"
RETRY_WITHOUT_SANDBOX_REASON = "command failed; retry without sandbox?"
SANDBOX_DENIAL_KEYWORDS = (
    "operation not permitted",
    "permission denied",
    "read-only file system",
    "seccomp",
    "sandbox",
    "landlock",
    "failed to write file",
)
#: Exit codes that on their own say "shell misuse / not executable / not found", not "sandbox".
NON_DENIAL_EXIT_CODES = frozenset({2, 126, 127})
RULE_DECISIONS = ("allow", "prompt", "forbidden")
_STRICTNESS = {"allow": 0, "prompt": 1, "forbidden": 2}


@attrs.frozen
class Decision:
    """What to do with a command or patch.

    `outcome`: "allow" | "prompt" | "forbidden". `reason`: for "forbidden" the message the model receives;
    for "prompt" an optional justification to show the user (from a rule); None otherwise.
    `run_unsandboxed`: the first attempt runs without the platform sandbox (escalation requested, every
    segment allowed by a rule, or an unrestricted sandbox mode for patches).
    """

    outcome: Outcome
    reason: str | None = None
    run_unsandboxed: bool = False


@attrs.frozen
class RuleMatch:
    """An execpolicy rule's verdict for one simple command: `decision` in allow/prompt/forbidden."""

    decision: str = attrs.field(validator=attrs.validators.in_(RULE_DECISIONS))
    justification: str | None = None


RuleLookup = Callable[[tuple[str, ...]], "RuleMatch | None"]


def escalation_refused_message(approval_policy: ApprovalPolicy) -> str:
    """The model-facing refusal of `sandbox_permissions` escalation under a non-on-request policy (5.3 step 4)."""
    name = policy_name(approval_policy)
    return (
        f"approval policy is {name}; reject command — you should not ask for escalated permissions "
        f"if the approval policy is {name}"
    )


def decide_command(
    argv: Sequence[str],
    *,
    approval_policy: ApprovalPolicy,
    sandbox_mode: str,
    requested_escalation: bool = False,
    rule_lookup: RuleLookup | None = None,
    platform: str = sys.platform,
) -> Decision:
    """Decide a shell command per spec 5.3 steps 1-4.

    `argv`: the command (`["bash", "-lc", "..."]` or a plain argv). `approval_policy`: "untrusted" |
    "on-failure" | "on-request" | "never" | `GranularApproval`. `sandbox_mode`: the SandboxPolicy `type`
    ("read-only" | "workspace-write" | "danger-full-access" | "external-sandbox").
    `requested_escalation`: the call set `sandbox_permissions` to "require_escalated" (or asked for extra
    permissions). `rule_lookup`: execpolicy matching for one simple command (None = no rules loaded).
    Raises ValueError for an empty argv or an unknown policy/mode.
    """
    check_approval_policy(approval_policy)
    check_sandbox_mode(sandbox_mode)
    if not argv:
        raise ValueError("cannot decide an empty command")
    granular = approval_policy if isinstance(approval_policy, GranularApproval) else None
    if requested_escalation and approval_policy != ON_REQUEST and granular is None:
        return Decision("forbidden", escalation_refused_message(approval_policy))

    split = split_for_evaluation(normalize_shell(argv))
    verdicts: list[tuple[str, str | None, bool, tuple[str, ...]]] = []  # (decision, reason, by_rule, segment)
    for segment in split.segments:
        rule = rule_lookup(segment) if rule_lookup is not None else None
        if rule is not None:
            verdicts.append((rule.decision, rule.justification, True, segment))
            continue
        decision, reason = _heuristic(
            segment,
            approval_policy=approval_policy,
            sandbox_mode=sandbox_mode,
            requested_escalation=requested_escalation,
            complex_parse=split.kind == "heredoc",
            platform=platform,
        )
        verdicts.append((decision, reason, False, segment))

    decision, reason, by_rule, segment = max(verdicts, key=lambda v: _STRICTNESS[v[0]])
    if decision == "forbidden":
        if by_rule:
            reason = f"`{_render(segment)}` rejected: {reason or 'blocked by policy'}"
        return Decision("forbidden", reason)
    if decision == "prompt":
        may_prompt = approval_policy != NEVER and (
            granular is None or (granular.rules if by_rule else granular.sandbox_approval)
        )
        if not may_prompt:
            return Decision("forbidden", PROMPT_CONFLICT_REASON)
        return Decision("prompt", reason if by_rule else None, run_unsandboxed=requested_escalation)
    all_rule_allowed = all(v[2] for v in verdicts)
    return Decision("allow", None, run_unsandboxed=requested_escalation or all_rule_allowed)


def _heuristic(
    segment: tuple[str, ...],
    *,
    approval_policy: ApprovalPolicy,
    sandbox_mode: str,
    requested_escalation: bool,
    complex_parse: bool,
    platform: str,
) -> tuple[str, str | None]:
    """Spec 5.3 step 3 for one segment no rule matched: (decision, forbidden reason or None)."""
    if not complex_parse and is_known_safe_command(segment, platform=platform):
        return "allow", None
    if command_might_be_dangerous(segment):
        if approval_policy == NEVER:
            if sandbox_mode == DANGER_FULL_ACCESS:
                return "allow", None
            return "forbidden", (
                f"`{_render(segment)}` rejected: dangerous command needs approval, but approval policy is never"
            )
        return "prompt", None
    if approval_policy in (NEVER, ON_FAILURE):
        return "allow", None
    if approval_policy == UNTRUSTED:
        return "prompt", None
    if sandbox_mode in UNRESTRICTED_MODES:
        return "allow", None
    return ("prompt" if requested_escalation else "allow"), None


def command_might_be_dangerous(argv: Sequence[str]) -> bool:
    """`rm` with a force flag (`-f`, `-rf`, `-fr`, `--force`, ...), or `sudo` + a dangerous command.

    A plain `bash -lc` script is dangerous when any of its simple commands is (spec 5.3 step 3).
    """
    argv = tuple(argv)
    if _is_dangerous_simple(argv):
        return True
    script = shell_script(argv)
    if script is None:
        return False
    try:
        segments = split_plain_script(script)
    except NotPlain:
        return False
    return any(_is_dangerous_simple(s) for s in segments)


def _is_dangerous_simple(argv: tuple[str, ...]) -> bool:
    if not argv:
        return False
    name = PurePosixPath(argv[0]).name
    if name == "sudo":
        return _is_dangerous_simple(argv[1:])
    if name != "rm":
        return False
    for arg in argv[1:]:
        if arg == "--":
            break
        if arg == "--force" or (arg.startswith("-") and not arg.startswith("--") and "f" in arg[1:]):
            return True
    return False


def _render(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def normalize_patch_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str]) -> str:
    """Absolute path with `.`/`..` resolved lexically against `cwd` (no symlinks followed)."""
    return os.path.normpath(os.path.join(os.fspath(cwd), os.fspath(path)))


def decide_patch(
    paths: Sequence[str | os.PathLike[str]],
    *,
    approval_policy: ApprovalPolicy,
    sandbox_mode: str,
    writable_roots: Sequence[WritableRoot],
    cwd: str | os.PathLike[str],
    platform_sandbox_available: bool = True,
) -> Decision:
    """Decide an apply_patch per spec 5.3 "Patches" (`assess_patch_safety`).

    `paths`: every file the patch touches (sources and move destinations), absolute or relative to `cwd`.
    `writable_roots`: the effective roots of a workspace-write sandbox, each with its protected subpaths
    (ignored in other modes): `WritableRoot`s or anything with `root` and `read_only_subpaths`, such as
    `exec.policy.SandboxPolicy.effective_writable_roots(cwd)`. Paths and roots are compared after resolving
    `..` and symlinks (`os.path.realpath`), so a symlink inside a root that points outside counts as outside. "allow" with `run_unsandboxed=True` under danger-full-access/external-sandbox.
    Raises ValueError for an unknown policy or mode.
    """
    check_approval_policy(approval_policy)
    check_sandbox_mode(sandbox_mode)
    if not paths:
        return Decision("forbidden", EMPTY_PATCH_REASON)
    if approval_policy == UNTRUSTED:
        return Decision("prompt")
    granular = approval_policy if isinstance(approval_policy, GranularApproval) else None
    rejects_prompt = approval_policy == NEVER or (granular is not None and not granular.sandbox_approval)
    if sandbox_mode in UNRESTRICTED_MODES:
        return Decision("allow", run_unsandboxed=True)
    roots = [WritableRoot(os.path.realpath(r.root), tuple(os.path.realpath(p) for p in r.read_only_subpaths))
             for r in writable_roots]
    resolved = [os.path.realpath(normalize_patch_path(p, cwd)) for p in paths]
    constrained = sandbox_mode != READ_ONLY and all(any(root.allows(p) for root in roots) for p in resolved)
    if constrained:
        if platform_sandbox_available:
            return Decision("allow")
        return Decision("forbidden", PATCH_OUTSIDE_PROJECT_REASON) if rejects_prompt else Decision("prompt")
    if approval_policy == ON_FAILURE:
        # Codex auto-approves this and applies it inside the platform sandbox, which refuses the write; under
        # on-failure that refusal is then asked about. Patches are written by this process, never sandboxed, so
        # the question comes first, worded as the one a sandbox-denied command gets.
        return Decision("prompt", RETRY_WITHOUT_SANDBOX_REASON)
    if rejects_prompt:
        reason = PATCH_READ_ONLY_REASON if sandbox_mode == READ_ONLY else PATCH_OUTSIDE_PROJECT_REASON
        return Decision("forbidden", reason)
    return Decision("prompt")


def offers_unsandboxed_retry(approval_policy: ApprovalPolicy) -> bool:
    """Whether a sandbox denial is answered with a prompt to re-run without the sandbox (spec 5.3 step 5):
    under `untrusted` / `on-failure`, or granular with `sandbox_approval`; `on-request` / `never` return the
    failure to the model as is. Raises ValueError for an unknown policy."""
    check_approval_policy(approval_policy)
    if isinstance(approval_policy, GranularApproval):
        return approval_policy.sandbox_approval
    return approval_policy in (UNTRUSTED, ON_FAILURE)


def is_sandbox_denial(exit_code: int, output: str, *, platform: str = sys.platform) -> bool:
    """Whether a sandboxed command's failure looks like the sandbox said no (spec 5.3 step 6).

    `output`: the command's stdout/stderr text (any mix). Call only for commands that ran sandboxed.
    True when the exit code is non-zero and the output names a denial (case-insensitive); exit codes
    2/126/127 alone are not denials; on Linux exit 128+SIGSYS (seccomp kill) is one.
    """
    if exit_code == 0:
        return False
    lowered = output.lower()
    if any(keyword in lowered for keyword in SANDBOX_DENIAL_KEYWORDS):
        return True
    if exit_code in NON_DENIAL_EXIT_CODES:
        return False
    return platform.startswith("linux") and exit_code == 128 + int(signal.SIGSYS)

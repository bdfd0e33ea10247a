"""Each approval policy's decision table for commands and patches (spec agent-core 5.2, 5.3)."""

import pytest

from codex_actors.tools.approvals import (
    EMPTY_PATCH_REASON,
    PATCH_OUTSIDE_PROJECT_REASON,
    PATCH_READ_ONLY_REASON,
    PROMPT_CONFLICT_REASON,
    RETRY_WITHOUT_SANDBOX_REASON,
    Decision,
    GranularApproval,
    RuleMatch,
    WritableRoot,
    decide_command,
    decide_patch,
    escalation_refused_message,
)

SAFE = ["bash", "-lc", "ls -la && git status"]
PLAIN = ["python3", "build.py"]
DANGER = ["rm", "-rf", "build"]
RO, WW, FULL, EXT = "read-only", "workspace-write", "danger-full-access", "external-sandbox"

ALLOW = Decision("allow")
PROMPT = Decision("prompt")

COMMAND_TABLE = [
    # untrusted: only known-safe commands run without asking
    ("untrusted", RO, SAFE, ALLOW),
    ("untrusted", WW, PLAIN, PROMPT),
    ("untrusted", FULL, PLAIN, PROMPT),
    ("untrusted", WW, DANGER, PROMPT),
    ("untrusted", WW, ["bash", "-lc", "ls > listing.txt"], PROMPT),
    ("untrusted", WW, ["bash", "-lc", "cat <<EOF\nhi\nEOF"], PROMPT),
    # on-failure: everything runs in the sandbox, dangerous commands still ask
    ("on-failure", RO, SAFE, ALLOW),
    ("on-failure", RO, PLAIN, ALLOW),
    ("on-failure", WW, PLAIN, ALLOW),
    ("on-failure", WW, DANGER, PROMPT),
    # on-request: sandboxed commands run; dangerous ones ask
    ("on-request", RO, SAFE, ALLOW),
    ("on-request", RO, PLAIN, ALLOW),
    ("on-request", WW, PLAIN, ALLOW),
    ("on-request", FULL, PLAIN, ALLOW),
    ("on-request", WW, DANGER, PROMPT),
    ("on-request", FULL, DANGER, PROMPT),
    ("on-request", WW, ["sudo", "rm", "-f", "x"], PROMPT),
    ("on-request", WW, ["bash", "-lc", "ls && rm -rf build"], PROMPT),
    # never: nothing prompts; dangerous commands are refused unless the sandbox is disabled
    ("never", RO, SAFE, ALLOW),
    ("never", RO, PLAIN, ALLOW),
    ("never", WW, PLAIN, ALLOW),
    ("never", FULL, DANGER, ALLOW),
    (
        "never",
        WW,
        DANGER,
        Decision("forbidden", "`rm -rf build` rejected: dangerous command needs approval, but approval policy is never"),
    ),
    (
        "never",
        EXT,
        ["bash", "-lc", "ls && rm -f x"],
        Decision("forbidden", "`rm -f x` rejected: dangerous command needs approval, but approval policy is never"),
    ),
]


@pytest.mark.parametrize(("policy", "mode", "argv", "expected"), COMMAND_TABLE)
def test_command_decision_table(policy, mode, argv, expected):
    assert decide_command(argv, approval_policy=policy, sandbox_mode=mode) == expected


@pytest.mark.parametrize("policy", ["untrusted", "on-failure", "never"])
def test_escalation_is_refused_before_running_under_policies_other_than_on_request(policy):
    decision = decide_command(SAFE, approval_policy=policy, sandbox_mode=WW, requested_escalation=True)
    assert decision == Decision(
        "forbidden",
        f"approval policy is {policy}; reject command — you should not ask for escalated permissions "
        f"if the approval policy is {policy}",
    )
    assert decision.reason == escalation_refused_message(policy)


@pytest.mark.parametrize(
    ("mode", "argv", "expected"),
    [
        (RO, PLAIN, Decision("prompt", run_unsandboxed=True)),
        (WW, PLAIN, Decision("prompt", run_unsandboxed=True)),
        (FULL, PLAIN, Decision("allow", run_unsandboxed=True)),
        (EXT, PLAIN, Decision("allow", run_unsandboxed=True)),
        (WW, SAFE, Decision("allow", run_unsandboxed=True)),
        (WW, DANGER, Decision("prompt", run_unsandboxed=True)),
    ],
)
def test_on_request_escalation_prompts_under_a_restricted_sandbox_and_runs_unsandboxed(mode, argv, expected):
    decision = decide_command(argv, approval_policy="on-request", sandbox_mode=mode, requested_escalation=True)
    assert decision == expected


def test_granular_policy_prompts_or_rejects_per_category():
    may = GranularApproval(sandbox_approval=True)
    may_not = GranularApproval(sandbox_approval=False)
    assert decide_command(PLAIN, approval_policy=may, sandbox_mode=WW, requested_escalation=True) == Decision(
        "prompt", run_unsandboxed=True
    )
    assert decide_command(PLAIN, approval_policy=may_not, sandbox_mode=WW, requested_escalation=True) == Decision(
        "forbidden", PROMPT_CONFLICT_REASON
    )
    assert decide_command(PLAIN, approval_policy=may_not, sandbox_mode=WW) == ALLOW


def _rules(table):
    return lambda segment: table.get(segment[0])


def test_forbidding_rule_rejects_with_its_justification():
    rules = _rules({"git": RuleMatch("forbidden", "pushing is not allowed here")})
    decision = decide_command(
        ["bash", "-lc", "ls && git push origin main"], approval_policy="on-request", sandbox_mode=WW, rule_lookup=rules
    )
    assert decision == Decision("forbidden", "`git push origin main` rejected: pushing is not allowed here")


def test_strictest_segment_wins_and_rule_prompt_under_never_is_rejected():
    rules = _rules({"ls": RuleMatch("allow"), "make": RuleMatch("prompt", "builds touch the cache")})
    argv = ["bash", "-lc", "ls; make"]
    assert decide_command(argv, approval_policy="on-request", sandbox_mode=WW, rule_lookup=rules) == Decision(
        "prompt", "builds touch the cache"
    )
    assert decide_command(argv, approval_policy="never", sandbox_mode=WW, rule_lookup=rules) == Decision(
        "forbidden", PROMPT_CONFLICT_REASON
    )
    no_rule_prompts = GranularApproval(rules=False)
    assert decide_command(argv, approval_policy=no_rule_prompts, sandbox_mode=WW, rule_lookup=rules).outcome == (
        "forbidden"
    )


def test_rule_allow_for_every_segment_runs_outside_the_sandbox():
    rules = _rules({"cargo": RuleMatch("allow"), "ls": RuleMatch("allow")})
    both = decide_command(["bash", "-lc", "cargo build && ls"], approval_policy="untrusted", sandbox_mode=WW, rule_lookup=rules)
    assert both == Decision("allow", run_unsandboxed=True)
    one = decide_command(["bash", "-lc", "cargo build && pwd"], approval_policy="untrusted", sandbox_mode=WW, rule_lookup=rules)
    assert one == Decision("allow", run_unsandboxed=False)


def test_rules_cannot_match_inside_a_complex_script():
    seen = []
    decide_command(["bash", "-lc", "ls $(rm -rf /)"], approval_policy="on-request", sandbox_mode=WW,
                   rule_lookup=lambda s: seen.append(s))
    assert seen == [("bash", "-lc", "ls $(rm -rf /)")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"approval_policy": "sometimes", "sandbox_mode": WW}, "unknown approval policy 'sometimes'"),
        ({"approval_policy": "never", "sandbox_mode": "open"}, "unknown sandbox mode 'open'"),
    ],
)
def test_unknown_policy_or_mode_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        decide_command(["ls"], **kwargs)
    with pytest.raises(ValueError, match=message):
        decide_patch(["a"], cwd="/repo", writable_roots=[], **kwargs)


def test_empty_command_is_a_clear_error():
    with pytest.raises(ValueError, match="empty command"):
        decide_command([], approval_policy="never", sandbox_mode=WW)


ROOTS = [WritableRoot("/repo", ("/repo/.git", "/repo/.codex")), WritableRoot("/tmp")]
INSIDE = ["src/main.py", "/tmp/scratch.txt"]
OUTSIDE = ["src/main.py", "/etc/hosts"]
ESCAPING = ["src/../../etc/passwd"]
PROTECTED = [".git/config"]

PATCH_TABLE = [
    ("untrusted", WW, INSIDE, PROMPT),
    ("untrusted", FULL, INSIDE, PROMPT),
    ("on-request", WW, INSIDE, ALLOW),
    ("on-request", WW, OUTSIDE, PROMPT),
    ("on-request", WW, ESCAPING, PROMPT),
    ("on-request", WW, PROTECTED, PROMPT),
    ("on-request", RO, INSIDE, PROMPT),
    ("on-request", FULL, OUTSIDE, Decision("allow", run_unsandboxed=True)),
    ("on-request", EXT, OUTSIDE, Decision("allow", run_unsandboxed=True)),
    ("on-failure", WW, INSIDE, ALLOW),
    ("on-failure", WW, OUTSIDE, Decision("prompt", RETRY_WITHOUT_SANDBOX_REASON)),
    ("on-failure", RO, INSIDE, Decision("prompt", RETRY_WITHOUT_SANDBOX_REASON)),
    ("on-failure", FULL, OUTSIDE, Decision("allow", run_unsandboxed=True)),
    ("never", WW, INSIDE, ALLOW),
    ("never", WW, OUTSIDE, Decision("forbidden", PATCH_OUTSIDE_PROJECT_REASON)),
    ("never", WW, PROTECTED, Decision("forbidden", PATCH_OUTSIDE_PROJECT_REASON)),
    ("never", RO, INSIDE, Decision("forbidden", PATCH_READ_ONLY_REASON)),
    ("never", FULL, OUTSIDE, Decision("allow", run_unsandboxed=True)),
]


@pytest.mark.parametrize(("policy", "mode", "paths", "expected"), PATCH_TABLE)
def test_patch_decision_table(policy, mode, paths, expected):
    decision = decide_patch(paths, approval_policy=policy, sandbox_mode=mode, writable_roots=ROOTS, cwd="/repo")
    assert decision == expected


@pytest.mark.parametrize("policy", ["untrusted", "on-request", "never"])
def test_empty_patch_is_rejected(policy):
    decision = decide_patch([], approval_policy=policy, sandbox_mode=WW, writable_roots=ROOTS, cwd="/repo")
    assert decision == Decision("forbidden", EMPTY_PATCH_REASON)


def test_patch_without_a_platform_sandbox_asks_or_is_rejected():
    kwargs = dict(sandbox_mode=WW, writable_roots=ROOTS, cwd="/repo", platform_sandbox_available=False)
    assert decide_patch(INSIDE, approval_policy="on-request", **kwargs) == PROMPT
    assert decide_patch(INSIDE, approval_policy="never", **kwargs) == Decision("forbidden", PATCH_OUTSIDE_PROJECT_REASON)


def test_symlink_inside_a_root_pointing_outside_counts_as_outside(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    roots = [WritableRoot(root)]
    kwargs = dict(approval_policy="never", sandbox_mode=WW, writable_roots=roots, cwd=root)
    assert decide_patch(["src/new.py"], **kwargs) == ALLOW
    assert decide_patch(["escape/new.py"], **kwargs) == Decision("forbidden", PATCH_OUTSIDE_PROJECT_REASON)

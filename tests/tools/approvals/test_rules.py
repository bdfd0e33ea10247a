"""Execpolicy `.rules` files (spec agent-core 5.3 step 2): parsing, the inline match / not_match checks, lookup."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_actors.tools.approvals import RuleMatch, decide_command
from codex_actors.tools.approvals.rules import ExecPolicy, RulesError, allow_rule_text, parse_rules

RULES = """
# Reads of pull requests go over the network: ask.
prefix_rule(
    pattern = ["gh", "pr", ["view", "list"]],
    decision = "prompt",
    justification = "PR reads go over the network",
    match = ["gh pr view 7888", ["gh", "pr", "list"]],
    not_match = ["gh pr --repo openai/codex view 7888"],
)
prefix_rule(pattern = ["git", "push"], decision = "forbidden", justification = "pushing is for humans")
prefix_rule(pattern = ["git"])
"""


def policy() -> ExecPolicy:
    return ExecPolicy(tuple(parse_rules(RULES, "default.rules")))


def test_prefixes_with_alternatives_match_and_the_strictest_matching_rule_wins():
    rules = policy()
    assert rules.lookup(("gh", "pr", "list", "--limit", "3")) == RuleMatch("prompt", "PR reads go over the network")
    assert rules.lookup(("gh", "pr", "merge")) is None
    assert rules.lookup(("git", "status")) == RuleMatch("allow", None)
    assert rules.lookup(("git", "push", "origin")) == RuleMatch("forbidden", "pushing is for humans")


def test_decide_command_applies_rules_to_each_segment_of_a_plain_script():
    decision = decide_command(["bash", "-lc", "git status && git push"], approval_policy="on-request",
                              sandbox_mode="workspace-write", rule_lookup=policy().lookup)
    assert (decision.outcome, decision.reason) == ("forbidden", "`git push` rejected: pushing is for humans")


def test_an_allow_rule_line_reads_back_as_the_same_rule():
    [rule] = parse_rules(allow_rule_text(["npm", "run", "test \"unit\""]), "default.rules")
    assert (rule.pattern, rule.decision) == ((("npm",), ("run",), ('test "unit"',)), "allow")
    with pytest.raises(ValueError):
        allow_rule_text([])


@pytest.mark.parametrize(("text", "message"), [
    ('prefix_rule(pattern=["ls"]', "x.rules:1: invalid syntax: '(' was never closed"),
    ('import os', "x.rules:1: only prefix_rule(...) calls are supported"),
    ('\nprefix_rule(["ls"])', "x.rules:2: prefix_rule takes keyword arguments only (pattern=..., decision=...)"),
    ('prefix_rule(pattern=["ls"], color="red")',
     "x.rules:1: unknown argument 'color'; expected one of pattern, decision, justification, match, not_match"),
    ('prefix_rule(pattern=[])', "x.rules:1: pattern must be a non-empty list"),
    ('prefix_rule(pattern=["ls", []])',
     "x.rules:1: each pattern element must be a word or a non-empty list of words, got []"),
    ('prefix_rule(pattern=["ls"], decision="maybe")',
     "x.rules:1: decision must be one of allow, prompt, forbidden, got 'maybe'"),
    ('prefix_rule(pattern=["ls"], decision=os.environ)', "x.rules:1: decision must be a literal (a string or a list)"),
    ('prefix_rule(pattern=["git", "pull"], match=["git push"])',
     "x.rules:1: match example 'git push' does not match the pattern"),
    ('prefix_rule(pattern=["git"], not_match=["git log"])',
     "x.rules:1: not_match example 'git log' matches the pattern"),
])
def test_a_bad_rules_file_is_refused_with_file_line_and_reason(text, message):
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "x.rules")
    assert str(caught.value) == message


@pytest.mark.parametrize("text", [
    'prefix_rule(pattern={["a"]})',                      # a set of lists: TypeError inside literal_eval
    'prefix_rule(pattern={"a": ["b"]})',
    'prefix_rule(pattern=("a", "b"))',
    'prefix_rule(pattern=["a", ("b",)])',
    'prefix_rule(pattern=["a", 1])',
    'prefix_rule(pattern=["a"], decision=["allow"])',
    'prefix_rule(pattern=["a"], decision={})',
    'prefix_rule(pattern=["a"], justification=3)',
    'prefix_rule(pattern=["a"], match="a b")',
    'prefix_rule(pattern=["a"], match=[1])',
    'prefix_rule(pattern=["a"], match=["\'unclosed"])',
    'prefix_rule(**{"pattern": ["a"]})',
    'prefix_rule(pattern=lambda: 0)',
    'prefix_rule(pattern=[b"a"])',
    'prefix_rule(pattern=["a"])\x00',
    'prefix_rule(pattern=' + "[" * 200 + "]" * 200 + ')',
    'x = prefix_rule(pattern=["a"])',
    'prefix_rule',
    'other(pattern=["a"])',
])
def test_every_malformed_rules_file_is_a_rules_error(text):
    with pytest.raises(RulesError, match=r"^x\.rules:"):
        parse_rules(text, "x.rules")


_FRAGMENTS = ['prefix_rule(', ')', 'pattern=', 'decision=', 'match=', 'not_match=', 'justification=', '[', ']',
              '{', '}', '(', ',', ':', '"a"', "'b c'", '"allow"', '"prompt"', '1', 'None', '**', 'x', '\n', '#',
              '\x00', 'lambda: 0', 'b"z"', '...', '-', '"']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join))
def test_any_text_either_parses_or_is_a_rules_error(text):
    try:
        parse_rules(text, "x.rules")
    except RulesError:
        pass


async def test_a_malformed_file_in_the_rules_folder_is_a_warning_and_the_others_still_load(tmp_path):
    from codex_actors.tools.exec_policy_files import load_exec_policy

    (tmp_path / "a.rules").write_text('prefix_rule(pattern={["a"]})\n')
    (tmp_path / "b.rules").write_bytes(b'\xff\xfe not utf-8')
    (tmp_path / "c.rules").write_text('prefix_rule(pattern=["git", "push"], decision="forbidden")\n')
    policy, warnings = load_exec_policy([tmp_path])
    assert [rule.pattern for rule in policy.rules] == [(("git",), ("push",))]
    assert warnings[0] == (f"execpolicy rules file not loaded: {tmp_path / 'a.rules'}:1: pattern must be a literal "
                           "(a string or a list)")
    assert warnings[1].startswith(f"execpolicy rules file {tmp_path / 'b.rules'} not loaded:")
    assert len(warnings) == 2

import pytest

from codex_actors.cli.approval_arg import describe_approval_policy, parse_approvals_arg

GRANULAR = {"granular": {"sandbox_approval": True, "rules": False, "mcp_elicitations": True}}


@pytest.mark.parametrize("text", [
    "granular sandbox_approval=true rules=false mcp_elicitations=true",
    "{ granular = { sandbox_approval = true, rules = false, mcp_elicitations = true } }",
])
def test_both_spellings_of_the_granular_table_are_the_config_value(text):
    assert parse_approvals_arg(text) == (GRANULAR, None)


def test_a_name_passes_and_bad_input_says_what_is_expected():
    assert parse_approvals_arg(" untrusted ") == ("untrusted", None)
    value, problem = parse_approvals_arg("sometimes")
    assert value is None and problem.startswith("expected one of untrusted, on-failure, on-request, never, or granular")
    value, problem = parse_approvals_arg("granular sandbox_approval=true")  # the schema wants every flag
    assert value is None and "granular booleans sandbox_approval, rules, mcp_elicitations" in problem
    assert parse_approvals_arg("granular rules=yes") == (None, "rules: expected true or false, got 'yes'")


def test_a_granular_policy_is_shown_by_what_it_asks_and_rejects():
    assert describe_approval_policy("never") == "never"
    assert describe_approval_policy(GRANULAR) == "granular (asks: sandbox_approval, mcp_elicitations; rejects: rules)"

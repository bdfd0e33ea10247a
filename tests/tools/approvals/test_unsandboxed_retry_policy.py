"""Which approval policies offer to re-run a sandbox-denied command without the sandbox (spec 5.3 step 5)."""

import pytest

from codex_actors.tools.approvals import GranularApproval, offers_unsandboxed_retry


@pytest.mark.parametrize("policy, offered", [
    ("untrusted", True), ("on-failure", True), ("on-request", False), ("never", False),
    (GranularApproval(sandbox_approval=True), True), (GranularApproval(sandbox_approval=False), False),
])
def test_only_untrusted_on_failure_and_granular_sandbox_approval_offer_a_retry(policy, offered):
    assert offers_unsandboxed_retry(policy) is offered


def test_unknown_policy_is_an_error():
    with pytest.raises(ValueError, match="unknown approval policy"):
        offers_unsandboxed_retry("sometimes")

from mcp_types import ElicitResult

from codex_actors.mcp_server.approvals import approval_message, decision_of
from codex_actors.protocol import events


def test_elicitation_answers_map_to_codex_review_decisions():
    assert decision_of(ElicitResult(action="accept")) == "approved"
    assert decision_of(ElicitResult(action="accept", content={"decision": "approved_for_session"})) == \
        "approved_for_session"
    assert decision_of(ElicitResult(action="accept", content={"decision": "whatever"})) == "approved"
    assert decision_of(ElicitResult(action="decline")) == "denied"
    assert decision_of(ElicitResult(action="cancel")) == "abort"


def test_a_patch_question_leads_with_its_reason():
    msg = events.ApplyPatchApprovalRequest(call_id="c", turn_id="t", changes={}, reason="writes outside the root")
    assert approval_message(msg) == "writes outside the root\nAllow Codex to apply proposed code changes?"

"""The headless turn tracker `exec` and `batch` share: fed events, it says what to do and how the turn ended."""

from __future__ import annotations

from codex_actors.protocol import events, ops
from codex_actors.protocol.turn_outcome import (
    ENDED_EARLY,
    INTERRUPTED,
    Reply,
    SubmitTurn,
    TurnEnded,
    TurnTracker,
)

CONFIGURED = events.Event("init", events.SessionConfigured(
    session_id="s1", model="m", model_provider_id="p", approval_policy="never", sandbox_policy={"type": "read-only"},
    cwd="/w", history_log_id=0, history_entry_count=0))


def started(turn_id: str = "t1") -> TurnTracker:
    tracker = TurnTracker()
    assert tracker.feed(CONFIGURED) == SubmitTurn()
    tracker.turn_submitted(turn_id)
    return tracker


def test_the_turn_is_submitted_once_when_the_session_is_configured():
    tracker = TurnTracker()
    assert tracker.feed(events.Event("x", events.Warning("early"))) is None
    assert tracker.feed(CONFIGURED) == SubmitTurn()
    assert tracker.feed(CONFIGURED) is None  # a second one (e.g. a reconfigure) submits nothing more


def test_completed_turn_takes_the_task_complete_message_over_earlier_agent_messages():
    tracker = started()
    assert tracker.feed(events.Event("t1", events.AgentMessage("thinking out loud"))) is None
    step = tracker.feed(events.Event("t1", events.TaskComplete(turn_id="t1", last_agent_message="the answer")))
    assert isinstance(step, TurnEnded)
    outcome = tracker.finish()
    assert (outcome.status, outcome.error, outcome.last_agent_message) == ("completed", None, "the answer")


def test_task_complete_without_a_message_keeps_the_last_agent_message():
    tracker = started()
    tracker.feed(events.Event("t1", events.AgentMessage("final words")))
    tracker.feed(events.Event("t1", events.TaskComplete(turn_id="t1")))
    assert tracker.finish().last_agent_message == "final words"


def test_an_error_of_the_turn_makes_its_completion_a_failure_with_the_last_error():
    tracker = started()
    tracker.feed(events.Event("t1", events.Error("first")))
    tracker.feed(events.Event("t1", events.Error("stream disconnected")))
    tracker.feed(events.Event("t1", events.TaskComplete(turn_id="t1")))
    outcome = tracker.finish()
    assert (outcome.status, outcome.error) == ("failed", "stream disconnected")


def test_events_of_other_submissions_neither_fail_nor_end_the_turn():
    tracker = started("t1")
    assert tracker.feed(events.Event("other", events.Error("not ours"))) is None
    assert tracker.feed(events.Event("other", events.TaskComplete(turn_id="other"))) is None
    assert tracker.feed(events.Event("other", events.TurnAborted(reason="interrupted"))) is None
    assert tracker.outcome.status is None
    assert isinstance(tracker.feed(events.Event("t1", events.TaskComplete(turn_id="t1"))), TurnEnded)
    assert tracker.finish().status == "completed"


def test_an_abort_of_the_turn_is_interrupted():
    tracker = started()
    step = tracker.feed(events.Event("t1", events.TurnAborted(reason="interrupted", turn_id="t1")))
    assert isinstance(step, TurnEnded) and step.outcome.status == "interrupted"
    assert tracker.finish().error == INTERRUPTED


def test_approval_requests_are_answered_denied():
    tracker = started()
    exec_step = tracker.feed(events.Event("t1", events.ExecApprovalRequest(
        call_id="c1", turn_id="t1", command=["rm", "-rf", "x"], cwd="/w", approval_id="a1")))
    patch_step = tracker.feed(events.Event("t1", events.ApplyPatchApprovalRequest(call_id="c2", turn_id="t1",
                                                                                  changes={})))
    assert exec_step == Reply(ops.ExecApproval(id="a1", decision="denied"))
    assert patch_step == Reply(ops.PatchApproval(id="c2", decision="denied"))


def test_a_stream_that_ends_before_the_turn_is_a_failure():
    tracker = started()
    tracker.feed(events.Event("t1", events.AgentMessage("half way")))
    outcome = tracker.finish()
    assert (outcome.status, outcome.error, outcome.last_agent_message) == ("failed", ENDED_EARLY, "half way")
    errored = started()
    errored.feed(events.Event("t1", events.Error("model unreachable")))
    assert errored.finish().error == "model unreachable"


def test_events_after_the_end_change_nothing():
    tracker = started()
    tracker.feed(events.Event("t1", events.TaskComplete(turn_id="t1", last_agent_message="done")))
    assert isinstance(tracker.feed(events.Event("t1", events.Error("late"))), TurnEnded)
    assert (tracker.finish().status, tracker.finish().error) == ("completed", None)

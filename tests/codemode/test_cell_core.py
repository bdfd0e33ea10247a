"""The sans-I/O cell lifecycle, driven by hand: races without timing (spec code-mode.md 3.2-3.5)."""

import pytest

from codex_actors.codemode.core import CellCore, CellError, Completed, MissingCell, Terminated, Yielded
from codex_actors.codemode.output import TextItem

A, B = TextItem("a"), TextItem("b")


def started_core(now=0.0):
    core = CellCore("1")
    core.started(now)
    return core


def test_expired_timer_wins_over_queued_output_which_goes_to_termination():
    core = started_core()
    assert core.attach("obs", 100, now=0.0) == []
    assert core.item(A, now=0.5) == [("obs", Yielded("1", ()))]
    assert core.request_terminate("term") == []
    assert core.terminated() == [("term", Terminated("1", (A,)))]
    assert core.closed


def test_dropped_observer_consumes_nothing():
    core = started_core()
    core.item(A, now=0.0)
    core.attach("first", 1000, now=0.0)
    core.detach("first")
    assert core.attach("second", 1000, now=0.0) == []
    assert core.timer_fired("second", now=1.0) == [("second", Yielded("1", (A,)))]


def test_restored_answer_comes_back_first():
    core = started_core()
    core.item(B, now=0.0)
    core.restore(Yielded("1", (A,)))
    core.attach("obs", 0, now=0.0)
    assert core.timer_fired("obs", now=0.0) == [("obs", Yielded("1", (A, B)))]


def test_yield_before_first_observer_sets_a_boundary():
    core = started_core()
    core.item(A, now=0.0)
    core.yield_requested(now=0.0)
    core.item(B, now=0.0)
    assert core.attach("obs", 60_000, now=0.0) == [("obs", Yielded("1", (A,)))]
    core.attach("next", 60_000, now=0.0)
    assert core.finished(None, {}, now=0.0) == []
    assert core.complete() == ([("next", Completed("1", (B,), None))], {})


def test_yield_after_first_observation_without_observer_does_nothing():
    core = started_core()
    core.attach("obs", 10, now=0.0)
    core.timer_fired("obs", now=1.0)
    core.item(A, now=1.0)
    core.yield_requested(now=1.0)
    assert core.attach("next", 60_000, now=1.0) == []
    assert core.deadline == 61.0


def test_completion_after_early_yield_is_split_in_two_observations():
    core = started_core()
    core.item(A, now=0.0)
    core.yield_requested(now=0.0)
    core.item(B, now=0.0)
    core.finished("boom", {"k": "1"}, now=0.0)
    assert core.complete() == ([], {"k": "1"})
    assert core.attach("x", 10, now=0.0) == [("x", Yielded("1", (A,)))]
    assert core.attach("y", 10, now=0.0) == [("y", Completed("1", (B,), "boom"))]
    assert core.attach("z", 10, now=0.0) == [("z", MissingCell("1", "exec cell 1 not found"))]


def test_second_observer_refused_with_exact_message():
    core = started_core()
    core.attach("one", 10, now=0.0)
    with pytest.raises(CellError) as info:
        core.attach("two", 10, now=0.0)
    assert str(info.value) == "exec cell 1 already has an active observer"


def test_terminate_answers_terminator_and_waiting_observer():
    core = started_core()
    core.attach("obs", 60_000, now=0.0)
    core.item(A, now=0.0)
    assert core.request_terminate("term") == []
    with pytest.raises(CellError, match="^exec cell 1 is already terminating$"):
        core.request_terminate("again")
    assert core.attach("late", 10, now=0.0) == [("late", MissingCell("1", "exec cell 1 not found"))]
    assert core.terminated() == [("term", Terminated("1", (A,))), ("obs", Terminated("1", (A,)))]


def test_committed_completion_wins_over_terminate():
    core = started_core()
    core.finished(None, {"k": "true"}, now=0.0)
    assert core.complete() == ([], {"k": "true"})
    assert core.request_terminate("term") == [("term", Completed("1", (), None))]


def test_terminate_before_commit_discards_writes():
    core = started_core()
    core.finished(None, {"k": "1"}, now=0.0)
    assert core.request_terminate("term") == []
    assert core.complete() == ([], None)
    assert core.terminated() == [("term", Terminated("1", ()))]


def test_yield_timer_starts_only_when_runtime_started():
    core = CellCore("1")
    core.attach("obs", 100, now=0.0)
    assert core.deadline is None
    core.started(now=5.0)
    assert core.deadline == pytest.approx(5.1)


def test_runtime_lost_completes_with_spec_error():
    core = started_core()
    core.attach("obs", 60_000, now=0.0)
    core.runtime_lost(now=0.0)
    assert core.complete() == ([("obs", Completed("1", (), "exec runtime ended unexpectedly"))], {})

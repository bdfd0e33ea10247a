"""Finding and listing sessions (spec agent-core 8)."""

import json
import time

from codex_actors.session.persistence import find_rollout, list_rollouts


def make_rollout(home, stamp, thread_id, prompt=None, *, cwd="/repo", extra=b""):
    year, month, day = stamp[:4], stamp[5:7], stamp[8:10]
    directory = home / "sessions" / year / month / day
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"rollout-{stamp}-{thread_id}.jsonl"
    lines = [{"timestamp": "t", "type": "session_meta", "payload": {"id": thread_id, "cwd": cwd, "source": "cli"}},
             {"timestamp": "t", "type": "response_item",
              "payload": {"type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": "<environment_context>x</environment_context>"}]}}]
    if prompt is not None:
        lines.append({"timestamp": "t", "type": "event_msg", "payload": {"type": "user_message", "message": prompt}})
    path.write_bytes("".join(json.dumps(entry) + "\n" for entry in lines).encode() + extra)
    return path


def uid(n):
    return f"0196a000-0000-7000-8000-{n:012d}"


def test_find_newest_and_by_id(tmp_path):
    old = make_rollout(tmp_path, "2025-12-31T23-59-59", uid(1), "old")
    new = make_rollout(tmp_path, "2026-01-02T08-00-00", uid(2), "new")
    mid = make_rollout(tmp_path, "2026-01-02T07-00-00", uid(3), "mid")
    assert find_rollout(tmp_path) == new
    assert find_rollout(tmp_path, uid(1)) == old
    assert find_rollout(tmp_path, uid(3).upper()) == mid
    assert find_rollout(tmp_path, uid(9)) is None
    assert find_rollout(tmp_path / "nowhere") is None


def test_listing_is_newest_first_with_the_first_prompt(tmp_path):
    make_rollout(tmp_path, "2026-01-01T10-00-00", uid(1), "fix the tests")
    make_rollout(tmp_path, "2026-01-03T09-00-00", uid(2), None)
    make_rollout(tmp_path, "2026-01-02T11-30-00", uid(3), "add a README", cwd="/other")
    (tmp_path / "sessions/2026/01/01/notes.txt").write_text("ignored")
    summaries = list_rollouts(tmp_path)
    assert [(s.thread_id, s.first_prompt, s.cwd) for s in summaries] == [
        (uid(2), None, "/repo"),
        (uid(3), "add a README", "/other"),
        (uid(1), "fix the tests", "/repo"),
    ]
    assert summaries[1].created.isoformat() == "2026-01-02T11:30:00"
    assert [s.thread_id for s in list_rollouts(tmp_path, limit=2)] == [uid(2), uid(3)]


def test_listing_reads_only_the_head_so_a_torn_or_huge_tail_does_not_matter(tmp_path):
    make_rollout(tmp_path, "2026-01-01T10-00-00", uid(1), "big session", extra=b"x" * 5_000_000 + b"\n{torn")
    (summary,) = list_rollouts(tmp_path)
    assert summary.first_prompt == "big session"


def test_listing_ten_thousand_sessions_stays_fast(tmp_path):
    for n in range(10_000):
        make_rollout(tmp_path, f"2026-{1 + n // 2000:02d}-{1 + n % 28:02d}T10-{n % 60:02d}-00", uid(n), f"task {n}")
    started = time.monotonic()
    summaries = list_rollouts(tmp_path)
    elapsed = time.monotonic() - started
    assert len(summaries) == 10_000
    assert all(s.first_prompt == f"task {int(s.thread_id[-12:])}" for s in summaries)
    assert [s.created for s in summaries] == sorted((s.created for s in summaries), reverse=True)
    assert elapsed < 30, f"listing 10,000 sessions took {elapsed:.1f} s"

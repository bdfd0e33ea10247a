"""history.jsonl (spec agent-core 7.7)."""

import fcntl
import json
import os
import stat

import pytest
import trio

from codex_actors.session.persistence import HistoryEntry, HistoryError, HistoryLog, HistoryMetadata
from codex_actors.session.persistence import history as history_module

SESSION = "0196a000-0000-7000-8000-000000000001"


async def test_prompts_are_appended_as_json_lines_with_mode_0600(tmp_path):
    log = HistoryLog(tmp_path)
    await log.append(SESSION, "fix the build", ts=1_777_000_000)
    await log.append(SESSION, "now add tests ünïcode", ts=1_777_000_001)
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert [json.loads(line) for line in log.path.read_text(encoding="utf-8").splitlines()] == [
        {"session_id": SESSION, "ts": 1_777_000_000, "text": "fix the build"},
        {"session_id": SESSION, "ts": 1_777_000_001, "text": "now add tests ünïcode"},
    ]


async def test_an_existing_file_with_wider_permissions_is_narrowed_to_0600(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text("")
    os.chmod(path, 0o644)
    await HistoryLog(tmp_path).append(SESSION, "x")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_entry_count_and_lookup_by_log_id_and_offset(tmp_path):
    log = HistoryLog(tmp_path)
    assert await log.metadata() == HistoryMetadata(0, 0)
    for i in range(3):
        await log.append(SESSION, f"prompt {i}", ts=100 + i)
    meta = await log.metadata()
    assert meta == HistoryMetadata(os.stat(log.path).st_ino, 3)
    assert await log.lookup(meta.log_id, 1) == HistoryEntry(SESSION, 101, "prompt 1")
    assert await log.lookup(meta.log_id, 3) is None
    assert await log.lookup(meta.log_id + 1, 0) is None


async def test_exceeding_max_bytes_drops_oldest_lines_down_to_80_percent(tmp_path):
    log = HistoryLog(tmp_path, max_bytes=1000)
    line_len = len(json.dumps({"session_id": SESSION, "ts": 100, "text": "p" * 40}, separators=(",", ":"))) + 1
    count = 1000 // line_len + 1
    for i in range(count):
        await log.append(SESSION, f"{i:02d}" + "p" * 38, ts=100)
    size = os.path.getsize(log.path)
    assert size <= 800
    texts = [json.loads(line)["text"] for line in log.path.read_text().splitlines()]
    assert len(texts) == 800 // line_len
    assert texts[-1].startswith(f"{count - 1:02d}")
    assert [int(t[:2]) for t in texts] == list(range(count - len(texts), count))


async def test_persistence_none_writes_nothing(tmp_path):
    log = HistoryLog(tmp_path, persistence="none")
    await log.append(SESSION, "secret")
    assert not log.path.exists()


async def test_append_gives_up_after_ten_lock_attempts_and_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(history_module, "LOCK_RETRY_S", 0.01)
    log = HistoryLog(tmp_path)
    await log.append(SESSION, "before", ts=1)
    holder = os.open(log.path, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(HistoryError, match="could not lock .*history.jsonl after 10 attempts"):
            await log.append(SESSION, "blocked", ts=2)
    finally:
        os.close(holder)
    await log.append(SESSION, "after", ts=3)
    assert [json.loads(line)["text"] for line in log.path.read_text().splitlines()] == ["before", "after"]


async def test_append_waits_for_a_briefly_held_lock(tmp_path):
    log = HistoryLog(tmp_path)
    await log.append(SESSION, "first", ts=1)
    holder = os.open(log.path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)

    async def release_soon():
        await trio.sleep(0.25)
        os.close(holder)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(release_soon)
        await log.append(SESSION, "second", ts=2)
    assert (await log.metadata()).entry_count == 2

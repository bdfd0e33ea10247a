"""The rollout recorder actor (spec agent-core 8): lazy file, one flushed line per item, fsync on Flush."""

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
import trio

from codex_actors.actors import ActorCrashed, ActorDied, start_actor
from codex_actors.session.persistence import (
    Flush,
    Record,
    RolloutError,
    RolloutItem,
    RolloutRecorder,
    compacted,
    event_msg,
    read_rollout,
    response_item,
    turn_context,
)

THREAD = "01969f2c-3b1e-7a52-9c4e-2f0d8e1a7c55"
META = {"cwd": "/repo", "originator": "codex_actors", "cli_version": "0.1.0", "source": "cli",
        "model_provider": "openai", "base_instructions": {"text": "be brief"}}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def user(text):
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


async def start(nursery, tmp_path, **kwargs):
    kwargs.setdefault("session_meta", META)
    return await nursery.start(RolloutRecorder(home=tmp_path, thread_id=THREAD, **kwargs).run)


async def test_file_is_created_lazily_at_the_first_persisted_item(tmp_path):
    async with trio.open_nursery() as nursery:
        recorder = await start(nursery, tmp_path)
        assert await recorder.ask(Flush()) is None
        await recorder.ask(Record([event_msg({"type": "agent_message_delta", "delta": "hi"})]))
        assert not (tmp_path / "sessions").exists()
        path = await recorder.ask(Record([response_item(user("hello"))]))
        assert path.exists()
        await recorder.stop()
    assert [line["type"] for line in lines_of(path)] == ["session_meta", "response_item"]


async def test_path_uses_local_creation_time_and_thread_id(tmp_path):
    fixed = datetime.datetime(2026, 4, 25, 9, 15, 2, 114000, tzinfo=datetime.timezone.utc)
    async with trio.open_nursery() as nursery:
        recorder = await start(nursery, tmp_path, clock=lambda: fixed)
        path = await recorder.ask(Record([response_item(user("x"))]))
        await recorder.stop()
    local = fixed.astimezone()
    assert path == tmp_path / "sessions" / local.strftime("%Y/%m/%d") / (
        f"rollout-{local.strftime('%Y-%m-%dT%H-%M-%S')}-{THREAD}.jsonl"
    )
    first = lines_of(path)[0]
    assert first["timestamp"] == "2026-04-25T09:15:02.114Z"
    assert first["payload"] == {"id": THREAD, "timestamp": "2026-04-25T09:15:02.114Z", **META}


async def test_each_line_is_on_disk_as_soon_as_the_item_is_handled(tmp_path):
    async with trio.open_nursery() as nursery:
        recorder = await start(nursery, tmp_path)
        path = await recorder.ask(Record([turn_context({"turn_id": "t-1", "cwd": "/repo", "model": "m"})]))
        for i in range(3):
            await recorder.ask(Record([response_item(user(f"message {i}"))]))
            on_disk = lines_of(path)
            assert on_disk[-1]["payload"] == user(f"message {i}")
        assert await recorder.ask(Flush()) == path
        await recorder.stop()
    for line in lines_of(path):
        assert set(line) == {"timestamp", "type", "payload"}
        assert TIMESTAMP.match(line["timestamp"])


async def test_only_the_event_kinds_spec_8_lists_are_persisted(tmp_path):
    events = [
        {"type": "task_started", "turn_id": "t-1"},
        {"type": "agent_message_delta", "delta": "h"},
        {"type": "exec_command_begin", "call_id": "c"},
        {"type": "exec_command_end", "call_id": "c", "exit_code": 0},
        {"type": "agent_message", "message": "done"},
        {"type": "item_completed", "item": {"type": "plan", "text": "1. x"}},
        {"type": "item_completed", "item": {"type": "agent_message"}},
        {"type": "token_count", "info": None},
        {"type": "task_complete", "turn_id": "t-1", "last_agent_message": "done"},
    ]
    kept = {}
    for extended in (False, True):
        async with trio.open_nursery() as nursery:
            recorder = await start(nursery, tmp_path / str(extended), extended=extended)
            path = await recorder.ask(Record([event_msg(e) for e in events]))
            await recorder.stop()
        kept[extended] = [line["payload"]["type"] for line in lines_of(path)[1:]]
    assert kept[False] == ["task_started", "agent_message", "item_completed", "token_count", "task_complete"]
    assert kept[True] == ["task_started", "exec_command_end", "agent_message", "item_completed", "token_count",
                          "task_complete"]


def test_bad_items_fail_in_the_sender_with_a_clear_error():
    with pytest.raises(RolloutError, match="not JSON-serialisable"):
        response_item({"type": "message", "content": {1, 2}})
    with pytest.raises(RolloutError, match="unknown rollout item kind 'note'"):
        RolloutItem.of("note", {})
    with pytest.raises(RolloutError, match="must be a JSON object"):
        RolloutItem.of("response_item", ["x"])
    with pytest.raises(RolloutError, match="needs a session_meta"):
        RolloutRecorder(home="/tmp", thread_id=THREAD)


async def test_resumed_recorder_appends_to_the_same_file_without_a_new_session_meta(tmp_path):
    async with trio.open_nursery() as nursery:
        recorder = await start(nursery, tmp_path)
        path = await recorder.ask(Record([response_item(user("first"))]))
        await recorder.stop()
    async with trio.open_nursery() as nursery:
        resumed = await nursery.start(RolloutRecorder(home=tmp_path, thread_id=THREAD, resume_path=path).run)
        await resumed.ask(Record([response_item(user("second")), compacted("summary", [user("second")])]))
        await resumed.ask(Flush())
        await resumed.stop()
    assert [line["type"] for line in lines_of(path)] == ["session_meta", "response_item", "response_item", "compacted"]
    assert read_rollout(path).history == (user("second"),)


async def test_write_failure_crashes_the_recorder_to_its_owner_naming_it(tmp_path):
    (tmp_path / "sessions").write_text("not a directory")
    crashes = []
    async with trio.open_nursery() as nursery:
        recorder = await start_actor(
            nursery,
            RolloutRecorder(home=tmp_path, thread_id=THREAD, session_meta=META),
            supervise=lambda ref, crash: crashes.append(crash),
        )
        with pytest.raises(ActorCrashed, match=r"rollout-recorder\[.*NotADirectoryError"):
            await recorder.ask(Record([response_item(user("x"))]))
    assert len(crashes) == 1


CHILD = textwrap.dedent(
    """
    import sys, trio
    from codex_actors.session.persistence import RolloutRecorder, Record, response_item

    async def main(home):
        async with trio.open_nursery() as nursery:
            recorder = await nursery.start(RolloutRecorder(
                home=home, thread_id="0196a000-0000-7000-8000-000000000001", session_meta={"cwd": home}).run)
            i = 0
            while True:
                item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"item {i}"}]}
                await recorder.ask(Record([response_item(item)]))
                print(i, flush=True)
                i += 1

    trio.run(main, sys.argv[1])
    """
)


async def test_sigkilled_writer_loses_no_flushed_line_and_a_torn_tail_is_skipped(tmp_path):
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, cwd=os.getcwd()
    )
    acked = -1
    buffer = b""
    try:
        with trio.fail_after(30):
            while acked < 40:
                chunk = await process.stdout.receive_some()
                assert chunk, "the writer exited early"
                buffer += chunk
                *done, buffer = buffer.split(b"\n")
                if done:
                    acked = int(done[-1])
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await process.stdout.aclose()
    assert process.returncode == -signal.SIGKILL
    (path,) = (tmp_path / "sessions").rglob("rollout-*.jsonl")
    with open(path, "a") as f:
        f.write('{"timestamp":"2026-04-25T09:15:0')  # what a write torn by the kill leaves behind
    resumed = read_rollout(path)
    assert resumed.thread_id == "0196a000-0000-7000-8000-000000000001"
    assert resumed.skipped_lines == 1
    texts = [item["content"][0]["text"] for item in resumed.history]
    assert texts[: acked + 1] == [f"item {i}" for i in range(acked + 1)]
    assert texts == [f"item {i}" for i in range(len(texts))]


async def test_stopped_recorder_has_closed_its_file_and_refuses_more_items(tmp_path):
    async with trio.open_nursery() as nursery:
        recorder = await start(nursery, tmp_path)
        path = await recorder.ask(Record([response_item(user("kept"))]))
        recorder_actor_file_lines = len(lines_of(path))
        await recorder.stop()
        assert recorder.stopped
        with pytest.raises(ActorDied):
            await recorder.send(Record([response_item(user("too late"))]))
    assert len(lines_of(path)) == recorder_actor_file_lines == 2


async def test_cancelling_the_owner_mid_stream_keeps_every_handled_line(tmp_path):
    handled = []
    with trio.move_on_after(0.2):
        async with trio.open_nursery() as nursery:
            recorder = await start(nursery, tmp_path)
            for i in range(100_000):
                handled.append(await recorder.ask(Record([response_item(user(f"m{i}"))])))
    path = handled[0]
    texts = [line["payload"]["content"][0]["text"] for line in lines_of(path)[1:]]
    assert texts[: len(handled)] == [f"m{i}" for i in range(len(handled))]

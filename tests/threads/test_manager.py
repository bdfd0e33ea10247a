"""The thread manager: many live sessions in one actor, ops and events routed by thread id, stored threads
resumed and forked, failures kept to the thread (or the request) they belong to."""

from __future__ import annotations

import pytest
import trio

from codex_actors.config import ConfigError, load_config
from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions
from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import response, text_message
from codex_actors.threads import UnknownThread, catalog, open_thread_manager


def config_for(url, tmp_path, monkeypatch, **flags):
    monkeypatch.setenv("CODEX_ACTORS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    table = f'{{name="x",base_url="{url}",env_key="OPENAI_API_KEY",wire_api="responses",request_max_retries=1}}'
    return load_config(cwd=tmp_path, overrides=["model_provider=x", f"model_providers.x={table}"],
                       flags={"approval_policy": "never", **flags})


def turn(text):
    return ops.UserInputOp(items=[ops.TextInput(text)])


async def answer_of(stream, turn_id):
    """The last agent message of the turn, read from `stream` until its task_complete."""
    last = None
    with trio.fail_after(30):
        async for event in stream:
            if isinstance(event.msg, events.AgentMessage):
                last = event.msg.message
            if isinstance(event.msg, events.TaskComplete) and event.id == turn_id:
                return last
    raise AssertionError("stream ended before the turn completed")


async def test_two_threads_get_their_own_events_and_a_second_subscriber_sees_them_too(tmp_path, monkeypatch):
    script = [response(text_message("answer")), response(text_message("answer"))]
    async with serve_scripted_model(script, websocket=False) as server:
        config = config_for(server.url, tmp_path, monkeypatch)
        async with open_thread_manager() as threads:
            one = await threads.start(config)
            two = await threads.start(config)
            assert one.thread_id != two.thread_id
            listener = await threads.subscribe(one.thread_id)
            assert {i.thread_id for i in await threads.live()} == {one.thread_id, two.thread_id}
            first = await one.submit(turn("hello one"))
            second = await two.submit(turn("hello two"))
            assert await answer_of(one.events, first) == "answer"
            assert await answer_of(two.events, second) == "answer"
            assert await answer_of(listener, first) == "answer"
            assert await threads.close(one.thread_id) is True
            assert not await threads.is_live(one.thread_id)
            with pytest.raises(UnknownThread, match=one.thread_id):
                await threads.submit(one.thread_id, turn("too late"))
            assert await threads.close(one.thread_id) is False
        # Closing ended the starter's stream (nothing left to read), and the manager closed the rest on exit.
        with pytest.raises(trio.EndOfChannel):
            one.events.receive_nowait()
    sent = sorted(r.body["input"][-1]["content"][0]["text"] for r in server.requests)
    assert sent == ["hello one", "hello two"]


async def test_a_failed_start_is_the_callers_error_and_the_manager_carries_on(tmp_path, monkeypatch):
    async with serve_scripted_model([response(text_message("fine"))], websocket=False) as server:
        config = config_for(server.url, tmp_path, monkeypatch)
        async with open_thread_manager() as threads:
            monkeypatch.delenv("OPENAI_API_KEY")
            with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
                await threads.start(config)
            monkeypatch.setenv("OPENAI_API_KEY", "test-key")
            thread = await threads.start(config)
            assert await answer_of(thread.events, await thread.submit(turn("still working?"))) == "fine"


async def test_resume_continues_a_stored_thread_and_fork_copies_it_under_a_new_id(tmp_path, monkeypatch):
    script = [response(text_message("first")), response(text_message("resumed")), response(text_message("forked"))]
    async with serve_scripted_model(script, websocket=False) as server:
        config = config_for(server.url, tmp_path, monkeypatch)
        async with open_thread_manager() as threads:
            original = await threads.start(config, RunOptions(source="exec"))
            await answer_of(original.events, await original.submit(turn("remember kiwi")))
            await threads.close(original.thread_id)
            stored = catalog.find_thread(config.home, original.thread_id)
            assert stored is not None and stored.preview == "remember kiwi"

            resumed = await threads.resume(config, stored.path)
            assert resumed.thread_id == original.thread_id
            await answer_of(resumed.events, await resumed.submit(turn("what fruit?")))
            await threads.close(resumed.thread_id)

            forked = await threads.fork(config, stored.path)
            assert forked.thread_id != original.thread_id
            await answer_of(forked.events, await forked.submit(turn("and now?")))
    texts = [[c["content"][0]["text"] for c in r.body["input"] if c.get("role") == "user"
              and c["content"][0]["text"] in ("remember kiwi", "what fruit?", "and now?")] for r in server.requests]
    assert texts == [["remember kiwi"], ["remember kiwi", "what fruit?"], ["remember kiwi", "what fruit?", "and now?"]]
    forked_stored = catalog.find_thread(config.home, forked.thread_id)
    assert forked_stored.meta["forked_from_id"] == original.thread_id


def test_archive_unarchive_and_names_move_the_rollout_and_index_it(tmp_path):
    home = tmp_path / "home"
    day = home / "sessions" / "2026" / "01" / "02"
    day.mkdir(parents=True)
    thread_id = "0a0a0a0a-0000-0000-0000-000000000001"
    rollout = day / f"rollout-2026-01-02T03-04-05-{thread_id}.jsonl"
    rollout.write_text('{"timestamp":"t","type":"session_meta","payload":{"id":"%s","cwd":"/w"}}\n' % thread_id)
    catalog.set_thread_name(home, thread_id, "first name")
    catalog.set_thread_name(home, thread_id, "better name")
    [listed] = catalog.list_threads(home)
    assert (listed.thread_id, listed.name, listed.archived) == (thread_id, "better name", False)
    moved = catalog.archive(home, thread_id)
    assert moved.parent == home / "archived_sessions" and not rollout.exists()
    assert catalog.list_threads(home) == [] and catalog.list_threads(home, archived=True)[0].thread_id == thread_id
    with pytest.raises(LookupError):
        catalog.archive(home, thread_id)
    assert catalog.unarchive(home, thread_id) == rollout and rollout.exists()


async def test_an_attached_holder_keeps_the_thread_until_the_last_release(tmp_path, monkeypatch):
    async with serve_scripted_model([response(text_message("shared"))], websocket=False) as server:
        config = config_for(server.url, tmp_path, monkeypatch)
        async with open_thread_manager() as threads:
            started = await threads.start(config)
            joined = await threads.attach(started.thread_id)
            assert await threads.release(started.thread_id) is False  # the joiner still holds it
            turn_id = await joined.submit(turn("still live"))
            assert await answer_of(joined.events, turn_id) == "shared"
            assert await threads.release(started.thread_id) is True
            assert not await threads.is_live(started.thread_id)
            with pytest.raises(UnknownThread):
                await threads.attach(started.thread_id)

import json
import os
import signal
import subprocess
import sys
import textwrap

import trio

from codex_actors.config import load_config
from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.session.persistence import find_rollout, read_rollout
from codex_actors.testing import custom_tool_call, response, serve_scripted_model, text_message, usage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def config_for(tmp_path, url, *extra):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    provider = f'model_providers.x={{name="x",base_url="{url}",wire_api="responses",stream_max_retries=1}}'
    return load_config(cwd=work, environ={"CODEX_ACTORS_HOME": str(home)},
                       overrides=["model_provider=x", provider, *extra])


def user_turn(text, cwd):
    """Input under the session's own settings (a `user_turn` op would replace them with its context)."""
    return ops.UserInputOp(items=[ops.TextInput(text)])


async def test_rollout_records_the_turn_and_resume_continues_it(tmp_path):
    script = [response(text_message("first answer"), usage=usage(5, 2)), response(text_message("second answer"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config) as session:
            await session.submit(user_turn("remember 42", config.cwd))
            await session.wait_for(events.TaskComplete)
            thread_id = session.session_id
        path = find_rollout(config.home, None)
        assert path is not None and thread_id in path.name
        lines = [json.loads(l) for l in path.read_text().splitlines()]
        assert lines[0]["type"] == "session_meta" and lines[0]["payload"]["id"] == thread_id
        kinds = [(l["type"], l["payload"].get("type")) for l in lines]
        assert ("response_item", "message") in kinds and ("turn_context", None) in kinds
        assert ("event_msg", "task_complete") in kinds
        assert ("event_msg", "agent_message_delta") not in kinds

        async with open_configured_session(config, RunOptions(resume=path)) as session:
            assert session.session_id == thread_id
            await session.submit(user_turn("what was it?", config.cwd))
            await session.wait_for(events.TaskComplete)
    second = json.dumps(server.requests[1].body["input"])
    assert "remember 42" in second and "first answer" in second
    assert sum(1 for l in path.read_text().splitlines() if '"session_meta"' in l) == 1


async def test_ephemeral_session_writes_no_rollout(tmp_path):
    async with serve_scripted_model([response(text_message("hi"))]) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(user_turn("hello", config.cwd))
            await session.wait_for(events.TaskComplete)
    assert find_rollout(config.home, None) is None


CHILD = textwrap.dedent("""
    import sys, trio
    from codex_actors.config import load_config
    from codex_actors.protocol import events, ops
    from codex_actors.runtime import open_configured_session

    async def main():
        home, work, url = sys.argv[1:4]
        provider = f'model_providers.x={{name="x",base_url="{url}",wire_api="responses"}}'
        config = load_config(cwd=work, environ={"CODEX_ACTORS_HOME": home},
                             overrides=["model_provider=x", provider, "approval_policy=untrusted"])
        async with open_configured_session(config) as session:
            await session.submit(ops.UserTurn(items=[ops.TextInput("make a file")], cwd=work,
                                              approval_policy="untrusted", sandbox_policy={"type": "read-only"},
                                              model="m"))
            await session.wait_for(events.ApplyPatchApprovalRequest)
            print("waiting-for-approval", flush=True)
            await trio.sleep_forever()

    trio.run(main)
""")


async def test_sigkilled_session_leaves_a_rollout_that_resumes_with_every_recorded_item(tmp_path):
    patch = "*** Begin Patch\n*** Add File: f.txt\n+x\n*** End Patch"
    script = [response(custom_tool_call("apply_patch", patch, "p1"), usage=usage(3, 1)),
              response(text_message("resumed fine"))]
    async with serve_scripted_model(script) as server:
        home, work = tmp_path / "home", tmp_path / "work"
        home.mkdir()
        work.mkdir()
        child = await trio.lowlevel.open_process(
            [sys.executable, "-c", CHILD, str(home), str(work), server.url],
            stdout=subprocess.PIPE, cwd=ROOT)
        try:
            with trio.fail_after(30):
                line = await child.stdout.receive_some(100)
            assert b"waiting-for-approval" in line
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
            await child.stdout.aclose()
        path = find_rollout(home, None)
        resumed = read_rollout(path)
        texts = json.dumps(resumed.history)
        assert "make a file" in texts
        assert any(i.get("type") == "custom_tool_call" and i.get("call_id") == "p1" for i in resumed.history)
        assert not (work / "f.txt").exists()

        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(resume=path)) as session:
            await session.submit(user_turn("go on", work))
            seen = await session.wait_for(events.TaskComplete)
            assert seen[-1].msg.last_agent_message == "resumed fine"
    request = server.requests[1].body["input"]
    # the call that never got an answer is given an "aborted" output, so the model sees a consistent history
    assert {"type": "custom_tool_call_output", "call_id": "p1", "output": "aborted"} in request


async def test_session_configured_reports_the_history_files_inode_and_entry_count(tmp_path):
    async with serve_scripted_model([]) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            configured = (await session.wait_for(events.SessionConfigured))[-1]
        assert (configured.msg.history_log_id, configured.msg.history_entry_count) == (0, 0)  # no history yet
        history = config.home / "history.jsonl"
        history.write_text("".join(json.dumps({"session_id": "s", "ts": 1, "text": t}) + "\n" for t in "abc"))
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            configured = (await session.wait_for(events.SessionConfigured))[-1]
    assert (configured.msg.history_log_id, configured.msg.history_entry_count) == (history.stat().st_ino, 3)


async def test_history_ops_append_and_read_back_entries_of_this_history_file(tmp_path):
    async with serve_scripted_model([]) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.wait_for(events.SessionConfigured)
            for text in ("first prompt", "second prompt"):
                await session.submit(ops.AddToHistory(text=text))
            log_id = (config.home / "history.jsonl").stat().st_ino
            answers = []
            for offset, ident in ((1, log_id), (5, log_id), (0, log_id + 1)):
                await session.submit(ops.GetHistoryEntryRequest(offset=offset, log_id=ident))
                answers.append((await session.wait_for(events.GetHistoryEntryResponse))[-1].msg)
            thread_id = session.session_id
    entry = answers[0].entry
    assert (entry["conversation_id"], entry["text"]) == (thread_id, "second prompt") and entry["ts"] > 0
    assert answers[1:] == [events.GetHistoryEntryResponse(offset=5, log_id=log_id),  # past the end
                           events.GetHistoryEntryResponse(offset=0, log_id=log_id + 1)]  # another file


async def test_the_rollouts_session_meta_records_the_repositorys_commit_and_branch(tmp_path):
    async with serve_scripted_model([response(text_message("a")), response(text_message("b"))]) as server:
        config = config_for(tmp_path, server.url)
        async with open_configured_session(config) as session:  # not a repository yet
            await session.submit(user_turn("one", config.cwd))
            await session.wait_for(events.TaskComplete)
        git = ["git", "-C", str(config.cwd), "-c", "user.email=t@example.com", "-c", "user.name=t"]
        subprocess.run([*git, "init", "-q", "-b", "work"], check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "first"], check=True)
        head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
        async with open_configured_session(config) as session:
            await session.submit(user_turn("two", config.cwd))
            await session.wait_for(events.TaskComplete)
    metas = [json.loads(path.read_text().splitlines()[0])["payload"]
             for path in sorted((config.home / "sessions").rglob("rollout-*.jsonl"), key=lambda p: p.stat().st_mtime)]
    assert [meta.get("git") for meta in metas] == [None, {"commit_hash": head, "branch": "work"}]

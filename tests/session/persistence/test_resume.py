"""Rebuilding a session from its rollout (spec agent-core 8 "Resume")."""

import json

import pytest

from codex_actors.session.persistence import RolloutError, read_rollout

THREAD = "01969f2c-3b1e-7a52-9c4e-2f0d8e1a7c55"


def msg(role, text):
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def line(kind, payload, ts="2026-04-25T09:15:02.114Z"):
    return json.dumps({"timestamp": ts, "type": kind, "payload": payload})


def write(path, lines):
    path.write_text("".join(f"{entry}\n" for entry in lines))
    return path


META = line("session_meta", {"id": THREAD, "cwd": "/repo", "source": "exec"})
ENV = msg("user", "<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>")
AGENTS = msg("user", "# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nx\n</INSTRUCTIONS>")


def test_appendix_b_rollout_restores_thread_history_context_and_usage(tmp_path):
    call = {"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"ls tests\"}", "call_id": "call_a1"}
    output = {"type": "function_call_output", "call_id": "call_a1", "output": "test_api.py\n"}
    usage = {"total_token_usage": {"total_tokens": 9216}, "last_token_usage": {"total_tokens": 4730},
             "model_context_window": 272000}
    context = {"turn_id": "t-1", "cwd": "/repo", "approval_policy": "never", "sandbox_policy": {"type": "read-only"},
               "model": "gpt-5.5", "summary": "auto"}
    path = write(tmp_path / "r.jsonl", [
        META,
        line("event_msg", {"type": "task_started", "turn_id": "t-1"}),
        line("response_item", ENV),
        line("turn_context", context),
        line("response_item", msg("user", "list the tests")),
        line("event_msg", {"type": "user_message", "message": "list the tests"}),
        line("response_item", call),
        line("response_item", output),
        line("response_item", msg("assistant", "One test file.")),
        line("event_msg", {"type": "token_count", "info": usage, "rate_limits": None}),
        line("event_msg", {"type": "token_count", "info": None, "rate_limits": {"primary": None}}),
        line("event_msg", {"type": "task_complete", "turn_id": "t-1", "last_agent_message": "One test file."}),
    ])
    resumed = read_rollout(path)
    assert resumed.thread_id == THREAD
    assert resumed.session_meta["source"] == "exec"
    assert resumed.history == (ENV, msg("user", "list the tests"), call, output, msg("assistant", "One test file."))
    assert resumed.turn_context == context
    assert resumed.token_info == usage
    assert [e["type"] for e in resumed.events] == ["task_started", "user_message", "token_count", "token_count",
                                                  "task_complete"]
    assert resumed.skipped_lines == 0


def test_newest_turn_context_wins(tmp_path):
    path = write(tmp_path / "r.jsonl", [
        META, line("turn_context", {"turn_id": "t-1", "model": "a"}), line("turn_context", {"turn_id": "t-2", "model": "b"})
    ])
    assert read_rollout(path).turn_context == {"turn_id": "t-2", "model": "b"}


def test_history_starts_at_the_newest_compaction_checkpoint(tmp_path):
    path = write(tmp_path / "r.jsonl", [
        META,
        line("response_item", msg("user", "one")),
        line("compacted", {"message": "s1", "replacement_history": [msg("user", "summary 1")]}),
        line("response_item", msg("user", "two")),
        line("compacted", {"message": "s2", "replacement_history": [msg("user", "summary 2")]}),
        line("response_item", msg("user", "three")),
        line("response_item", msg("assistant", "ok")),
    ])
    assert read_rollout(path).history == (msg("user", "summary 2"), msg("user", "three"), msg("assistant", "ok"))


def test_compaction_without_replacement_history_keeps_user_turns_and_adds_the_summary(tmp_path):
    path = write(tmp_path / "r.jsonl", [
        META,
        line("response_item", ENV),
        line("response_item", msg("user", "one")),
        line("response_item", msg("assistant", "a")),
        line("compacted", {"message": "what happened"}),
    ])
    assert read_rollout(path).history == (msg("user", "one"), msg("user", "what happened"))


def test_rollback_drops_the_newest_user_turns(tmp_path):
    turns = []
    for i in range(3):
        turns += [line("response_item", msg("user", f"q{i}")), line("response_item", msg("assistant", f"a{i}"))]
    path = write(tmp_path / "r.jsonl", [
        META, line("response_item", AGENTS), *turns,
        line("event_msg", {"type": "thread_rolled_back", "num_turns": 2}),
        line("response_item", msg("user", "q3")),
    ])
    assert read_rollout(path).history == (AGENTS, msg("user", "q0"), msg("assistant", "a0"), msg("user", "q3"))


def test_rollback_of_more_turns_than_exist_keeps_only_the_context(tmp_path):
    path = write(tmp_path / "r.jsonl", [
        META, line("response_item", ENV), line("response_item", msg("user", "q0")),
        line("event_msg", {"type": "thread_rolled_back", "num_turns": 5}),
    ])
    assert read_rollout(path).history == (ENV,)


def test_unparseable_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        (META + "\n").encode()
        + b"not json at all\n"
        + b"\xff\xfe\n"
        + b'{"timestamp":"x","type":"response_item"}\n'
        + b"[1,2]\n"
        + (line("response_item", msg("user", "kept")) + "\n").encode()
        + b'{"timestamp":"2026-04-25T09:1'
    )
    resumed = read_rollout(path)
    assert resumed.history == (msg("user", "kept"),)
    assert resumed.skipped_lines == 5


def test_rollout_without_session_meta_cannot_be_resumed(tmp_path):
    path = write(tmp_path / "r.jsonl", [line("response_item", msg("user", "x"))])
    with pytest.raises(RolloutError, match="has no session_meta line"):
        read_rollout(path)
    with pytest.raises(FileNotFoundError):
        read_rollout(tmp_path / "missing.jsonl")

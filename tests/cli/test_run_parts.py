"""The pure parts behind `run`'s screen: markdown layout, the resume transcript, the context meter, /diff's split."""

from __future__ import annotations

import json

from rich.console import Console

from codex_actors.cli.git_diff import split_diff
from codex_actors.cli.markdown import _elements_fit, markdown, tail
from codex_actors.model.listing import model_ids
from codex_actors.cli.status_line import ContextMeter
from codex_actors.cli.transcript import Entry, replay
from codex_actors.session.persistence.resume import RolloutLine


def _render(renderable, width=60) -> list[str]:
    console = Console(width=width, force_terminal=False, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return [line.rstrip() for line in capture.get().splitlines()]


def test_this_rich_still_has_the_markdown_elements_the_layout_replaces():
    assert _elements_fit()


def test_headings_stay_left_and_code_blocks_lose_their_fences_and_margin():
    lines = _render(markdown("## Next steps\n\ntext\n\n```\nx = 1\n```"))
    assert lines == ["Next steps", "", "text", "", "x = 1"]


def test_ordered_lists_are_numbered_with_a_dot_and_wrapped_lines_stay_under_the_text():
    lines = _render(markdown("1. first\n2. second item that wraps at this width\n\n- bullet"), width=30)
    assert lines == ["", " 1. first", " 2. second item that wraps at", "    this width", "", " • bullet"]
    lines = _render(markdown("9. nine\n10. ten"))
    assert lines == ["", "  9. nine", " 10. ten"]


def test_tail_keeps_the_last_rendered_lines():
    lines = _render(tail(markdown("\n\n".join(f"para {n}" for n in range(10))), 3))
    assert lines == ["para 8", "", "para 9"]


def _line(kind, payload):
    return RolloutLine("2026-01-01T00:00:00.000Z", kind, payload)


def test_replay_lists_prompts_commands_with_exit_codes_patches_and_answers():
    patch = "*** Begin Patch\n*** Add File: a.txt\n+x\n*** Update File: b.py\n@@\n-y\n+z\n*** End Patch\n"
    lines = [
        _line("session_meta", {"id": "t"}),
        _line("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text",
                                                                                 "text": "<environment_context>"}]}),
        _line("event_msg", {"type": "user_message", "message": "do it"}),
        _line("response_item", {"type": "function_call", "name": "exec_command", "call_id": "c1",
                                "arguments": json.dumps({"cmd": "make test"})}),
        _line("response_item", {"type": "function_call_output", "call_id": "c1",
                                "output": "Chunk ID: 1\nProcess exited with code 2\nOutput:\nfail"}),
        _line("response_item", {"type": "function_call", "name": "shell", "call_id": "c2",
                                "arguments": json.dumps({"command": ["ls", "-l"]})}),
        _line("response_item", {"type": "function_call_output", "call_id": "c2",
                                "output": json.dumps({"output": "", "metadata": {"exit_code": 0}})}),
        _line("response_item", {"type": "custom_tool_call", "name": "apply_patch", "call_id": "p1", "input": patch}),
        _line("response_item", {"type": "custom_tool_call_output", "call_id": "p1", "output": "Success. Updated"}),
        _line("event_msg", {"type": "agent_message", "message": "\n".join(f"line {n}" for n in range(8))}),
        _line("event_msg", {"type": "turn_aborted", "reason": "interrupted"}),
        _line("compacted", {"message": "summary"}),
    ]
    assert replay(lines) == [
        Entry("user", "do it"),
        Entry("command", "make test", exit_code=2),
        Entry("command", "ls -l", exit_code=0),
        Entry("patch", "A a.txt\nM b.py", ok=True),
        Entry("answer", "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\n… +2 lines"),
        Entry("aborted", "turn interrupted"),
        Entry("compacted", "earlier conversation compacted"),
    ]


def test_replay_of_a_command_without_output_has_no_exit_code():
    lines = [_line("response_item", {"type": "function_call", "name": "exec_command", "call_id": "c1",
                                     "arguments": "{\"cmd\": \"sleep 9\"}"})]
    assert replay(lines) == [Entry("command", "sleep 9", exit_code=None)]


def test_context_left_follows_the_spec_formula_and_clamps():
    meter = ContextMeter(None)
    meter.update({"model_context_window": 112_000, "last_token_usage": {"total_tokens": 25_000},
                  "total_token_usage": {"total_tokens": 60_000}})
    assert meter.percent_left() == 75  # (112000 - 12000 - 25000) / 100000
    assert meter.describe() == ["75% context left", "60,000 tokens"]
    meter.update({"last_token_usage": {"total_tokens": 500_000}})
    assert meter.percent_left() == 0
    assert ContextMeter(10_000).percent_left() == 0


def test_context_window_unknown_is_the_sessions_assumption_and_says_so():
    rows = dict(ContextMeter(None).status_rows())
    assert rows["context window"] == "100% left (0 used of 272,000 tokens (assumed; set model_context_window))"


def test_split_diff_gives_one_change_per_file():
    diff = ("diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
            "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n"
            "@@ -1 +0,0 @@\n-bye\n")
    assert split_diff(diff) == [("x.py", {"type": "update", "unified_diff": "@@ -1 +1 @@\n-a\n+b"}),
                                ("gone.txt", {"type": "update", "unified_diff": "@@ -1 +0,0 @@\n-bye\n"})]
    assert split_diff("") == []


def test_model_ids_read_openai_and_codex_listings():
    assert model_ids({"object": "list", "data": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}) == ["a", "b"]
    assert model_ids({"models": [{"slug": "gpt-5"}]}) == ["gpt-5"]
    assert model_ids({"error": "nope"}) == [] and model_ids([1, 2]) == []

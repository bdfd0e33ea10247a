"""The JSONL translator (spec agent-core 6.4) fed engine events directly: ids, lifecycles, fields, order."""

from __future__ import annotations

import json

from codex_actors.cli.jsonl import JsonlTranslator
from codex_actors.protocol import events

DURATION = {"secs": 0, "nanos": 5_000_000}


def run(*msgs: events.EventMsg) -> list[str]:
    translator = JsonlTranslator()
    return [JsonlTranslator.dumps(line) for msg in msgs for line in translator.feed(msg)]


def begin(call_id: str, argv: list[str]) -> events.ExecCommandBegin:
    return events.ExecCommandBegin(call_id=call_id, turn_id="t", command=argv, cwd="/repo")


def end(call_id: str, argv: list[str], code: int, output: str, status: str = "completed") -> events.ExecCommandEnd:
    return events.ExecCommandEnd(call_id=call_id, turn_id="t", command=argv, cwd="/repo", stdout=output, stderr="",
                                 aggregated_output=output, exit_code=code, duration=DURATION,
                                 formatted_output=output, status=status)


def reasoning(*parts: str) -> events.ItemCompleted:
    return events.ItemCompleted(turn_id="t", item={"type": "Reasoning", "id": "rs_1", "summary_text": list(parts),
                                                   "raw_content": []})


def test_the_spec_example_renders_byte_for_byte():
    argv = ["/bin/bash", "-lc", "ls tests"]
    change = {"/repo/src/api.py": {"type": "update", "unified_diff": "@@ -1 +1 @@\n-a\n+b\n"}}
    lines = run(
        events.SessionConfigured(session_id="01969f2c-3b1e-7a52-9c4e-2f0d8e1a7c55", model="m", model_provider_id="p",
                                 approval_policy="never", sandbox_policy={}, cwd="/repo", history_log_id=0,
                                 history_entry_count=0),
        events.TaskStarted(turn_id="t"),
        events.AgentReasoning(text="**Locating the test runner**"),
        reasoning("**Locating the test runner**"),
        begin("c1", argv),
        events.ExecCommandOutputDelta(call_id="c1", stream="stdout", chunk="dGVzdF9hcGkucHkK"),
        end("c1", argv, 0, "test_api.py\n"),
        events.PatchApplyBegin(call_id="p1", turn_id="t", auto_approved=True, changes=change),
        events.PatchApplyEnd(call_id="p1", turn_id="t", stdout="", stderr="", success=True, changes=change,
                             status="completed"),
        events.AgentMessage(message="Fixed the off-by-one in api.py."),
        events.TokenCount(info={"total_token_usage": {"input_tokens": 18234, "cached_input_tokens": 15104,
                                                      "output_tokens": 611, "reasoning_output_tokens": 320,
                                                      "total_tokens": 18845}}),
        events.TaskComplete(turn_id="t", last_agent_message="Fixed the off-by-one in api.py."),
    )
    assert lines == [
        '{"type":"thread.started","thread_id":"01969f2c-3b1e-7a52-9c4e-2f0d8e1a7c55"}',
        '{"type":"turn.started"}',
        '{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Locating the test runner**"}}',
        '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \'ls tests\'","aggregated_output":"","exit_code":null,"status":"in_progress"}}',  # noqa: E501
        '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \'ls tests\'","aggregated_output":"test_api.py\\n","exit_code":0,"status":"completed"}}',  # noqa: E501
        '{"type":"item.started","item":{"id":"item_2","type":"file_change","changes":[{"path":"/repo/src/api.py","kind":"update"}],"status":"in_progress"}}',  # noqa: E501
        '{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"/repo/src/api.py","kind":"update"}],"status":"completed"}}',  # noqa: E501
        '{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Fixed the off-by-one in api.py."}}',  # noqa: E501
        # The spec's example plus `cache_write_input_tokens` (issue #22; codex-rs's usage carries it too).
        '{"type":"turn.completed","usage":{"input_tokens":18234,"cached_input_tokens":15104,"cache_write_input_tokens":0,"output_tokens":611,"reasoning_output_tokens":320}}',  # noqa: E501
    ]


def test_failed_and_declined_commands_get_their_status():
    lines = [json.loads(x) for x in run(begin("a", ["false"]), end("a", ["false"], 1, ""),
                                        begin("b", ["rm", "-rf", "x"]), end("b", ["rm", "-rf", "x"], -1, "", "declined"))]
    assert [(x["item"]["id"], x["item"]["status"]) for x in lines if x["type"] == "item.completed"] == \
        [("item_0", "failed"), ("item_1", "declined")]


def test_plan_updates_start_then_update_one_todo_list_completed_at_turn_end():
    plan1 = [{"step": "read", "status": "in_progress"}, {"step": "fix", "status": "pending"}]
    plan2 = [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]
    lines = [json.loads(x) for x in run(events.TaskStarted(turn_id="t"), events.PlanUpdate(plan=plan1),
                                        events.PlanUpdate(plan=plan2), events.TaskComplete(turn_id="t"))]
    todo2 = {"id": "item_0", "type": "todo_list", "items": [{"text": "read", "completed": True},
                                                             {"text": "fix", "completed": False}]}
    assert lines[1:] == [
        {"type": "item.started", "item": {"id": "item_0", "type": "todo_list", "items": [
            {"text": "read", "completed": False}, {"text": "fix", "completed": False}]}},
        {"type": "item.updated", "item": todo2},
        {"type": "item.completed", "item": todo2},
        {"type": "turn.completed", "usage": {"input_tokens": 0, "cached_input_tokens": 0,
                                             "cache_write_input_tokens": 0, "output_tokens": 0,
                                             "reasoning_output_tokens": 0}},
    ]


def test_mcp_calls_complete_with_result_or_error():
    inv = {"server": "docs", "tool": "search", "arguments": {"q": "trio"}}
    ok = {"Ok": {"content": [{"type": "text", "text": "hit"}], "structuredContent": {"n": 1}, "isError": False}}
    lines = [json.loads(x) for x in run(
        events.McpToolCallBegin(call_id="m1", invocation=inv),
        events.McpToolCallEnd(call_id="m1", invocation=inv, duration=DURATION, result=ok),
        events.McpToolCallBegin(call_id="m2", invocation=inv),
        events.McpToolCallEnd(call_id="m2", invocation=inv, duration=DURATION, result={"Err": "tool timed out"}),
    )]
    assert lines[0]["item"] == {"id": "item_0", "type": "mcp_tool_call", "server": "docs", "tool": "search",
                                "arguments": {"q": "trio"}, "result": None, "error": None, "status": "in_progress"}
    assert lines[1]["item"] == {"id": "item_0", "type": "mcp_tool_call", "server": "docs", "tool": "search",
                                "arguments": {"q": "trio"},
                                "result": {"content": [{"type": "text", "text": "hit"}], "structured_content": {"n": 1}},
                                "error": None, "status": "completed"}
    assert lines[3]["item"]["status"] == "failed"
    assert lines[3]["item"]["error"] == {"message": "tool timed out"} and lines[3]["item"]["result"] is None


def test_warnings_are_error_items_and_stream_errors_are_error_events():
    assert run(events.Warning(message="compacted"),
               events.StreamError(message="Reconnecting... 2/5", additional_details="HTTP 502")) == [
        '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"compacted"}}',
        '{"type":"error","message":"Reconnecting... 2/5 (HTTP 502)"}',
    ]


def test_an_error_during_the_turn_ends_it_with_turn_failed():
    translator = JsonlTranslator()
    out = []
    for msg in (events.TaskStarted(turn_id="t"), events.Error(message="quota exceeded"),
                events.TaskComplete(turn_id="t")):
        out += translator.feed(msg)
    assert out[-1] == {"type": "turn.failed", "error": {"message": "quota exceeded"}}
    assert translator.outcome == "failed" and translator.failure == "quota exceeded"


def test_a_command_still_running_at_turn_end_is_closed_but_not_reported_completed_and_abort_writes_nothing():
    lines = [json.loads(x) for x in run(events.TaskStarted(turn_id="t"), begin("c", ["sleep", "9"]),
                                        events.TaskComplete(turn_id="t"))]
    assert lines[-2] == {"type": "item.completed", "item": {
        "id": "item_0", "type": "command_execution", "command": "sleep 9", "aggregated_output": "",
        "exit_code": None, "status": "in_progress"}}
    translator = JsonlTranslator()
    translator.feed(events.TaskStarted(turn_id="t"))
    translator.feed(begin("c", ["sleep", "9"]))
    assert translator.feed(events.TurnAborted(reason="interrupted", turn_id="t")) == []
    assert translator.outcome == "interrupted"
    assert translator.feed(events.TaskStarted(turn_id="u")) == [{"type": "turn.started"}]


def test_one_reasoning_item_per_output_item_with_its_summary_parts_joined_by_newlines():
    lines = [json.loads(x) for x in run(
        events.AgentReasoning(text="**Reading**"), events.AgentReasoning(text="**Planning**"),
        reasoning("**Reading**", "**Planning**"), reasoning("**Testing**"),
        events.AgentMessage(message="done"))]
    assert lines == [
        {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "**Reading**\n**Planning**"}},
        {"type": "item.completed", "item": {"id": "item_1", "type": "reasoning", "text": "**Testing**"}},
        {"type": "item.completed", "item": {"id": "item_2", "type": "agent_message", "text": "done"}},
    ]


def test_cache_write_tokens_reach_turn_completed_usage():
    lines = [json.loads(x) for x in run(
        events.TaskStarted(turn_id="t"),
        events.TokenCount(info={"total_token_usage": {"input_tokens": 100, "cached_input_tokens": 40,
                                                      "cache_write_input_tokens": 60, "output_tokens": 5,
                                                      "reasoning_output_tokens": 1, "total_tokens": 105}}),
        events.TaskComplete(turn_id="t"))]
    assert lines[-1] == {"type": "turn.completed", "usage": {
        "input_tokens": 100, "cached_input_tokens": 40, "cache_write_input_tokens": 60, "output_tokens": 5,
        "reasoning_output_tokens": 1}}


def test_a_web_search_call_is_one_started_and_completed_web_search_item():
    lines = [json.loads(x) for x in run(
        events.WebSearchBegin(call_id="ws_1"),
        events.WebSearchEnd(call_id="ws_1", query="trio nursery", action={"type": "search", "query": "trio nursery"}))]
    assert lines == [
        {"type": "item.started", "item": {"id": "item_0", "type": "web_search", "query": "",
                                          "action": {"type": "other"}}},
        {"type": "item.completed", "item": {"id": "item_0", "type": "web_search", "query": "trio nursery",
                                            "action": {"type": "search", "query": "trio nursery"}}},
    ]


def test_empty_reasoning_is_skipped_and_ids_keep_counting_across_turns():
    translator = JsonlTranslator()
    assert translator.feed(events.AgentReasoning(text="  ")) == []
    assert translator.feed(reasoning("  ")) == []
    assert translator.feed(events.AgentMessage(message="a"))[0]["item"]["id"] == "item_0"
    translator.feed(events.TaskComplete(turn_id="t"))
    assert translator.feed(events.AgentMessage(message="b"))[0]["item"]["id"] == "item_1"

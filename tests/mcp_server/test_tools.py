"""The mcp-server tools' arguments, checked once each (codex_actors/mcp_server/tools.py)."""

import pytest

from codex_actors.mcp_server.tools import (
    CodexCall, ReplyCall, ToolArgumentError, parse_codex_call, parse_reply_call,
)


def test_codex_arguments_become_config_flags_and_the_rest():
    call = parse_codex_call({"prompt": "hi", "model": "m", "sandbox": "workspace-write", "cwd": "/w",
                             "profile": "p", "config": {"model_reasoning_effort": "high"},
                             "base-instructions": "b", "developer-instructions": "d"})
    assert call == CodexCall(prompt="hi", cwd="/w", profile="p", base_instructions="b",
                             flags={"model_reasoning_effort": "high", "model": "m", "developer_instructions": "d",
                                    "sandbox_mode": "workspace-write", "approval_policy": "never"})


def test_reply_takes_thread_id_or_the_older_conversation_id():
    assert parse_reply_call({"threadId": "t", "prompt": "p"}) == ReplyCall("t", "p")
    assert parse_reply_call({"conversationId": "c", "prompt": "p"}) == ReplyCall("c", "p")


@pytest.mark.parametrize(
    ("parse", "args", "message"),
    [
        (parse_codex_call, {"prompt": "x", "bogus": 1}, "unknown argument(s): bogus"),
        (parse_codex_call, {"model": "m"}, "missing required argument `prompt`"),
        (parse_codex_call, {"prompt": "  "}, "argument `prompt` must be a non-empty string"),
        (parse_codex_call, {"prompt": "x", "sandbox": "open"}, "argument `sandbox` must be one of read-only, "
                                                               "workspace-write, danger-full-access, got 'open'"),
        (parse_codex_call, {"prompt": "x", "config": []}, "argument `config` must be an object of dotted config keys"),
        (parse_codex_call, {"prompt": "x", "cwd": 3}, "argument `cwd` must be a non-empty string"),
        (parse_reply_call, {"prompt": "x"}, "missing required argument `threadId`"),
        (parse_reply_call, {"threadId": "t"}, "missing required argument `prompt`"),
    ],
)
def test_bad_arguments_name_the_field(parse, args, message):
    with pytest.raises(ToolArgumentError) as caught:
        parse(args)
    assert str(caught.value) == message

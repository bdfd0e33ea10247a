"""The stateless scripted model: each request is answered from its own input, so any number of sessions can share
one server (`python -m codex_actors.testing.server --stateless`, used by `benchmarks/batch.py` and the batch tests).

The prompt (the last user message of the request) is read as directives, one per line; other lines are ignored:

    run: CMD          # one `exec_command` call with {"cmd": CMD}; several `run:` lines run one after another
    js: CODE          # one code-mode `exec` call (freeform) running the JavaScript CODE, after the `run:` calls
    reply: TEXT       # the final answer (default: the output of the last command, verbatim)
    fail: STATUS MSG  # answer every request of this turn with HTTP STATUS and the error message MSG
    delay: SECONDS    # wait this long before answering each request

How far the turn has got is read from the same request: the number of tool outputs after that user message (Responses
`function_call_output` / `custom_tool_call_output` items, Chat `tool` messages) is the number of calls already made.
While calls remain, the answer is the next call; then the final message. Every answer carries the usage
`{input_tokens: <input items x 100>, output_tokens: 10}`. WebSocket requests are refused (HTTP 426), since a WebSocket turn sends only new input items.
"""

from __future__ import annotations

import hashlib
from typing import Any

from codex_actors.testing.script import (
    custom_tool_call,
    error_response,
    function_call,
    response,
    text_message,
    usage,
)

DIRECTIVES = ("run", "js", "reply", "fail", "delay")


def directives(prompt: str) -> dict[str, list[str]]:
    """The directive lines of `prompt`: `{"run": [CMD, ...], "reply": [TEXT], ...}` (text after `name:`, stripped)."""
    found: dict[str, list[str]] = {name: [] for name in DIRECTIVES}
    for line in prompt.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in found:
            found[name.strip()].append(value.strip())
    return found


def answer(wire: str, body: Any) -> dict[str, Any]:
    """The scripted response (format of `codex_actors.testing.script`) for one request `body` (decoded JSON) on
    `wire` ("responses" or "chat"). A body without a user message gets HTTP 400 saying so."""
    turn = _turn_of(wire, body)
    if turn is None:
        return error_response(400, code="stateless_no_prompt", message="stateless model: no user message in request")
    prompt, outputs, n_items = turn
    found = directives(prompt)
    delay = float(found["delay"][-1]) if found["delay"] else None
    if found["fail"]:
        status, _, message = found["fail"][-1].partition(" ")
        return error_response(int(status), code="stateless_fail", message=message or "stateless failure", delay=delay)
    extra: dict[str, Any] = {"usage": usage(n_items * 100, 10)}
    if delay:
        extra["delay"] = delay
    calls = [("run", c) for c in found["run"]] + [("js", c) for c in found["js"]]
    if len(outputs) < len(calls):
        kind, text = calls[len(outputs)]
        call_id = "call_" + hashlib.sha1(f"{prompt}\0{len(outputs)}".encode()).hexdigest()[:16]
        if kind == "js":
            return response(custom_tool_call("exec", text, call_id), **extra)
        return response(function_call("exec_command", {"cmd": text}, call_id), **extra)
    if found["reply"]:
        text = found["reply"][-1]
    else:
        text = outputs[-1] if outputs else "ok"
    return response(text_message(text), **extra)


def _turn_of(wire: str, body: Any) -> tuple[str, list[str], int] | None:
    """(last user prompt, tool outputs after it, number of input items), or None without a user message."""
    if not isinstance(body, dict):
        return None
    if wire == "chat":
        entries = body.get("messages") or []
        users = [i for i, m in enumerate(entries) if isinstance(m, dict) and m.get("role") == "user"]
        if not users:
            return None
        last = users[-1]
        prompt = _text(entries[last].get("content"))
        outputs = [_text(m.get("content")) for m in entries[last + 1:] if isinstance(m, dict) and m.get("role") == "tool"]
        return prompt, outputs, len(entries)
    entries = body.get("input") or []
    users = [i for i, item in enumerate(entries)
             if isinstance(item, dict) and item.get("type", "message") == "message" and item.get("role") == "user"]
    if not users:
        return None
    last = users[-1]
    prompt = _text(entries[last].get("content"))
    outputs = [_text(item.get("output")) for item in entries[last + 1:]
               if isinstance(item, dict) and item.get("type") in ("function_call_output", "custom_tool_call_output")]
    return prompt, outputs, len(entries)


def _text(content: Any) -> str:
    """Plain text of a message content (a string or a list of text parts) or of a tool output."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if isinstance(content, dict):
        return str(content.get("content", content.get("text", "")))
    return ""

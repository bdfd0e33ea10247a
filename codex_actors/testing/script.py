"""The script of a `ScriptedModelServer`: builders and the rendering of one scripted response into wire events.

Script format (JSON, the same in Python and in a `--script FILE.json` for the subprocess server): a list of
responses, consumed one per request (HTTP POST or WebSocket `response.create`), each an object:

    {"items": [<Responses output items>],     # message / reasoning / function_call / custom_tool_call / ...
     "id": "resp_1",                          # optional response id (default resp_<n>)
     "usage": {"input_tokens": 10, ...},      # optional Responses usage object, sent in response.completed
     "failed": {"code": "...", "message": "..."},   # optional: end with response.failed instead
     "delay": 0.5,                            # optional: seconds to wait before answering
     "drop_after": 3,                         # fault: send 3 events, then cut the connection
     "malformed_after": 3,                    # fault: send 3 events, then a data line that is not JSON, then cut
     "silence_after": 3,                      # fault: send 3 events, then say nothing until the client leaves
     "refuse_streaming_with_tools": true,     # fault (chat wire): a streamed request offering tools gets what
                                              # llama-cpp-python's server sends when its model picks a tool
                                              # (200, then an event stream ending with no event) without using
                                              # up the entry, which answers the next, non-streaming request
     "finish_reason": "length"}               # chat wire: the finish_reason sent (default "tool_calls" when
                                              # there are tool calls, else "stop")

or an HTTP error: `{"status": 429, "retry_after": "1", "error": {"code": "...", "message": "..."}}` (over the
WebSocket it is sent as an `{"type":"error","status":...,"error":...,"headers":...}` frame).

Event counts refer to the rendered stream: on the Responses wire `response.created`, then per item
`output_item.added`, its deltas, `output_item.done`, then `response.completed`; on the Chat wire one chunk per
delta / tool-call piece, a finish chunk, an optional usage chunk, then `[DONE]`.
"""

from __future__ import annotations

import json
from typing import Any


def text_message(text: str, *, id: str | None = None, phase: str | None = None) -> dict[str, Any]:
    """An assistant `message` item with one `output_text` part."""
    item: dict[str, Any] = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    if id:
        item["id"] = id
    if phase:
        item["phase"] = phase
    return item


def function_call(name: str, arguments: str | dict[str, Any], call_id: str) -> dict[str, Any]:
    """A `function_call` item; a dict `arguments` is JSON-encoded (the wire carries a string)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"type": "function_call", "name": name, "arguments": args, "call_id": call_id}


def custom_tool_call(name: str, input: str, call_id: str) -> dict[str, Any]:
    """A freeform `custom_tool_call` item with raw text `input`."""
    return {"type": "custom_tool_call", "call_id": call_id, "name": name, "input": input}


def reasoning(*summary: str, encrypted_content: str | None = None) -> dict[str, Any]:
    """A `reasoning` item with one summary_text part per string."""
    item: dict[str, Any] = {"type": "reasoning", "summary": [{"type": "summary_text", "text": s} for s in summary]}
    if encrypted_content is not None:
        item["encrypted_content"] = encrypted_content
    return item


def usage(input_tokens: int, output_tokens: int, *, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    """A Responses `usage` object (tokens); total = input + output."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def response(*items: dict[str, Any], **options: Any) -> dict[str, Any]:
    """One scripted response: `items` plus options id / usage / failed / delay / drop_after / malformed_after /
    silence_after / refuse_streaming_with_tools / finish_reason (see the module docstring)."""
    known = {"id", "usage", "failed", "delay", "drop_after", "malformed_after", "silence_after",
             "refuse_streaming_with_tools", "finish_reason"}
    unknown = set(options) - known
    if unknown:
        raise ValueError(f"unknown scripted response option(s): {sorted(unknown)}; known: {sorted(known)}")
    return {"items": list(items), **options}


def error_response(
    status: int, *, retry_after: str | None = None, code: str = "", message: str = "scripted error",
    delay: float | None = None,
) -> dict[str, Any]:
    """An HTTP error answer (`status`, optional Retry-After seconds as a string, OpenAI-style error body)."""
    entry: dict[str, Any] = {"status": status, "error": {"code": code, "message": message}}
    if retry_after is not None:
        entry["retry_after"] = retry_after
    if delay is not None:
        entry["delay"] = delay
    return entry


def _pieces(text: str, n: int = 3) -> list[str]:
    """`text` cut into up to `n` non-empty pieces (one piece for short text)."""
    if len(text) < n:
        return [text] if text else []
    size = -(-len(text) // n)
    return [text[i:i + size] for i in range(0, len(text), size)]


def responses_events(entry: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
    """The Responses stream events (JSON objects, spec 3.2) of one scripted response."""
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": response_id}}]
    for index, item in enumerate(entry.get("items", [])):
        item_id = item.get("id") or f"item_{index}"
        kind = item.get("type")
        skeleton = dict(item, id=item_id)
        if kind == "message":
            skeleton["content"] = []
        elif kind == "reasoning":
            skeleton["summary"] = []
        elif kind == "custom_tool_call":
            skeleton["input"] = ""
        elif kind == "function_call":
            skeleton["arguments"] = ""
        events.append({"type": "response.output_item.added", "output_index": index, "item": skeleton})
        if kind == "message":
            for part in item.get("content", []):
                for piece in _pieces(part.get("text", "")):
                    events.append({"type": "response.output_text.delta", "item_id": item_id, "delta": piece})
        elif kind == "reasoning":
            for s_index, part in enumerate(item.get("summary", [])):
                events.append({"type": "response.reasoning_summary_part.added", "item_id": item_id,
                               "summary_index": s_index})
                for piece in _pieces(part.get("text", "")):
                    events.append({"type": "response.reasoning_summary_text.delta", "item_id": item_id,
                                   "summary_index": s_index, "delta": piece})
        elif kind == "custom_tool_call":
            for piece in _pieces(item.get("input", "")):
                events.append({"type": "response.custom_tool_call_input.delta", "item_id": item_id,
                               "call_id": item.get("call_id"), "delta": piece})
        elif kind == "function_call":
            for piece in _pieces(item.get("arguments", "")):
                events.append({"type": "response.function_call_arguments.delta", "item_id": item_id, "delta": piece})
        events.append({"type": "response.output_item.done", "output_index": index, "item": dict(item, id=item_id)})
    if entry.get("failed"):
        events.append({"type": "response.failed", "response": {"id": response_id, "error": entry["failed"]}})
    else:
        final: dict[str, Any] = {"id": response_id, "status": "completed"}
        if entry.get("usage"):
            final["usage"] = entry["usage"]
        events.append({"type": "response.completed", "response": final})
    return events


def _chat_usage(u: dict[str, Any]) -> dict[str, Any]:
    """A Responses usage object as the Chat Completions `usage` object."""
    return {
        "prompt_tokens": u.get("input_tokens", 0),
        "completion_tokens": u.get("output_tokens", 0),
        "total_tokens": u.get("total_tokens", 0),
        "prompt_tokens_details": {"cached_tokens": (u.get("input_tokens_details") or {}).get("cached_tokens", 0)},
    }


def _finish_reason(entry: dict[str, Any], has_calls: bool) -> str:
    return entry.get("finish_reason") or ("tool_calls" if has_calls else "stop")


def chat_chunks(entry: dict[str, Any], response_id: str, *, include_usage: bool = True) -> list[str]:
    """The Chat Completions SSE data payloads (JSON chunks, then "[DONE]") of one scripted response. Tool-call
    arguments are split across several chunks; custom tool calls travel as `{"input": ...}` JSON arguments. The
    scripted usage is sent as a last chunk only with `include_usage` (the request's `stream_options`)."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return json.dumps({"id": response_id, "object": "chat.completion.chunk", "choices": [choice]})

    out: list[str] = []
    calls = 0
    for item in entry.get("items", []):
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content", []):
                for piece in _pieces(part.get("text", "")):
                    out.append(chunk({"role": "assistant", "content": piece}))
        elif kind == "reasoning":
            for part in item.get("summary", []):
                for piece in _pieces(part.get("text", "")):
                    out.append(chunk({"reasoning": piece}))
        elif kind in ("function_call", "custom_tool_call"):
            args = item["arguments"] if kind == "function_call" else json.dumps({"input": item["input"]})
            head = {"index": calls, "id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": ""}}
            out.append(chunk({"tool_calls": [head]}))
            for piece in _pieces(args):
                out.append(chunk({"tool_calls": [{"index": calls, "function": {"arguments": piece}}]}))
            calls += 1
    out.append(chunk({}, _finish_reason(entry, calls > 0)))
    if entry.get("usage") and include_usage:
        out.append(json.dumps({"id": response_id, "object": "chat.completion.chunk", "choices": [],
                               "usage": _chat_usage(entry["usage"])}))
    out.append("[DONE]")
    return out


def chat_completion(entry: dict[str, Any], response_id: str) -> dict[str, Any]:
    """The non-streaming Chat Completions answer (`"object": "chat.completion"`, spec 3.4) of one scripted
    response: one choice whose message has the text (`content: null` when there is none, as llama-cpp-python's
    server sends with tool calls), `reasoning_content`, and `tool_calls`; usage when scripted."""
    text: list[str] = []
    reasoning_text: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in entry.get("items", []):
        kind = item.get("type")
        if kind == "message":
            text.extend(part.get("text", "") for part in item.get("content", []))
        elif kind == "reasoning":
            reasoning_text.extend(part.get("text", "") for part in item.get("summary", []))
        elif kind in ("function_call", "custom_tool_call"):
            args = item["arguments"] if kind == "function_call" else json.dumps({"input": item["input"]})
            calls.append({"id": item["call_id"], "type": "function",
                          "function": {"name": item["name"], "arguments": args}})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if reasoning_text:
        message["reasoning_content"] = "".join(reasoning_text)
    if calls:
        message["tool_calls"] = calls
    answer: dict[str, Any] = {"id": response_id, "object": "chat.completion", "choices": [
        {"index": 0, "message": message, "finish_reason": _finish_reason(entry, bool(calls))}]}
    if entry.get("usage"):
        answer["usage"] = _chat_usage(entry["usage"])
    return answer

"""Chat Completions wire (spec agent-core 3.4): request mapping from Responses items, and a sans-I/O parser of
the streamed chunks back into the same typed response events the Responses wire yields.

Request rules: `messages[0]` is the system message with the instructions; developer messages go as `system`
(most local servers know no `developer` role); user / assistant messages become `{role, content}` (a parts array
when a user message carries images; consecutive identical assistant texts are de-duplicated); consecutive
function and custom tool calls are grouped into one assistant message with `content: ""` and `tool_calls`;
outputs become `{"role":"tool","tool_call_id","content"}`; the reasoning text of the turn in progress (reasoning
items after the last user message, when the conversation does not end with one) rides along as a `reasoning` field
on the neighbouring assistant message (the one before it, else the tool-call or text message after it), so
reasoning models on local servers keep their chain of thought across tool calls; other reasoning and unknown items
are dropped. Only function
tools and freeform (custom) tools are offered; a freeform tool becomes a JSON function with one string argument
`input`, and its calls come back as `custom_tool_call` items. Output schemas are not supported on this wire.

Stream rules: text deltas accumulate into one assistant message, `delta.reasoning` / `reasoning_content` into a
reasoning item (streamed as raw reasoning deltas), `delta.tool_calls[]` are reassembled by `index`. A
`finish_reason` of "stop" / "tool_calls" flushes the items; "length" is the context-window error, unless the
request carried a `max_tokens` cap (the provider's `max_output_tokens`, not in the spec: small local models can
otherwise generate until their context is full): then "length" means the cap was reached, and the items are
flushed as they are (a tool call cut short keeps its partial arguments; its handler reports them as invalid to
the model) and `truncated` is set. The response completes at `[DONE]` or at stream end after a finish_reason; a
stream ending before either is retryable.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from codex_actors.model import events as ev
from codex_actors.model.prompt import Prompt
from codex_actors.model.sse import CLOSED_BEFORE_COMPLETED, CONTEXT_WINDOW_MESSAGE, decode_stream_event
from codex_actors.protocol import items as it

FREEFORM_INPUT_DESCRIPTION = "The raw input for this tool, as plain text."


def chat_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Function tools re-wrapped for Chat Completions; freeform tools as functions taking `{"input": str}`."""
    out = []
    for spec in tools:
        kind = spec.get("type")
        if kind == "function":
            function = {"name": spec["name"], "description": spec.get("description", "")}
            if "strict" in spec:
                function["strict"] = spec["strict"]
            function["parameters"] = spec.get("parameters") or {"type": "object", "properties": {}}
        elif kind == "custom":
            function = {
                "name": spec["name"],
                "description": spec.get("description", ""),
                "parameters": {
                    "type": "object",
                    "properties": {"input": {"type": "string", "description": FREEFORM_INPUT_DESCRIPTION}},
                    "required": ["input"],
                    "additionalProperties": False,
                },
            }
        else:
            continue
        out.append({"type": "function", "name": spec["name"], "function": function})
    return out


def _output_text(output: it.ToolOutput) -> str:
    if isinstance(output, str):
        return output
    return "\n".join(part.text for part in output if isinstance(part, (it.InputText, it.OutputText)))


def _message_content(message: it.Message) -> Any:
    if message.role == "user" and any(isinstance(p, it.InputImage) for p in message.content):
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, it.InputImage):
                parts.append({"type": "image_url", "image_url": {"url": part.image_url}})
            elif isinstance(part, (it.InputText, it.OutputText)):
                parts.append({"type": "text", "text": part.text})
        return parts
    return message.text()


def _reasoning_text(item: it.Reasoning) -> str:
    return "".join(str(part.get("text") or "") for part in item.content or ()
                   if part.get("type") in ("reasoning_text", "text"))


def _is_assistant_anchor(item: Any) -> bool:
    return (isinstance(item, it.Message) and item.role == "assistant") or \
        isinstance(item, (it.FunctionCall, it.CustomToolCall))


def reasoning_anchors(items: list[Any]) -> dict[int, str]:
    """Index of an input item (an assistant message or tool call) → the reasoning text to attach to the chat
    message it becomes (module rules; after codex-rs's removed chat wire). Empty when the input ends with a user
    message: a new turn starts without the previous turn's reasoning."""
    users = [i for i, item in enumerate(items) if isinstance(item, it.Message) and item.role == "user"]
    if users and users[-1] == len(items) - 1:
        return {}
    anchors: dict[int, str] = {}
    for index in range(users[-1] + 1 if users else 0, len(items)):
        item = items[index]
        text = _reasoning_text(item) if isinstance(item, it.Reasoning) else ""
        if not text.strip():
            continue
        before = items[index - 1] if index > 0 else None
        # The next item that is not itself reasoning (a response may carry several reasoning items in a row).
        after = next((i for i in range(index + 1, len(items)) if not isinstance(items[i], it.Reasoning)), None)
        if isinstance(before, it.Message) and before.role == "assistant":
            anchors[index - 1] = anchors.get(index - 1, "") + text
        elif after is not None and _is_assistant_anchor(items[after]):
            anchors[after] = anchors.get(after, "") + text
    return anchors


def chat_messages(prompt: Prompt) -> list[dict[str, Any]]:
    """The `messages` array for `prompt` per the module rules."""
    messages: list[dict[str, Any]] = []
    if prompt.instructions:
        messages.append({"role": "system", "content": prompt.instructions})
    anchors = reasoning_anchors(prompt.input)

    def attach(index: int, message: dict[str, Any]) -> None:
        if index in anchors:
            message["reasoning"] = message.get("reasoning", "") + anchors[index]

    # Images in tool outputs (an MCP screenshot, view_image): a `tool` message carries text only, so they follow
    # the run of tool messages as one user message naming the calls they came from.
    pending_images: list[dict[str, Any]] = []

    def flush_images() -> None:
        if pending_images:
            messages.append({"role": "user", "content": list(pending_images)})
            pending_images.clear()

    for index, item in enumerate(prompt.input):
        if not isinstance(item, (it.FunctionCallOutput, it.CustomToolCallOutput)):
            flush_images()
        if isinstance(item, it.Message):
            role = "system" if item.role == "developer" else item.role
            content = _message_content(item)
            last = messages[-1] if messages else None
            if role == "assistant" and last and last["role"] == "assistant" and last.get("content") == content \
                    and "tool_calls" not in last:
                attach(index, last)
                continue
            messages.append({"role": role, "content": content})
            attach(index, messages[-1])
        elif isinstance(item, (it.FunctionCall, it.CustomToolCall)):
            if isinstance(item, it.FunctionCall):
                arguments = item.arguments
            else:
                arguments = json.dumps({"input": item.input})
            call = {"id": item.call_id, "type": "function", "function": {"name": item.name, "arguments": arguments}}
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
            attach(index, messages[-1])
        elif isinstance(item, (it.FunctionCallOutput, it.CustomToolCallOutput)):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": _output_text(item.output)})
            images = [p for p in item.output if isinstance(p, it.InputImage)] if not isinstance(item.output, str) else []
            if images:
                pending_images.append({"type": "text", "text": f"Image output of tool call {item.call_id}:"})
                pending_images.extend({"type": "image_url", "image_url": {"url": p.image_url}} for p in images)
    flush_images()
    return messages


def build_chat_body(model: str, prompt: Prompt, max_tokens: int | None = None) -> dict[str, Any]:
    """The JSON body of `POST {base_url}/chat/completions` (spec 3.4): model, messages, stream, tools and
    `tool_choice: "auto"` when tools are offered, `max_tokens` (a cap in tokens) when given, and `verbosity`
    (config `model_verbosity`) when set, as OpenAI's chat API takes it. Not in the spec:
    `stream_options: {"include_usage": true}`, so that servers which can (OpenAI, Ollama, vLLM) end the stream
    with a usage chunk, which gives the turn its token counts (and auto-compaction its trigger)."""
    body: dict[str, Any] = {
        "model": model, "messages": chat_messages(prompt), "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if prompt.verbosity:
        body["verbosity"] = prompt.verbosity
    tools = chat_tools(prompt.tools)
    if tools:
        body["tools"] = tools
        body["tool_choice"] = "auto"
    return body


@attrs.define
class _PartialCall:
    call_id: str = ""
    name: str = ""
    arguments: str = ""


def _usage(usage: dict[str, Any]) -> ev.TokenUsage:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return ev.TokenUsage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        reasoning_output_tokens=int(completion_details.get("reasoning_tokens") or 0),
        total_tokens=int(usage.get("total_tokens") or 0),
        cache_write_input_tokens=int(prompt_details.get("cache_write_tokens") or 0),
    )


def _choice_as_delta(choice: dict[str, Any]) -> dict[str, Any]:
    """A non-streaming choice (`message`) as a streaming one (`delta`, tool calls numbered by `index`)."""
    message = choice.get("message") or {}
    delta = {key: message[key] for key in ("content", "reasoning", "reasoning_content") if key in message}
    calls = message.get("tool_calls") or []
    if calls:
        delta["tool_calls"] = [{**call, "index": position} for position, call in enumerate(calls)]
    return {"delta": delta, "finish_reason": choice.get("finish_reason") or "stop"}


class ChatStreamParser:
    """Sans-I/O state of one chat stream. `feed_text(data)` per SSE data payload → events; `finish()` at close →
    the remaining events ending with Completed, or raises ModelError. `freeform_tools` names the tools whose
    calls are returned as custom_tool_call items. `capped`: the request carried `max_tokens`, so a "length"
    finish is that cap being reached (`truncated` becomes True) rather than the context-window error."""

    def __init__(self, freeform_tools: frozenset[str] = frozenset(), *, capped: bool = False) -> None:
        self.freeform_tools = freeform_tools
        self.capped = capped
        self.truncated = False
        self.done = False
        self._finished = False
        self._response_id = ""
        self._text: list[str] | None = None
        self._reasoning: list[str] | None = None
        self._calls: dict[Any, _PartialCall] = {}
        self._usage: ev.TokenUsage | None = None

    def feed_text(self, data: str) -> list[ev.ResponseEvent]:
        if data.strip() == "[DONE]":
            self.done = True
            return []
        return self.feed(decode_stream_event(data))

    def feed(self, chunk: dict[str, Any]) -> list[ev.ResponseEvent]:
        out: list[ev.ResponseEvent] = []
        if isinstance(chunk.get("error"), dict):
            message = chunk["error"].get("message") or "error chunk"
            raise ev.ModelError(message, codex_error_info="response_stream_disconnected", retryable=True)
        if chunk.get("id") and not self._response_id:
            self._response_id = str(chunk["id"])
            out.append(ev.Created())
        if isinstance(chunk.get("usage"), dict):
            self._usage = _usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning", delta.get("reasoning_content"))
            if isinstance(reasoning, dict):
                reasoning = reasoning.get("text") or reasoning.get("content")
            if isinstance(reasoning, str) and reasoning:
                if self._reasoning is None:
                    self._reasoning = []
                    out.append(ev.OutputItemAdded(it.Reasoning(summary=[], content=[])))
                self._reasoning.append(reasoning)
                out.append(ev.ReasoningContentDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                if self._text is None:
                    self._text = []
                    out.append(ev.OutputItemAdded(it.Message(role="assistant", content=[])))
                self._text.append(content)
                out.append(ev.OutputTextDelta(content))
            for piece in delta.get("tool_calls") or []:
                key = piece.get("index", piece.get("id"))
                call = self._calls.setdefault(key, _PartialCall())
                if piece.get("id"):
                    call.call_id = piece["id"]
                function = piece.get("function") or {}
                if function.get("name"):
                    call.name += function["name"]
                if function.get("arguments"):
                    call.arguments += function["arguments"]
            reason = choice.get("finish_reason")
            if reason == "length":
                if not self.capped:
                    raise ev.ModelError(CONTEXT_WINDOW_MESSAGE, codex_error_info="context_window_exceeded")
                self.truncated = True
            if reason:
                out.extend(self._flush())
        return out

    def feed_completion(self, completion: Any) -> list[ev.ResponseEvent]:
        """A whole non-streaming answer (`{"object":"chat.completion","choices":[{"message":...}]}`) → the same
        events its stream would have produced, as if it were one chunk followed by `[DONE]`. Raises the
        retryable ModelError for an answer that is not such an object."""
        choices = completion.get("choices") if isinstance(completion, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise ev.ModelError(
                f"malformed chat completion: expected an object with a choices list, got {str(completion)[:200]!r}",
                codex_error_info="response_stream_disconnected",
                retryable=True,
            )
        chunk = {key: completion[key] for key in ("id", "usage", "error") if key in completion}
        chunk["choices"] = [_choice_as_delta(choice) for choice in choices]
        events = self.feed(chunk)
        self.done = True
        return events

    def _call_item(self, position: int, call: _PartialCall) -> it.ResponseItem:
        call_id = call.call_id or f"call_{position}"
        if call.name in self.freeform_tools:
            try:
                args = json.loads(call.arguments or "{}")
                raw = args["input"] if isinstance(args, dict) and isinstance(args.get("input"), str) else call.arguments
            except ValueError:
                raw = call.arguments
            return it.CustomToolCall(call_id=call_id, name=call.name, input=raw)
        return it.FunctionCall(name=call.name, arguments=call.arguments or "{}", call_id=call_id)

    def _flush(self) -> list[ev.ResponseEvent]:
        self._finished = True
        out: list[ev.ResponseEvent] = []
        if self._reasoning is not None:
            text = "".join(self._reasoning)
            out.append(ev.OutputItemDone(it.Reasoning(summary=[], content=[{"type": "reasoning_text", "text": text}])))
        if self._text is not None:
            text = "".join(self._text)
            out.append(ev.OutputItemDone(it.Message(role="assistant", content=[it.OutputText(text)])))
        for position, call in enumerate(self._calls.values()):
            out.append(ev.OutputItemDone(self._call_item(position, call)))
        self._reasoning, self._text, self._calls = None, None, {}
        return out

    def finish(self) -> list[ev.ResponseEvent]:
        """At stream close: pending items then Completed; raises the retryable "stream closed before
        response.completed" ModelError when neither a finish_reason nor `[DONE]` arrived."""
        if not (self._finished or self.done):
            raise ev.ModelError(CLOSED_BEFORE_COMPLETED, codex_error_info="response_stream_disconnected", retryable=True)
        return [*self._flush(), ev.Completed(response_id=self._response_id, token_usage=self._usage)]

"""Providers (spec 3.5) and request bodies: Responses (3.1) and Chat Completions (3.4), as pure functions."""

import json

import pytest

from codex_actors.model.chat import build_chat_body
from codex_actors.model.prompt import Prompt, build_responses_body
from codex_actors.model.provider import BUILTIN_PROVIDERS, ProviderError, ProviderInfo
from codex_actors.protocol.items import (
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    InputImage,
    InputText,
    Message,
    OutputText,
    Reasoning,
)

SHELL_TOOL = {"type": "function", "name": "exec_command", "description": "Run a command.", "strict": False,
              "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Apply a patch.",
              "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}

HISTORY = [
    Message("developer", [InputText("<permissions instructions>")]),
    Message("user", [InputText("fix the bug")]),
    Reasoning(summary=[{"type": "summary_text", "text": "look"}], encrypted_content="enc"),
    FunctionCall(name="exec_command", arguments='{"cmd":"ls"}', call_id="call_1"),
    FunctionCallOutput(call_id="call_1", output="src\n"),
]


def test_responses_body_has_the_fields_of_spec_3_1_in_order():
    prompt = Prompt(
        input=HISTORY, instructions="base instructions", tools=[SHELL_TOOL, PATCH_TOOL], parallel_tool_calls=True,
        reasoning={"effort": "medium", "summary": "auto"}, output_schema={"type": "object"}, verbosity="low",
        prompt_cache_key="thread-1", service_tier="priority",
    )
    body = build_responses_body("gpt-5.3-codex", prompt)
    assert list(body) == ["model", "instructions", "input", "tools", "tool_choice", "parallel_tool_calls",
                          "reasoning", "store", "stream", "include", "service_tier", "prompt_cache_key", "text"]
    assert body["input"] == [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions instructions>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "look"}], "encrypted_content": "enc"},
        {"type": "function_call", "name": "exec_command", "arguments": '{"cmd":"ls"}', "call_id": "call_1"},
        {"type": "function_call_output", "call_id": "call_1", "output": "src\n"},
    ]
    assert body["tools"] == [SHELL_TOOL, PATCH_TOOL]
    assert (body["tool_choice"], body["store"], body["stream"]) == ("auto", False, True)
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["text"] == {"verbosity": "low", "format": {"type": "json_schema", "strict": True,
                                                            "schema": {"type": "object"}, "name": "codex_output_schema"}}


def test_responses_body_leaves_out_empty_instructions_reasoning_and_text():
    body = build_responses_body("m", Prompt(input=[Message("user", [InputText("hi")])]))
    assert "instructions" not in body and "reasoning" not in body and "text" not in body
    assert body["include"] == []


def test_provider_table_defaults_and_caps():
    info = ProviderInfo.from_table("x", {"base_url": "http://h/v1/", "request_max_retries": 1000}, env={})
    assert (info.base_url, info.wire_api, info.request_max_retries, info.stream_max_retries,
            info.stream_idle_timeout_ms, info.supports_websockets) == ("http://h/v1", "responses", 100, 5, 300000, False)
    with_query = ProviderInfo.from_table("az", {"base_url": "https://h/openai", "query_params": {"api-version": "1"}})
    assert with_query.url("responses") == "https://h/openai/responses?api-version=1"
    assert with_query.url("responses", websocket=True) == "wss://h/openai/responses?api-version=1"


def test_missing_api_key_names_the_variable():
    info = ProviderInfo.from_table("x", {"base_url": "http://h", "env_key": "MY_PROVIDER_KEY"}, env={})
    with pytest.raises(ProviderError, match=r"^Missing environment variable: `MY_PROVIDER_KEY`\.$"):
        info.headers(env={})
    headers = info.headers(env={"MY_PROVIDER_KEY": "sk-1"})
    assert headers["Authorization"] == "Bearer sk-1"


def test_builtin_openai_honours_openai_base_url_codex_api_key_and_env_headers():
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "CODEX_API_KEY": "ck", "OPENAI_PROJECT": "proj"}
    info = ProviderInfo.from_table("openai", BUILTIN_PROVIDERS["openai"], env=env)
    assert (info.base_url, info.supports_websockets, info.wire_api) == ("http://127.0.0.1:9/v1", True, "responses")
    assert info.headers(env) == {"Authorization": "Bearer ck", "OpenAI-Project": "proj"}
    ollama = ProviderInfo.from_table("ollama", BUILTIN_PROVIDERS["ollama"], env={})
    assert (ollama.base_url, ollama.wire_api, ollama.headers(env={})) == ("http://localhost:11434/v1", "chat", {})


def test_chat_body_groups_tool_calls_and_maps_outputs_back_to_tool_messages():
    prompt = Prompt(
        instructions="be brief",
        tools=[SHELL_TOOL, PATCH_TOOL, {"type": "web_search"}],
        input=[
            Message("developer", [InputText("policy")]),
            Message("user", [InputText("look"), InputImage("data:image/png;base64,AA")]),
            Message("assistant", [OutputText("on it")]),
            Message("assistant", [OutputText("on it")]),
            FunctionCall(name="exec_command", arguments='{"cmd":"ls"}', call_id="c1"),
            CustomToolCall(call_id="c2", name="apply_patch", input="*** Begin Patch"),
            FunctionCallOutput(call_id="c1", output="src\n"),
            CustomToolCallOutput(call_id="c2", output=[InputText("Success.")]),
            Reasoning(summary=[]),
        ],
    )
    body = build_chat_body("llama", prompt)
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "system", "content": "policy"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
        {"role": "assistant", "content": "on it"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}},
            {"id": "c2", "type": "function", "function": {"name": "apply_patch",
                                                          "arguments": json.dumps({"input": "*** Begin Patch"})}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "src\n"},
        {"role": "tool", "tool_call_id": "c2", "content": "Success."},
    ]
    assert body["tool_choice"] == "auto"
    assert [t["name"] for t in body["tools"]] == ["exec_command", "apply_patch"]
    assert body["tools"][1]["function"]["parameters"]["properties"]["input"]["type"] == "string"
    assert body["tools"][1]["function"]["parameters"]["required"] == ["input"]
    assert body["tools"][0]["function"]["parameters"] == SHELL_TOOL["parameters"]


def test_model_verbosity_is_sent_on_both_wires():
    from codex_actors.model.chat import build_chat_body

    prompt = Prompt(input=[Message("user", [InputText("hi")])], verbosity="low")
    assert build_responses_body("m", prompt)["text"] == {"verbosity": "low"}
    assert build_chat_body("m", prompt)["verbosity"] == "low"
    assert "verbosity" not in build_chat_body("m", Prompt(input=[Message("user", [InputText("hi")])]))

"""The pure rules of the MCP client: naming, result conversion, server config (spec agent-core 4.8, 7.6)."""

import hashlib

import pytest

from codex_actors.mcp import McpConfigError, model_output, parse_server, qualify_tool_names, sanitize_tool_name
from codex_actors.mcp.config import http_headers
from codex_actors.protocol.items import InputImage, InputText
from codex_actors.tools.mcp import call_tool_result_schema, duration, parse_mcp_arguments


def test_names_are_sanitized_and_prefixed():
    assert sanitize_tool_name("echo-tool.v2") == "echo_tool_v2"
    assert qualify_tool_names([("rmcp", "echo"), ("my.srv", "get-profile")]) == {
        "mcp__rmcp__echo": ("rmcp", "echo"),
        "mcp__my_srv__get_profile": ("my.srv", "get-profile"),
    }


def test_collisions_and_overlong_names_get_a_sha1_suffix():
    names = list(qualify_tool_names([("s", "a-b"), ("s", "a_b"), ("server", "t" * 80)]))
    assert names[0] == "mcp__s__a_b"
    digest = hashlib.sha1(b"mcp__s__a_b").hexdigest()[:12]
    assert names[1] == f"mcp__s__a_b_{digest}"
    long_digest = hashlib.sha1(("mcp__server__" + "t" * 80).encode()).hexdigest()[:12]
    assert len(names[2]) == 64 and names[2].endswith(f"_{long_digest}")
    assert names[2].startswith("mcp__server__ttt")


def test_structured_content_goes_to_the_model_as_compact_json():
    result = {"content": [{"type": "text", "text": "x"}], "structuredContent": {"a": "é"}, "isError": False}
    assert model_output(result) == ('{"a":"é"}', True)


def test_content_without_images_goes_as_json_text_and_is_error_marks_failure():
    result = {"content": [{"type": "text", "text": "bad"}], "structuredContent": None, "isError": True}
    assert model_output(result) == ('[{"type":"text","text":"bad"}]', False)


def test_content_with_an_image_goes_as_content_items():
    result = {
        "content": [
            {"type": "text", "text": "see"},
            {"type": "image", "data": "AAAA", "mimeType": "image/jpeg"},
            {"type": "resource_link", "uri": "file:///x", "name": "x"},
        ],
        "isError": False,
    }
    output, success = model_output(result)
    assert success
    assert output == [
        InputText(text="see"),
        InputImage(image_url="data:image/jpeg;base64,AAAA"),
        InputText(text='{"type":"resource_link","uri":"file:///x","name":"x"}'),
    ]


def test_arguments_empty_means_none_and_must_otherwise_be_an_object():
    assert parse_mcp_arguments("") is None
    assert parse_mcp_arguments("  ") is None
    assert parse_mcp_arguments('{"a": 1}') == {"a": 1}
    with pytest.raises(ValueError, match="arguments must be a JSON object, got str"):
        parse_mcp_arguments('"x"')
    with pytest.raises(ValueError):
        parse_mcp_arguments("{")


def test_duration_is_a_serde_duration():
    assert duration(1.5) == {"secs": 1, "nanos": 500_000_000}
    assert duration(0) == {"secs": 0, "nanos": 0}


def test_output_schema_looks_like_a_call_tool_result_for_code_mode():
    schema = call_tool_result_schema({"type": "object", "properties": {"echo": {"type": "string"}}})
    props = schema["properties"]
    assert props["content"] == {"type": "array", "items": {"type": "object"}}
    assert props["isError"] == {"type": "boolean"} and props["_meta"] == {"type": "object"}
    assert props["structuredContent"]["properties"]["echo"] == {"type": "string"}


def test_server_config_defaults_and_timeouts():
    config = parse_server("docs", {"command": "docs-server", "cwd": "sub", "startup_timeout_ms": 1500}, cwd="/work")
    assert config.transport.cwd == "/work/sub"
    assert config.startup_timeout_sec == 1.5
    assert config.tool_timeout_sec == 120 and config.max_restarts == 1 and config.enabled
    assert parse_server("d", {"command": "x"}).startup_timeout_sec == 30


def test_tool_filters_allow_then_deny():
    config = parse_server("d", {"command": "x", "enabled_tools": ["a", "b"], "disabled_tools": ["b"]})
    assert [t for t in ("a", "b", "c") if config.allows_tool(t)] == ["a"]
    assert parse_server("d", {"command": "x", "disabled_tools": ["c"]}).allows_tool("zzz")


@pytest.mark.parametrize(
    "table, message",
    [
        ({}, "mcp_servers.bad: set either command (stdio) or url (streamable HTTP), not both"),
        ({"command": "x", "http_headers": {}}, "mcp_servers.bad: http_headers only apply to url (streamable HTTP) servers"),
        ({"url": "http://h", "env": {}, "cwd": "/"}, "mcp_servers.bad: cwd, env only apply to command (stdio) servers"),
    ],
)
def test_unusable_server_tables_are_refused_with_the_table_named(table, message):
    with pytest.raises(McpConfigError) as info:
        parse_server("bad", table)
    assert str(info.value) == message


def test_http_headers_come_from_config_and_environment():
    config = parse_server("r", {"url": "http://h/mcp", "http_headers": {"X-Team": "core"},
                                "env_http_headers": {"X-Key": "KEY", "X-None": "UNSET"},
                                "bearer_token_env_var": "TOKEN"})
    headers = http_headers("r", config.transport, {"KEY": "k", "TOKEN": "t"})
    assert headers == {"X-Team": "core", "X-Key": "k", "Authorization": "Bearer t"}

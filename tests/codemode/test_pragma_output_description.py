"""Pure parts: pragma parser (spec 1.1, 1.4), truncation (4.3), description builder (8.2-8.6)."""

import re

import pytest

from codex_actors.codemode import NestedToolSpec, normalize_code_mode_identifier, parse_exec_source
from codex_actors.codemode.description import (
    build_exec_tool_description,
    build_wait_tool_description,
    render_code_mode_sample,
    render_json_schema_to_typescript,
    render_tool_declaration,
)
from codex_actors.codemode.output import TextItem, ImageItem, build_content_items, truncate_items
from codex_actors.codemode.pragma import E1_EMPTY, PragmaError


def test_pragma_sets_yield_and_strips_the_pragma_line():
    parsed = parse_exec_source('// @exec: {"yield_time_ms": 10}\ntext(\'hi\')')
    assert (parsed.code, parsed.yield_time_ms, parsed.max_output_tokens) == ("text('hi')", 10, None)


def test_source_without_pragma_is_unchanged():
    assert parse_exec_source("  text(1)\n// @exec: {}").code == "  text(1)\n// @exec: {}"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("   \n ", E1_EMPTY),
        ('// @exec: {"yield_time_ms": 10}', "exec pragma must be followed by JavaScript source on subsequent lines"),
        ("// @exec: [1]\nx", "exec pragma must be a JSON object with supported fields `yield_time_ms` and `max_output_tokens`"),
        ("// @exec:   \nx", "exec pragma must be a JSON object with supported fields `yield_time_ms` and `max_output_tokens`"),
        ('// @exec: {"foo":1}\nx', "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `foo`"),
        ('// @exec: {"max_output_tokens": 9007199254740992}\nx',
         "exec pragma field `max_output_tokens` must be a non-negative safe integer"),
    ],
)
def test_pragma_errors_are_exact(source, message):
    with pytest.raises(PragmaError) as info:
        parse_exec_source(source)
    assert str(info.value) == message


def test_e1_text_is_verbatim():
    assert E1_EMPTY == (
        "exec expects raw JavaScript source text (non-empty). Provide JS only, optionally with first-line "
        '`// @exec: {"yield_time_ms": 10000, "max_output_tokens": 1000}`.'
    )


@pytest.mark.parametrize("value", ["-1", "1.5", '"10"', "true"])
def test_pragma_rejects_non_safe_integers_with_e6(value):
    with pytest.raises(PragmaError) as info:
        parse_exec_source(f'// @exec: {{"yield_time_ms": {value}}}\nx')
    assert str(info.value).startswith(
        "exec pragma fields `yield_time_ms` and `max_output_tokens` must be non-negative safe integers: "
    )


def test_pragma_bad_json_is_e4_with_parser_message():
    with pytest.raises(PragmaError) as info:
        parse_exec_source("// @exec: {oops\nx")
    assert str(info.value).startswith(
        "exec pragma must be valid JSON with supported fields `yield_time_ms` and `max_output_tokens`: "
    )


def test_pragma_null_means_not_given():
    assert parse_exec_source('// @exec: {"yield_time_ms": null}\r\nx').yield_time_ms is None


def test_text_that_fits_is_returned_unchanged():
    items = [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]
    assert truncate_items(items, 1) == items


def test_truncation_header_and_marker():
    out = truncate_items([{"type": "input_text", "text": "token one token two token three token four token five"}], 6)
    assert len(out) == 1
    assert re.fullmatch(r"Total output lines: 1\n\n.*…\d+ tokens truncated….*", out[0]["text"], re.S)


def test_images_are_kept_free_and_later_texts_counted_as_omitted():
    items = [
        {"type": "input_text", "text": "x" * 40},
        {"type": "input_image", "image_url": "data:a", "detail": "high"},
        {"type": "input_text", "text": "y"},
        {"type": "input_text", "text": "z"},
    ]
    out = truncate_items(items, 2)
    assert out[1] == items[1]
    assert "tokens truncated" in out[0]["text"]
    assert out[-1] == {"type": "input_text", "text": "[omitted 2 text items ...]"}


def test_header_comes_first_and_error_last():
    out = build_content_items("Script failed", 0.04, [TextItem("a"), ImageItem("data:x")], error_text="boom",
                              max_tokens=100)
    assert out == [
        {"type": "input_text", "text": "Script failed\nWall time 0.0 seconds\nOutput:\n"},
        {"type": "input_text", "text": "a"},
        {"type": "input_image", "image_url": "data:x", "detail": "high"},
        {"type": "input_text", "text": "Script error:\nboom"},
    ]


def test_original_detail_dropped_for_models_that_cannot_take_it():
    out = build_content_items("Script completed", 1.26, [ImageItem("data:x", "original")], max_tokens=10,
                              supports_original_detail=False)
    assert out[0]["text"] == "Script completed\nWall time 1.3 seconds\nOutput:\n"
    assert out[1] == {"type": "input_image", "image_url": "data:x"}


@pytest.mark.parametrize(("raw", "ident"), [("hidden-dynamic-tool", "hidden_dynamic_tool"),
                                            ("mcp__ologs__get_profile", "mcp__ologs__get_profile"),
                                            ("9x", "_x"), ("", "_"), ("a$b", "a$b")])
def test_identifier_normalisation(raw, ident):
    assert normalize_code_mode_identifier(raw) == ident


def test_worked_example_inline_object():
    tool = NestedToolSpec(
        "hidden_dynamic_tool",
        input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                      "additionalProperties": False},
        output_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
    )
    assert render_tool_declaration(tool) == "hidden_dynamic_tool(args: { city: string; }): Promise<{ ok: boolean; }>;"


def test_worked_example_with_descriptions():
    tool = NestedToolSpec(
        "weather_tool",
        input_schema={
            "type": "object",
            "properties": {"weather": {"type": "array", "description": "look up weather for a given list of locations",
                                       "items": {"type": "object", "properties": {"location": {"type": "string"}},
                                                 "required": ["location"], "additionalProperties": False}}},
            "required": ["weather"], "additionalProperties": False,
        },
        output_schema={"type": "object", "properties": {"forecast": {"type": "string",
                                                                     "description": "human readable weather forecast"}},
                       "required": ["forecast"], "additionalProperties": False},
    )
    assert render_tool_declaration(tool) == (
        "weather_tool(args: {\n  // look up weather for a given list of locations\n"
        "  weather: Array<{ location: string; }>;\n}): Promise<{\n  // human readable weather forecast\n"
        "  forecast: string;\n}>;"
    )


MCP_OUTPUT = {
    "type": "object",
    "properties": {
        "content": {"type": "array", "items": {"type": "object"}},
        "isError": {"type": "boolean"},
        "_meta": {"type": "object"},
        "structuredContent": {"type": "object", "properties": {}, "additionalProperties": False},
    },
}


def test_worked_example_mcp_empty_input_and_structured_content():
    tool = NestedToolSpec("mcp__sample__alpha", description="Alpha.", input_schema={"type": "object",
                          "properties": {}, "additionalProperties": False}, output_schema=MCP_OUTPUT)
    assert render_code_mode_sample(tool) == (
        "Alpha.\n\nexec tool declaration:\n```ts\n"
        "declare const tools: { mcp__sample__alpha(args: {}): Promise<CallToolResult<{}>>; };\n```"
    )


def test_mcp_echo_declaration_matches_spec_scenario_43():
    output = dict(MCP_OUTPUT)
    output["properties"] = dict(MCP_OUTPUT["properties"], structuredContent={
        "type": "object", "properties": {"echo": {"type": "string"}, "env": {"type": ["string", "null"]}},
        "required": ["echo", "env"], "additionalProperties": False})
    tool = NestedToolSpec("mcp__rmcp__echo", input_schema={
        "type": "object", "properties": {"message": {"type": "string"}, "env_var": {"type": "string"}},
        "required": ["message"], "additionalProperties": False}, output_schema=output)
    assert render_code_mode_sample(tool).endswith(
        "declare const tools: { mcp__rmcp__echo(args: { env_var?: string; message: string; }): "
        "Promise<CallToolResult<{ echo: string; env: string | null; }>>; };\n```")


@pytest.mark.parametrize(
    ("schema", "ts"),
    [
        (True, "unknown"), (False, "never"), (3, "unknown"),
        ({"const": "x"}, '"x"'), ({"enum": ["a", 1, None]}, '"a" | 1 | null'),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "string | number"),
        ({"allOf": [{"type": "object"}, {"required": ["a"]}]}, "{ [key: string]: unknown; } & { [key: string]: unknown; }"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"items": {"type": "number"}}, "Array<number>"),
        ({"prefixItems": [{"type": "string"}, {"type": "boolean"}]}, "[string, boolean]"),
        ({"type": "array"}, "unknown[]"),
        ({"type": "object"}, "{ [key: string]: unknown; }"),
        ({"type": "object", "properties": {"my-key": {"type": "string"}}, "additionalProperties": {"type": "number"}},
         '{ "my-key"?: string; [key: string]: number; }'),
        ({"type": "object", "properties": {"a": {}}, "additionalProperties": True}, "{ a?: unknown; [key: string]: unknown; }"),
        ({"type": "object", "additionalProperties": False}, "{}"),
        ({"$ref": "#/$defs/Label", "enum": ["A"], "$defs": {"Label": {"type": "string"}}}, '(string) & ("A")'),
        ({"$ref": "http://x/y"}, "unknown"),
    ],
)
def test_schema_rendering_rules(schema, ts):
    assert render_json_schema_to_typescript(schema) == ts


def test_recursive_ref_stays_finite():
    schema = {"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
              "$ref": "#/$defs/Node"}
    assert "unknown" in render_json_schema_to_typescript(schema)


def test_code_mode_only_description_has_types_once_and_a_section_per_tool():
    tools = [NestedToolSpec("echo-tool", description="Echo.", namespace=None, output_schema=MCP_OUTPUT),
             NestedToolSpec("b", description="B.", namespace="ns"), NestedToolSpec("c", description="C.", namespace="ns")]
    text = build_exec_tool_description(tools, [NestedToolSpec("hidden")], {"ns": "Namespace tools."}, True)
    assert text.count("Shared MCP Types:") == 1
    assert "### `echo_tool` (`echo-tool`)\nEcho.\n\nexec tool declaration:" in text
    assert text.count("## ns\nNamespace tools.") == 1
    assert "### `ns_b`" in text and "### `ns_c`" in text
    assert "filter `ALL_TOOLS` by `name` and `description`" in text
    assert "hidden" not in text
    assert "Use `exec/wait` tool to run all other tools" not in text


def test_plain_code_mode_description_stops_after_template():
    text = build_exec_tool_description([NestedToolSpec("x", description="X")], code_mode_only=False)
    assert "### `x`" not in text and "// @exec:" in text


def test_wait_description_starts_with_fixed_line():
    assert build_wait_tool_description().startswith(
        "Waits on a yielded `exec` cell and returns new output or completion.\n\n")


@pytest.mark.parametrize("text, budget", [
    ("token one token two token three token four token five token six token seven", 6),  # spec 4.3 example
    ("".join(f"{i:03}\n" for i in range(100)), 10),  # agent-core 4.4: 40 bytes kept of 400
    ("héllo wörld ünïcode " * 5, 7),  # cuts land inside two-byte characters
    ("a\rb\u2028c\x0bd\ne" * 10, 5),  # only "\n" separates lines (Rust str::lines)
])
def test_exec_cells_and_commands_truncate_identically(text, budget):
    from codex_actors.exec.truncation import formatted_truncate

    [item] = truncate_items([{"type": "input_text", "text": text}], budget)
    assert item["text"] == formatted_truncate(text, budget)
    assert item["text"].startswith(f"Total output lines: {text.count(chr(10)) + (0 if text.endswith(chr(10)) else 1)}\n\n")


def test_line_count_follows_rust_lines():
    from codex_actors.truncation import line_count

    assert [line_count(t) for t in ("", "a", "a\n", "a\nb", "a\r\nb\n", "a\u2028b")] == [0, 1, 1, 2, 2, 1]

"""Model-facing descriptions of `exec` and `wait` as pure functions (spec code-mode.md 8.1-8.6)."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

from codex_actors.codemode.tools_spec import FREEFORM, NestedToolSpec, normalize_code_mode_identifier

WAIT_DESCRIPTION_FIRST_LINE = "Waits on a yielded `exec` cell and returns new output or completion."

EXEC_TEMPLATE = """\
- Runs JavaScript in a fresh V8 isolate as an async module: top-level `await` works.
- Nested tools are on the global `tools`, e.g. `await tools.exec_command(...)`, under normalized identifier names such as `tools.mcp__ologs__get_profile(...)`.
- Tool methods take a string or an object and return an object or a string.
- There is no Node, no file system, no network and no console.
- The input is raw JavaScript source: not JSON, not a quoted string, not a markdown fence.
- Optional first line pragma: `// @exec: {"yield_time_ms": 10000, "max_output_tokens": 1000}`. `yield_time_ms` defaults to 10000 ms and `max_output_tokens` defaults to 10000 tokens.
- Unawaited promises are silently discarded when evaluation ends.
- Global helpers:
  - `exit()`: end the script successfully at once.
  - `text(value: string | number | boolean | undefined | null)`: append a text item (objects are JSON-stringified).
  - `image(imageUrlOrItem: string | { image_url: string; detail?: "auto" | "low" | "high" | "original" | null } | ImageContent, detail?: "auto" | "low" | "high" | "original" | null)`: append an image from a base64 data URL.
  - `generatedImage(result: { image_url: string; output_hint?: string })`: append a generated image, then its output hint.
  - `store(key: string, value: any)`: keep a JSON copy of a value for later cells of this session.
  - `load(key: string)`: a fresh copy of a stored value, or `undefined`.
  - `notify(value: string | number | boolean | undefined | null)`: send the text right away to the model as an extra `custom_tool_call_output` of this exec call.
  - `setTimeout(callback: () => void, delayMs?: number)` and `clearTimeout(timeoutId?: number)`: timers; a pending timer does not keep the script alive.
  - `ALL_TOOLS`: `Array<{ name: string; description: string }>` describing every nested tool.
  - `yield_control()`: return the output so far to the model now while the script keeps running."""

DEFERRED_GUIDANCE = (
    "Some nested tools are left out of this description. They are still on `tools` and in `ALL_TOOLS`: "
    "filter `ALL_TOOLS` by `name` and `description` to find one, and do not print the full ALL_TOOLS array."
)

WAIT_TEMPLATE = """\
- Use `wait` only after `exec` returned `Script running with cell ID ...`.
- `cell_id` identifies the running cell.
- `yield_time_ms` is how long to wait for more output before yielding again (default 10000 ms).
- `max_tokens` caps the output of this call (default 10000 tokens).
- `terminate: true` stops the cell; false or omitted waits.
- `wait` returns only the new output since the last yield, or the final completion or termination result.
- A still-running cell may yield again with the same cell ID.
- If the cell has already finished, `wait` returns the completed result and closes the cell."""

SHARED_MCP_TYPES = """\
Shared MCP Types:
```ts
type Role = "user" | "assistant";
type MetaObject = { [key: string]: unknown };
type Annotations = { audience?: Role[]; lastModified?: string; priority?: number; };
type Icon = { src: string; mimeType?: string; sizes?: string[]; theme?: "light" | "dark"; };
type TextResourceContents = { _meta?: MetaObject; mimeType?: string; text: string; uri: string; };
type BlobResourceContents = { _meta?: MetaObject; blob: string; mimeType?: string; uri: string; };
type TextContent = { _meta?: MetaObject; annotations?: Annotations; text: string; type: "text"; };
type ImageContent = { _meta?: MetaObject; annotations?: Annotations; data: string; mimeType: string; type: "image"; };
type AudioContent = { _meta?: MetaObject; annotations?: Annotations; data: string; mimeType: string; type: "audio"; };
type ResourceLink = { _meta?: MetaObject; annotations?: Annotations; description?: string; icons?: Icon[]; mimeType?: string; name: string; size?: number; title?: string; type: "resource_link"; uri: string; };
type EmbeddedResource = { _meta?: MetaObject; annotations?: Annotations; resource: TextResourceContents | BlobResourceContents; type: "resource"; };
type ContentBlock = TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource;
type CallToolResult<TStructured = { [key: string]: unknown }> = {
  _meta?: MetaObject;
  content: ContentBlock[];
  isError?: boolean;
  structuredContent?: TStructured;
  [key: string]: unknown;
};
```"""

_MAX_REF_EXPANSIONS = 2


def render_json_schema_to_typescript(schema: Any, root: Any = None) -> str:
    """Render a JSON Schema as a TypeScript type (spec 8.6 rules 1-8, array and object rules)."""
    return _render(schema, schema if root is None else root, ())


def _render(schema: Any, root: Any, refs: tuple[str, ...]) -> str:
    if schema is True:
        return "unknown"
    if schema is False:
        return "never"
    if not isinstance(schema, dict):
        return "unknown"
    if "$ref" in schema:
        return _render_ref(schema, root, refs)
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    for key, joiner in (("enum", " | "), ("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")):
        variants = schema.get(key)
        if isinstance(variants, list) and variants:
            if key == "enum":
                return joiner.join(json.dumps(v, ensure_ascii=False) for v in variants)
            return joiner.join(_render(v, root, refs) for v in variants)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_render_keyword(k, schema, root, refs) for k in kind)
    if isinstance(kind, str):
        return _render_keyword(kind, schema, root, refs)
    if any(k in schema for k in ("properties", "additionalProperties", "required")):
        return _render_object(schema, root, refs)
    if "items" in schema or "prefixItems" in schema:
        return _render_array(schema, root, refs)
    return "unknown"


def _render_ref(schema: dict, root: Any, refs: tuple[str, ...]) -> str:
    ref = schema["$ref"]
    target = _resolve_pointer(root, ref) if isinstance(ref, str) else None
    if target is None or refs.count(ref) >= _MAX_REF_EXPANSIONS:
        ref_ts = "unknown"
    else:
        ref_ts = _render(target, root, refs + (ref,))
    siblings = {k: v for k, v in schema.items() if k not in ("$ref", "$defs", "definitions")}
    sibling_ts = _render(siblings, root, refs) if siblings else "unknown"
    if ref_ts != "unknown" and sibling_ts != "unknown":
        return f"({ref_ts}) & ({sibling_ts})"
    return ref_ts if ref_ts != "unknown" else sibling_ts


def _resolve_pointer(root: Any, ref: str) -> Any:
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _render_keyword(kind: Any, schema: dict, root: Any, refs: tuple[str, ...]) -> str:
    if kind == "string":
        return "string"
    if kind in ("number", "integer"):
        return "number"
    if kind in ("boolean", "null"):
        return kind
    if kind == "array":
        return _render_array(schema, root, refs)
    if kind == "object":
        return _render_object(schema, root, refs)
    return "unknown"


def _render_array(schema: dict, root: Any, refs: tuple[str, ...]) -> str:
    if "items" in schema:
        return f"Array<{_render(schema['items'], root, refs)}>"
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list) and prefix:
        return "[" + ", ".join(_render(v, root, refs) for v in prefix) + "]"
    return "unknown[]"


def _render_object(schema: dict, root: Any, refs: tuple[str, ...]) -> str:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = set(schema.get("required") or ())
    members: list[tuple[list[str], str]] = []
    for name in sorted(properties):
        prop = properties[name]
        key = name if normalize_code_mode_identifier(name) == name else json.dumps(name, ensure_ascii=False)
        optional = "" if name in required else "?"
        description = prop.get("description") if isinstance(prop, dict) else None
        comments = [line.strip() for line in description.splitlines()] if isinstance(description, str) else []
        members.append(([c for c in comments if c], f"{key}{optional}: {_render(prop, root, refs)};"))
    extra = schema.get("additionalProperties")
    index: str | None = None
    if "additionalProperties" not in schema:
        index = "[key: string]: unknown;" if not properties else None
    elif extra is True:
        index = "[key: string]: unknown;"
    elif isinstance(extra, dict):
        index = f"[key: string]: {_render(extra, root, refs)};"
    if any(comments for comments, _ in members):
        lines = ["{"]
        for comments, member in members:
            lines.extend(f"  // {c}" for c in comments)
            lines.append(f"  {member}")
        if index:
            lines.append(f"  {index}")
        lines.append("}")
        return "\n".join(lines)
    parts = [member for _, member in members] + ([index] if index else [])
    return "{ " + " ".join(parts) + " }" if parts else "{}"


def _looks_like_call_tool_result(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    props = schema.get("properties")
    if not isinstance(props, dict):
        return False
    content = props.get("content")
    is_error = props.get("isError")
    meta = props.get("_meta")
    return (
        isinstance(content, dict)
        and content.get("type") == "array"
        and isinstance(content.get("items"), dict)
        and content["items"].get("type") == "object"
        and isinstance(is_error, dict)
        and is_error.get("type") == "boolean"
        and isinstance(meta, dict)
        and meta.get("type") == "object"
    )


def render_tool_declaration(tool: NestedToolSpec) -> str:
    """`<global>(<param>: <In>): Promise<<Out>>;` for one tool (spec 8.5)."""
    if tool.kind == FREEFORM:
        param, input_ts = "input", "string"
    else:
        param = "args"
        input_ts = "unknown" if tool.input_schema is None else render_json_schema_to_typescript(tool.input_schema)
    output = tool.output_schema
    if _looks_like_call_tool_result(output):
        structured = output["properties"].get("structuredContent")
        structured_ts = "unknown" if structured is None else render_json_schema_to_typescript(structured, output)
        output_ts = "CallToolResult" if structured_ts == "unknown" else f"CallToolResult<{structured_ts}>"
    else:
        output_ts = "unknown" if output is None else render_json_schema_to_typescript(output)
    return f"{tool.global_name}({param}: {input_ts}): Promise<{output_ts}>;"


def render_code_mode_sample(tool: NestedToolSpec) -> str:
    """The augmented description: original description, then the `exec tool declaration:` TS block (spec 8.5)."""
    return (
        f"{tool.description}\n\nexec tool declaration:\n```ts\n"
        f"declare const tools: {{ {render_tool_declaration(tool)} }};\n```"
    )


def all_tools_metadata(tools: Iterable[NestedToolSpec]) -> list[dict[str, str]]:
    """The `ALL_TOOLS` array: `{name: <global name>, description: <sample>}` in definition order (spec 2.2)."""
    return [{"name": t.global_name, "description": render_code_mode_sample(t)} for t in tools]


def build_exec_tool_description(
    enabled: Sequence[NestedToolSpec],
    deferred: Sequence[NestedToolSpec] = (),
    namespace_descriptions: Mapping[str, str] | None = None,
    code_mode_only: bool = False,
) -> str:
    """Assemble the `exec` description (spec 8.3): template, deferred guidance, and in code_mode_only mode the shared
    MCP types (once, if any tool has an MCP-shaped output) and one reference section per enabled tool."""
    sections = [EXEC_TEMPLATE]
    if deferred:
        sections.append(DEFERRED_GUIDANCE)
    if not code_mode_only:
        return "\n\n".join(sections)
    if any(_looks_like_call_tool_result(t.output_schema) for t in (*enabled, *deferred)):
        sections.append(SHARED_MCP_TYPES)
    namespace_descriptions = namespace_descriptions or {}
    previous: str | None = None
    for tool in enabled:
        if tool.namespace != previous and tool.namespace is not None:
            text = namespace_descriptions.get(tool.namespace, "")
            if text.strip():
                sections.append(f"## {tool.namespace}\n{text}")
        previous = tool.namespace
        title = f"### `{tool.global_name}`"
        if tool.global_name != tool.raw_name:
            title += f" (`{tool.raw_name}`)"
        sections.append(f"{title}\n{render_code_mode_sample(tool)}")
    return "\n\n".join(sections)


def build_wait_tool_description() -> str:
    """The `wait` description: one fixed line, then the wait template (spec 1.2, 8.4)."""
    return f"{WAIT_DESCRIPTION_FIRST_LINE}\n\n{WAIT_TEMPLATE}"

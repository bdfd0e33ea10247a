"""The two apply_patch tool specs; the lark grammar accepts the format and rejects what the parser rejects."""

import json

import lark
import pytest

from codex_actors.tools.apply_patch.parser import parse_patch
from codex_actors.tools.apply_patch.spec import APPLY_PATCH_LARK_GRAMMAR, freeform_tool_spec, json_tool_spec

EXAMPLE = (
    "*** Begin Patch\n"
    "*** Add File: docs/hello.txt\n+Hello world\n+\n"
    "*** Update File: src/app.py\n*** Move to: src/main.py\n"
    "@@ def greet():\n-    print(\"Hi\")\n+    print(\"Hello, world!\")\n \n"
    "@@\n context\n+more\n*** End of File\n"
    "*** Delete File: obsolete.txt\n"
    "*** End Patch\n"
)


@pytest.fixture(scope="module")
def grammar():
    """The grammar as Python lark can load it: OpenAI's lark dialect allows the zero-width `/(.*)/` for an empty
    added or context line, Python lark does not, so it becomes the equivalent optional `/(.+)/?` here."""
    assert APPLY_PATCH_LARK_GRAMMAR.count("/(.*)/") == 2
    return lark.Lark(APPLY_PATCH_LARK_GRAMMAR.replace("/(.*)/", "/(.+)/?"), start="start")


def test_grammar_accepts_a_patch_with_every_kind_of_operation(grammar):
    grammar.parse(EXAMPLE)
    assert len(parse_patch(EXAMPLE).hunks) == 3


@pytest.mark.parametrize(
    "text",
    [
        "*** Begin Patch\n*** End Patch\n",  # no operation
        "*** Begin Patch\n*** Add File: a\n*** End Patch\n",  # add without content
        "*** Begin Patch\n*** Rename File: a\n*** End Patch\n",
        "*** Begin Patch\n*** Update File: a\n@@\nno marker\n*** End Patch\n",
    ],
)
def test_grammar_rejects_malformed_patches(grammar, text):
    with pytest.raises(lark.exceptions.LarkError):
        grammar.parse(text)


def test_freeform_spec_is_a_custom_tool_carrying_the_grammar():
    spec = freeform_tool_spec()
    assert spec["type"] == "custom" and spec["name"] == "apply_patch"
    assert spec["format"] == {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_LARK_GRAMMAR}
    assert "FREEFORM" in spec["description"]
    json.dumps(spec)


def test_json_spec_takes_one_input_string_and_explains_the_format_with_a_valid_example(grammar):
    spec = json_tool_spec()
    assert spec["name"] == "apply_patch" and spec["type"] == "function"
    assert spec["parameters"]["required"] == ["input"]
    assert spec["parameters"]["properties"]["input"]["type"] == "string"
    assert spec["parameters"]["additionalProperties"] is False
    description = spec["description"]
    for marker in ("*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: ", "*** End of File", "@@"):
        assert marker in description
    start = description.index("*** Begin Patch\n*** Add File")
    example = description[start:description.index("*** End Patch", start)] + "*** End Patch\n"
    grammar.parse(example)
    assert len(parse_patch(example).hunks) == 3

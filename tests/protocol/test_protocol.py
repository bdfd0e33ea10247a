import json
import types
import typing

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_actors.protocol import (
    Event,
    ProtocolError,
    Submission,
    event_from_json,
    event_to_json,
    item_from_json,
    item_to_json,
    submission_from_json,
    submission_to_json,
)
from codex_actors.protocol.events import EVENT_MSGS
from codex_actors.protocol.items import CONTENT_ITEMS, RESPONSE_ITEMS, ContentItem, ToolOutput
from codex_actors.protocol.ops import OPS, USER_INPUTS, UserInput

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def members(union):
    return st.sampled_from(sorted(union.classes.values(), key=lambda c: c.TYPE)).flatmap(instances)


def strategy_for(tp):
    if tp is str:
        return st.text(max_size=30)
    if tp is int:
        return st.integers(-(2**53), 2**53)
    if tp is bool:
        return st.booleans()
    if tp is typing.Any:
        return json_values.filter(lambda v: v is not None)
    if tp is ContentItem:
        return members(CONTENT_ITEMS)
    if tp is UserInput:
        return members(USER_INPUTS)
    if tp == ToolOutput:
        return st.text(max_size=30) | st.lists(members(CONTENT_ITEMS), max_size=3)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | strategy_for(inner)
    if origin is list:
        return st.lists(strategy_for(args[0]), max_size=3)
    if origin is dict:
        return json_objects
    raise AssertionError(f"no strategy for {tp!r}")


def instances(cls):
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: strategy_for(hints[f.name]) for f in attrs.fields(cls)})


@settings(max_examples=300)
@given(members(RESPONSE_ITEMS))
def test_response_items_round_trip_through_json_text(item):
    wire = json.loads(json.dumps(item_to_json(item)))
    assert wire["type"] == type(item).TYPE
    assert item_from_json(wire) == item


@settings(max_examples=300)
@given(st.text(max_size=10), members(EVENT_MSGS))
def test_events_round_trip_through_json_text(ident, msg):
    event = Event(ident, msg)
    wire = json.loads(json.dumps(event_to_json(event)))
    assert list(wire["msg"])[0] == "type"
    assert event_from_json(wire) == event


@settings(max_examples=200)
@given(st.text(max_size=10), members(OPS))
def test_submissions_round_trip_through_json_text(ident, op):
    submission = Submission(ident, op)
    assert submission_from_json(json.loads(json.dumps(submission_to_json(submission)))) == submission


def test_wire_shapes_match_the_spec_examples():
    call = item_from_json({"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}",
                           "call_id": "call_1"})
    assert item_to_json(call) == {"type": "function_call", "name": "exec_command",
                                  "arguments": "{\"cmd\":\"ls\"}", "call_id": "call_1"}
    op = submission_from_json({"id": "s1", "op": {"type": "interrupt"}})
    assert submission_to_json(op) == {"id": "s1", "op": {"type": "interrupt"}}
    event = event_from_json({"id": "t-1", "msg": {"type": "task_complete", "turn_id": "t-1",
                                                   "last_agent_message": "done"}})
    assert event_to_json(event)["msg"] == {"type": "task_complete", "turn_id": "t-1", "last_agent_message": "done"}


def test_unknown_type_is_a_clear_error_listing_known_types():
    with pytest.raises(ProtocolError) as info:
        event_from_json({"id": "1", "msg": {"type": "exec_begin"}})
    assert str(info.value).startswith("unknown event type 'exec_begin'; expected one of: agent_message,")
    with pytest.raises(ProtocolError, match="unknown op type 'fly'"):
        submission_from_json({"id": "1", "op": {"type": "fly"}})


def test_missing_and_mistyped_fields_name_the_field():
    with pytest.raises(ProtocolError, match=r"bad response item 'function_call': .*\$\.call_id"):
        item_from_json({"type": "function_call", "name": "x", "arguments": "{}"})
    with pytest.raises(ProtocolError, match="tool output must be a string or a list of content items"):
        item_from_json({"type": "function_call_output", "call_id": "c", "output": 5})
    with pytest.raises(ProtocolError, match="submission: 'id' must be a string"):
        submission_from_json({"op": {"type": "shutdown"}})
    with pytest.raises(ProtocolError, match="event: expected a JSON object"):
        event_from_json(["not", "an", "object"])

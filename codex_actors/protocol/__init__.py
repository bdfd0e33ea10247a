"""Protocol types: submissions (Op), events (EventMsg) and Responses conversation items (spec agent-core 1).

Every message between actors is a frozen attrs class; JSON conversion happens only at the edges, through the
one cattrs converter in `registry`. Import names from here: `from codex_actors.protocol import events, items`.
"""

from codex_actors.protocol import events, items, ops
from codex_actors.protocol.events import Event, event_from_json, event_to_json
from codex_actors.protocol.items import item_from_json, item_to_json
from codex_actors.protocol.ops import Submission, submission_from_json, submission_to_json
from codex_actors.protocol.registry import ProtocolError, converter

__all__ = [
    "Event",
    "ProtocolError",
    "Submission",
    "converter",
    "event_from_json",
    "event_to_json",
    "events",
    "item_from_json",
    "item_to_json",
    "items",
    "ops",
    "submission_from_json",
    "submission_to_json",
]

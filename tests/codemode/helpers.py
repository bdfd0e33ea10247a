"""Small real async tools for code-mode tests, and a service fixture helper."""

import json

import trio

from codex_actors.codemode import NestedToolCall, NestedToolError, NestedToolSpec

MCP_OUTPUT = {
    "type": "object",
    "properties": {
        "content": {"type": "array", "items": {"type": "object"}},
        "isError": {"type": "boolean"},
        "_meta": {"type": "object"},
        "structuredContent": {"type": "object", "properties": {"echo": {"type": "string"}}},
    },
}


class Tools:
    """A dispatcher with a sleeping tool, gates, a two-party barrier, a never-resolving tool and an MCP echo."""

    def __init__(self):
        self.calls: list[NestedToolCall] = []
        self.gates: dict[str, trio.Event] = {}
        self.cancelled: list[str] = []
        self.started = trio.Event()
        self._barrier_count = 0
        self._barrier = trio.Event()

    def gate(self, name: str) -> trio.Event:
        return self.gates.setdefault(name, trio.Event())

    specs = [
        NestedToolSpec("sleep", "Sleep ms then answer ok."),
        NestedToolSpec("gate", "Wait until the named gate opens."),
        NestedToolSpec("barrier_sleep", "Meet a 2-party barrier, sleep 300 ms, answer ok."),
        NestedToolSpec("block", "Never resolves."),
        NestedToolSpec("fail", "Always fails."),
        NestedToolSpec("patch", "A freeform tool.", kind="freeform"),
        NestedToolSpec("echo", "MCP echo.", namespace=None, output_schema=MCP_OUTPUT,
                       input_schema={"type": "object", "properties": {"message": {"type": "string"}},
                                     "required": ["message"]}),
        NestedToolSpec("hidden_dynamic_tool", "Dynamic.", namespace="codex_app"),
        NestedToolSpec("exec", "Not callable."),
    ]

    async def __call__(self, call: NestedToolCall):
        self.calls.append(call)
        args = json.loads(call.input) if call.kind == "function" else call.input
        name = call.tool_name
        try:
            if name == "sleep":
                await trio.sleep(args.get("ms", 0) / 1000)
                return "ok"
            if name == "gate":
                await self.gate(args["name"]).wait()
                return "open"
            if name == "barrier_sleep":
                self._barrier_count += 1
                if self._barrier_count == 2:
                    self._barrier.set()
                await self._barrier.wait()
                await trio.sleep(0.3)
                return "ok"
            if name == "block":
                self.started.set()
                await trio.sleep_forever()
            if name == "fail":
                raise NestedToolError("tool exploded on purpose")
            if name == "patch":
                return {}
            if name == "echo":
                if "message" not in args:
                    return {"content": [{"type": "text", "text": "missing field `message`"}],
                            "structuredContent": None, "isError": True}
                return {"content": [], "structuredContent": {"echo": f"ECHOING: {args['message']}"},
                        "isError": False}
            if name == "hidden_dynamic_tool":
                return "hidden-ok"
        except trio.Cancelled:
            self.cancelled.append(name)
            raise
        raise NestedToolError(f"unexpected tool {name}")

"""The scripted model server in its own process, logging how long it spends on each request (for turn_overhead).

    python -m benchmarks.timed_server --script SCRIPT.json --log TIMES.jsonl

Prints its base URL as the first stdout line, then serves `codex_actors.testing` scripts over HTTP (no WebSocket).
Each answered request appends `{"arrived": s, "done": s, "tools": [offered tool names], "last_output": text}`
(`last_output`: the output of the request's last `*_call_output` input item as JSON text, first 500 characters) (time.monotonic, which is
system-wide on Linux, so the parent can compare it with its own clock): `arrived` when the request body is fully
read, `done` after the last byte of the answer is written. A separate process keeps the server's CPU time out of the runtime's measurements.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import trio

from codex_actors.testing import ScriptedModelServer


class TimedServer(ScriptedModelServer):
    """Records (arrived, done) monotonic seconds per HTTP request in `intervals` (and in `times_path` if set);
    `arrivals` gets each request's arrival time as soon as it is read."""

    def __init__(self, *args: Any, times_path: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.times_path = Path(times_path) if times_path else None
        self.intervals: list[tuple[float, float]] = []
        self.arrivals: list[float] = []
        self._arrived: dict[Any, float] = {}
        self._offered: dict[Any, list[str]] = {}
        self._last_output: dict[Any, str | None] = {}

    def _record(self, request: Any) -> None:
        now = time.monotonic()
        self.arrivals.append(now)
        self._arrived[trio.lowlevel.current_task()] = now
        body = request.body if isinstance(request.body, dict) else {}
        self._offered[trio.lowlevel.current_task()] = [t.get("name", "") for t in body.get("tools") or []]
        outputs = [i.get("output") for i in body.get("input") or [] if str(i.get("type", "")).endswith("_call_output")]
        self._last_output[trio.lowlevel.current_task()] = json.dumps(outputs[-1])[:500] if outputs else None
        super()._record(request)

    async def _serve_http(self, stream: Any, head: bytes) -> None:
        task = trio.lowlevel.current_task()
        try:
            await super()._serve_http(stream, head)
        finally:
            arrived = self._arrived.pop(task, None)
            offered = self._offered.pop(task, [])
            last_output = self._last_output.pop(task, None)
            if arrived is not None:
                interval = (arrived, time.monotonic())
                self.intervals.append(interval)
                if self.times_path is not None:
                    with self.times_path.open("a", encoding="utf-8") as f:
                        f.write(json.dumps({"arrived": interval[0], "done": interval[1], "tools": offered,
                                            "last_output": last_output}) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timed_server", description=__doc__.split("\n")[0])
    parser.add_argument("--script", required=True, help="JSON file: the list of scripted responses")
    parser.add_argument("--log", required=True, help="JSONL file receiving one {arrived, done} per request")
    args = parser.parse_args(argv)
    script = json.loads(Path(args.script).read_text(encoding="utf-8"))

    async def serve() -> None:
        server = TimedServer(script, websocket=False, times_path=args.log)
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            print(server.url, flush=True)

    try:
        trio.run(serve)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

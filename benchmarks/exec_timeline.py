"""`python -m benchmarks.exec_timeline [--execs 200] [--pace-ms 20]`: where one warm exec's time goes.

Runs `text("ok")` execs through `handle_exec` on one service, with an untimed pause between them (as between
model answers), and stamps each stage with `time.perf_counter` by wrapping the runtime's and cell's own methods
(a measurement aid only: nothing here is used by the product). Prints the median time of each stage from the
start of `handle_exec`, and the same-process floor: one bare `mr_eval("1")` round trip to an idle isolate
(`v8bridge.Isolate.eval_sync`, two thread hand-offs), the cost every stage hand-off pays, back to back and after
the execs' own pause (on a VM, a thread woken after a pause is much slower: see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

STAGES = (
    ("submit", "trio: job handed to V8 (handle_exec, pragma, create_cell, Cell)"),
    ("post", "JS handed its log over (job read, code compiled and run, output + completion: one callback)"),
    ("flush", "the events' batch ran on the trio thread"),
    ("completed", "the cell completed (core, commit, answer)"),
    ("end", "handle_exec returned (content items rendered)"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exec_timeline", description=__doc__.split("\n")[0])
    parser.add_argument("--execs", type=int, default=200)
    parser.add_argument("--pace-ms", type=float, default=20.0)
    args = parser.parse_args(argv)

    import trio

    from codex_actors.codemode import cell as cell_module
    from codex_actors.codemode import open_code_mode_service, v8bridge
    from codex_actors.codemode import runtime as runtime_module
    from codex_actors.tools.code_mode import handle_exec

    stamps: dict[str, float] = {}

    def stamp(key: str) -> None:
        stamps.setdefault(key, time.perf_counter())

    def wrap(cls, name, before=None, after=None):
        original = getattr(cls, name)

        def wrapper(self, *a, **k):
            if before:
                before(self, *a)
            result = original(self, *a, **k)
            if after:
                after(self, *a)
            return result

        setattr(cls, name, wrapper)

    wrap(runtime_module.V8Runtime, "submit", before=lambda self, job: stamp("submit"))
    wrap(runtime_module.V8Runtime, "_on_post", before=lambda self: stamp("post"))
    wrap(runtime_module.V8Runtime, "_flush", before=lambda self: stamp("flush"))
    wrap(cell_module.Cell, "_handle",
         after=lambda self, m: type(m).__name__ == "_CompletionReady" and stamp("completed"))

    async def dispatch(call):
        return {}

    rows: list[dict[str, float]] = []

    async def run() -> None:
        async with open_code_mode_service(dispatch) as service:
            for index in range(args.execs + 10):
                await trio.sleep(args.pace_ms / 1000)
                stamps.clear()
                started = time.perf_counter()
                await handle_exec(service, "call", 'text("ok")')
                stamps["end"] = time.perf_counter()
                if index >= 10:
                    rows.append({k: (v - started) for k, v in stamps.items()})

    trio.run(run)
    v8bridge.load_v8()
    isolate = v8bridge.Isolate.create()
    try:
        isolate.eval_sync("1")

        def round_trips(count: int, pause_s: float) -> list[float]:
            times = []
            for _ in range(count):
                if pause_s:
                    time.sleep(pause_s)
                started = time.perf_counter()
                isolate.eval_sync("1")
                times.append(time.perf_counter() - started)
            return times

        floor = round_trips(200, 0)
        floor_paced = round_trips(min(args.execs, 200), args.pace_ms / 1000)  # each exec's pause
    finally:
        isolate.free()
    print(f"{'stage':12} {'median from start':>18}  {'delta':>9}  what")
    previous = 0.0
    for key, what in STAGES:
        value = statistics.median(r[key] for r in rows if key in r)
        print(f"{key:12} {value * 1e6:16.0f}us  {(value - previous) * 1e6:7.0f}us  {what}")
        previous = value
    print(f"floor: one mr_eval round trip to an idle isolate, median {statistics.median(floor) * 1e6:.0f}us back to "
          f"back, {statistics.median(floor_paced) * 1e6:.0f}us after the same {args.pace_ms:g} ms pause as the execs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

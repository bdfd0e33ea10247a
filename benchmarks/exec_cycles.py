"""`python -m benchmarks.exec_cycles [--cycles 2000]`: mixed exec / terminate cycles leave nothing behind (issue 18).

One `CodeModeService` (pool of 2) runs `--cycles` cycles, alternating a `text("ok")` exec run to completion and a
busy cell (`while (true) {}`) terminated through `service.terminate` (which answers once its isolate thread is
joined). Before the first cycle (after 20 unmeasured cycles) and after the service has shut down, it counts what a
leak would grow: V8 contexts (`v8bridge.context_count`), native-only OS threads (`testing.os_threads`: the
isolate threads), Python threads other than trio's idle worker cache, Python thread states of threads Python
did not start (`testing.thread_states`: held by the isolate threads until they exit), open fds, and RSS. Prints one
row per resource and a `target ...: met|MISSED` line: every count back at its baseline, RSS growth under 50 MiB.
`tests/codemode/test_service_lifecycle.py` checks the same with 500 cycles in the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from benchmarks.memory import rss_bytes
from benchmarks.report import fmt_bytes, format_table
from codex_actors.testing.os_threads import native_only_threads
from codex_actors.testing.thread_states import foreign_thread_states

RSS_GROWTH_LIMIT = 50 * 1024 * 1024


def counts() -> dict[str, int]:
    """The resources a leaked cell would hold, now."""
    from codex_actors.codemode import v8bridge

    python_threads = threading.enumerate()
    return {
        "v8 contexts": v8bridge.context_count(),
        "native threads": native_only_threads(),
        "python threads": len([t for t in python_threads if not t.name.startswith("Trio thread")]),
        "foreign thread states": foreign_thread_states(),
        "open fds": len(os.listdir("/proc/self/fd")),
    }


async def cycles(count: int) -> dict[str, object]:
    """Run the cycles; returns the baseline and final counts, RSS before/after and the wall time."""
    from codex_actors.codemode import Completed, Terminated, open_code_mode_service

    async def dispatch(call: object) -> object:
        return {}

    base = counts()
    async with open_code_mode_service(dispatch, pool_size=2) as service:
        for _ in range(20):  # first-use costs (imports, V8 platform) are not leaks
            await service.terminate(await service.create_cell("while (true) {}"))
            await service.execute('text("ok")')
        rss_before = rss_bytes()
        started = time.perf_counter()
        for index in range(count):
            if index % 2:
                outcome = await service.execute('text("ok")')
                if not isinstance(outcome, Completed) or outcome.items[0].text != "ok":
                    raise RuntimeError(f"cycle {index}: exec failed: {outcome!r}")
            else:
                cell_id = await service.create_cell("while (true) {}")
                outcome = await service.terminate(cell_id)
                if outcome != Terminated(cell_id, ()):
                    raise RuntimeError(f"cycle {index}: terminate answered {outcome!r}")
        wall = time.perf_counter() - started
    return {"base": base, "after": counts(), "rss_before": rss_before, "rss_after": rss_bytes(), "wall": wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exec_cycles", description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=2000, help="exec / terminate cycles (default 2000)")
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    import trio

    result = trio.run(cycles, args.cycles)
    base, after = result["base"], result["after"]
    rows = [[name, str(base[name]), str(after[name]), "yes" if after[name] == base[name] else "NO"] for name in base]
    growth = result["rss_after"] - result["rss_before"]
    rows.append(["rss", fmt_bytes(result["rss_before"]), fmt_bytes(result["rss_after"]),
                 "yes" if growth < RSS_GROWTH_LIMIT else "NO"])
    print(format_table(("resource", "baseline", "after", "at baseline"), rows))
    print()
    print(f"{args.cycles} cycles in {result['wall']:.2f}s")
    ok = all(after[name] == base[name] for name in base)
    print(f"target {args.cycles} exec/terminate cycles leave contexts, threads and fds at baseline: "
          f"{'met' if ok else 'MISSED'}")
    print(f"target rss growth = {fmt_bytes(growth)} (target < {fmt_bytes(RSS_GROWTH_LIMIT)}): "
          f"{'met' if growth < RSS_GROWTH_LIMIT else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

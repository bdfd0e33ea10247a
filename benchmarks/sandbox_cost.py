"""`python -m benchmarks.sandbox_cost`: what the Linux sandbox adds to one command (issue 17, "Cost per command").

    python -m benchmarks.sandbox_cost [--samples 30] [--warmups 3] [--json PATH]

Every sample runs `true` through `UnifiedExec.exec_command` (the `exec_command` tool's own function: argument
parsing, ProcessActor, the launcher, the shell, output collection), timed from the call to its return; once
as the model sends it by default (`bash -lc true`, a login shell, whose profile scripts cost more than anything
here) and once with `"login": false` (`bash -c true`), where the sandbox's share is easier to see.
Rows (one per sandbox mode and shell form; the network is off in the sandboxed modes):
- `danger-full-access`: the launcher forks the command with no sandbox (the baseline);
- `read-only`, `workspace-write`: the launcher builds the namespaces and the read-only filesystem, PID 1 of the
  PID namespace forks the command, which enters Landlock, drops its capabilities and installs seccomp.
Samples are taken round-robin across the rows, so machine drift hits every row alike. The target lines compare
each sandboxed row's p50 with the p50 of danger-full-access in the same shell form (this shared machine's means
move with other people's load).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

from benchmarks.report import fmt_duration, format_table, mean, percentile, write_json

MODES = ("danger-full-access", "read-only", "workspace-write")
SHELLS = {"bash -lc": True, "bash -c": False}
SCENARIOS = tuple((mode, shell) for shell in SHELLS for mode in MODES)
COLUMNS = ("scenario", "shell", "samples", "warmups", "mean", "p50", "p95", "p50 - baseline")
TARGET_S = 0.025


async def _measure(samples: int, warmups: int, cwd: str) -> dict[tuple[str, str], list[float]]:
    import trio

    from codex_actors.exec.policy import SandboxPolicy
    from codex_actors.tools.unified_exec import ExecContext, UnifiedExec

    async def emit(event: Any) -> None:
        pass

    times: dict[tuple[str, str], list[float]] = {scenario: [] for scenario in SCENARIOS}
    policies = {mode: SandboxPolicy.from_config(mode, {}) for mode in MODES}
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=policies["danger-full-access"], default_shell="/bin/bash")
        for index in range(warmups + samples):
            for mode, shell in SCENARIOS:
                ctx = ExecContext(call_id=f"c{index}", turn_id="t", cwd=cwd, emit=emit)
                started = time.perf_counter()
                out = await ux.exec_command({"cmd": "true", "login": SHELLS[shell]}, ctx, policy=policies[mode])
                elapsed = time.perf_counter() - started
                if out.exit_code != 0:
                    raise RuntimeError(f"`true` failed under {mode} ({shell}): {out.text!r}")
                if index >= warmups:
                    times[(mode, shell)].append(elapsed)
        await ux.aclose()
    return times


def build_rows(times: dict[tuple[str, str], list[float]], warmups: int) -> list[dict[str, Any]]:
    """One row per scenario: raw seconds, and the p50 difference to danger-full-access in the same shell form."""
    rows = []
    for mode, shell in SCENARIOS:
        values = times[(mode, shell)]
        p50 = percentile(values, 50)
        base = percentile(times[("danger-full-access", shell)], 50)
        rows.append({"scenario": mode, "shell": shell, "samples": len(values), "warmups": warmups,
                     "mean": mean(values), "p50": p50, "p95": percentile(values, 95), "delta_p50": p50 - base,
                     "times": values})
    return rows


def render_row(row: dict[str, Any]) -> list[str]:
    delta = "-" if row["scenario"] == "danger-full-access" else f"{row['delta_p50'] * 1000:+.2f}ms"
    return [row["scenario"], row["shell"], str(row["samples"]), str(row["warmups"]), fmt_duration(row["mean"]),
            fmt_duration(row["p50"]), fmt_duration(row["p95"]), delta]


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for row in rows:
        if row["scenario"] == "danger-full-access":
            continue
        ok = row["delta_p50"] <= TARGET_S
        out.append(f"target {row['scenario']} ({row['shell']}) p50 - danger-full-access p50 = "
                   f"{row['delta_p50'] * 1000:.2f}ms "
                   f"(target <= 25.00ms): {'met' if ok else 'MISSED'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandbox_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=30, help="timed commands per mode (default 30)")
    parser.add_argument("--warmups", type=int, default=3, help="untimed commands per mode first (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON (seconds)")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.warmups < 0:
        parser.error("--samples must be at least 1 and --warmups at least 0")
    if not sys.platform.startswith("linux"):
        parser.error("the Linux sandbox only runs on Linux")
    import trio

    with tempfile.TemporaryDirectory(prefix="codex-actors-sandbox-cost-") as cwd:
        times = trio.run(_measure, args.samples, args.warmups, cwd)
    rows = build_rows(times, args.warmups)
    print(format_table(COLUMNS, [render_row(row) for row in rows]))
    print()
    for line in target_lines(rows):
        print(line)
    if args.json:
        write_json(args.json, {"benchmark": "sandbox_cost", "columns": list(COLUMNS), "rows": rows,
                               "args": {"samples": args.samples, "warmups": args.warmups}})
    return 0


if __name__ == "__main__":
    sys.exit(main())

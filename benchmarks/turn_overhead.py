"""`python -m benchmarks.turn_overhead`: the runtime's own time per tool call in a turn (model time taken out).

    python -m benchmarks.turn_overhead [--calls 1,10,100] [--samples 7] [--json PATH]

Each measured turn runs in a fresh ephemeral session built from config by `open_configured_session` (the real tool
registry) after one unmeasured warm-up turn in that session that does the same kind of work once (one `update_plan`
call, or one `exec` with one nested call, so code mode's service and runtime pool are up); the scripted model server runs in its own process
(`benchmarks.timed_server`) and logs how long it spent on each request. total/turn is `UserTurn` submitted to
`TaskComplete` received; model/turn is the server's summed request time (both medians over the samples);
overhead/turn = total - model.
overhead/call = overhead/turn / calls; marginal/call = the slope of overhead/turn from the previous row of the same
scenario (fewer calls), so fixed per-turn costs cancel; the first direct row is compared with `text_only`.

Rows:
- `text_only`: one request answered with a message (the baseline of the direct rows).
- `direct_parallel` N: one response with N `update_plan` calls, then a final message (2 requests).
- `direct_serial` N: N responses with one `update_plan` call each, then a final message (N + 1 requests).
- `nested_exec` N: one `exec` cell running `await Promise.all(...)` of N `tools.update_plan(...)` calls, then a final
  message; baseline `nested_exec` 0. Skipped with a note while the registry does not offer `exec`.
- `nested_service` N (no session, no model): one cell on a `CodeModeService` running `Promise.all` of N calls to a
  dispatcher that answers at once; total is the exec.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from benchmarks.report import fmt_duration, format_table, percentile, write_json
from codex_actors.testing import custom_tool_call, function_call, response, text_message

COLUMNS = ("scenario", "calls", "samples", "requests", "total/turn", "model/turn", "overhead/turn", "overhead/call",
           "marginal/call")
PLAN = {"plan": [{"step": "bench", "status": "in_progress"}]}
ROOT = Path(__file__).resolve().parent.parent
# What the last tool output sent back to the model must contain, so a failing tool cannot pass for a fast one.
EXPECTED_OUTPUT = {
    "direct_parallel": lambda calls: "Plan updated",
    "direct_serial": lambda calls: "Plan updated",
    "nested_exec": lambda calls: f'"text": "{calls}"',
}


def nested_js(calls: int, tool: str = "update_plan") -> str:
    """A cell making `calls` nested tool calls at once and printing how many answered."""
    args = json.dumps(PLAN)
    return (f"const results = await Promise.all(Array.from({{length: {calls}}}, () => tools.{tool}({args})));\n"
            "text(String(results.length));")


def turn_script(scenario: str, calls: int) -> list[dict[str, Any]]:
    """The responses of one measured turn (the warm-up turn's text response is prepended by the caller)."""
    final = response(text_message("done"))
    if scenario == "text_only":
        return [final]
    if scenario == "direct_parallel":
        return [response(*[function_call("update_plan", PLAN, f"call_{i}") for i in range(calls)]), final]
    if scenario == "direct_serial":
        return [response(function_call("update_plan", PLAN, f"call_{i}")) for i in range(calls)] + [final]
    if scenario == "nested_exec":
        return [response(custom_tool_call("exec", nested_js(calls), "call_exec")), final]
    raise ValueError(f"unknown scenario {scenario!r}")


def warmup_script(scenario: str) -> list[dict[str, Any]]:
    """The unmeasured first turn of each session: the same kind of work once (so code mode's service and runtime
    pool are up before the measured turn), then a message."""
    ready = response(text_message("ready"))
    if scenario.startswith("direct"):
        return [response(function_call("update_plan", PLAN, "call_warm")), ready]
    if scenario == "nested_exec":
        return [response(custom_tool_call("exec", nested_js(1), "call_warm")), ready]
    return [ready]


class ServerProcess:
    """A `benchmarks.timed_server` child serving `script`; `intervals()` reads its per-request log."""

    def __init__(self, script: list[dict[str, Any]], tmp: Path):
        self.log = tmp / f"times-{time.monotonic_ns()}.jsonl"
        script_path = tmp / f"script-{time.monotonic_ns()}.json"
        script_path.write_text(json.dumps(script), encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.timed_server", "--script", str(script_path),
                                      "--log", str(self.log)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("benchmarks.timed_server did not start")

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def config_for(tmp: Path, url: str) -> Any:
    from codex_actors.config import load_config

    home, work = tmp / "home", tmp / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    provider = (f'model_providers.x={{name="x",base_url="{url}",wire_api="responses",stream_max_retries=0,'
                'request_max_retries=0,supports_websockets=false}')
    return load_config(cwd=work, environ={"CODEX_ACTORS_HOME": str(home)},
                       overrides=["model_provider=x", provider, "approval_policy=never"])


async def measured_turns(config: Any, samples: int) -> list[tuple[float, float]]:
    """`samples` x (fresh session, unmeasured text turn, measured turn); returns [(start, end)] monotonic s."""
    from codex_actors.protocol import events, ops
    from codex_actors.runtime import RunOptions, open_configured_session

    def turn(text: str) -> Any:
        return ops.UserTurn(items=[ops.TextInput(text)], cwd=str(config.cwd), approval_policy="never",
                            sandbox_policy={"type": "read-only"}, model="m")

    spans = []
    for _ in range(samples):
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(turn("warm up"))
            await session.wait_for(events.TaskComplete, timeout=120)
            started = time.monotonic()
            await session.submit(turn("go"))
            seen = await session.wait_for(events.TaskComplete, timeout=120)
            spans.append((started, time.monotonic()))
            errors = [e.msg for e in seen if type(e.msg).__name__ in ("ErrorEvent", "Error", "StreamError")]
            if errors:
                raise RuntimeError(f"benchmark turn failed: {errors[0]!r}")
    return spans


def run_session_row(scenario: str, calls: int, samples: int, tmp: Path) -> dict[str, Any]:
    """Run one session-level row: returns raw seconds (per-sample totals and model times)."""
    per_turn = turn_script(scenario, calls)
    script = []
    for _ in range(samples):
        script += warmup_script(scenario) + per_turn
    server = ServerProcess(script, tmp)
    try:
        spans = trio.run(measured_turns, config_for(tmp, server.url), samples)
        time.sleep(0.05)  # let the server append its last log line (it writes after the final byte is sent)
        records = server.records()
    finally:
        server.close()
    totals, models = [], []
    expected = EXPECTED_OUTPUT.get(scenario)
    for start, end in spans:
        inside = [r for r in records if start <= r["arrived"] <= end]
        if len(inside) != len(per_turn):
            raise RuntimeError(f"{scenario}: expected {len(per_turn)} requests in the turn, server saw {len(inside)}")
        last = inside[-1].get("last_output") or ""
        if expected is not None and expected(calls) not in last:
            raise RuntimeError(f"{scenario} {calls}: the tool output sent back was {last!r}, "
                               f"expected it to contain {expected(calls)!r}")
        totals.append(end - start)
        models.append(sum(r["done"] - r["arrived"] for r in inside))
    return {"scenario": scenario, "calls": calls, "samples": samples, "requests": len(per_turn),
            "totals": totals, "models": models}


def registry_offers_exec(tmp: Path) -> bool:
    """Whether a configured session offers `exec` to the model (code mode wired into the tool registry)."""
    server = ServerProcess([response(text_message("ready")), response(text_message("ready"))], tmp)
    try:
        trio.run(measured_turns, config_for(tmp, server.url), 1)
        time.sleep(0.05)
        records = server.records()
    finally:
        server.close()
    return any("exec" in r["tools"] for r in records)


async def nested_service_times(calls: int, samples: int) -> list[float]:
    """Exec durations (s) of one cell making `calls` nested calls at once, on a warm `CodeModeService`."""
    from codex_actors.codemode import NestedToolSpec, open_code_mode_service
    from codex_actors.tools.code_mode import handle_exec, succeeded

    async def dispatch(call: Any) -> Any:
        return "Plan updated"

    tools = [NestedToolSpec(name="update_plan", description="Updates the task plan.",
                            input_schema={"type": "object", "properties": {"plan": {"type": "array"}}})]
    times = []
    async with open_code_mode_service(dispatch) as service:
        for index in range(samples + 1):
            started = time.perf_counter()
            output = await handle_exec(service, "call", nested_js(calls), tools=tools)
            elapsed = time.perf_counter() - started
            if not succeeded(output) or output["output"][-1]["text"] != str(calls):
                raise RuntimeError(f"nested_service exec failed: {output['output']!r}")
            if index:  # the first exec warms the service
                times.append(elapsed)
    return times


def finish_rows(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add means, overheads and marginals (seconds) to raw rows.

    marginal/call is the slope from the previous row of the same scenario (fewer calls): fixed per-turn costs
    cancel. The first row of a scenario is compared with its 0-call row (`text_only` for the direct rows, which
    then still carries the direct turn's extra model round trip)."""
    rows = []
    for row in raw:
        total, model = percentile(row["totals"], 50), percentile(row["models"], 50)
        rows.append(dict(row, total=total, model=model, overhead=total - model))
    text_only = next((r for r in rows if r["scenario"] == "text_only"), None)
    previous: dict[str, dict[str, Any]] = {}
    for row in rows:
        calls = row["calls"]
        row["per_call"] = row["overhead"] / calls if calls else None
        before = previous.get(row["scenario"])
        if before is None and row["scenario"].startswith("direct"):
            before = text_only
        row["marginal"] = None
        if calls and before is not None and calls > before["calls"] and not row.get("note"):
            row["marginal"] = (row["overhead"] - before["overhead"]) / (calls - before["calls"])
        previous[row["scenario"]] = row
    return rows


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Targets checked on the slope up to the largest call count of each scenario (the most signal over noise)."""
    largest = {}
    for row in rows:
        if row["marginal"] is not None and not row.get("note"):
            largest[row["scenario"]] = row
    out = []
    for row in largest.values():
        direct = row["scenario"].startswith("direct")
        limit = 1e-3 if direct else 0.5e-3
        ok = row["marginal"] <= limit
        out.append(f"target {row['scenario']}[{row['calls']}] marginal/call = {fmt_duration(row['marginal'])} "
                   f"(target <= {fmt_duration(limit)}): {'met' if ok else 'MISSED'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.turn_overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1,10,100", help="comma-separated tool-call counts (default 1,10,100)")
    parser.add_argument("--samples", type=int, default=7, help="measured turns per row (default 7)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON (seconds)")
    args = parser.parse_args(argv)
    faulthandler.enable()  # a crash in native code (V8) prints the Python stacks of every thread
    try:
        counts = [int(part) for part in args.calls.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--calls wants comma-separated integers, got {args.calls!r}")
    if not counts or min(counts) < 1 or args.samples < 1:
        parser.error("--calls wants positive integers and --samples at least 1")

    raw: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-turn-") as tmp_name:
        tmp = Path(tmp_name)
        raw.append(run_session_row("text_only", 0, args.samples, tmp))
        for scenario in ("direct_parallel", "direct_serial"):
            for calls in counts:
                raw.append(run_session_row(scenario, calls, args.samples, tmp))
                print(f"  ran {scenario} {calls}", file=sys.stderr, flush=True)
        if registry_offers_exec(tmp):
            for calls in [0, *counts]:
                raw.append(run_session_row("nested_exec", calls, args.samples, tmp))
                print(f"  ran nested_exec {calls}", file=sys.stderr, flush=True)
        else:
            notes.append("nested_exec: skipped: the configured tool registry does not offer `exec` "
                         "(code mode not wired into codex_actors/tools/registry.py)")
            raw.append({"scenario": "nested_exec", "calls": 0, "samples": 0, "requests": 0, "totals": [],
                        "models": [], "note": "skipped"})
    for calls in [0, *counts]:
        times = trio.run(nested_service_times, calls, args.samples)
        raw.append({"scenario": "nested_service", "calls": calls, "samples": args.samples, "requests": 0,
                    "totals": times, "models": [0.0] * len(times)})
    rows = finish_rows(raw)
    print(format_table(COLUMNS, [[r["scenario"], r["calls"], r["samples"], r["requests"], fmt_duration(r["total"]),
                                  fmt_duration(r["model"]), fmt_duration(r["overhead"]),
                                  fmt_duration(r["per_call"]), fmt_duration(r["marginal"])] for r in rows]))
    print()
    print("medians over samples; overhead = total - model server time (server in its own process); marginal/call = slope of overhead/turn "
          "from the row above with fewer calls (text_only for the first direct_* row)")
    for line in notes + target_lines(rows):
        print(line)
    if args.json:
        write_json(args.json, {"benchmark": "turn_overhead", "columns": list(COLUMNS), "rows": rows, "notes": notes})
    return 0


if __name__ == "__main__":
    sys.exit(main())

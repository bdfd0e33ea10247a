"""`python -m benchmarks.batch`: jobs/s and peak RSS of `codex-actors batch` against one process per job (issue 20).

    python -m benchmarks.batch [--jobs 200] [--concurrency 1,8,32,128] [--process-jobs 40]
                               [--process-parallel 4,32] [--sandbox read-only] [--json PATH]

Every job is one tool call: the prompt `run: echo job-<i>` makes the stateless scripted model
(`python -m codex_actors.testing.server --stateless`, its own process) answer with one `exec_command` call, then
with the command's output as the final message; a job is correct when it completed and its final message ends with
`job-<i>`. Rows:
- `processes` P: `--process-jobs` separate `codex-actors exec --json` processes, P at a time (`xargs -P P`);
- `batch` C: one `codex-actors batch` process running `--jobs` jobs at `--concurrency` C (rollouts written, as
  a user gets them).
`jobs/s` is jobs over wall time; `cpu/job` the user + system CPU time of the row's processes and all their
children (commands, sandbox launchers), per job: unlike jobs/s it hardly depends on what else loads the machine;
`own_cpu/job` the same for the `exec` / `batch` processes alone (`/proc/PID/stat`, sampled); `peak RSS` is the batch process's own high-water mark (`wait4` rusage: its command
and sandbox-launcher children are not in it), and for `processes` the largest single exec process. The line
`rss per running session` is (peak RSS at the highest C - peak RSS at C = 1) / (highest C - 1).

HOME is an empty temporary directory for every process, so `bash -lc` costs bash alone, not this machine's login
profile (pyenv's init, ~120 ms a command; issue 21 takes that on); both sides pay the same per-command cost.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.report import fmt_bytes, fmt_duration, format_table, write_json

COLUMNS = ("scenario", "parallel", "jobs", "wall", "jobs/s", "cpu/job", "own_cpu/job", "peak_rss", "correct")
SPEEDUP_TARGET = 10.0
TARGET_CONCURRENCY = 32
RSS_PER_SESSION_TARGET = 4 * 1024 * 1024


def cli_prefix() -> list[str]:
    script = Path(sys.executable).with_name("codex-actors")
    return [str(script)] if script.exists() else [sys.executable, "-m", "codex_actors"]


def provider_args(url: str) -> list[str]:
    table = (f'{{name="x",base_url="{url}",env_key="OPENAI_API_KEY",wire_api="responses",'
             'request_max_retries=0,stream_max_retries=0,supports_websockets=false}')
    return ["-c", "model_provider=x", "-c", f"model_providers.x={table}"]


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str], stdout: Any = subprocess.DEVNULL
                 ) -> tuple[float, int, int, float]:
    """Run `argv` to its end: (wall seconds, exit status, the process's own peak RSS in bytes, its own CPU
    seconds, children not included)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.DEVNULL)
    own = [0.0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_own_cpu, args=(proc.pid, own, done))
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, proc.returncode, usage.ru_maxrss * 1024, own[0]


def _sample_own_cpu(pid: int, own: list[float], done: threading.Event) -> None:
    """Keep `own[0]` at the process's own user + system seconds (`/proc/PID/stat` utime + stime, children not
    included; wait4's rusage includes them), read every 20 ms until `done`: the last reading is at most 20 ms
    of CPU short."""
    tick = os.sysconf("SC_CLK_TCK")
    while not done.wait(0.02):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return
        if fields[0] != "Z":
            own[0] = (int(fields[11]) + int(fields[12])) / tick


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-m", "codex_actors.testing.server", "--stateless"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def children_cpu_s() -> float:
    """User + system seconds of every child (and its waited descendants) this process has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_processes(n: int, parallel: int, *, work: Path, env: dict[str, str], url: str, sandbox: str
                    ) -> dict[str, Any]:
    out_dir = work / f"exec-{parallel}"
    out_dir.mkdir()

    def one(i: int) -> tuple[float, int, int, float]:
        with (out_dir / f"{i}.jsonl").open("w") as out:
            return run_measured([*cli_prefix(), "exec", "--json", "--skip-git-repo-check", "-s", sandbox,
                                 *provider_args(url), f"run: echo job-{i}"], cwd=work, env=env, stdout=out)

    started, cpu = time.monotonic(), children_cpu_s()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        runs = list(pool.map(one, range(n)))
    wall, cpu = time.monotonic() - started, children_cpu_s() - cpu
    correct = 0
    for i, (_, code, _, _) in enumerate(runs):
        lines = [json.loads(line) for line in (out_dir / f"{i}.jsonl").read_text().splitlines()]
        texts = [e["item"]["text"] for e in lines if e.get("type") == "item.completed"
                 and e["item"]["type"] == "agent_message"]
        correct += code == 0 and bool(texts) and texts[-1].rstrip().endswith(f"job-{i}")
    return {"scenario": "processes", "parallel": parallel, "jobs": n, "wall": wall, "jobs_per_s": n / wall,
            "cpu_per_job": cpu / n, "own_cpu_per_job": sum(r[3] for r in runs) / n,
            "peak_rss": max(r[2] for r in runs), "correct": correct}


def bench_batch(n: int, concurrency: int, *, work: Path, env: dict[str, str], url: str, sandbox: str
                ) -> dict[str, Any]:
    jobs = work / "jobs.jsonl"
    if not jobs.exists():
        jobs.write_text("".join(json.dumps({"id": f"job-{i}", "prompt": f"run: echo job-{i}"}) + "\n"
                                for i in range(n)))
    results = work / f"results-{concurrency}.jsonl"
    cpu = children_cpu_s()
    wall, code, peak, own = run_measured([*cli_prefix(), "batch", str(jobs), "-o", str(results), "--concurrency",
                                     str(concurrency), "--skip-git-repo-check", "-s", sandbox, *provider_args(url)],
                                    cwd=work, env=env)
    cpu = children_cpu_s() - cpu
    rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    correct = sum(r["status"] == "completed" and (r["final_message"] or "").rstrip().endswith(r["id"])
                  for r in rows)
    return {"scenario": "batch", "parallel": concurrency, "jobs": n, "wall": wall, "jobs_per_s": n / wall,
            "cpu_per_job": cpu / n, "own_cpu_per_job": own / n, "peak_rss": peak, "correct": correct, "exit": code}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="jobs per batch row")
    parser.add_argument("--concurrency", default="1,8,32,128", help="batch --concurrency values, comma-separated")
    parser.add_argument("--process-jobs", type=int, default=40, help="jobs of each one-process-per-job row")
    parser.add_argument("--process-parallel", default="4,32", help="processes at a time, comma-separated")
    parser.add_argument("--sandbox", default="read-only", help="-s for every job (read-only runs the launcher)")
    parser.add_argument("--json", help="write the rows (seconds, bytes) to this file")
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    parallels = [int(p) for p in args.process_parallel.split(",") if p]

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        (work / "codex-home").mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "CODEX_API_KEY", "RAY_ADDRESS")}
        env.update(HOME=str(work / "home"), CODEX_ACTORS_HOME=str(work / "codex-home"), OPENAI_API_KEY="bench-key",
                   NO_COLOR="1")
        server, url = start_server(env)
        try:
            rows = [bench_processes(args.process_jobs, p, work=work, env=env, url=url, sandbox=args.sandbox)
                    for p in parallels]
            rows += [bench_batch(args.jobs, c, work=work, env=env, url=url, sandbox=args.sandbox)
                     for c in concurrencies]
        finally:
            server.terminate()
            server.wait()

    print(format_table(COLUMNS, [(r["scenario"], r["parallel"], r["jobs"], fmt_duration(r["wall"]),
                                  f"{r['jobs_per_s']:.2f}", fmt_duration(r["cpu_per_job"]),
                                  fmt_duration(r["own_cpu_per_job"]), fmt_bytes(r["peak_rss"]), f"{r['correct']}/{r['jobs']}") for r in rows]))
    print()
    best_processes = max((r["jobs_per_s"] for r in rows if r["scenario"] == "processes"), default=None)
    batch = {r["parallel"]: r for r in rows if r["scenario"] == "batch"}
    summary: dict[str, Any] = {}
    if best_processes and TARGET_CONCURRENCY in batch:
        ratio = batch[TARGET_CONCURRENCY]["jobs_per_s"] / best_processes
        summary["speedup"] = ratio
        status = "met" if ratio >= SPEEDUP_TARGET else "MISSED"
        print(f"target batch[{TARGET_CONCURRENCY}] >= {SPEEDUP_TARGET:.0f}x the best processes row: {ratio:.1f}x "
              f"({batch[TARGET_CONCURRENCY]['jobs_per_s']:.2f} vs {best_processes:.2f} jobs/s): {status}")
    cheapest = min((r["cpu_per_job"] for r in rows if r["scenario"] == "processes"), default=None)
    if cheapest and TARGET_CONCURRENCY in batch:
        cpu_ratio = cheapest / batch[TARGET_CONCURRENCY]["cpu_per_job"]
        summary["cpu_ratio"] = cpu_ratio
        print(f"cpu per job: processes {fmt_duration(cheapest)}, batch[{TARGET_CONCURRENCY}] "
              f"{fmt_duration(batch[TARGET_CONCURRENCY]['cpu_per_job'])} ({cpu_ratio:.1f}x less)")
    if len(batch) >= 2 and min(batch) == 1:
        top = max(batch)
        per_session = (batch[top]["peak_rss"] - batch[1]["peak_rss"]) / (top - 1)
        summary["rss_per_session"] = per_session
        status = "met" if per_session <= RSS_PER_SESSION_TARGET else "MISSED"
        print(f"rss per running session (peak at {top} - peak at 1) / {top - 1}: {fmt_bytes(per_session)}; "
              f"target <= {fmt_bytes(RSS_PER_SESSION_TARGET)}: {status}")
    all_correct = all(r["correct"] == r["jobs"] for r in rows)
    print(f"every result correct: {'yes' if all_correct else 'NO'}")
    if args.json:
        write_json(args.json, {"rows": rows, **summary})
    return 0 if all_correct else 1


if __name__ == "__main__":
    sys.exit(main())

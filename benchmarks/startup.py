"""`python -m benchmarks.startup`: how long `codex-actors` takes to become useful, and what its imports cost.

    python -m benchmarks.startup [--samples 20] [--exec-samples 10] [--command-samples 20] [--store-size 10000]
                                 [--json PATH]

Rows (wall-clock seconds from just before the process is spawned):
- `help`: `codex-actors --help` to exit.
- `exec_first_request`: `codex-actors exec` to the moment its first model request has fully arrived at a scripted
  model server running inside this benchmark process (`RecordedRequest` time); `exec_total`: to its exit.
- `*_store`: the same with `--store-size` rollout files in the temp `CODEX_ACTORS_HOME` (start-up must not scale
  with history); `resume_last_first_request_store` is `exec resume --last` against that store.
- per-command rows (`--command-samples`): `login_shell`, `snapshot_shell`, `sandbox_true`, `exec_command_true`,
  `exec_command_true_lc`, and the floor rows `python_trio_httpx`, `python_trio_httpx_httpcore` (see
  `benchmarks/startup_shell.py`).
Then the import-time breakdown of one `exec` run (`python -X importtime`), self time summed per top-level package.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import trio

from benchmarks.report import fmt_duration, format_table, summarize, write_json
from benchmarks.startup_shell import command_rows
from benchmarks.timed_server import TimedServer
from codex_actors.testing import response, text_message

COLUMNS = ("scenario", "samples", "mean", "p50", "p95", "max")
IMPORT_COLUMNS = ("package", "self", "share")
ROOT = Path(__file__).resolve().parent.parent


def cli_prefix() -> list[str]:
    """The installed `codex-actors` script next to this interpreter, else `python -m codex_actors`."""
    script = Path(sys.executable).with_name("codex-actors")
    return [str(script)] if script.exists() else [sys.executable, "-m", "codex_actors"]


def cli_env(home: Path) -> dict[str, str]:
    """The CLI's environment: no API base/key overrides, and bytecode caching on (a user's install has `.pyc`
    files; with `PYTHONDONTWRITEBYTECODE=1`, as in this workplace, every start-up compiles codex_actors' ~100
    modules from source, 170 ms or more)."""
    dropped = ("OPENAI_BASE_URL", "CODEX_API_KEY", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(CODEX_ACTORS_HOME=str(home), OPENAI_API_KEY="bench-key", NO_COLOR="1")
    return env


def provider_args(url: str) -> list[str]:
    table = (f'{{name="x",base_url="{url}",env_key="OPENAI_API_KEY",wire_api="responses",'
             'request_max_retries=0,stream_max_retries=0,supports_websockets=false}')
    return ["-c", "model_provider=x", "-c", f"model_providers.x={table}"]


async def time_exec(home: Path, work: Path, args: list[str], *, python_flags: tuple[str, ...] = ()
                    ) -> tuple[float, float, bytes]:
    """Run `codex-actors exec <provider args> <args>` once; returns (first request s, exit s, stderr)."""
    server = TimedServer([response(text_message("done"))], websocket=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        prefix = [sys.executable, *python_flags, "-m", "codex_actors"] if python_flags else cli_prefix()
        command = [*prefix, "exec", "--skip-git-repo-check", *provider_args(server.url), *args]
        started = time.monotonic()
        with trio.fail_after(120):
            proc = await trio.run_process(command, cwd=work, env=cli_env(home), stdin=b"", capture_stdout=True,
                                          capture_stderr=True, check=False)
        ended = time.monotonic()
        nursery.cancel_scope.cancel()
    if proc.returncode != 0 or not server.arrivals:
        raise RuntimeError(f"exec failed (exit {proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
    return server.arrivals[0] - started, ended - started, proc.stderr


def time_help(samples: int) -> list[float]:
    """Wall seconds of `codex-actors --help`, `samples` times."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run([*cli_prefix(), "--help"], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return times


def fill_store(home: Path, seed: Path, count: int) -> None:
    """Write `count` rollout files (copies of `seed` under fresh thread ids) spread over past days in `home`."""
    text = seed.read_text(encoding="utf-8")
    old_id = seed.stem[-36:]
    base = time.time() - 86400 * 400
    for index in range(count):
        thread_id = str(uuid.uuid4())
        created = time.localtime(base + index * 3000)
        day = home / "sessions" / time.strftime("%Y/%m/%d", created)
        day.mkdir(parents=True, exist_ok=True)
        name = f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S', created)}-{thread_id}.jsonl"
        (day / name).write_text(text.replace(old_id, thread_id), encoding="utf-8")


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def import_breakdown(stderr: bytes) -> tuple[float, list[tuple[str, float]], list[tuple[str, float]]]:
    """Parse `-X importtime` output: (total self time s, [(top-level package, self s)], [(module, self s)]),
    both lists largest first."""
    per_package: dict[str, float] = defaultdict(float)
    per_module: dict[str, float] = {}
    for line in stderr.decode(errors="replace").splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            seconds = int(match.group(1)) / 1e6
            per_package[match.group(4).split(".")[0]] += seconds
            per_module[match.group(4)] = per_module.get(match.group(4), 0.0) + seconds
    total = sum(per_package.values())
    return (total, sorted(per_package.items(), key=lambda kv: kv[1], reverse=True),
            sorted(per_module.items(), key=lambda kv: kv[1], reverse=True))


async def run_all(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, list[float]] = {}
    results["help"] = await trio.to_thread.run_sync(time_help, args.samples)
    progress("help")

    small, big, work = tmp / "home-small", tmp / "home-store", tmp / "work"
    for path in (small, big, work):
        path.mkdir()
    await time_exec(small, work, ["seed"])  # one unmeasured run: its rollout seeds the big store
    seed = next((small / "sessions").rglob("rollout-*.jsonl"))
    for home, suffix in ((small, ""), (big, "_store")):
        if suffix:
            await trio.to_thread.run_sync(fill_store, big, seed, args.store_size)
            shutil.copytree(seed.parent, big / seed.parent.relative_to(small), dirs_exist_ok=True)
        first, total = [], []
        for _ in range(args.exec_samples):
            f, t, _ = await time_exec(home, work, ["hello"])
            first.append(f)
            total.append(t)
        results[f"exec_first_request{suffix}"] = first
        results[f"exec_total{suffix}"] = total
        progress(f"exec{suffix}")
    resume = []
    for _ in range(args.exec_samples):
        f, _, _ = await time_exec(big, work, ["resume", "--last", "again"])
        resume.append(f)
    results["resume_last_first_request_store"] = resume
    progress("resume")
    shell_tmp = tmp / "shell"
    shell_tmp.mkdir()
    results.update(await command_rows(args.command_samples, shell_tmp))
    progress("commands")
    _, _, stderr = await time_exec(small, work, ["--ephemeral", "imports"], python_flags=("-X", "importtime"))
    total_import, packages, modules = import_breakdown(stderr)
    return {"results": results, "import_total": total_import, "imports": packages, "modules": modules}


def progress(name: str) -> None:
    print(f"  ran {name}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20, help="`--help` runs (default 20)")
    parser.add_argument("--exec-samples", type=int, default=10, help="`exec` runs per row (default 10)")
    parser.add_argument("--command-samples", type=int, default=20, help="runs per per-command row (default 20)")
    parser.add_argument("--store-size", type=int, default=10000, help="rollout files in the big store (10000)")
    parser.add_argument("--top", type=int, default=12, help="packages shown in the import breakdown (12)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON (seconds)")
    args = parser.parse_args(argv)
    faulthandler.enable()  # a crash in native code (V8) prints the Python stacks of every thread
    if min(args.samples, args.exec_samples, args.command_samples) < 1 or args.store_size < 0:
        parser.error("--samples, --exec-samples and --command-samples must be at least 1, --store-size at least 0")

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        data = trio.run(run_all, args, Path(tmp))
    rows = [{"scenario": name, **summarize(values)} for name, values in data["results"].items()]
    print(format_table(COLUMNS, [[r["scenario"], r["n"], fmt_duration(r["mean"]), fmt_duration(r["p50"]),
                                  fmt_duration(r["p95"]), fmt_duration(r["max"])] for r in rows]))
    print()
    print(f"(store rows: {args.store_size} rollout files in CODEX_ACTORS_HOME/sessions)")
    print()
    total = data["import_total"]
    shown = data["imports"][: args.top]
    print(format_table(IMPORT_COLUMNS, [[name, fmt_duration(sec), f"{100 * sec / total:.1f}%"] for name, sec in shown]
                       + [["(all imports)", fmt_duration(total), "100.0%"]]))
    print("import time of one `codex-actors exec` run (python -X importtime, self time per top-level package)")
    print()
    print(format_table(("module", "self", "share"), [[name, fmt_duration(sec), f"{100 * sec / total:.1f}%"]
                                                     for name, sec in data["modules"][: args.top]]))
    print("the slowest single modules of that run (self time)")
    by_name = {r["scenario"]: r for r in rows}
    for name, limit, target in (("help", 0.150, "<= 150.00ms"), ("exec_first_request", 0.300, "<= 300.00ms"),
                                ("exec_first_request_store", 0.400, "<= 400.00ms"),
                                ("exec_total", 0.450, "<= 450.00ms"), ("exec_command_true", 0.040, "<= 40.00ms")):
        value = by_name[name]["p50"]
        print(f"target {name} p50 = {fmt_duration(value)} (target {target}): {'met' if value <= limit else 'MISSED'}")
    if args.json:
        write_json(args.json, {"benchmark": "startup", "columns": list(COLUMNS), "rows": rows,
                               "store_size": args.store_size,
                               "imports": {"total": total, "packages": dict(data["imports"]),
                                           "modules": dict(data["modules"])},
                               "samples": data["results"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())

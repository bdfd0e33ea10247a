"""Smoke tests of `benchmarks/`: each benchmark runs with tiny counts and prints every column and row.

No timing assertions: speeds are read from the benchmark output (see benchmarks/README.md), not tested.
No `__init__.py` here on purpose: a `tests/benchmarks` package would shadow the top-level `benchmarks` package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-X", "faulthandler", "-m", f"benchmarks.{module}", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True,
                          text=True, timeout=240, env=env)


def header_and_rows(stdout: str) -> tuple[list[str], list[list[str]]]:
    lines = stdout.splitlines()
    header = lines[0].split()
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        rows.append(line.split())
    return header, rows


def test_exec_overhead_prints_the_spec_table_with_reference_rows_ratios_and_json(tmp_path):
    out = tmp_path / "rows.json"
    proc = run_benchmark("exec_overhead", "--samples", "1", "--warm-iterations", "2", "--tool-counts", "0,3",
                         "--live-cells", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    header, rows = header_and_rows(proc.stdout)
    assert " ".join(header) == "scenario tools samples warmups iters mean/exec p95/exec rssΔ p50 rssΔ max"
    assert [(r[0], r[1]) for r in rows] == [
        ("cold_exec", "0"), ("warm_exec", "0"), ("cold_exec", "3"), ("warm_exec", "3"),
        ("warm_exec_back_to_back", "0"), ("cold_exec_shared_pool", "0"), ("cold_exec_shared_pool", "3"), ("warm_exec_paced", "0"),
        ("warm_exec_script", "0"), ("cold_exec_no_pool", "0"), ("warm_exec_no_pool", "0"), ("warm_exec_alternating", "3"), ("floor_eval", "0"),
        ("floor_first_job", "0"), ("floor_wake", "0"), ("node_worker", "0"),
        ("terminate_busy", "0"), ("terminate_busy_back_to_back", "0"), ("live_cells", "0")]
    assert rows[1][2:5] == ["1", "1", "2"]  # warm_exec: samples, warmups, iters
    for row in rows:
        assert len(row) == 9 and row[5].endswith(("us", "ms", "s")) and row[7].endswith(("B", "KiB", "MiB")), row
    assert "memory uses a fresh-process max RSS delta for each scenario" in proc.stdout
    assert "ratio warm_exec[0]:" in proc.stdout and "x floor_eval" in proc.stdout and "node_worker is" in proc.stdout
    assert "target warm_exec[0] mean = " in proc.stdout
    assert "target warm_exec[0] / interleaved floor_eval = " in proc.stdout
    assert "target terminate_busy p99 = " in proc.stdout
    assert "target warm_exec[3] - warm_exec[0], one process alternating = " in proc.stdout
    assert "(floor_first_job mean = " in proc.stdout and "(floor_first_job + floor_wake = " in proc.stdout
    assert "(terminate_busy_back_to_back p99 = " in proc.stdout
    data = json.loads(out.read_text())
    assert [r["scenario"] for r in data["rows"]][:2] == ["cold_exec", "warm_exec"]
    assert len(data["rows"][1]["times"]) == 2 and data["rows"][1]["mean"] > 0


def test_exec_overhead_without_node_skips_the_node_worker_row_with_a_note():
    env = dict(os.environ, PATH="/nonexistent")
    proc = run_benchmark("exec_overhead", "--samples", "1", "--warm-iterations", "1", "--tool-counts", "0",
                         "--live-cells", "0", env=env)
    assert proc.returncode == 0, proc.stderr
    _, rows = header_and_rows(proc.stdout)
    assert ["node_worker", "0", "1", "1", "1", "-", "-", "-", "-"] in rows
    assert "node_worker: skipped: `node` not found on PATH" in proc.stdout


def test_exec_overhead_rejects_bad_tool_counts_with_a_clear_message():
    proc = run_benchmark("exec_overhead", "--tool-counts", "0,many")
    assert proc.returncode == 2
    assert "--tool-counts wants comma-separated integers, got '0,many'" in proc.stderr


def test_startup_prints_help_exec_store_rows_and_the_import_breakdown(tmp_path):
    out = tmp_path / "startup.json"
    proc = run_benchmark("startup", "--samples", "1", "--exec-samples", "1", "--command-samples", "1",
                         "--store-size", "30", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    header, rows = header_and_rows(proc.stdout)
    assert header == ["scenario", "samples", "mean", "p50", "p95", "max"]
    assert [r[0] for r in rows] == ["help", "exec_first_request", "exec_total", "exec_first_request_store",
                                    "exec_total_store", "resume_last_first_request_store", "login_shell",
                                    "snapshot_shell", "sandbox_true", "python_trio_httpx", "python_trio_httpx_httpcore",
                                    "exec_command_true", "exec_command_true_lc"]
    assert "(store rows: 30 rollout files in CODEX_ACTORS_HOME/sessions)" in proc.stdout
    assert "package" in proc.stdout and "(all imports)" in proc.stdout and "codex_actors" in proc.stdout
    assert "target exec_first_request p50 = " in proc.stdout
    assert "target exec_total p50 = " in proc.stdout and "target exec_command_true p50 = " in proc.stdout
    assert json.loads(out.read_text())["imports"]["total"] > 0


def test_turn_overhead_prints_direct_and_nested_rows(tmp_path):
    out = tmp_path / "turn.json"
    proc = run_benchmark("turn_overhead", "--calls", "2", "--samples", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    header, rows = header_and_rows(proc.stdout)
    assert header == ["scenario", "calls", "samples", "requests", "total/turn", "model/turn", "overhead/turn",
                      "overhead/call", "marginal/call"]
    names = [(r[0], r[1]) for r in rows]
    assert names[:3] == [("text_only", "0"), ("direct_parallel", "2"), ("direct_serial", "2")]
    assert ("nested_exec", "0") in names
    assert ("nested_exec", "2") in names, "code mode is on by default: the nested_exec row must run"
    assert "nested_exec: skipped" not in proc.stdout
    assert names[-2:] == [("nested_service", "0"), ("nested_service", "2")]
    assert rows[2][3] == "3"  # direct_serial with 2 calls: 2 tool-call responses + the final message
    assert all(len(r) == 9 for r in rows)
    assert json.loads(out.read_text())["rows"][1]["calls"] == 2


def test_sandbox_cost_prints_one_row_per_mode_and_shell_with_target_lines(tmp_path):
    out = tmp_path / "rows.json"
    proc = run_benchmark("sandbox_cost", "--samples", "2", "--warmups", "0", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    header, rows = header_and_rows(proc.stdout)
    assert header == ["scenario", "shell", "samples", "warmups", "mean", "p50", "p95", "p50", "-", "baseline"]
    assert [(r[0], " ".join(r[1:3])) for r in rows] == [
        (mode, shell) for shell in ("bash -lc", "bash -c")
        for mode in ("danger-full-access", "read-only", "workspace-write")]
    for row in rows:
        assert row[3:5] == ["2", "0"] and row[5].endswith(("us", "ms", "s")), row
    targets = [line for line in proc.stdout.splitlines() if line.startswith("target ")]
    assert len(targets) == 4 and all(line.endswith((": met", ": MISSED")) for line in targets), targets
    data = json.loads(out.read_text())
    assert [len(r["times"]) for r in data["rows"]] == [2] * 6


def test_batch_benchmark_prints_process_and_batch_rows_targets_and_json(tmp_path):
    out = tmp_path / "rows.json"
    proc = run_benchmark("batch", "--jobs", "3", "--concurrency", "1,2", "--process-jobs", "2",
                         "--process-parallel", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header, rows = header_and_rows(proc.stdout)
    assert header == ["scenario", "parallel", "jobs", "wall", "jobs/s", "cpu/job", "own_cpu/job", "peak_rss",
                      "correct"]
    assert [(r[0], r[1], r[8]) for r in rows] == [("processes", "2", "2/2"), ("batch", "1", "3/3"),
                                                   ("batch", "2", "3/3")]
    assert "rss per running session (peak at 2 - peak at 1) / 1:" in proc.stdout
    assert "every result correct: yes" in proc.stdout
    data = json.loads(out.read_text())
    assert [r["scenario"] for r in data["rows"]] == ["processes", "batch", "batch"]
    assert all(r["peak_rss"] > 0 and r["wall"] > 0 for r in data["rows"])


def test_exec_cycles_prints_each_resource_against_its_baseline():
    proc = run_benchmark("exec_cycles", "--cycles", "6")
    assert proc.returncode == 0, proc.stderr
    header, rows = header_and_rows(proc.stdout)
    assert header == ["resource", "baseline", "after", "at", "baseline"]
    assert [r[0] for r in rows] == ["v8", "native", "python", "foreign", "open", "rss"]
    assert "target 6 exec/terminate cycles leave contexts, threads and fds at baseline: met" in proc.stdout


def test_command_timeline_stamps_every_stage_of_an_exec_command_call_and_its_floors():
    # Run without HOME (as CI does): the launcher, the snapshot and the floors must not need it.
    env = {k: v for k, v in os.environ.items() if k != "HOME"}
    proc = run_benchmark("command_timeline", "--calls", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("2 calls of exec_command true")
    stages = [line.split()[0] for line in lines[2:15]]
    assert stages == ["call", "handler", "spawn", "spawned", "launcher_up", "launcher_imported", "launcher_done",
                      "exited", "collected", "end", "returned", "recorded", "request"]
    assert "(not seen)" not in proc.stdout
    assert "launcher + bash sourcing the snapshot (the calls' argv and env):" in proc.stdout
    assert "launcher + /bin/true (sandbox_true):" in proc.stdout


def test_command_timeline_rejects_a_bad_call_count():
    proc = run_benchmark("command_timeline", "--calls", "0")
    assert proc.returncode == 2
    assert "--calls must be at least 1" in proc.stderr

"""`codex-actors batch` as a user runs it: the real CLI in a subprocess, the stateless scripted model in this one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.stateless import answer
from tests.batch.helpers import (
    by_id,
    cli_command,
    cli_env,
    provider_args,
    read_results,
    read_terminal,
    run_cli,
    write_jobs,
)

SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
          "additionalProperties": False}


async def test_mixed_outcomes_each_get_a_result_and_a_failure_never_stops_the_others(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"id": "ok", "prompt": "run: echo hello-ok", "cwd": "one"},
        {"id": "cmd-fails", "prompt": "run: echo broken >&2; exit 3\nreply: the command failed", "cwd": "two"},
        {"id": "model-error", "prompt": "fail: 400 the model refused"},
        "{this is not json",
        {"id": "schema", "prompt": 'reply: {"x": 7}', "output_schema": SCHEMA},
        {"id": "where", "prompt": "run: pwd", "cwd": "two", "config": {"model": "gpt-per-job"}},
        {"id": "ok", "prompt": "reply: a second job with the same id"},
    ])
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        proc = await run_cli(["batch", str(jobs), "-o", "results.jsonl", "--skip-git-repo-check", "--concurrency",
                              "3", *provider_args(server.url)], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 1, proc.stderr.decode()
    assert proc.stdout == b""  # results went to -o; the progress line only ever goes to a terminal's stderr
    results = read_results(tmp_path / "results.jsonl")
    assert len(results) == 7
    # Line 7 repeats the id "ok"; its failure may be written before or after the first "ok" ends.
    got = by_id([r for r in results if r["line"] not in (4, 7)])
    assert got["ok"]["status"] == "completed" and got["ok"]["final_message"].rstrip().endswith("hello-ok")
    assert got["ok"]["usage"]["input_tokens"] > 0 and got["ok"]["error"] is None
    assert got["cmd-fails"]["status"] == "completed"
    assert got["cmd-fails"]["final_message"] == "the command failed"
    assert got["model-error"]["status"] == "failed" and "the model refused" in got["model-error"]["error"]
    assert got["schema"]["status"] == "completed" and json.loads(got["schema"]["final_message"]) == {"x": 7}
    assert got["where"]["final_message"].rstrip().endswith(str(tmp_path / "two"))
    bad = [r for r in results if r["line"] in (4, 7)]
    assert sorted((r["line"], r["status"]) for r in bad) == [(4, "failed"), (7, "failed")]
    assert next(r for r in bad if r["line"] == 4)["error"].startswith("line 4: invalid JSON")
    assert next(r for r in bad if r["line"] == 7)["error"] == "line 7: duplicate id 'ok'"
    ids = {r["thread_id"] for r in results if r["thread_id"]}
    assert len(ids) == 5  # one session per job that ran
    bodies = [r.body for r in server.requests]
    schema_formats = [b["text"]["format"] for b in bodies if "format" in (b.get("text") or {})]
    assert schema_formats and all(f["schema"] == SCHEMA and f["strict"] for f in schema_formats)
    assert {b["model"] for b in bodies if "pwd" in json.dumps(b["input"][-1])} >= {"gpt-per-job"}
    assert "4 completed, 3 failed" in proc.stderr.decode() and "Traceback" not in proc.stderr.decode()


async def test_events_dir_holds_exactly_what_exec_json_prints_for_the_same_job(tmp_path):
    prompt = "run: echo same-output\nreply: finished"
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"id": "j1", "prompt": prompt}])
    env = cli_env(tmp_path / "home")
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        batch = await run_cli(["batch", str(jobs), "--events-dir", "events", "--skip-git-repo-check",
                               *provider_args(server.url)], cwd=tmp_path, env=env)
        exec_ = await run_cli(["exec", "--json", "--skip-git-repo-check", *provider_args(server.url), prompt],
                              cwd=tmp_path, env=env)
    assert batch.returncode == 0, batch.stderr.decode()
    assert exec_.returncode == 0, exec_.stderr.decode()
    result, = [json.loads(line) for line in batch.stdout.decode().splitlines()]  # results default to stdout
    events = [json.loads(line) for line in (tmp_path / "events" / "j1.jsonl").read_text().splitlines()]
    printed = [json.loads(line) for line in exec_.stdout.decode().splitlines()]
    assert events[0] == {"type": "thread.started", "thread_id": result["thread_id"]}
    assert printed[0]["type"] == "thread.started"
    assert events[1:] == printed[1:]
    assert [e["type"] for e in events] == ["thread.started", "turn.started", "item.started", "item.completed",
                                           "item.completed", "turn.completed"]


async def test_rerun_after_kill_9_skips_completed_jobs_and_runs_the_rest_once(tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl",
                      [{"id": f"j{i}", "prompt": f"delay: 0.3\nreply: answer-{i}"} for i in range(10)])
    results_path = tmp_path / "results.jsonl"
    env = cli_env(tmp_path / "home")
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        args = ["batch", str(jobs), "-o", str(results_path), "--concurrency", "2", "--skip-git-repo-check",
                *provider_args(server.url)]
        proc = await trio.lowlevel.open_process(cli_command(*args), cwd=tmp_path, env=env,
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
        try:
            with trio.fail_after(60):
                while not results_path.exists() or len(read_results(results_path)) < 3:
                    await trio.sleep(0.05)
            proc.kill()  # SIGKILL: no chance to record anything more
        finally:
            with trio.CancelScope(shield=True):
                await proc.wait()
        first = read_results(results_path)
        assert 3 <= len(first) < 10
        assert all(r["status"] == "completed" for r in first)
        rerun = await run_cli(args, cwd=tmp_path, env=env)
    assert rerun.returncode == 0, rerun.stderr.decode()
    results = read_results(results_path)
    assert results[:len(first)] == first  # nothing recorded before the crash is lost
    completed = [r["id"] for r in results if r["status"] == "completed"]
    assert sorted(completed) == sorted(f"j{i}" for i in range(10))  # every job done, none twice
    assert all(r["final_message"] == f"answer-{r['id'][1:]}" for r in results)
    assert f"({len(first)} skipped: already completed)" in rerun.stderr.decode()


async def test_ctrl_c_records_running_jobs_interrupted_exits_130_and_a_rerun_finishes_them(tmp_path):
    marker = f"sleep 37.{os.getpid()}"
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"id": "quick", "prompt": "reply: done quickly"},
        *({"id": f"slow{i}", "prompt": f"run: {marker}"} for i in range(2)),
        *({"id": f"later{i}", "prompt": "reply: later"} for i in range(3)),
    ])
    results_path = tmp_path / "results.jsonl"
    env = cli_env(tmp_path / "home")
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        args = ["batch", str(jobs), "-o", str(results_path), "--concurrency", "2", "--events-dir", "ev",
                "--skip-git-repo-check", *provider_args(server.url)]
        proc = await trio.lowlevel.open_process(cli_command(*args), cwd=tmp_path, env=env,
                                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE)
        try:
            with trio.fail_after(60):
                started = [tmp_path / "ev" / f"slow{i}.jsonl" for i in range(2)]
                while not all(p.exists() and "item.started" in p.read_text() for p in started):
                    await trio.sleep(0.05)
                proc.send_signal(signal.SIGINT)
                err = b""
                async for chunk in proc.stderr:
                    err += chunk
                code = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
        assert code == 130, err.decode()
        got = by_id(read_results(results_path))
        assert got["quick"]["status"] == "completed"
        assert got["slow0"]["status"] == got["slow1"]["status"] == "interrupted"
        assert not any(k.startswith("later") for k in got)  # never started: left for the re-run
        assert subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split() == []
        assert "Traceback" not in err.decode()
        rerun = await run_cli(["batch", str(jobs), "-o", str(results_path), "--skip-git-repo-check",
                               "--concurrency", "4", *provider_args(server.url), "-c",
                               'model_instructions_file="/nonexistent"'], cwd=tmp_path, env=env)
    # The re-run skips `quick` and runs the other five again (here failing on purpose, fast, with a clear error).
    assert rerun.returncode == 1
    latest = by_id(read_results(results_path))
    assert latest["quick"]["status"] == "completed"
    assert all(latest[k]["status"] == "failed" and "model_instructions_file" in latest[k]["error"]
               for k in ("slow0", "slow1", "later0", "later1", "later2"))


async def test_unreadable_jobs_file_and_foreign_results_file_are_usage_errors_that_change_nothing(tmp_path):
    env = cli_env(tmp_path / "home")
    missing = await run_cli(["batch", "nope.jsonl", "--skip-git-repo-check"], cwd=tmp_path, env=env)
    assert missing.returncode == 2
    assert missing.stderr.decode().strip() == "codex-actors batch: nope.jsonl: cannot read: No such file or directory"
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"id": "a", "prompt": "reply: x"}])
    foreign = tmp_path / "notes.jsonl"
    foreign.write_text('{"id": "a", "status": "completed"}\nsome notes\n')
    before = foreign.read_bytes()
    proc = await run_cli(["batch", str(jobs), "-o", str(foreign), "--skip-git-repo-check"], cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "line 2 is not JSON" in proc.stderr.decode()
    assert foreign.read_bytes() == before
    zero = await run_cli(["batch", str(jobs), "--concurrency", "0"], cwd=tmp_path, env=env)
    assert zero.returncode == 2 and "--concurrency must be at least 1" in zero.stderr.decode()


async def test_jobs_outside_a_git_repository_fail_without_the_skip_flag(tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"id": "a", "prompt": "reply: x"}])
    proc = await run_cli(["batch", str(jobs)], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 1
    result, = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert result["status"] == "failed"
    assert result["error"] == "Not inside a trusted directory and --skip-git-repo-check was not specified."


def test_ray_flag_without_ray_installed_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    import importlib.util

    from codex_actors.cli.main import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    monkeypatch.setenv("CODEX_ACTORS_HOME", str(tmp_path / "home"))
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"id": "a", "prompt": "reply: x"}])
    code = main(["batch", str(jobs), "--ray", "--skip-git-repo-check", "-C", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.strip() == "codex-actors batch: --ray needs Ray: pip install 'codex-actors[ray]'"


async def test_progress_line_is_drawn_on_a_terminal_stderr_and_stdout_holds_only_results(tmp_path):
    import pty

    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"id": f"j{i}", "prompt": "delay: 0.3\nreply: ok"} for i in range(4)]
                      + ["{bad"])
    master, slave = pty.openpty()
    drawn = bytearray()

    async with serve_scripted_model(responder=answer, websocket=False) as server:
        args = cli_command("batch", str(jobs), "--concurrency", "2", "--skip-git-repo-check",
                           *provider_args(server.url))
        async with trio.open_nursery() as nursery, trio.lowlevel.FdStream(master) as terminal:
            nursery.start_soon(read_terminal, terminal, drawn)
            with trio.fail_after(60):
                proc = await trio.run_process(args, cwd=tmp_path, env=cli_env(tmp_path / "home", TERM="xterm"),
                                              stdin=subprocess.DEVNULL, capture_stdout=True, stderr=slave,
                                              check=False)
            os.close(slave)
            with trio.fail_after(10):
                while b"batch: " not in drawn:
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
    assert proc.returncode == 1
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(lines) == 5 and {r["status"] for r in lines} == {"completed", "failed"}
    text = drawn.decode(errors="replace")
    assert "jobs/s" in text and "running" in text and "done " in text and "/5" in text
    assert "batch: 4 completed, 1 failed" in text


async def test_jobs_of_one_cwd_share_one_shell_snapshot_and_each_job_sees_the_profile(tmp_path):
    home = tmp_path / "user-home"
    home.mkdir()
    logins = tmp_path / "logins.log"
    (home / ".bash_profile").write_text(f'echo login >> {logins}\nexport FROM_PROFILE="set-by-profile"\n')
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        *({"id": f"a{i}", "prompt": "run: echo $FROM_PROFILE", "cwd": "a"} for i in range(3)),
        {"id": "b0", "prompt": "run: echo $FROM_PROFILE", "cwd": "b"},
    ])
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        proc = await run_cli(["batch", str(jobs), "-o", "results.jsonl", "--skip-git-repo-check", "--concurrency",
                              "2", *provider_args(server.url)], cwd=tmp_path,
                             env=cli_env(tmp_path / "home", HOME=str(home), SHELL="/bin/bash"))
    assert proc.returncode == 0, proc.stderr.decode()
    got = by_id(read_results(tmp_path / "results.jsonl"))
    assert all(got[k]["final_message"].rstrip().endswith("set-by-profile") for k in ("a0", "a1", "a2", "b0")), got
    assert logins.read_text().splitlines() == ["login", "login"]  # one capture per cwd, not one per job
    assert not list((tmp_path / "home" / "shell_snapshots").glob("*.sh"))  # deleted when the batch ended

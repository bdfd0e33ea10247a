"""`codex-actors batch --ray ADDRESS` on a real local Ray cluster (`ray.init(num_cpus=2)`, once for the module)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import ray
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
from tests.exec.proctable import processes_with

KILL_MY_WORKER = "kill -9 $(ps -o ppid= -p $PPID)"  # bash's parent is the sandbox launcher, its parent the worker


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory):
    """The GCS address of a local two-CPU cluster this module starts and stops (its processes are children of
    this test process, ended by `ray.shutdown()`)."""
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a loopback-only cluster; no token file under ~/.ray
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                       _temp_dir=str(tmp_path_factory.mktemp("ray")))
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def _jobs(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir(exist_ok=True)
    return write_jobs(tmp_path / "jobs.jsonl", [
        {"id": "echo", "prompt": "run: echo from-a-worker\nreply: echoed"},
        {"id": "where", "prompt": "run: pwd\nreply: printed the cwd", "cwd": "sub"},
        {"id": "model-error", "prompt": "fail: 400 refused"},
        "[not a job]",
        *({"id": f"n{i}", "prompt": f"reply: answer-{i}"} for i in range(6)),
    ])


def _outcome(results: list[dict]) -> dict:
    return {(r["id"], r["line"]): (r["status"], r["final_message"], r["error"]) for r in results}


async def test_ray_batch_writes_the_same_results_and_events_as_one_process(tmp_path, ray_address):
    jobs = _jobs(tmp_path)
    env = cli_env(tmp_path / "home")
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        common = [str(jobs), "--skip-git-repo-check", *provider_args(server.url)]
        local = await run_cli(["batch", *common, "-o", "local.jsonl", "--events-dir", "ev-local"], cwd=tmp_path,
                              env=env, timeout=180)
        on_ray = await run_cli(["batch", *common, "-o", "ray.jsonl", "--events-dir", "ev-ray", "--ray", ray_address,
                                "--concurrency", "4"], cwd=tmp_path, env=env, timeout=300)
    assert (local.returncode, on_ray.returncode) == (1, 1), (local.stderr.decode()[-2000:],
                                                            on_ray.stderr.decode()[-2000:])
    assert on_ray.stdout == b""
    local_results, ray_results = read_results(tmp_path / "local.jsonl"), read_results(tmp_path / "ray.jsonl")
    assert len(ray_results) == 10
    assert _outcome(ray_results) == _outcome(local_results), (ray_results, local_results)
    got = by_id(ray_results)
    outputs = {}
    for name in ("echo", "where", "n0"):
        local_events = (tmp_path / "ev-local" / f"{name}.jsonl").read_text().splitlines()
        ray_events = (tmp_path / "ev-ray" / f"{name}.jsonl").read_text().splitlines()
        assert json.loads(ray_events[0]) == {"type": "thread.started", "thread_id": got[name]["thread_id"]}
        assert ray_events[1:] == local_events[1:]
        outputs[name] = [json.loads(e)["item"].get("aggregated_output") for e in ray_events
                         if '"command_execution"' in e and '"item.completed"' in e]
    assert outputs["echo"][0].rstrip().endswith("from-a-worker")
    assert outputs["where"][0].rstrip().endswith(str(tmp_path / "sub"))


async def test_ray_batch_resumes_from_the_results_file_and_a_job_killing_its_worker_is_retried_once(
        tmp_path, ray_address):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"id": "done-before", "prompt": "reply: must not run again"},
        # Unsandboxed: inside the sandbox's PID namespace the worker is out of reach, as it should be.
        {"id": "killer", "prompt": f"run: {KILL_MY_WORKER}", "config": {"sandbox_mode": "danger-full-access"}},
        *({"id": f"n{i}", "prompt": f"delay: 0.2\nreply: answer-{i}"} for i in range(4)),
    ])
    results_path = tmp_path / "results.jsonl"
    results_path.write_text(json.dumps({"id": "done-before", "status": "completed", "final_message": "earlier"})
                            + "\n")
    env = cli_env(tmp_path / "home")
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        # One job per worker (2 CPUs, concurrency 2): a job sharing the killer's worker both times would rightly
        # be lost twice and recorded failed, so no other job may share the killer's first worker.
        proc = await run_cli(["batch", str(jobs), "-o", str(results_path), "--skip-git-repo-check", "--ray",
                              ray_address, "--concurrency", "2", *provider_args(server.url)], cwd=tmp_path, env=env,
                             timeout=300)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    results = read_results(results_path)
    assert [r["id"] for r in results].count("done-before") == 1  # skipped, not run again
    got = by_id(results)
    assert got["killer"]["status"] == "failed"
    assert "worker lost twice" in got["killer"]["error"]
    assert all(got[f"n{i}"]["status"] == "completed" and got[f"n{i}"]["final_message"] == f"answer-{i}"
               for i in range(4)), [(r["id"], r["status"], r.get("error")) for r in results]
    kills = [r for r in server.requests if KILL_MY_WORKER in json.dumps(r.body.get("input", []))
             and not any(i.get("type") == "function_call_output" for i in r.body["input"])]
    assert len(kills) == 2  # the first try and Ray's one retry
    assert "(1 skipped: already completed)" in proc.stderr.decode()


async def test_ray_ctrl_c_records_running_jobs_interrupted_exits_130_with_progress_on_the_terminal_and_resumes(
        tmp_path, ray_address):
    import pty

    marker = f"sleep 37.{os.getpid()}"
    release = tmp_path / "release"  # once it exists the slow jobs' command returns at once (for the re-run)
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"id": "quick", "prompt": "reply: done quickly"},
        *({"id": f"slow{i}", "prompt": f"run: test -e {release} && echo released || {marker}"} for i in range(2)),
        *({"id": f"later{i}", "prompt": "reply: later"} for i in range(3)),
    ])
    results_path = tmp_path / "results.jsonl"
    env = cli_env(tmp_path / "home", TERM="xterm")
    master, slave = pty.openpty()
    drawn = bytearray()

    def sleeping() -> list:
        return [p for p in processes_with(marker) if p[2].startswith("sleep ")]

    async with serve_scripted_model(responder=answer, websocket=False) as server:
        args = ["batch", str(jobs), "-o", str(results_path), "--concurrency", "2", "--skip-git-repo-check",
                "--ray", ray_address, *provider_args(server.url)]
        async with trio.open_nursery() as nursery, trio.lowlevel.FdStream(master) as terminal:
            nursery.start_soon(read_terminal, terminal, drawn)
            proc = await trio.lowlevel.open_process(cli_command(*args), cwd=tmp_path, env=env,
                                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            out = b""
            try:
                with trio.fail_after(240):
                    while len(sleeping()) < 2:  # both slow jobs are in their command on a worker
                        await trio.sleep(0.1)
                    proc.send_signal(signal.SIGINT)
                    async for chunk in proc.stdout:
                        out += chunk
                    code = await proc.wait()
                    while b"batch: " not in drawn:
                        await trio.sleep(0.05)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    with trio.CancelScope(shield=True):
                        await proc.wait()
            nursery.cancel_scope.cancel()
        text = drawn.decode(errors="replace")
        assert code == 130, text[-3000:]
        assert out == b""  # results went to -o; the progress line and notices only to the terminal (stderr)
        got = by_id(read_results(results_path))
        assert got["quick"]["status"] == "completed" and got["quick"]["final_message"] == "done quickly"
        assert got["slow0"]["status"] == got["slow1"]["status"] == "interrupted", got
        assert not any(k.startswith("later") for k in got)  # never sent: left for the re-run
        assert "done 1/6" in text and "running 2" in text and "jobs/s" in text and "ETA" in text
        assert "^C interrupting the running jobs" in text
        assert "batch: 1 completed, 0 failed, 2 interrupted" in text and "Traceback" not in text
        with trio.fail_after(10):
            while sleeping():  # the interrupted commands are killed on the workers
                await trio.sleep(0.1)
        release.touch()
        # The re-run goes through one process (the results file is the same either way; resuming on Ray is the
        # test above): the interrupted jobs and the unsent ones run, `quick` does not.
        rerun = await run_cli(args[:args.index("--ray")] + args[args.index("--ray") + 2:], cwd=tmp_path, env=env,
                              timeout=240)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    latest = by_id(read_results(results_path))
    assert [r["id"] for r in read_results(results_path)].count("quick") == 1  # completed before: not run again
    assert all(latest[f"slow{i}"]["final_message"].rstrip().endswith("released") for i in range(2))
    assert all(latest[f"later{i}"]["status"] == "completed" for i in range(3))
    assert "(1 skipped: already completed)" in rerun.stderr.decode()

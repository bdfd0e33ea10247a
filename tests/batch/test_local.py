"""The one-process runner, in this process: sessions sharing the HTTP client and the code-mode runtime pool."""

from __future__ import annotations

from codex_actors.batch.job import BatchSettings
from codex_actors.batch.jobs import Job
from codex_actors.batch.local import LocalRun, run_local
from codex_actors.batch.progress import Tally
from codex_actors.batch.results import ResultsWriter
from codex_actors.batch.sessions import JobSessions
from codex_actors.codemode import pool as pool_module
from codex_actors.config import load_config
from codex_actors.testing import serve_scripted_model
from codex_actors.testing.stateless import answer
from tests.batch.helpers import by_id, provider_args, read_results


async def test_code_mode_jobs_share_one_runtime_pool_and_one_connection_pool(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEX_ACTORS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    pools: list[object] = []
    real_init = pool_module.RuntimePool.__init__

    def counting_init(self, **kwargs):
        pools.append(self)
        real_init(self, **kwargs)

    monkeypatch.setattr(pool_module.RuntimePool, "__init__", counting_init)
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        overrides = tuple(provider_args(server.url)[1::2])
        config = load_config(cwd=tmp_path, overrides=overrides)
        jobs = [Job(id=f"js{i}", prompt=f'js: text("cell-" + ({i} * 6))', cwd=str(tmp_path), line=i + 1)
                for i in range(4)]
        writer = ResultsWriter(tmp_path / "results.jsonl")
        run = LocalRun(items=jobs, settings=BatchSettings(overrides=overrides, skip_git_repo_check=True,
                                                          ephemeral=True),
                       config=config, concurrency=4, writer=writer, handle_signals=False)
        tally = Tally(total=4)
        interrupted = await run_local(run, tally)
        writer.close()
    assert interrupted is False and (tally.completed, tally.failed) == (4, 0)
    got = by_id(read_results(tmp_path / "results.jsonl"))
    assert all(f"cell-{i * 6}" in got[f"js{i}"]["final_message"] for i in range(4))
    assert len(pools) == 1  # one pool for the whole batch, not one per session
    assert len(server.requests) == 8 and server.connections <= 4  # kept-alive connections, at most `concurrency`


async def test_a_jobs_own_heap_limit_takes_effect_with_shared_pools_and_its_own_pool_size_is_refused(
        tmp_path, monkeypatch):
    monkeypatch.setenv("CODEX_ACTORS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    grow = 'js: let a = []; for (let i = 0; i < 800; i++) a.push(new Array(10000).fill(i)); text("kept " + a.length)'
    tight = 16 * 1024 * 1024
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        overrides = tuple(provider_args(server.url)[1::2])
        config = load_config(cwd=tmp_path, overrides=overrides)
        jobs = [Job(id="roomy", prompt=grow, cwd=str(tmp_path), line=1),
                Job(id="tight", prompt=grow, cwd=str(tmp_path), line=2, config={"code_mode.max_heap_bytes": tight}),
                Job(id="sized", prompt=grow, cwd=str(tmp_path), line=3, config={"code_mode.pool_size": 5})]
        writer = ResultsWriter(tmp_path / "results.jsonl")
        run = LocalRun(items=jobs, settings=BatchSettings(overrides=overrides, skip_git_repo_check=True,
                                                          ephemeral=True),
                       config=config, concurrency=3, writer=writer, handle_signals=False)
        opened: list[JobSessions] = []
        real_open = JobSessions.open

        def spying_open(self, job_config, options):
            opened.append(self)
            return real_open(self, job_config, options)

        monkeypatch.setattr(JobSessions, "open", spying_open)
        await run_local(run, Tally(total=3))
        writer.close()
    got = by_id(read_results(tmp_path / "results.jsonl"))
    assert got["roomy"]["status"] == "completed" and "kept 800" in got["roomy"]["final_message"]
    assert got["tight"]["status"] == "completed"  # the cell failed; the model answered with its error
    assert f"JavaScript heap limit reached: the cell used more than {tight} bytes" in got["tight"]["final_message"]
    assert got["sized"]["status"] == "failed"
    assert got["sized"]["error"].startswith("code_mode.pool_size = 5 in a job's config")
    assert "-c code_mode.pool_size=N" in got["sized"]["error"]
    assert len({id(s) for s in opened}) == 1  # one batch-wide owner, one pool per heap limit
    assert sorted(opened[0].pools) == sorted({tight, config.get("code_mode.max_heap_bytes")})

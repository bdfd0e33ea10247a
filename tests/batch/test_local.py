"""The one-process runner, in this process: sessions sharing the HTTP client and the code-mode runtime pool."""

from __future__ import annotations

from codex_actors.batch.job import BatchSettings
from codex_actors.batch.jobs import Job
from codex_actors.batch.local import LocalRun, run_local
from codex_actors.batch.progress import Tally
from codex_actors.batch.results import ResultsWriter
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

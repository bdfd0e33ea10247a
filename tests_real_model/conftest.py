"""The real-model tier: run by `bin/test-real-model`, which starts llama-cpp-python's server and passes its base URL
in $CODEX_ACTORS_REAL_MODEL_URL. Outside that script every test here is skipped (it needs the server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

# Model names the server knows (see bin/test-real-model): tool calls with chatml-function-calling, plain chat.
TOOL_MODEL = "smollm2"
CHAT_MODEL = "smollm2-chat"
# SmolLM2 rambles until its context is full when nothing stops it: every request is capped at this many
# generated tokens (the oss provider's max_output_tokens, sent as max_tokens).
MAX_OUTPUT_TOKENS = 200
# A 135M model on 2 CPU cores: a request with the full tool list is a ~4k-token prompt (seconds to tens of
# seconds on a busy machine) plus at most MAX_OUTPUT_TOKENS generated; a whole run took 5-30 s here. The bound is
# for a hung run, not a speed target, and keeps the tier (three tests) under a quarter of an hour.
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="session")
def model_url() -> str:
    url = os.environ.get("CODEX_ACTORS_REAL_MODEL_URL")
    if not url:
        pytest.skip("needs a real model server: run bin/test-real-model")
    return url


@attrs.frozen
class ExecRun:
    """One `codex-actors exec --oss --json` run: exit code, the JSONL lines, stderr, and the rollout items."""

    returncode: int
    lines: list[dict[str, Any]]
    stderr: str
    rollout: list[dict[str, Any]]

    def types(self) -> list[str]:
        return [line["type"] for line in self.lines]

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [line["item"] for line in self.lines if line["type"] == "item.completed" and line["item"]["type"] == kind]

    def response_items(self, kind: str) -> list[dict[str, Any]]:
        return [r["payload"] for r in self.rollout if r["type"] == "response_item" and r["payload"]["type"] == kind]


@pytest.fixture
def run_exec(model_url: str, tmp_path: Path):
    """Run the real CLI with `--oss` against the server, in a fresh git work tree and a fresh home."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    subprocess.run(["git", "init", "-q", str(work)], check=True)

    def run(prompt: str, *extra: str) -> ExecRun:
        argv = [sys.executable, "-m", "codex_actors", "exec", "--oss", "--json",
                "-c", f"model_providers.oss.base_url={model_url}",
                "-c", f"model_providers.oss.max_output_tokens={MAX_OUTPUT_TOKENS}", *extra, prompt]
        env = {**os.environ, "CODEX_ACTORS_HOME": str(home), "CODEX_ACTORS_OSS_BASE_URL": model_url}
        done = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        rollout = [json.loads(line) for path in sorted(home.glob("sessions/**/*.jsonl"))
                   for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return ExecRun(done.returncode, lines, done.stderr, rollout)

    return run

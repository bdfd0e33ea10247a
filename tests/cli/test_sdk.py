"""Drop-in for the official Codex TypeScript SDK (`@openai/codex-sdk` 0.163 from npm) with `codexPathOverride`
pointing at `bin/codex-actors`: a turn with a shell command, then `resumeThread(id).run(...)`.

The SDK is installed once into `$CODEX_ACTORS_SDK_CACHE` (default `~/.cache/codex-actors-test/sdk`, outside the
repository) without its optional platform binaries; the test is skipped, saying why, when node/npm or the npm
registry is unavailable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, response, text_message, usage
from tests.cli.test_exec import UUID, cli_env, user_texts
from tests.plain_http import plain_model_server

SDK_VERSION = "0.163.0"
REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "bin" / "codex-actors"

DRIVER = """
import { Codex } from %(sdk)s;

const [baseUrl, workdir] = process.argv.slice(2);
const codex = new Codex({ codexPathOverride: %(cli)s, baseUrl, apiKey: "sk-from-the-sdk" });
const options = { workingDirectory: workdir, skipGitRepoCheck: true, sandboxMode: "workspace-write" };
const thread = codex.startThread(options);
const first = await thread.run("list the files");
const again = codex.resumeThread(thread.id, options);
const second = await again.run("and now summarise");
console.log(JSON.stringify({ threadId: thread.id, first, second }));
"""


def sdk_dir() -> Path:
    """The SDK's install folder, installing it on first use; skips the test when that cannot be done."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to install @openai/codex-sdk")
    cache = Path(os.environ.get("CODEX_ACTORS_SDK_CACHE", Path.home() / ".cache" / "codex-actors-test" / "sdk"))
    package = cache / "node_modules" / "@openai" / "codex-sdk" / "package.json"
    if package.is_file() and json.loads(package.read_text())["version"] == SDK_VERSION:
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "package.json").write_text('{"name": "codex-actors-sdk-test", "private": true, "type": "module"}\n')
    try:
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--omit=optional",
                               f"@openai/codex-sdk@{SDK_VERSION}"], cwd=cache, capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("npm install @openai/codex-sdk timed out (registry unreachable?)")
    if proc.returncode != 0 or not package.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"npm install @openai/codex-sdk@{SDK_VERSION} failed: {tail[0]}")
    return cache


async def test_codex_sdk_runs_a_turn_and_resumes_the_thread_through_codex_actors(tmp_path):
    sdk = sdk_dir()
    work = tmp_path / "work"
    work.mkdir()
    script = [
        response(function_call("exec_command", {"cmd": "echo output-from-the-shell"}, "call_1"),
                 usage=usage(100, 10, cached=40, reasoning=3)),
        response(text_message("First answer."), usage=usage(120, 5)),
        response(text_message("Second answer."), usage=usage(150, 6)),
    ]
    driver = tmp_path / "driver.mjs"
    entry = sdk / "node_modules" / "@openai" / "codex-sdk" / "dist" / "index.js"
    driver.write_text(DRIVER % {"sdk": json.dumps(entry.as_uri()), "cli": json.dumps(str(CLI))})
    env = cli_env(tmp_path / "home")
    del env["OPENAI_API_KEY"]  # the SDK hands its apiKey over as CODEX_API_KEY
    async with serve_scripted_model(script) as server:
        with trio.fail_after(120):
            proc = await trio.run_process(["node", str(driver), server.url, str(work)], env=env, cwd=tmp_path,
                                          capture_stdout=True, capture_stderr=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert UUID.match(result["threadId"])

    first = result["first"]
    assert first["finalResponse"] == "First answer."
    commands = [item for item in first["items"] if item["type"] == "command_execution"]
    assert len(commands) == 1
    command = commands[0]
    assert command["command"] == "/bin/bash -lc 'echo output-from-the-shell'"
    assert command["aggregated_output"].endswith("output-from-the-shell\n")
    assert (command["exit_code"], command["status"]) == (0, "completed")
    assert first["usage"] == {"input_tokens": 220, "cached_input_tokens": 40, "output_tokens": 15,
                              "reasoning_output_tokens": 3, "cache_write_input_tokens": 0}
    assert result["second"]["finalResponse"] == "Second answer."

    assert len(server.requests) == 3
    assert all(r.headers.get("authorization") == "Bearer sk-from-the-sdk" for r in server.requests)
    resumed = server.requests[2].body
    assert user_texts(resumed)[-2:] == ["list the files", "and now summarise"]
    kinds = [item.get("type") for item in resumed["input"]]
    assert "function_call" in kinds and "function_call_output" in kinds
    assert "First answer." in json.dumps(resumed["input"])


async def test_codex_sdk_against_a_stdlib_http_server_runs_every_turn_at_full_speed(tmp_path):
    """The SDK passes `--config openai_base_url=...`, so the built-in `openai` provider (WebSocket first) meets a
    server that answers the upgrade with a bare HTTP/1.0 404: each process falls back to HTTP at once."""
    sdk = sdk_dir()
    work = tmp_path / "work"
    work.mkdir()
    script = [
        response(function_call("exec_command", {"cmd": "echo from-the-shell"}, "call_1")),
        response(text_message("First answer.")),
        response(text_message("Second answer.")),
    ]
    driver = tmp_path / "driver.mjs"
    entry = sdk / "node_modules" / "@openai" / "codex-sdk" / "dist" / "index.js"
    driver.write_text(DRIVER % {"sdk": json.dumps(entry.as_uri()), "cli": json.dumps(str(CLI))})
    env = cli_env(tmp_path / "home")
    del env["OPENAI_API_KEY"]
    with plain_model_server(script) as server:
        with trio.fail_after(120):
            proc = await trio.run_process(["node", str(driver), server.url, str(work)], env=env, cwd=tmp_path,
                                          capture_stdout=True, capture_stderr=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert result["first"]["finalResponse"] == "First answer."
    assert result["second"]["finalResponse"] == "Second answer."
    methods = [r.method for r in server.requests]
    # One refused upgrade per exec process (the SDK starts one per turn), each followed by its POSTs.
    assert methods == ["GET", "POST", "POST", "GET", "POST"], methods
    for upgrade, post in [(server.requests[0], server.requests[1]), (server.requests[3], server.requests[4])]:
        assert post.at - upgrade.at < 1.0, f"POST came {post.at - upgrade.at:.2f} s after the upgrade attempt"

"""A Codex user's `~/.codex` (tests/fixtures/codex_home) used unchanged by `codex-actors exec`: its provider key
from auth.json, its model settings, AGENTS.md and MCP server (the real `mcp-server-time` from PyPI, float
timeouts), and the JSONL items of spec agent-core 6.4 compared field by field."""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
from pathlib import Path

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, reasoning, response, text_message
from tests.cli.test_exec import cli_env, jsonl, run_cli, user_texts

FIXTURE = Path(__file__).parent.parent / "fixtures" / "codex_home"


def codex_user_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    codex_home = tmp_path / "dot-codex"
    shutil.copytree(FIXTURE, codex_home)
    env = cli_env(tmp_path / "dot-codex-actors", CODEX_HOME=str(codex_home), OPENAI_BASE_URL=base_url)
    del env["OPENAI_API_KEY"]
    # The fixture names `mcp-server-time` as a user's PATH would find it: the test venv's bin directory.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


async def test_exec_runs_on_a_codex_users_home_and_reports_items_as_codex_does(tmp_path):
    search = {"type": "web_search_call", "id": "ws_1", "status": "completed",
              "action": {"type": "search", "query": "current UTC time"}}
    script = [
        response(reasoning("**Reading the clock**", "**Asking the time server**"), search,
                 function_call("mcp__time__get_current_time", {"timezone": "UTC"}, "c1"),
                 usage={"input_tokens": 900, "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 700},
                        "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 10}, "total_tokens": 930}),
        response(text_message("It is noon in UTC."),
                 usage={"input_tokens": 1000, "input_tokens_details": {"cached_tokens": 800, "cache_write_tokens": 0},
                        "output_tokens": 8, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 1008}),
    ]
    async with serve_scripted_model(script, websocket=False) as server:
        env = codex_user_env(tmp_path, server.url)
        proc = await run_cli(["exec", "--json", "--skip-git-repo-check", "-c",
                              "model_providers.openai.supports_websockets=false", "-c", "web_search=live",
                              "what time is it?"], cwd=tmp_path, env=env, timeout=240)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    codex_home = Path(env["CODEX_HOME"])
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [
        f"warning: config keys not understood (ignored): file_opener ({codex_home / 'config.toml'}), "
        f"hide_agent_reasoning ({codex_home / 'config.toml'}), tui ({codex_home / 'config.toml'})"]

    first = server.requests[0]
    assert first.headers["authorization"] == "Bearer sk-from-codex-auth-json"
    assert first.body["model"] == "gpt-5.1-codex"
    assert first.body["reasoning"] == {"effort": "high", "summary": "detailed"}
    assert first.body["text"] == {"verbosity": "low"}
    tools = first.body["tools"]
    assert {"type": "web_search", "external_web_access": True} in tools
    assert "mcp__time__get_current_time" in [t.get("name") for t in tools]
    assert any("Always answer in British English." in text for text in user_texts(first.body))

    lines = jsonl(proc.stdout)
    items = [line["item"] for line in lines if line["type"] == "item.completed"]
    assert items[0] == {"id": "item_0", "type": "reasoning",
                        "text": "**Reading the clock**\n**Asking the time server**"}
    assert items[1] == {"id": "item_1", "type": "web_search", "query": "current UTC time",
                        "action": {"type": "search", "query": "current UTC time"}}
    mcp = items[2]
    assert list(mcp) == ["id", "type", "server", "tool", "arguments", "result", "error", "status"]
    assert (mcp["id"], mcp["server"], mcp["tool"], mcp["arguments"], mcp["error"], mcp["status"]) == (
        "item_2", "time", "get_current_time", {"timezone": "UTC"}, None, "completed")
    assert mcp["result"]["structured_content"]["timezone"] == "UTC"
    assert items[3] == {"id": "item_3", "type": "agent_message", "text": "It is noon in UTC."}
    assert lines[-1] == {"type": "turn.completed", "usage": {
        "input_tokens": 1900, "cached_input_tokens": 900, "cache_write_input_tokens": 700, "output_tokens": 38,
        "reasoning_output_tokens": 10}}
    assert not filecmp.dircmp(FIXTURE, codex_home).diff_files  # nothing written into Codex's home
    assert sorted(p.name for p in codex_home.iterdir()) == sorted(p.name for p in FIXTURE.iterdir())


async def test_human_output_shows_a_failed_mcp_calls_arguments_and_error_text(tmp_path):
    script = [response(function_call("mcp__time__get_current_time", {"timezone": "Mars/Olympus_Mons"}, "c1")),
              response(text_message("That is not a timezone."))]
    async with serve_scripted_model(script, websocket=False) as server:
        env = codex_user_env(tmp_path, server.url)
        proc = await run_cli(["exec", "--skip-git-repo-check", "--color", "never", "-c",
                              "model_providers.openai.supports_websockets=false", "time on Mars?"],
                             cwd=tmp_path, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stderr.decode().splitlines()
    at = lines.index('mcp: time/get_current_time({"timezone": "Mars/Olympus_Mons"}) (failed)')
    assert "Mars/Olympus_Mons" in lines[at + 1] and "timezone" in lines[at + 1].lower(), lines[at:at + 3]


def test_config_show_names_codex_config_as_the_origin_and_ignore_user_config_skips_it(tmp_path):
    import json
    import subprocess

    env = codex_user_env(tmp_path, "http://127.0.0.1:9/v1")
    show = [sys.executable, "-m", "codex_actors", "config", "show", "--json"]
    payload = json.loads(subprocess.run(show, capture_output=True, text=True, env=env, cwd=tmp_path,
                                        timeout=60).stdout)
    assert payload["origins"]["model"] == "codex-user"
    assert {"name": "codex-user", "path": str(Path(env["CODEX_HOME"]) / "config.toml")} in payload["layers"]
    bare = subprocess.run([*show, "--ignore-user-config"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert json.loads(bare.stdout)["origins"]["model"] == "default"
    assert "warning" not in bare.stderr  # nothing of Codex's file was read

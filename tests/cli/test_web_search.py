"""The Responses built-in web search as Codex 0.169 offers it (observed against a scripted server): "cached" by
default, live under danger-full-access unless disabled, none on the chat wire (which has no built-in tools)."""

from __future__ import annotations

import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.stateless import answer
from tests.cli.test_exec import cli_env, provider_args, run_cli

CACHED = {"type": "web_search", "external_web_access": False}
LIVE = {"type": "web_search", "external_web_access": True}


async def test_web_search_defaults_to_cached_and_is_live_with_full_access(tmp_path):
    cases = [([], [CACHED]), (["--full-auto"], [CACHED]), (["--yolo"], [LIVE]),
             (["-s", "danger-full-access", "-c", "web_search=cached"], [LIVE]), (["-c", "web_search=live"], [LIVE]),
             (["-c", "web_search=disabled", "--yolo"], [])]
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        for flags, expected in cases:
            before = len(server.requests)
            proc = await run_cli(["exec", "--skip-git-repo-check", *provider_args(server.url), *flags, "hi"],
                                 cwd=tmp_path, env=cli_env(tmp_path / "home"), timeout=60)
            assert proc.returncode == 0, proc.stderr.decode()
            [request] = server.requests[before:]
            offered = [t for t in request.body["tools"] if t["type"] == "web_search"]
            assert offered == expected, flags


async def test_the_chat_wire_offers_none_and_warns_only_when_it_was_asked_for(tmp_path):
    async with serve_scripted_model(responder=answer, websocket=False) as server:
        chat = ["-c", "model_provider=c", "-c", f'model_providers.c={{base_url="{server.url}",wire_api="chat"}}']
        quiet = await run_cli(["exec", "--skip-git-repo-check", *chat, "hi"], cwd=tmp_path,
                              env=cli_env(tmp_path / "home"))
        asked = await run_cli(["exec", "--skip-git-repo-check", *chat, "-c", "web_search=live", "hi"], cwd=tmp_path,
                              env=cli_env(tmp_path / "home"))
    assert quiet.returncode == 0 and asked.returncode == 0, asked.stderr.decode()
    assert "web_search" not in quiet.stderr.decode()
    assert 'web_search = "live" needs the Responses wire' in asked.stderr.decode()
    assert all(t.get("type") == "function" for r in server.requests for t in r.body.get("tools", []))

"""`codex-actors sessions` lists recorded rollouts; `codex-actors resume` continues one interactively."""

from __future__ import annotations

import json

import trio

from codex_actors.testing.script import response, text_message
from tests.cli.test_exec import cli_env, exec_json, jsonl, run_cli
from tests.cli.test_run import PROMPT, finish, scripted, spawn_run  # noqa: F401 - scripted is a fixture


async def test_sessions_lists_id_date_and_first_prompt_newest_first(tmp_path):
    first, _ = await exec_json(tmp_path, [response(text_message("a"))], "fix the flaky test in api.py")
    await trio.sleep(1.1)  # rollout names carry the creation second
    second, _ = await exec_json(tmp_path, [response(text_message("b"))], "add a README section")
    ids = [jsonl(p.stdout)[0]["thread_id"] for p in (first, second)]
    proc = await run_cli(["sessions"], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines] == [ids[1], ids[0]]
    assert lines[1].endswith("  fix the flaky test in api.py")
    assert lines[0].endswith("  add a README section")
    date, clock = lines[0].split()[1:3]
    assert len(date) == 10 and date[4] == "-" and len(clock) == 5 and clock[2] == ":"


async def test_sessions_in_another_directory_lists_none_without_all(tmp_path):
    await exec_json(tmp_path, [response(text_message("a"))], "hello")
    other = tmp_path / "other"
    other.mkdir()
    proc = await run_cli(["sessions"], cwd=other, env=cli_env(tmp_path / "home"))
    assert proc.stdout == b""
    assert "no recorded sessions for" in proc.stderr.decode()
    proc = await run_cli(["sessions", "--all"], cwd=other, env=cli_env(tmp_path / "home"))
    assert proc.stdout.decode().count("\n") == 1


async def test_resume_without_id_or_last_is_a_usage_error(tmp_path):
    proc = await run_cli(["resume"], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == ("codex-actors resume: give a session ID or --last (list them with "
                                            "`codex-actors sessions`)")


def test_resume_last_continues_the_conversation_interactively(tmp_path, scripted):
    server = scripted([response(text_message("The code word is tangerine.")),
                       response(text_message("It was tangerine."))])
    child = spawn_run(tmp_path, server.url)
    child.sendline("remember a code word")
    child.expect("tangerine")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0

    child = spawn_run(tmp_path, server.url, "--last", command="resume")
    child.sendline("what was the code word?")
    child.expect("It was tangerine.")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    body = json.dumps(server.requests()[1]["body"]["input"])
    assert "remember a code word" in body and "The code word is tangerine." in body

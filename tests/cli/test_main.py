"""The `codex-actors` multitool as a Codex user types it: `--version`, bare `codex-actors [PROMPT]`, `e`,
`--enable` / `--disable FEATURE`."""

from __future__ import annotations

import json
import subprocess
import sys

import pexpect

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import response, text_message
from tests.cli.test_exec import cli_env, jsonl, provider_args, run_cli
from tests.cli.test_run import PROMPT, finish, scripted  # noqa: F401 - pytest fixture


def test_version_flags_print_the_version_and_load_no_runtime(tmp_path):
    for flag in ("--version", "-V"):
        code = ("import sys\nfrom codex_actors.cli.main import main\ntry:\n    main([%r])\nexcept SystemExit as e:\n"
                "    print('exit', e.code)\nprint(sorted(m for m in ('trio', 'httpx', 'py_mini_racer') "
                "if m in sys.modules))\n" % flag)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert proc.stdout.splitlines() == ["codex-actors 0.1.0", "exit 0", "[]"], proc.stderr


async def test_e_is_exec_and_enable_disable_set_features(tmp_path):
    async with serve_scripted_model([response(text_message("ok"))], websocket=False) as server:
        proc = await run_cli(["e", "--json", "--skip-git-repo-check", "--disable", "code_mode",
                              *provider_args(server.url), "hi"], cwd=tmp_path, env=cli_env(tmp_path / "home"),
                             timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    assert jsonl(proc.stdout)[-1]["type"] == "turn.completed"
    names = [tool.get("name") for tool in server.requests[0].body["tools"]]
    assert "exec_command" in names and "exec" not in names and "wait" not in names
    shown = subprocess.run([sys.executable, "-m", "codex_actors", "config", "show", "--json", "--enable", "code_mode_only",
                            "--disable", "code_mode"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                           env=cli_env(tmp_path / "home"))
    payload = json.loads(shown.stdout)
    assert payload["values"]["features"] == {"code_mode": False, "code_mode_only": True}
    assert payload["origins"]["features.code_mode_only"] == "-c"


async def test_an_unknown_feature_is_warned_about_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "codex_actors", "config", "show", "--enable", "telepathy"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 0
    assert [l for l in proc.stderr.splitlines() if l.strip()] == [
        "warning: config keys not understood (ignored): features.telepathy (-c)"]


def test_bare_codex_actors_with_a_prompt_starts_the_interactive_session(tmp_path, scripted):
    server = scripted([response(text_message("Hello from the bare command."))])
    env = cli_env(tmp_path / "home", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "codex_actors", "--color", "never", *provider_args(server.url, retries=0),
                                           "say hello"], env=env, cwd=str(tmp_path), encoding="utf-8",
                          timeout=90, dimensions=(50, 160))
    child.logfile_read = open(tmp_path / "pty-bare.log", "a")
    child.expect("Hello from the bare command.")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    first = server.requests()[0]["body"]
    assert any("say hello" in json.dumps(item) for item in first["input"])


async def test_exec_resume_finds_a_session_by_the_name_rename_gave_it(tmp_path, scripted):
    server = scripted([response(text_message("The password is swordfish."))])
    env = cli_env(tmp_path / "home", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "codex_actors", "run", "--color", "never",
                                           *provider_args(server.url, retries=0), "remember the password"],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=90, dimensions=(50, 160))
    child.logfile_read = open(tmp_path / "pty-rename.log", "a")
    child.expect("swordfish")
    child.expect(PROMPT)
    child.sendline("/rename secret-talk")
    child.expect("session named 'secret-talk'")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    [index_line] = (tmp_path / "home" / "session_index.jsonl").read_text().splitlines()
    thread_id = json.loads(index_line)["id"]
    assert json.loads(index_line)["thread_name"] == "secret-talk"

    async with serve_scripted_model([response(text_message("swordfish, still"))], websocket=False) as second:
        proc = await run_cli(["exec", "--json", "--skip-git-repo-check", *provider_args(second.url), "resume",
                              "secret-talk", "what was it?"], cwd=tmp_path, env=cli_env(tmp_path / "home"),
                             timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    assert jsonl(proc.stdout)[0] == {"type": "thread.started", "thread_id": thread_id}
    assert "swordfish" in json.dumps(second.requests[0].body["input"])
    missing = await run_cli(["exec", "--skip-git-repo-check", *provider_args(second.url), "resume", "no-such-name",
                             "hi"], cwd=tmp_path, env=cli_env(tmp_path / "home"), timeout=180)
    assert missing.returncode == 1
    assert "no saved session found with id or name no-such-name" in missing.stderr.decode()

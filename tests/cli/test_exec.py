"""`codex-actors exec` as a user runs it: the real CLI in a subprocess against the scripted model server."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import (
    custom_tool_call,
    error_response,
    function_call,
    reasoning,
    response,
    text_message,
    usage,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- helpers shared by the CLI tests ------------------------------------------------------------------------


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: its own CODEX_ACTORS_HOME, an empty Codex home (CODEX_HOME), a dummy API
    key, no inherited base URL."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_ACTORS_HOME", "CODEX_HOME")}
    codex_home = home.parent / f"{home.name}-codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    env.update({"CODEX_ACTORS_HOME": str(home), "CODEX_HOME": str(codex_home), "OPENAI_API_KEY": "test-key",
                "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def provider_args(url: str, *, retries: int = 1) -> list[str]:
    """`-c` overrides pointing the CLI at `url` through a provider `x` (HTTP SSE Responses wire)."""
    table = (f'{{name="x",base_url="{url}",env_key="OPENAI_API_KEY",wire_api="responses",'
             f'request_max_retries={retries},stream_max_retries={retries}}}')
    return ["-c", "model_provider=x", "-c", f"model_providers.x={table}"]


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "codex_actors", *args]


async def run_cli(args: list[str], *, cwd: Path, env: dict[str, str], stdin: bytes | None = b"",
                  timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the CLI to completion; `stdin=None` gives it /dev/null, bytes are piped."""
    with trio.fail_after(timeout):
        return await trio.run_process(cli_command(*args), cwd=cwd, env=env, stdin=stdin, capture_stdout=True,
                                      capture_stderr=True, check=False)


def jsonl(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.decode().splitlines()]


def rollouts(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("rollout-*.jsonl"))


def user_texts(request_body: dict[str, Any]) -> list[str]:
    """The text of every user message in a Responses request body's `input`."""
    out = []
    for item in request_body["input"]:
        if item.get("type") == "message" and item.get("role") == "user":
            out.append("".join(p.get("text", "") for p in item["content"] if p.get("type") == "input_text"))
    return out


def assistant_texts(request_body: dict[str, Any]) -> list[str]:
    out = []
    for item in request_body["input"]:
        if item.get("type") == "message" and item.get("role") == "assistant":
            out.append("".join(p.get("text", "") for p in item["content"]))
    return out


async def exec_json(tmp_path: Path, script: list[dict[str, Any]], *extra: str, stdin: bytes | None = b"",
                    retries: int = 1):
    """Run `exec --json --skip-git-repo-check` against a fresh scripted server; returns (process, server)."""
    home = tmp_path / "home"
    async with serve_scripted_model(script, websocket=False) as server:
        proc = await run_cli(["exec", "--json", "--skip-git-repo-check", *provider_args(server.url, retries=retries),
                              *extra], cwd=tmp_path, env=cli_env(home), stdin=stdin)
    return proc, server


def without_thread_id(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert lines[0]["type"] == "thread.started" and UUID.match(lines[0]["thread_id"]), lines[0]
    return lines[1:]


# -- JSONL ------------------------------------------------------------------------------------------------


async def test_plain_answer_prints_exactly_the_jsonl_events(tmp_path):
    script = [response(reasoning("**Reading the question**"), text_message("Four."), usage=usage(12, 5, cached=3,
                                                                                             reasoning=2))]
    proc, server = await exec_json(tmp_path, script, "what is 2+2?")
    assert proc.returncode == 0, proc.stderr.decode()
    assert without_thread_id(jsonl(proc.stdout)) == [
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "**Reading the question**"}},
        {"type": "item.completed", "item": {"id": "item_1", "type": "agent_message", "text": "Four."}},
        {"type": "turn.completed", "usage": {"input_tokens": 12, "cached_input_tokens": 3, "cache_write_input_tokens": 0,
                                             "output_tokens": 5,
                                             "reasoning_output_tokens": 2}},
    ]
    first_line = proc.stdout.decode().splitlines()[1]
    assert first_line == '{"type":"turn.started"}'
    assert user_texts(server.requests[0].body)[-1] == "what is 2+2?"


async def test_apply_patch_turn_reports_a_file_change_and_writes_the_file(tmp_path):
    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello from the model\n*** End Patch\n"
    script = [response(custom_tool_call("apply_patch", patch, "call_1"), usage=usage(20, 4)),
              response(text_message("Created hello.txt."), usage=usage(30, 3))]
    proc, server = await exec_json(tmp_path, script, "--full-auto", "create hello.txt")
    assert proc.returncode == 0, proc.stderr.decode()
    path = str(tmp_path / "hello.txt")
    assert without_thread_id(jsonl(proc.stdout)) == [
        {"type": "turn.started"},
        {"type": "item.started", "item": {"id": "item_0", "type": "file_change",
                                          "changes": [{"path": path, "kind": "add"}], "status": "in_progress"}},
        {"type": "item.completed", "item": {"id": "item_0", "type": "file_change",
                                            "changes": [{"path": path, "kind": "add"}], "status": "completed"}},
        {"type": "item.completed", "item": {"id": "item_1", "type": "agent_message", "text": "Created hello.txt."}},
        {"type": "turn.completed", "usage": {"input_tokens": 50, "cached_input_tokens": 0, "cache_write_input_tokens": 0,
                                             "output_tokens": 7,
                                             "reasoning_output_tokens": 0}},
    ]
    assert (tmp_path / "hello.txt").read_text() == "hello from the model\n"
    outputs = [i for i in server.requests[1].body["input"] if i.get("type") == "custom_tool_call_output"]
    assert outputs and outputs[0]["call_id"] == "call_1"


async def test_add_dir_makes_another_directory_writable_for_patches(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    patch = f"*** Begin Patch\n*** Add File: {extra / 'note.txt'}\n+outside the workdir\n*** End Patch\n"
    script = [response(custom_tool_call("apply_patch", patch, "p1")), response(text_message("ok"))]
    # /tmp (where tmp_path lives) is writable under workspace-write unless excluded: exclude it.
    no_tmp = ["-c", "sandbox_workspace_write.exclude_slash_tmp=true",
              "-c", "sandbox_workspace_write.exclude_tmpdir_env_var=true"]
    proc, _ = await exec_json(tmp_path, script, "--full-auto", *no_tmp, "-C", str(work), "--add-dir", str(extra),
                              "write")
    assert proc.returncode == 0, proc.stderr.decode()
    changes = [line["item"] for line in jsonl(proc.stdout) if line["type"] == "item.completed"
               and line["item"]["type"] == "file_change"]
    assert changes[0]["status"] == "completed"
    assert (extra / "note.txt").read_text() == "outside the workdir\n"


async def test_shell_command_and_patch_in_one_turn_report_both_items(tmp_path):
    patch = "*** Begin Patch\n*** Add File: out.txt\n+patched\n*** End Patch\n"
    script = [response(function_call("exec_command", {"cmd": "echo hello from shell"}, "call_sh")),
              response(custom_tool_call("apply_patch", patch, "call_p")),
              response(text_message("Ran it and patched."), usage=usage(9, 1))]
    proc, server = await exec_json(tmp_path, script, "--full-auto", "run and patch")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = without_thread_id(jsonl(proc.stdout))
    command = "/bin/bash -lc 'echo hello from shell'"
    started, completed = lines[1], lines[2]
    assert started == {"type": "item.started", "item": {"id": "item_0", "type": "command_execution",
                                                        "command": command, "aggregated_output": "",
                                                        "exit_code": None, "status": "in_progress"}}
    assert completed["type"] == "item.completed"
    item = completed["item"]
    assert list(item) == ["id", "type", "command", "aggregated_output", "exit_code", "status"]
    assert (item["id"], item["command"], item["exit_code"], item["status"]) == ("item_0", command, 0, "completed")
    assert item["aggregated_output"].endswith("hello from shell\n")
    path = str(tmp_path / "out.txt")
    assert lines[3:] == [
        {"type": "item.started", "item": {"id": "item_1", "type": "file_change",
                                          "changes": [{"path": path, "kind": "add"}], "status": "in_progress"}},
        {"type": "item.completed", "item": {"id": "item_1", "type": "file_change",
                                            "changes": [{"path": path, "kind": "add"}], "status": "completed"}},
        {"type": "item.completed", "item": {"id": "item_2", "type": "agent_message", "text": "Ran it and patched."}},
        {"type": "turn.completed", "usage": {"input_tokens": 9, "cached_input_tokens": 0, "cache_write_input_tokens": 0,
                                             "output_tokens": 1,
                                             "reasoning_output_tokens": 0}},
    ]
    outputs = [i for i in server.requests[1].body["input"] if i.get("type") == "function_call_output"]
    assert "hello from shell" in json.dumps(outputs)


async def test_code_mode_cell_runs_a_nested_command_yields_and_is_waited_on(tmp_path):
    source = ('text("before");\n'
              'await tools.exec_command({cmd: "echo from-the-cell"});\n'
              'yield_control();\n'
              'await new Promise((resolve) => setTimeout(resolve, 200));\n'
              'text("after");\n')
    script = [response(custom_tool_call("exec", source, "cell_call")),
              response(function_call("wait", {"cell_id": "1", "yield_time_ms": 5000}, "wait_call")),
              response(text_message("The cell finished."))]
    proc, server = await exec_json(tmp_path, script, "--full-auto", "use code mode")
    offered = [tool.get("name") for tool in server.requests[0].body.get("tools", [])]
    assert {"exec", "wait"} <= set(offered), f"code mode is on by default; tools offered: {offered}"
    assert proc.returncode == 0, proc.stderr.decode()
    lines = without_thread_id(jsonl(proc.stdout))
    commands = [line["item"] for line in lines if line["type"] == "item.completed"
                and line["item"]["type"] == "command_execution"]
    assert len(commands) == 1 and commands[0]["command"].endswith("'echo from-the-cell'")
    assert commands[0]["aggregated_output"].endswith("from-the-cell\n") and commands[0]["status"] == "completed"
    assert lines[-2:] == [
        {"type": "item.completed", "item": {"id": "item_1", "type": "agent_message", "text": "The cell finished."}},
        {"type": "turn.completed", "usage": {"input_tokens": 0, "cached_input_tokens": 0, "cache_write_input_tokens": 0,
                                             "output_tokens": 0,
                                             "reasoning_output_tokens": 0}},
    ]
    exec_output = json.dumps([i for i in server.requests[1].body["input"] if i.get("call_id") == "cell_call"
                              and i.get("type", "").endswith("_output")])
    assert "before" in exec_output
    wait_output = json.dumps([i for i in server.requests[2].body["input"] if i.get("call_id") == "wait_call"
                              and i.get("type", "").endswith("_output")])
    assert "after" in wait_output


async def test_server_errors_until_retries_run_out_fail_the_turn_with_exit_code_1(tmp_path):
    script = [error_response(500, message="upstream exploded")] * 2
    proc, server = await exec_json(tmp_path, script, "hi", retries=1)
    assert proc.returncode == 1
    failure = "exceeded retry limit (1 retries), last error: Server error (HTTP 500): upstream exploded"
    assert without_thread_id(jsonl(proc.stdout)) == [
        {"type": "turn.started"},
        {"type": "error", "message": failure},
        {"type": "turn.failed", "error": {"message": failure}},
    ]
    # One retry budget per request: request_max_retries + 1 attempts, not started over by the stream layer.
    assert len(server.requests) == 2
    stderr = proc.stderr.decode().strip().splitlines()
    assert stderr[-1] == f"ERROR: {failure}"
    assert "Traceback" not in proc.stderr.decode()


async def test_ctrl_c_interrupts_a_long_command_and_exits_1_leaving_no_process(tmp_path):
    marker = f"sleep 31.{os.getpid()}"  # unique argv to look for afterwards
    script = [response(function_call("exec_command", {"cmd": marker, "yield_time_ms": 30000}, "c1"))]
    async with serve_scripted_model(script, websocket=False) as server:
        argv = cli_command("exec", "--json", "--skip-git-repo-check", *provider_args(server.url), "wait")
        proc = await trio.lowlevel.open_process(argv, cwd=tmp_path, env=cli_env(tmp_path / "home"),
                                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE)
        try:
            lines: list[dict] = []
            buffer = b""
            with trio.fail_after(30):
                while not any(line.get("type") == "item.started" for line in lines):
                    chunk = await proc.stdout.receive_some()
                    assert chunk, "exec ended before the command started"
                    buffer += chunk
                    *complete, buffer = buffer.split(b"\n")
                    lines += [json.loads(line) for line in complete]
                proc.send_signal(signal.SIGINT)
                rest = b""
                async for chunk in proc.stdout:
                    rest += chunk
                err = b""
                async for chunk in proc.stderr:
                    err += chunk
                code = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
    assert code == 1, err.decode()
    tail = [json.loads(line) for line in (buffer + rest).decode().splitlines()]
    assert not any(line["type"] in ("turn.completed", "turn.failed") for line in tail)  # interrupted: neither
    assert err.decode().strip().splitlines()[-1] == "ERROR: turn interrupted"
    assert "Traceback" not in err.decode()
    leftovers = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert leftovers == []
    assert len(server.requests) == 1


# -- prompt, output files, schema, rollouts ---------------------------------------------------------------


async def test_prompt_is_read_from_stdin_when_no_argument_is_given_and_images_are_attached(tmp_path):
    png = base64.b64decode(  # a real 1x1 PNG: images are decoded before they are sent
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
    (tmp_path / "shot.png").write_bytes(png)
    proc, server = await exec_json(tmp_path, [response(text_message("ok"))], "-i", "shot.png",
                                   stdin="from the pipe\n".encode())
    assert proc.returncode == 0, proc.stderr.decode()
    user = [i for i in server.requests[0].body["input"] if i.get("role") == "user"][-1]["content"]
    assert [p["type"] for p in user] == ["input_text", "input_text", "input_image", "input_text"]
    assert user[0]["text"] == "from the pipe\n"
    assert user[1]["text"] == "<image name=[Image #1]>"
    assert user[2]["image_url"] == "data:image/png;base64," + base64.b64encode(png).decode()


async def test_piped_stdin_is_appended_to_the_prompt_as_a_stdin_block(tmp_path):
    proc, server = await exec_json(tmp_path, [response(text_message("ok"))], "summarise this",
                                   stdin=b"\xef\xbb\xbfline one\nline two\n")
    assert proc.returncode == 0, proc.stderr.decode()
    assert user_texts(server.requests[0].body)[-1] == "summarise this\n\n<stdin>\nline one\nline two\n\n</stdin>"
    assert "Reading additional input from stdin..." in proc.stderr.decode()


async def test_output_last_message_file_holds_the_final_answer(tmp_path):
    out = tmp_path / "answer.txt"
    script = [response(text_message("first thought"), text_message("The final answer."))]
    proc, _ = await exec_json(tmp_path, script, "-o", str(out), "answer")
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.read_text() == "The final answer."


async def test_the_console_script_ends_exec_without_interpreter_teardown_and_loses_nothing(tmp_path):
    """`exec` leaves through `os._exit` once everything is stopped (cli.main `exit_fast`): an atexit hook never
    runs, yet the answer, the `-o` file and the rollout are complete and the exit code is the turn's."""
    out = tmp_path / "answer.txt"
    home = tmp_path / "home"
    hook = ("import atexit, sys; atexit.register(lambda: print('TEARDOWN', file=sys.stderr)); "
            "from codex_actors.cli.main import console; sys.argv[0] = 'codex-actors'; console()")
    async with serve_scripted_model([response(text_message("All done."))], websocket=False) as server:
        with trio.fail_after(60):
            proc = await trio.run_process(
                [sys.executable, "-c", hook, "exec", "--skip-git-repo-check", *provider_args(server.url), "-o",
                 str(out), "finish"], cwd=tmp_path, env=cli_env(home), stdin=b"", capture_stdout=True,
                capture_stderr=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"TEARDOWN" not in proc.stderr
    assert proc.stdout.decode() == "All done.\n"
    assert out.read_text() == "All done."
    [rollout] = rollouts(home)
    assert json.loads(rollout.read_text().splitlines()[-1])  # the last line was written whole
    assert "All done." in rollout.read_text()
    # Other subcommands keep the normal exit (the hook runs).
    sessions = subprocess.run([sys.executable, "-c", hook, "sessions"], cwd=tmp_path, env=cli_env(home),
                              capture_output=True, timeout=60)
    assert sessions.returncode == 0 and b"TEARDOWN" in sessions.stderr, sessions.stderr.decode()


async def test_output_schema_is_sent_as_strict_json_schema_text_format(tmp_path):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    proc, server = await exec_json(tmp_path, [response(text_message('{"answer":"4"}'))],
                                   "--output-schema", "schema.json", "2+2")
    assert proc.returncode == 0, proc.stderr.decode()
    fmt = server.requests[0].body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["strict"] is True and fmt["schema"] == schema
    assert jsonl(proc.stdout)[-2]["item"]["text"] == '{"answer":"4"}'


async def test_ephemeral_run_writes_no_rollout(tmp_path):
    proc, _ = await exec_json(tmp_path, [response(text_message("ok"))], "--ephemeral", "hi")
    assert proc.returncode == 0, proc.stderr.decode()
    assert rollouts(tmp_path / "home") == []


async def test_exec_resume_sends_the_earlier_history_and_keeps_the_thread_id(tmp_path):
    first, _ = await exec_json(tmp_path, [response(text_message("The secret is 42."))], "--thread-source", "user",
                               "remember the secret")
    assert first.returncode == 0, first.stderr.decode()
    assert len(rollouts(tmp_path / "home")) == 1
    meta = json.loads(rollouts(tmp_path / "home")[0].read_text().splitlines()[0])
    assert meta["type"] == "session_meta" and meta["payload"]["thread_source"] == "user"
    thread_id = jsonl(first.stdout)[0]["thread_id"]

    second, server = await exec_json(tmp_path, [response(text_message("It was 42."))], "resume", "--last",
                                     "what was the secret?")
    assert second.returncode == 0, second.stderr.decode()
    assert jsonl(second.stdout)[0] == {"type": "thread.started", "thread_id": thread_id}
    body = server.requests[0].body
    assert user_texts(body)[-2:] == ["remember the secret", "what was the secret?"]
    assert "The secret is 42." in assistant_texts(body)
    assert len(rollouts(tmp_path / "home")) == 1  # appended to the same rollout

    # By id, flags after `resume` (as the SDK passes them), the prompt from stdin.
    third, server = await exec_json(tmp_path, [response(text_message("done"))], "resume", thread_id, "--ephemeral",
                                    stdin=b"and now B")
    assert third.returncode == 0, third.stderr.decode()
    assert user_texts(server.requests[0].body)[-3:] == ["remember the secret", "what was the secret?", "and now B"]


async def test_oss_uses_the_local_chat_wire_provider_with_the_default_oss_model(tmp_path):
    async with serve_scripted_model([response(text_message("local hello"))], websocket=False) as server:
        env = cli_env(tmp_path / "home", CODEX_ACTORS_OSS_BASE_URL=server.url)
        del env["OPENAI_API_KEY"]  # a local provider needs no key
        proc = await run_cli(["exec", "--json", "--skip-git-repo-check", "--oss", "hi"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert jsonl(proc.stdout)[-2]["item"]["text"] == "local hello"
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "gpt-oss:20b"


# -- human output -----------------------------------------------------------------------------------------


async def test_human_mode_prints_the_run_on_stderr_and_only_the_answer_on_stdout(tmp_path):
    patch = "*** Begin Patch\n*** Add File: notes.md\n+# Notes\n*** End Patch\n"
    script = [response(custom_tool_call("apply_patch", patch, "c1")),
              response(text_message("Wrote notes.md."), usage=usage(40, 2))]
    home = tmp_path / "home"
    async with serve_scripted_model(script, websocket=False) as server:
        proc = await run_cli(["exec", "--skip-git-repo-check", "--full-auto", "--color", "never",
                              *provider_args(server.url), "write notes"], cwd=tmp_path, env=cli_env(home))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode() == "Wrote notes.md.\n"
    err = proc.stderr.decode()
    assert "\x1b[" not in err
    for expected in ("codex-actors v", "workdir: " + str(tmp_path), "approval: never",
                     "sandbox: workspace-write", "write notes", "apply patch", "patch: completed",
                     "A " + str(tmp_path / "notes.md"), "+# Notes", "codex\nWrote notes.md.", "tokens used\n42"):
        assert expected in err, (expected, err)


# -- bad input --------------------------------------------------------------------------------------------


def _one_line(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip() and "Reading additional input" not in line]
    assert len(lines) == 1, err
    return lines[0]


async def test_unknown_flag_is_a_one_line_usage_error(tmp_path):
    proc = await run_cli(["exec", "--frobnicate", "hi"], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 2
    assert _one_line(proc) == "codex-actors exec: unrecognized arguments: --frobnicate"


async def test_unreadable_or_invalid_schema_file_is_a_one_line_error(tmp_path):
    env = cli_env(tmp_path / "home")
    proc = await run_cli(["exec", "--skip-git-repo-check", "--output-schema", "missing.json", "hi"], cwd=tmp_path,
                         env=env)
    assert proc.returncode == 1
    assert _one_line(proc) == ("codex-actors exec: --output-schema missing.json: cannot read: "
                               "No such file or directory")
    (tmp_path / "bad.json").write_text("{not json")
    proc = await run_cli(["exec", "--skip-git-repo-check", "--output-schema", "bad.json", "hi"], cwd=tmp_path,
                         env=env)
    assert proc.returncode == 1
    assert _one_line(proc).startswith("codex-actors exec: --output-schema bad.json: invalid JSON")


async def test_missing_api_key_names_the_variable(tmp_path):
    env = cli_env(tmp_path / "home")
    del env["OPENAI_API_KEY"]
    proc = await run_cli(["exec", "--skip-git-repo-check", "hi"], cwd=tmp_path, env=env)
    assert proc.returncode == 1
    line = _one_line(proc)
    assert line.startswith("codex-actors exec: Missing environment variable: `OPENAI_API_KEY`."), line


async def test_codex_api_key_is_accepted_instead_of_openai_api_key(tmp_path):
    async with serve_scripted_model([response(text_message("ok"))], websocket=False) as server:
        env = cli_env(tmp_path / "home", OPENAI_BASE_URL=server.url, CODEX_API_KEY="sk-codex")
        del env["OPENAI_API_KEY"]
        proc = await run_cli(["exec", "--json", "--skip-git-repo-check", "-c",
                              "model_providers.openai.supports_websockets=false", "hi"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert server.requests[0].headers["authorization"] == "Bearer sk-codex"


async def test_unreachable_base_url_fails_the_turn_with_one_line(tmp_path):
    with trio.socket.socket() as sock:  # a port nobody listens on
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await run_cli(["exec", "--skip-git-repo-check", *provider_args(f"http://127.0.0.1:{port}/v1", retries=0),
                          "hi"], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], err


async def test_outside_a_git_repository_exec_refuses_without_skip_flag(tmp_path):
    # Git's own ceiling keeps a stray .git above the temp folder (a shared machine's /tmp) out of the search.
    env = cli_env(tmp_path / "home", GIT_CEILING_DIRECTORIES=str(tmp_path.parent))
    proc = await run_cli(["exec", "hi"], cwd=tmp_path, env=env)
    assert proc.returncode == 1
    assert _one_line(proc) == "Not inside a trusted directory and --skip-git-repo-check was not specified."


async def test_whitespace_only_stdin_is_no_prompt(tmp_path):
    proc = await run_cli(["exec", "--skip-git-repo-check"], cwd=tmp_path, env=cli_env(tmp_path / "home"),
                         stdin=b"  \n")
    assert proc.returncode == 1
    assert _one_line(proc) == "codex-actors exec: No prompt provided via stdin."


async def test_full_auto_and_yolo_conflict(tmp_path):
    proc = await run_cli(["exec", "--full-auto", "--yolo", "hi"], cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert proc.returncode == 2
    assert "conflicts" in _one_line(proc)


async def test_missing_image_file_is_a_one_line_error(tmp_path):
    proc = await run_cli(["exec", "--skip-git-repo-check", "-i", "nope.png", "look"], cwd=tmp_path,
                         env=cli_env(tmp_path / "home"))
    assert proc.returncode == 1
    assert _one_line(proc) == "codex-actors exec: --image nope.png: no such file"


# -- stdin decoding (spec 6.2), in-process ----------------------------------------------------------------


class _Pipe(io.BytesIO):
    def isatty(self) -> bool:
        return False


def test_stdin_decoding_follows_the_byte_order_mark():
    from codex_actors.cli.exec_cmd import read_prompt

    assert read_prompt(None, _Pipe("héllo".encode("utf-8"))) == "héllo"
    assert read_prompt(None, _Pipe(b"\xef\xbb\xbfbom")) == "bom"
    assert read_prompt(None, _Pipe("utf16".encode("utf-16"))) == "utf16"
    assert read_prompt("task", _Pipe(b"")) == "task"  # empty stdin adds nothing


def test_undecodable_stdin_is_a_usage_error_naming_the_problem():
    from codex_actors.cli.errors import UsageError
    from codex_actors.cli.exec_cmd import read_prompt

    with pytest.raises(UsageError, match="UTF-32"):
        read_prompt(None, _Pipe(b"\xff\xfe\x00\x00a\x00\x00\x00"))
    with pytest.raises(UsageError, match=r"not valid UTF-8 \(invalid continuation byte at byte 0\)"):
        read_prompt("-", _Pipe(b"\xc3\x28"))


async def test_exec_applies_execpolicy_rules_unless_ignore_rules_is_given(tmp_path):
    rules = tmp_path / "home" / "rules"
    rules.mkdir(parents=True)
    (rules / "default.rules").write_text('prefix_rule(pattern=["touch"], decision="forbidden")\n')

    def script():
        return [response(function_call("exec_command", {"cmd": "touch made.txt", "login": False}, "c1")),
                response(text_message("ok"))]

    proc, server = await exec_json(tmp_path, script(), "--full-auto", "touch it")
    assert proc.returncode == 0, proc.stderr.decode()
    [output] = [i["output"] for i in server.requests[1].body["input"] if i.get("type") == "function_call_output"]
    assert output == "`touch made.txt` rejected: blocked by policy"
    assert not (tmp_path / "made.txt").exists()
    proc, _ = await exec_json(tmp_path, script(), "--full-auto", "--ignore-rules", "touch it")
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "made.txt").exists()


async def test_a_codex_users_persisted_rules_apply_too(tmp_path):
    rules = tmp_path / "home-codex" / "rules"  # the Codex home cli_env gives the run
    rules.mkdir(parents=True)
    (rules / "default.rules").write_text('prefix_rule(pattern=["touch"], decision="forbidden")\n')
    script = [response(function_call("exec_command", {"cmd": "touch made.txt", "login": False}, "c1")),
              response(text_message("ok"))]
    proc, server = await exec_json(tmp_path, script, "--full-auto", "touch it")
    assert proc.returncode == 0, proc.stderr.decode()
    [output] = [i["output"] for i in server.requests[1].body["input"] if i.get("type") == "function_call_output"]
    assert output == "`touch made.txt` rejected: blocked by policy"
    assert not (tmp_path / "made.txt").exists()


async def test_a_10_mb_prompt_on_stdin_is_refused_with_one_error_line_and_nothing_recorded(tmp_path):
    prompt = ("0123456789abcdef" * 65_536 * 10).encode()  # 10 MiB
    home = tmp_path / "home"
    async with serve_scripted_model([], websocket=False) as server:
        proc = await run_cli(["exec", "--skip-git-repo-check", *provider_args(server.url)], cwd=tmp_path,
                             env=cli_env(home), stdin=prompt)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.decode().splitlines() if line.startswith("ERROR:")]
    assert errors == ["ERROR: the input is too long for the model: about 2,621,440 tokens (10,485,760 bytes), and "
                      "at most 244,800 fit (model_auto_compact_token_limit, or 90% of the 272,000-token context "
                      "window); nothing was sent"]
    assert proc.stdout == b""
    assert server.requests == []
    recorded = [path for path in home.rglob("*") if path.is_file()]
    assert rollouts(home), "the session file is still written (with its metadata)"
    assert [path for path in recorded if b"0123456789abcdef" in path.read_bytes()] == []


def test_the_git_search_stops_below_a_ceiling_directory(tmp_path):
    from codex_actors.cli.exec_cmd import git_search_path

    deep = tmp_path / "a" / "b"
    assert git_search_path(deep, {"GIT_CEILING_DIRECTORIES": f"relative:{tmp_path / 'a'}"}) == [deep]
    assert git_search_path(deep, {})[:3] == [deep, tmp_path / "a", tmp_path]

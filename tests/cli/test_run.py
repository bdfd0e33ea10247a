"""`codex-actors run` driven through a pseudo-terminal (pexpect), against the scripted model server."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pexpect
import pytest

from codex_actors.testing.script import custom_tool_call, function_call, response, text_message
from tests.cli.test_exec import cli_env, provider_args

PROMPT = "›"


class ScriptedServerProcess:
    """The scripted model server as a subprocess (the pty test itself is synchronous)."""

    def __init__(self, tmp_path: Path, script: list, models: list[str] | None = None) -> None:
        import subprocess

        script_file = tmp_path / "script.json"
        script_file.write_text(json.dumps(script))
        self.log = tmp_path / "requests.jsonl"
        self.status = tmp_path / "server-status.json"
        listing = ["--models", ",".join(models)] if models is not None else []
        self.proc = subprocess.Popen([sys.executable, "-m", "codex_actors.testing.server", "--no-websocket",
                                      "--script", str(script_file), "--log", str(self.log),
                                      "--status", str(self.status), *listing],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def close(self) -> dict:
        """Stop the server; returns its status: `{"errors": [...], "remaining": N}`."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        return json.loads(self.status.read_text())


@pytest.fixture
def scripted(tmp_path):
    servers = []

    def start(script, models=None):
        server = ScriptedServerProcess(tmp_path, script, models)
        servers.append(server)
        return server

    yield start
    statuses = [server.close() for server in servers]
    for status in statuses:  # as `scripted_servers_end_clean` checks the in-process servers
        assert status["errors"] == [], f"the scripted model server failed: {status['errors']}"
        assert status["remaining"] == 0, f"{status['remaining']} scripted response(s) were never requested"


def spawn_run(tmp_path: Path, url: str, *args: str, command: str = "run") -> pexpect.spawn:
    """`codex-actors run` (or `resume`) in a pty in `tmp_path/work`, pointed at `url`; returns once it prompts."""
    env = cli_env(tmp_path / "home", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    argv = ["-m", "codex_actors", command, "--color", "never", *provider_args(url, retries=0), *args]
    child = pexpect.spawn(sys.executable, argv, env=env, cwd=str(work), encoding="utf-8", timeout=20,
                          dimensions=(50, 160))
    child.logfile_read = open(tmp_path / f"pty-{command}.log", "a")  # what the terminal showed, for failures
    child.expect(PROMPT)
    return child


def finish(child: pexpect.spawn) -> int:
    """Wait for the CLI to exit; returns its exit status."""
    child.expect(pexpect.EOF)
    child.close()
    child.logfile_read.close()
    return child.exitstatus


def test_prompt_streams_the_answer_approves_a_patch_interrupts_a_command_and_quits(tmp_path, scripted):
    patch = "*** Begin Patch\n*** Add File: greeting.txt\n+hi there\n*** End Patch\n"
    server = scripted([
        response(text_message("Hello from the model.")),
        response(custom_tool_call("apply_patch", patch, "p1")),
        response(text_message("Patched greeting.txt.")),
        response(function_call("exec_command", {"cmd": "sleep 30", "yield_time_ms": 30000}, "c1")),
    ])
    child = spawn_run(tmp_path, server.url, "-a", "untrusted", "-s", "workspace-write")
    child.sendline("hello there")
    child.expect("Hello from the model.")
    child.expect(PROMPT)

    child.sendline("write a greeting")
    child.expect("approval needed: apply this patch")
    child.expect(r"\+hi there")
    child.expect(r"\[y\]es")
    child.sendline("y")
    child.expect("patch: completed")
    child.expect("Patched greeting.txt.")
    assert (tmp_path / "work" / "greeting.txt").read_text() == "hi there\n"
    child.expect(PROMPT)

    child.sendline("wait a while")
    child.expect("approval needed:")
    child.expect("sleep 30")
    child.expect(r"\[y\]es")
    child.sendline("y")
    child.expect("exec")  # the exec line of the running command
    child.expect("sleep 30")
    started = time.monotonic()
    child.sendcontrol("c")
    child.expect("turn interrupted")
    assert time.monotonic() - started < 15
    child.expect(PROMPT)

    child.sendline("/quit")
    assert finish(child) == 0
    bodies = [r["body"] for r in server.requests()]
    assert len(bodies) == 4
    history = (tmp_path / "home" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in history] == ["hello there", "write a greeting", "wait a while"]


def test_status_and_unknown_slash_commands_and_ctrl_d(tmp_path, scripted):
    server = scripted([])
    child = spawn_run(tmp_path, server.url, "-m", "my-model")
    # The prompt is redrawn below each printed block, sometimes before the block's last line reaches the pty, so
    # the next command is typed without waiting for a fresh prompt character (the terminal buffers it).
    child.sendline("/status")
    child.expect("model: my-model")
    child.expect("approvals: on-request")
    child.sendline("/nope")
    child.expect("unknown command /nope")
    child.sendline("/approvals sometimes")
    child.expect("expected one of untrusted, on-failure, on-request, never, or granular")
    # Ctrl-D must reach an active prompt (typed ahead, the terminal's line discipline would swallow it): wait for
    # a redraw, or give the prompt a moment when its redraw already went by before the message above.
    child.expect([PROMPT, pexpect.TIMEOUT], timeout=2)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert not server.log.exists() or server.requests() == []


def test_model_switch_keeps_the_conversation(tmp_path, scripted):
    server = scripted([response(text_message("first answer")), response(text_message("second answer"))])
    child = spawn_run(tmp_path, server.url)
    child.sendline("first question")
    child.expect("first answer")
    child.expect(PROMPT)
    child.sendline("/model other-model")
    child.expect("other-model")
    child.expect(PROMPT)
    child.sendline("second question")
    child.expect("second answer")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    second = server.requests()[1]["body"]
    assert second["model"] == "other-model"
    texts = json.dumps(second["input"])
    assert "first question" in texts and "first answer" in texts and "second question" in texts


def test_run_refuses_piped_stdin_with_one_line(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "codex_actors", "run"], input=b"hi", capture_output=True,
                          env=cli_env(tmp_path / "home"), cwd=tmp_path, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == ("codex-actors run: run needs a terminal on stdin; use `codex-actors exec` "
                                            "for piped input")


def test_a_line_typed_while_the_turn_runs_steers_it(tmp_path, scripted):
    server = scripted([response(text_message("working on it"), delay=2.0),
                       response(text_message("did the extra thing too"))])
    child = spawn_run(tmp_path, server.url)
    child.sendline("do the main thing")
    child.expect(PROMPT)
    child.sendline("also do the extra thing")
    child.expect(r"\(steering the running turn\)")
    child.expect("did the extra thing too")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    requests = server.requests()
    assert len(requests) == 2
    texts = json.dumps(requests[1]["body"]["input"])
    assert texts.index("do the main thing") < texts.index("working on it") < texts.index("also do the extra thing")


def test_missing_api_key_ends_run_with_one_line_and_exit_code_1(tmp_path, scripted):
    server = scripted([])
    env = cli_env(tmp_path / "home", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    del env["OPENAI_API_KEY"]
    child = pexpect.spawn(sys.executable, ["-m", "codex_actors", "run", *provider_args(server.url)], env=env,
                          cwd=str(tmp_path), encoding="utf-8", timeout=20)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "codex-actors run: Missing environment variable: `OPENAI_API_KEY`." in child.before
    assert "Traceback" not in child.before


def test_ctrl_c_at_an_approval_aborts_the_turn_and_its_other_requests_are_not_asked(tmp_path, scripted):
    server = scripted([
        response(function_call("exec_command", {"cmd": "touch first"}, "c1"),
                 function_call("exec_command", {"cmd": "touch second"}, "c2")),
        response(text_message("fresh turn")),
    ])
    child = spawn_run(tmp_path, server.url, "-a", "untrusted", "-s", "workspace-write")
    child.sendline("make two files")
    child.expect("approval needed:")
    child.expect(r"\[y\]es")
    child.sendcontrol("c")
    child.expect("turn interrupted")
    child.expect(PROMPT)
    child.sendline("something else")
    index = child.expect(["fresh turn", "approval needed"])
    assert index == 0, "a request of the aborted turn was asked after the abort"
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    assert not (tmp_path / "work" / "first").exists() and not (tmp_path / "work" / "second").exists()
    # The aborted turn's calls reached the model as aborted, and no request was left unanswered in between.
    bodies = [r["body"] for r in server.requests()]
    assert len(bodies) == 2


def test_p_at_an_approval_persists_an_allow_rule_and_runs_the_command(tmp_path, scripted):
    server = scripted([
        response(function_call("exec_command", {"cmd": "touch kept.txt", "login": False}, "c1")),
        response(text_message("the file is there")),
    ])
    child = spawn_run(tmp_path, server.url, "-a", "untrusted", "-s", "workspace-write")
    child.sendline("make a file")
    child.expect("approval needed:")
    child.expect(r"\[p\]ersist a rule allowing `touch kept.txt`")
    child.sendline("p")
    child.expect("the file is there")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    assert (tmp_path / "work" / "kept.txt").exists()
    assert (tmp_path / "home" / "rules" / "default.rules").read_text() == \
        'prefix_rule(pattern=["touch", "kept.txt"], decision="allow")\n'


def test_approvals_sets_a_granular_policy_that_takes_effect(tmp_path, scripted):
    escalate = {"cmd": "touch escalated.txt", "sandbox_permissions": "require_escalated", "justification": "test"}
    server = scripted([response(function_call("exec_command", escalate, "c1")), response(text_message("Refused."))])
    child = spawn_run(tmp_path, server.url, "-a", "never", "-s", "read-only")
    child.sendline("/approvals granular sandbox_approval=maybe rules=true mcp_elicitations=true")
    child.expect("sandbox_approval: expected true or false, got 'maybe'")
    child.sendline("/approvals granular sandbox_approval=true rules=false mcp_elicitations=true")
    # the restarted session's header (Codex reads absent optional flags as false), then its footer
    child.expect(r"approvals: granular \(asks: sandbox_approval, mcp_elicitations; rejects: rules, skill_approval, "
                 r"request_permissions\) · sandbox: read-only")
    child.expect(r"approvals: granular \(asks: sandbox_approval, mcp_elicitations; rejects: rules\) · sandbox")
    child.sendline("/status")
    child.expect(r"approvals: granular \(asks: sandbox_approval, mcp_elicitations; rejects: rules\)")
    child.sendline("make a file outside the sandbox")
    child.expect("approval needed:")  # under `never`, the session it replaced, nobody was asked
    child.expect("touch escalated.txt")
    child.expect(r"\[y\]es")
    child.sendline("n")
    child.expect("Refused.")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    assert not (tmp_path / "work" / "escalated.txt").exists()


def test_up_arrow_recalls_codex_prompts_too_and_writes_only_our_history(tmp_path, scripted):
    server = scripted([response(text_message("Recalled it."))])
    codex_history = tmp_path / "home-codex" / "history.jsonl"  # the Codex home cli_env gives the run
    codex_history.parent.mkdir(parents=True)
    codex_history.write_text('{"session_id":"c-1","ts":100,"text":"XYZ-CODEX-PROMPT"}\n')
    ours = tmp_path / "home" / "history.jsonl"
    ours.parent.mkdir(parents=True)
    ours.write_text('{"session_id":"a-1","ts":200,"text":"alpha one"}\n')
    child = spawn_run(tmp_path, server.url)
    # The two texts differ at every position: the terminal's diff rendering redraws the whole second one.
    child.send("\x1b[A")
    child.expect("alpha one")
    child.send("\x1b[A")
    child.expect("XYZ-CODEX-PROMPT")
    child.send("\r")
    child.expect("Recalled it.")
    child.expect(PROMPT)
    child.sendline("/quit")
    assert finish(child) == 0
    assert "XYZ-CODEX-PROMPT" in json.dumps(server.requests()[0]["body"]["input"])
    assert "alpha one" not in json.dumps(server.requests()[0]["body"]["input"])
    assert codex_history.read_text() == '{"session_id":"c-1","ts":100,"text":"XYZ-CODEX-PROMPT"}\n'
    assert [json.loads(line)["text"] for line in ours.read_text().splitlines()] == [
        "alpha one", "XYZ-CODEX-PROMPT"]

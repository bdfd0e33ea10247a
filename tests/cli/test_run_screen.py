"""`codex-actors run` as a user sees it: a real pseudo-terminal, the screen modelled by pyte, the scripted model.

The snapshots under `golden/` are reviewed like code: a change to the layout shows up as a diff of them. They
hold the transcript part of the screen with run-specific strings (temp paths, session ids, durations) replaced.
Set `UPDATE_GOLDEN=1` to rewrite them after a deliberate change.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from codex_actors.testing.script import custom_tool_call, function_call, response, text_message, usage
from tests.cli.terminal import TerminalScreen
from tests.cli.test_exec import cli_env, provider_args
from tests.cli.test_run import scripted  # noqa: F401 - a fixture

ROWS, COLUMNS = 40, 100
GOLDEN = Path(__file__).parent / "golden"
FOOTER = re.compile(r"^ \S+ · approvals: \S+ · sandbox: \S+ · \d+% context left · [\d,]+ tokens")

MARKDOWN_ANSWER = """# Done

**Fixed** the `add` bug in *calc.py*:

- it subtracted
- now it adds

```python
def add(a, b):
    return a + b
```"""


def spawn_screen(tmp_path: Path, url: str, *args: str, command: str = "run", color: bool = True) -> TerminalScreen:
    """`codex-actors run` (or `resume`) in a ROWS x COLUMNS pty in `tmp_path/work`; returns once it prompts."""
    env = cli_env(tmp_path / "home", TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    if color:
        del env["NO_COLOR"]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    argv = ["-m", "codex_actors", command, *provider_args(url, retries=0), *args]
    child = pexpect.spawn(sys.executable, argv, env=env, cwd=str(work), timeout=20, dimensions=(ROWS, COLUMNS))
    screen = TerminalScreen(child, rows=ROWS, columns=COLUMNS)
    screen.wait_for(r"/help for commands$")  # the session's header: the session is configured
    screen.wait_for(r"^›")
    return screen


def quit_screen(screen: TerminalScreen) -> int:
    screen.child.send("/quit\r")
    screen.child.expect(pexpect.EOF)
    screen.child.close()
    return screen.child.exitstatus


def transcript(screen: TerminalScreen, tmp_path: Path) -> str:
    """The screen without the header (version, model, session id, workdir: checked elsewhere) and without the
    application's bottom lines (the `›` line, the footer), run-specific strings replaced."""
    lines = screen.lines()
    while lines and (lines[-1] == "›" or FOOTER.match(lines[-1]) or not lines[-1].strip()):
        lines.pop()
    if lines and lines[0].startswith("codex-actors v"):
        end = next(i for i, line in enumerate(lines) if line.endswith("/help for commands"))
        lines = lines[end + 1:]
    text = "\n".join(lines).replace(str(tmp_path), "<tmp>")
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<session>", text)
    text = re.sub(r" in \d+(\.\d+)?m?s:", " in <time>:", text)
    return "\n".join(line for line in text.splitlines() if not _environment_noise(line)) + "\n"


def _environment_noise(line: str) -> bool:
    # What this machine's login shell prints on stderr of every `bash -lc` (pyenv's rehash), not codex-actors.
    return line.startswith(("mktemp: failed to create file", "pyenv: cannot rehash"))


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"screen differs from {path}:\n{text}"


def test_the_answer_is_rendered_markdown_printed_once_and_the_footer_shows_context_left(tmp_path, scripted):
    server = scripted([response(text_message(MARKDOWN_ANSWER), usage=usage(30_000, 200))])
    screen = spawn_screen(tmp_path, server.url, "-c", "model_context_window=100000", "-m", "m1")
    screen.child.send("fix the bug\r")
    text = screen.wait_for("return a \\+ b")
    screen.wait_for("30,200 tokens")
    screen.settle()
    text = screen.text()
    assert "**" not in text and "```" not in text and "# Done" not in text
    lines = screen.lines()
    for expected in ("Done", "Fixed the add bug in calc.py:", " • it subtracted", "def add(a, b):"):
        assert lines.count(expected) == 1, (expected, text)
    # (100000 - 12000 - 30200) / (100000 - 12000) = 65.7% of the window left, the session used 30,200 tokens.
    assert lines[-1] == " m1 · approvals: on-request · sandbox: read-only · 66% context left · 30,200 tokens"
    assert lines[-2] == "›"
    assert_golden("run_markdown.txt", transcript(screen, tmp_path))
    assert quit_screen(screen) == 0


def test_plain_text_with_color_never(tmp_path, scripted):
    server = scripted([response(text_message("**Done**"))])
    screen = spawn_screen(tmp_path, server.url, "--color", "never")
    screen.child.send("go\r")
    screen.wait_for(r"^\*\*Done\*\*$")
    assert quit_screen(screen) == 0


def test_approvals_take_one_key_and_no_prompt_line_lands_inside_the_output(tmp_path, scripted):
    server = scripted([
        response(function_call("exec_command", {"cmd": "touch yes.txt", "login": False}, "c1")),
        response(function_call("exec_command", {"cmd": "touch no.txt", "login": False}, "c2")),
        response(text_message("one made, one refused")),
        response(function_call("exec_command", {"cmd": "touch never.txt", "login": False}, "c3")),
    ])
    screen = spawn_screen(tmp_path, server.url, "-a", "untrusted", "-s", "workspace-write", color=False)
    screen.child.send("make files\r")
    screen.wait_for(r"^Allow\? \[y\]es · \[n\]o · \[a\]lways for this session · \[p\]ersist a rule allowing "
                    r"`touch yes.txt` · \[esc\]\s+abort the turn")
    screen.child.send("y")  # one key, no Enter
    screen.wait_for("touch no.txt` ·")
    screen.child.send("n")
    screen.wait_for("one made, one refused")
    assert (tmp_path / "work" / "yes.txt").exists() and not (tmp_path / "work" / "no.txt").exists()

    screen.child.send("again\r")
    screen.wait_for("touch never.txt` ·")
    screen.child.send("\x1b")  # Esc aborts the turn
    screen.wait_for("^turn interrupted")
    screen.settle()
    lines = screen.lines()
    assert lines.count("✔ approved `touch yes.txt` this time") == 1
    assert lines.count("✗ denied `touch no.txt`") == 1
    assert lines.count("✗ aborted the turn at `touch never.txt`") == 1
    assert not (tmp_path / "work" / "never.txt").exists()
    # The only prompt lines in the transcript are the two submitted lines, each once; the live prompt is last.
    prompt_lines = [line for line in lines if line.startswith("›")]
    assert prompt_lines == ["› make files", "› again", "›"], screen.text()
    assert lines[-2] == "›"
    assert quit_screen(screen) == 0
    assert len(server.requests()) == 4


def test_a_streaming_answer_shows_as_it_arrives_and_stays_once_after_an_interrupt(tmp_path, scripted):
    partial = "First part of a long answer. " * 3
    # created, output_item.added, then the first 2 of 3 text deltas, then silence until the client leaves.
    server = scripted([response(text_message(partial + "The end that never comes."), silence_after=4)])
    screen = spawn_screen(tmp_path, server.url, color=False)
    screen.child.send("stream please\r")
    screen.wait_for("First part of a long answer.")
    screen.wait_for(r"^ \S+ responding")  # the activity line under the live text
    assert "The end that never comes." not in screen.text()
    screen.child.sendcontrol("c")
    screen.wait_for("^turn interrupted")
    screen.settle()
    text = screen.text()
    first_line = next(line for line in screen.lines() if line.startswith("First part"))
    assert text.count(first_line) == 1, text
    assert text.index("› stream please") < text.index(first_line) < text.index("turn interrupted")
    assert quit_screen(screen) == 0


def test_steering_text_is_echoed_once(tmp_path, scripted):
    server = scripted([response(text_message("working on it"), delay=2.0),
                       response(text_message("did the extra thing too"))])
    screen = spawn_screen(tmp_path, server.url, color=False)
    screen.child.send("do the main thing\r")
    screen.wait_for("^› do the main thing")
    screen.child.send("also the extra thing\r")
    screen.wait_for("did the extra thing too")
    screen.settle()
    lines = screen.lines()
    assert lines.count("› also the extra thing  (steering the running turn)") == 1, screen.text()
    assert not any("also the extra thing" in line for line in lines if "steering" not in line)
    assert quit_screen(screen) == 0


def test_a_line_typed_during_a_compaction_starts_a_turn_and_is_not_labelled_steering(tmp_path, scripted):
    # A compaction takes no input: the session replaces it with a new turn. The screen saw a task running, but
    # only the session's answer may say the line steered one.
    server = scripted([response(text_message("first answer")),
                       response(text_message("the summary"), delay=2.0),
                       response(text_message("answered the new line"))])
    screen = spawn_screen(tmp_path, server.url, color=False)
    screen.child.send("start\r")
    screen.wait_for("first answer")
    screen.child.send("/compact\r")
    screen.wait_until(lambda text: len(server.requests()) == 2, what="the compaction request")
    screen.child.send("a new line\r")
    screen.wait_for("answered the new line")
    screen.settle()
    lines = screen.lines()
    assert lines.count("› a new line") == 1, screen.text()
    assert not any("steering" in line for line in lines), screen.text()
    assert quit_screen(screen) == 0
    assert "a new line" in str(server.requests()[2])


def test_resume_shows_the_earlier_transcript_before_the_prompt(tmp_path, scripted):
    patch = "*** Begin Patch\n*** Add File: greeting.txt\n+hi there\n*** End Patch\n"
    server = scripted([
        response(function_call("exec_command", {"cmd": "echo hi; exit 3", "login": False}, "c1")),
        response(custom_tool_call("apply_patch", patch, "p1")),
        response(text_message("Wrote **greeting.txt**."), usage=usage(20_000, 100)),
        response(text_message("Still here.")),
    ])
    screen = spawn_screen(tmp_path, server.url, "--full-auto", "-c", "model_context_window=100000", color=False)
    screen.child.send("greet the world\r")
    screen.wait_for("Wrote")
    assert quit_screen(screen) == 0

    screen = spawn_screen(tmp_path, server.url, "--last", "--full-auto", "-c", "model_context_window=100000",
                          command="resume", color=False)
    screen.wait_for("earlier transcript ends here")
    screen.settle()
    # The token meter is restored from the rollout: (88000 - 20100) / 88000 = 77% left.
    assert screen.lines()[-1].startswith(" gpt-5.3-codex · approvals: on-request · sandbox: workspace-write · "
                                         "77% context left · 20,100 tokens")
    assert_golden("resume_transcript.txt", transcript(screen, tmp_path))
    screen.child.send("still there?\r")
    screen.wait_for("Still here.")
    assert quit_screen(screen) == 0


def test_diff_shows_tracked_changes_and_untracked_files_and_status_the_context_window(tmp_path, scripted):
    work = tmp_path / "work"
    work.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "tracked.txt").write_text("old\n")
    subprocess.run([*git, "add", "tracked.txt"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=work, check=True)
    (work / "tracked.txt").write_text("new\n")
    (work / "fresh.txt").write_text("brand new file\n")
    (work / ".gitignore").write_text("ignored.txt\n")
    (work / "ignored.txt").write_text("secret\n")
    server = scripted([])
    screen = spawn_screen(tmp_path, server.url, "-c", "model_context_window=50000", color=False)
    screen.child.send("/diff\r")
    screen.wait_for(r"^\+brand new file$")
    screen.child.send("/status\r")
    screen.wait_for("^context window: ")
    screen.settle()
    lines = screen.lines()
    start = lines.index("› /diff")
    assert lines[start + 1:start + 10] == ["M tracked.txt", "@@ -1 +1 @@", "-old", "+new", "A .gitignore",
                                           "+ignored.txt", "A fresh.txt", "+brand new file", "› /status"]
    assert "secret" not in screen.text()
    assert "context window: 100% left (0 used of 50,000 tokens)" in lines
    assert quit_screen(screen) == 0


def test_model_without_a_name_offers_the_models_the_provider_lists(tmp_path, scripted):
    server = scripted([response(text_message("answered by m2"))], models=["m1", "m2", "m3"])
    screen = spawn_screen(tmp_path, server.url, "-m", "m1", color=False)
    screen.child.send("/model\r")
    screen.wait_for(r"^Model\? \[1-3\] · \[esc\] keep m1$")
    lines = screen.lines()
    start = lines.index("models the provider lists:")
    assert lines[start + 1:start + 4] == ["  [1] m1 (current)", "  [2] m2", "  [3] m3"]
    screen.child.send("2")
    screen.wait_for("^model: m2$")
    screen.wait_for(r"^ m2 · approvals")  # the footer of the session reopened with m2
    screen.child.send("who are you?\r")
    screen.wait_for("answered by m2")
    assert quit_screen(screen) == 0
    bodies = [r["body"] for r in server.requests() if r["method"] == "POST"]
    assert [body["model"] for body in bodies] == ["m2"]


def test_model_without_a_name_names_the_configured_one_when_the_provider_lists_none(tmp_path, scripted):
    server = scripted([])
    screen = spawn_screen(tmp_path, server.url, "-m", "m1", color=False)
    screen.child.send("/model\r")
    text = screen.wait_until(lambda text: "NAME switches)" in text.replace("\n", ""), what="the /model answer")
    assert "model: m1 (the provider lists no models: " in text
    assert "/v1/models: HTTP 404; /model NAME switches)" in text.replace("\n", "")
    assert quit_screen(screen) == 0


def test_exec_on_a_terminal_renders_the_answer_as_markdown_once(tmp_path, scripted):
    server = scripted([response(text_message(MARKDOWN_ANSWER))])
    env = cli_env(tmp_path / "home", TERM="xterm-256color")
    del env["NO_COLOR"]
    argv = ["-m", "codex_actors", "exec", "--skip-git-repo-check", *provider_args(server.url, retries=0), "fix it"]
    child = pexpect.spawn(sys.executable, argv, env=env, cwd=str(tmp_path), timeout=20, dimensions=(ROWS, COLUMNS))
    screen = TerminalScreen(child, rows=ROWS, columns=COLUMNS)
    screen.wait_until(lambda text: not screen.pump(0.2), what="exec to exit")
    child.close()
    assert child.exitstatus == 0
    lines = screen.lines()
    assert "**" not in screen.text() and "```" not in screen.text()
    start = lines.index("codex")
    assert lines[start + 1:start + 10] == ["Done", "", "Fixed the add bug in calc.py:", "", " • it subtracted",
                                           " • now it adds", "", "def add(a, b):", "    return a + b"]
    assert lines.count("Done") == 1


def test_a_approves_for_the_session_and_the_same_command_is_not_asked_again(tmp_path, scripted):
    server = scripted([
        response(function_call("exec_command", {"cmd": "touch same.txt", "login": False}, "c1")),
        response(function_call("exec_command", {"cmd": "touch same.txt", "login": False}, "c2")),
        response(text_message("ran it twice")),
    ])
    screen = spawn_screen(tmp_path, server.url, "-a", "untrusted", "-s", "workspace-write", color=False)
    screen.child.send("touch it twice\r")
    screen.wait_for("touch same.txt` ·")
    screen.child.send("a")
    screen.wait_for("ran it twice")
    screen.settle()
    lines = screen.lines()
    assert lines.count("✔ approved `touch same.txt` for this session") == 1
    assert sum(line.startswith("approval needed:") for line in lines) == 1, screen.text()
    assert sum(line.startswith("exec /bin/bash -c 'touch same.txt'") for line in lines) == 2
    assert quit_screen(screen) == 0


def test_the_streaming_answer_is_rendered_as_markdown_while_it_arrives(tmp_path, scripted):
    server = scripted([response(text_message("## Plan\n\n- **first** step\n- second step\n- third"),
                                silence_after=4)])  # the first 2 of 3 deltas, then silence
    screen = spawn_screen(tmp_path, server.url)
    screen.child.send("plan it\r")
    text = screen.wait_for("^ • first step")
    assert "**" not in text and "## Plan" not in text
    assert screen.lines().count("Plan") == 1
    screen.child.sendcontrol("c")
    screen.wait_for("^turn interrupted")
    assert quit_screen(screen) == 0

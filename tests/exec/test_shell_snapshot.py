"""The shell snapshot: commands give the same results as `bash -lc` with the login profile run once per session.

Every test makes its own login profile in a temporary HOME (never the machine's), and runs real bash.
"""

import re
from pathlib import Path

import pytest
import trio

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.shell_snapshot import (
    ShellSnapshot, SnapshotError, capture_script, render_snapshot, wrap_command,
)
from codex_actors.tools.shell import ShellTool
from codex_actors.tools.unified_exec import UNIFIED_EXEC_ENV, ExecContext, UnifiedExec
from tests.exec.proctable import zombie_children
from tests.tools.test_unified_exec import Recorder

BASH = "/bin/bash"
WORKSPACE = "workspace-write"
NOISE = "profile-noise-on-stderr"
PROFILE = f"""
echo {NOISE} >&2
echo profile-chatter-on-stdout
mkdir -p "$HOME/bin"
printf '#!/bin/sh\\necho mytool ran with "$@"\\n' > "$HOME/bin/mytool"; chmod +x "$HOME/bin/mytool"
export PATH="$HOME/bin:$PATH"
export PROFILE_VAR='quoted "value" with $dollar and
a newline'
greet() {{ echo "hello $1 from an exported function"; }}
export -f greet
helper() {{ echo "plain function"; }}
shopt -s expand_aliases
alias ll='echo aliased ll'
unset DROP_ME
umask 027
# Runs once per shell that reads the profile: counts how often the profile ran.
echo run >> "$HOME/profile-runs"
"""
# Environment-dependent commands, each run both ways.
COMMANDS = [
    'mytool a b; echo "$PATH" | cut -d: -f1',
    'printf "%s\\n" "$PROFILE_VAR"; echo "[${DROP_ME-unset}]"; umask; echo "[$BASH_ENV] $0"',
    "greet world; bash -c 'greet child'; helper; ll",
    "nosuchcommand-xyz 2>&1; echo after",
    "exit 3",
]


def make_home(tmp_path: Path, profile: str = PROFILE, name: str = ".bash_profile") -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / name).write_text(profile)
    return home


def base_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": BASH, "DROP_ME": "still-here", "USER": "u"}


def output_of(text: str) -> tuple[str, str]:
    match = re.search(r"Process exited with code (-?\d+)\n.*?Output:\n(.*)\Z", text, re.S)
    assert match, text
    return match[1], match[2]


async def run_all(tmp_path: Path, home: Path, snapshot: ShellSnapshot | None, rec: Recorder,
                  shell: str = BASH) -> list[tuple[str, str]]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    results = []
    async with trio.open_nursery() as nursery:
        if snapshot is not None:
            await nursery.start(snapshot.run)
        policy = SandboxPolicy.from_config(WORKSPACE, {})
        ux = UnifiedExec(nursery, policy=policy, env=base_env(home), default_shell=shell, snapshot=snapshot)
        for i, cmd in enumerate(COMMANDS):
            out = await ux.exec_command({"cmd": cmd}, ExecContext(f"c{i}", "t1", str(work), rec))
            results.append(output_of(out.text))
        await ux.aclose()
        if snapshot is not None:
            await snapshot.aclose()
    return results


def new_snapshot(tmp_path: Path, home: Path, shell: str = BASH) -> ShellSnapshot:
    return ShellSnapshot(shell, directory=tmp_path / "codex-home" / "shell_snapshots", session_id="s-1",
                         cwd=str(tmp_path), env={**base_env(home), **UNIFIED_EXEC_ENV})


async def test_commands_give_the_results_of_a_login_shell_without_running_the_profile_each_time(tmp_path):
    home = make_home(tmp_path)
    plain = await run_all(tmp_path, home, None, Recorder())
    runs_without = len((home / "profile-runs").read_text().splitlines())
    (home / "profile-runs").unlink()
    rec = Recorder()
    snap = await run_all(tmp_path, home, new_snapshot(tmp_path, home), rec)
    runs_with = len((home / "profile-runs").read_text().splitlines())

    assert runs_without == len(COMMANDS) and runs_with == 1  # the profile ran once: for the snapshot
    chatter = (NOISE, "profile-chatter-on-stdout")
    for cmd, (code, text), (snap_code, snap_text) in zip(COMMANDS, plain, snap):
        lines = text.splitlines(keepends=True)
        assert all(f"{line}\n" in lines for line in chatter), (cmd, text)  # -lc: the noise is in every output
        quiet = "".join(line for line in lines if line.rstrip("\n") not in chatter)
        assert (snap_code, snap_text) == (code, quiet), cmd  # snapshot: the same result, without the noise
    assert [result for result in snap] == [
        ("0", f"mytool ran with a b\n{home}/bin\n"),
        ("0", 'quoted "value" with $dollar and\na newline\n[unset]\n0027\n[] /bin/bash\n'),
        ("0", "hello world from an exported function\nhello child from an exported function\nplain function\n"
              "aliased ll\n"),
        ("0", f"{BASH}: line 1: nosuchcommand-xyz: command not found\nafter\n"),
        ("3", ""),
    ]
    # What the model and the user see is still the login command; no warning.
    assert [b["command"][:2] for b in rec.of("exec_command_begin")] == [[BASH, "-lc"]] * len(COMMANDS)
    assert rec.of("warning") == []
    assert not list((tmp_path / "codex-home" / "shell_snapshots").iterdir())  # removed at stop


async def test_a_failed_snapshot_falls_back_to_login_shells_with_one_warning(tmp_path):
    # dash (`/bin/sh`) has no snapshot support: the session keeps `sh -lc`, which reads ~/.profile each time.
    home = make_home(tmp_path, "export FROM_PROFILE=yes\necho run >> \"$HOME/profile-runs\"\n", ".profile")
    rec = Recorder()
    snapshot = new_snapshot(tmp_path, home, shell="/bin/sh")
    async with trio.open_nursery() as nursery:
        await nursery.start(snapshot.run)
        ux = UnifiedExec(nursery, policy=SandboxPolicy("danger-full-access"), env=base_env(home),
                         default_shell="/bin/sh", snapshot=snapshot)
        for i in range(2):
            out = await ux.exec_command({"cmd": "echo $FROM_PROFILE"}, ExecContext(f"c{i}", "t", str(tmp_path), rec))
            assert output_of(out.text) == ("0", "yes\n")
        await snapshot.aclose()
    [warning] = rec.of("warning")
    assert warning["message"] == ("shell snapshot failed (sh is not supported (bash only)); commands run with "
                                  "`sh -lc`, so the login profile runs for each one")
    assert rec.events.index(warning) < rec.events.index(rec.of("exec_command_begin")[0])
    assert len((home / "profile-runs").read_text().splitlines()) == 2


async def test_a_profile_that_fails_gives_the_reason_in_the_warning(tmp_path):
    home = make_home(tmp_path, "echo 'broken profile' >&2\nexit 4\n")
    snapshot = new_snapshot(tmp_path, home)
    async with trio.open_nursery() as nursery:
        await nursery.start(snapshot.run)
        assert await snapshot.path() is None
        argv, env, warning = await snapshot.prepare([BASH, "-lc", "true"], {"PATH": "/usr/bin:/bin"})
        assert argv == [BASH, "-lc", "true"] and "BASH_ENV" not in env
        assert warning.startswith("shell snapshot failed (the login shell exited with 4: broken profile)")
        assert (await snapshot.prepare([BASH, "-lc", "true"], {}))[2] is None  # one warning per session
        await snapshot.aclose()


async def test_the_argv_shell_tool_uses_the_snapshot_too(tmp_path):
    home = make_home(tmp_path)
    rec = Recorder()
    snapshot = new_snapshot(tmp_path, home)
    async with trio.open_nursery() as nursery:
        await nursery.start(snapshot.run)
        tool = ShellTool(policy=SandboxPolicy("danger-full-access"), env=base_env(home), snapshot=snapshot)
        out = await tool({"command": ["bash", "-lc", "mytool x; ll"]}, ExecContext("c", "t", str(tmp_path), rec))
        assert '"output": "mytool ran with x\\naliased ll\\n"' in out.text
        assert rec.of("exec_command_begin")[0]["command"] == ["bash", "-lc", "mytool x; ll"]
        await snapshot.aclose()


def running(pid_file: Path) -> bool:
    """Whether the process whose pid the profile wrote to `pid_file` still runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{int(pid_file.read_text())}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


async def test_stopping_during_the_capture_kills_the_login_shell_and_lets_its_command_finish(tmp_path):
    # The profile's foreground command holds a lock while it works, as `pyenv rehash` (run by `pyenv init`) does.
    # Stopping kills the login shell only: killing the command as well left its lock behind, and every later
    # login shell of that user then waited 60 s for it (seen with pyenv on this project's machine).
    work = ("echo $$ > \"$HOME/work.pid\"; touch \"$HOME/lock\"; echo started > \"$HOME/started\"; sleep 1; "
            "rm \"$HOME/lock\"")
    profile = f'echo $$ > "$HOME/shell.pid"\nbash -c \'{work}\'\n'
    home = make_home(tmp_path, profile)
    snapshot = new_snapshot(tmp_path, home)
    async with trio.open_nursery() as nursery:
        await nursery.start(snapshot.run)
        snapshot.begin()
        with trio.fail_after(10):
            while not (home / "started").exists():
                await trio.sleep(0.02)
        await snapshot.aclose()
        assert await snapshot.path() is None and snapshot.failure == "stopped before it was made"
        assert not running(home / "shell.pid")
        assert running(home / "work.pid") and (home / "lock").exists()
        with trio.fail_after(10):  # the command finishes its work (1 s) on its own, then exits
            while (home / "lock").exists() or running(home / "work.pid"):
                await trio.sleep(0.02)
    assert not zombie_children()
    assert not snapshot.file.exists()


def test_output_without_the_capture_sections_is_an_error():
    with pytest.raises(SnapshotError, match="login shell output has 0 of 7 sections"):
        render_snapshot(b"the profile exited early\n", "M", {}, shell=BASH)
    assert capture_script("M").count("printf '\\n%s\\n' 'M'") == 7


def test_only_login_commands_of_the_snapshot_shell_are_rewritten(tmp_path):
    snap, env = tmp_path / "s.sh", {"PATH": "/usr/bin:/bin"}
    assert wrap_command(["bash", "-lc", "echo $0 $1", "zero", "one"], env, snap, BASH) == (
        ["bash", "-c", "echo $0 $1", "zero", "one"], {**env, "BASH_ENV": str(snap)})
    assert wrap_command([BASH, "-c", "true"], env, snap, BASH) is None  # `login: false` stays as it is
    assert wrap_command(["/bin/sh", "-lc", "true"], env, snap, BASH) is None  # another shell (dash here)
    assert wrap_command(["bash", "-lc"], env, snap, BASH) is None

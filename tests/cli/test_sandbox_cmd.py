"""`codex-actors sandbox linux` as a user runs it: a real subprocess, the real kernel."""

import os
import re
import subprocess
import sys

import pytest

from codex_actors.exec import landlock

needs_landlock = pytest.mark.skipif(
    not sys.platform.startswith("linux") or landlock.abi_version() < 1,
    reason="kernel without Landlock: the sandbox refuses to run here",
)


def cli(*args, cwd, home):
    env = {**os.environ, "CODEX_ACTORS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "codex_actors", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def work(tmp_path):
    path = tmp_path / "work"
    path.mkdir()
    return path


@needs_landlock
def test_full_auto_writes_the_workspace_but_not_etc(work, home):
    proc = cli("sandbox", "linux", "--full-auto", "--", "bash", "-c",
               "echo ok > here.txt && cat here.txt; echo x > /etc/codex-actors-cli-probe; "
               "echo net=$CODEX_SANDBOX_NETWORK_DISABLED; exit 5", cwd=work, home=home)
    assert proc.returncode == 5
    assert proc.stdout == "ok\nnet=1\n"
    assert "/etc/codex-actors-cli-probe: Read-only file system" in proc.stderr
    assert not os.path.exists("/etc/codex-actors-cli-probe")


@needs_landlock
def test_config_override_selects_read_only(work, home):
    proc = cli("sandbox", "linux", "-c", "sandbox_mode=read-only", "--", "touch", "nope", cwd=work, home=home)
    assert proc.returncode == 1
    assert "Read-only file system" in proc.stderr
    assert not (work / "nope").exists()


def test_danger_full_access_runs_unrestricted_and_passes_the_exit_code(work, home):
    proc = cli("sandbox", "linux", "-c", "sandbox_mode=danger-full-access", "--", "bash", "-c",
               "touch made && exit 7", cwd=work, home=home)
    assert proc.returncode == 7, proc.stderr
    assert (work / "made").exists()


def test_missing_command_and_bad_config_are_one_line_errors(work, home):
    proc = cli("sandbox", "linux", "--full-auto", cwd=work, home=home)
    assert proc.returncode == 2
    assert proc.stderr.startswith("codex-actors sandbox: no command given; usage: codex-actors sandbox linux")
    proc = cli("sandbox", "linux", "-c", "sandbox_mode=sideways", "--", "true", cwd=work, home=home)
    assert proc.returncode == 1
    assert "sandbox_mode" in proc.stderr and "Traceback" not in proc.stderr


@needs_landlock
@pytest.mark.parametrize("with_home", [True, False], ids=["home", "no-home"])
def test_log_denials_prints_what_was_denied_and_why(work, home, with_home, monkeypatch):
    if not with_home:  # as CI runs it: no HOME, so NSS lookups try (and are denied) nscd's socket
        monkeypatch.delenv("HOME", raising=False)
    script = ("python3 -c 'import socket; socket.socket(socket.AF_INET6)' 2>/dev/null; echo py=$?; "
              "unshare -m true 2>/dev/null; echo unshare=$?")
    proc = cli("sandbox", "linux", "--full-auto", "--log-denials", "--", "bash", "-c", script, cwd=work, home=home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "py=1\nunshare=1\n"
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("codex-actors sandbox: logging denials: ")
    # Every line after the note is one denial. Where HOME is unset or the uid has no passwd entry, glibc's NSS
    # also tries nscd's socket (a denied connect()) before python3 gets going: those lines are real, not ours.
    denial = re.compile(r"codex-actors sandbox: denied (.+?) by pid \d+ \((\S+)\): (.+)")
    parsed = [denial.fullmatch(line) for line in lines[1:]]
    assert all(parsed), lines
    ours = [match.groups() for match in parsed if match.group(1) != "connect()"]
    assert ours == [
        ("socket(AF_INET6, SOCK_STREAM)", "python3", "the network is off"),
        ("unshare()", "unshare", "new namespaces, mounts and chroot are not allowed in the sandbox"),
    ]


def test_inherited_descriptors_do_not_reach_the_command(work, home, tmp_path):
    """`sandbox linux -- bash -c 'echo pwn >&3' 3>>/outside`: the CLI's fd 3 is closed before exec."""
    target = tmp_path / "outside.txt"
    with open(target, "ab") as handle:
        os.set_inheritable(handle.fileno(), True)
        fd = handle.fileno()
        env = {**os.environ, "CODEX_ACTORS_HOME": str(home)}
        proc = subprocess.run([sys.executable, "-m", "codex_actors", "sandbox", "linux", "--", "bash", "-c",
                               f"echo pwn >&{fd}"], cwd=work, env=env, capture_output=True, text=True, timeout=60,
                              pass_fds=(fd,))
    assert proc.returncode == 1 and "Bad file descriptor" in proc.stderr
    assert target.read_text() == ""

"""The Linux sandbox on the real kernel: Landlock for files, seccomp for sockets, read-only bind for .git."""

import os
import shutil
import socket
import sys
import tempfile
import uuid

import pytest

from codex_actors.exec import landlock
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.process import ProcessSpec, run_command
from tests.exec.proctable import assert_nothing_left

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or landlock.abi_version() < 1,
    reason="kernel without Landlock: the sandbox refuses to run here, so its allow/deny tests cannot run",
)

WORKSPACE = SandboxPolicy.from_config("workspace-write", {})
#: How a denied write reads: the filesystem outside the writable roots is a read-only mount (Landlock would
#: say "Permission denied" for what the mount let through).
DENIED = ("Read-only file system", "Permission denied")


def denials(text: str) -> int:
    return sum(text.count(message) for message in DENIED)


@pytest.fixture
def outside():
    """A directory outside every writable root (not under /tmp, cwd or $TMPDIR)."""
    path = tempfile.mkdtemp(prefix="codex-actors-outside-", dir="/var/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]\n")
    return tmp_path


async def sh(script: str, cwd, policy: SandboxPolicy, **env):
    result = await run_command(
        ProcessSpec(["bash", "-c", script], str(cwd), env={**os.environ, **policy.env_overrides(), **env},
                    policy=policy),
        timeout_s=30,
    )
    return result.exit_code, result.aggregated.decode()


async def test_workspace_write_allows_cwd_and_tmp(repo):
    probe = f"/tmp/codex-actors-probe-{uuid.uuid4().hex}"
    code, out = await sh(f"echo a > inside.txt && echo b > {probe} && cat inside.txt {probe}", repo, WORKSPACE)
    os.unlink(probe)
    assert (code, out) == (0, "a\nb\n")


@pytest.mark.parametrize("target", ["$HOME/codex-actors-probe-{id}", "/etc/codex-actors-probe-{id}"])
async def test_workspace_write_denies_home_and_etc(repo, target):
    path = target.format(id=uuid.uuid4().hex)
    code, out = await sh(f"echo x > {path}", repo, WORKSPACE)
    assert code != 0 and denials(out) == 1
    assert not os.path.exists(os.path.expandvars(path))


async def test_symlink_inside_cwd_does_not_escape(repo, outside):
    os.symlink(outside, repo / "escape")
    code, out = await sh("echo x > escape/file", repo, WORKSPACE)
    assert code != 0 and denials(out) == 1
    assert os.listdir(outside) == []


async def test_git_dir_stays_read_only(repo):
    code, out = await sh("echo evil >> .git/config; touch .git/new; echo ok > fine.txt", repo, WORKSPACE)
    assert "Read-only file system" in out
    assert (repo / ".git" / "config").read_text() == "[core]\n"
    assert not (repo / ".git" / "new").exists()
    assert (repo / "fine.txt").read_text() == "ok\n"


async def test_grandchild_inherits_the_same_denial(repo):
    code, out = await sh("bash -c 'sh -c \"echo x > $HOME/codex-actors-grandchild\"' & wait", repo, WORKSPACE)
    assert denials(out) == 1
    assert not os.path.exists(os.path.expanduser("~/codex-actors-grandchild"))


async def test_configured_extra_root_is_writable_and_excluded_tmp_is_not(repo, outside):
    policy = SandboxPolicy.from_config("workspace-write", {"writable_roots": [outside], "exclude_slash_tmp": True,
                                                           "exclude_tmpdir_env_var": True})
    probe = f"/tmp/codex-actors-probe-{uuid.uuid4().hex}"
    code, out = await sh(f"echo y > {outside}/extra.txt; echo z > {probe}", repo, policy)
    assert open(f"{outside}/extra.txt").read() == "y\n"
    assert denials(out) == 1 and not os.path.exists(probe)


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


CONNECT = ("python3 -c \"import socket; s = socket.create_connection(('127.0.0.1', {port}), timeout=5); "
           "print('connected')\"")


async def test_network_off_blocks_connecting_to_a_local_listener(repo, listener):
    code, out = await sh(CONNECT.format(port=listener) + "; echo net=$CODEX_SANDBOX_NETWORK_DISABLED", repo,
                         WORKSPACE)
    assert "connected" not in out
    assert "PermissionError: [Errno 1] Operation not permitted" in out
    assert "net=1" in out


async def test_network_access_true_allows_it(repo, listener):
    policy = SandboxPolicy.from_config("workspace-write", {"network_access": True})
    code, out = await sh(CONNECT.format(port=listener), repo, policy)
    assert (code, out) == (0, "connected\n")


async def test_unix_sockets_keep_working_without_network(repo):
    code, out = await sh("python3 -c \"import socket; a, b = socket.socketpair(); a.send(b'hi'); "
                         "print(b.recv(2).decode())\"", repo, WORKSPACE)
    assert (code, out) == (0, "hi\n")


async def test_read_only_writes_nowhere(repo):
    probe = f"/tmp/codex-actors-probe-{uuid.uuid4().hex}"
    code, out = await sh(f"echo a > inside.txt; echo b > {probe}; cat .git/config; echo c > /dev/null && echo null-ok",
                         repo, SandboxPolicy("read-only"))
    assert denials(out) == 2
    assert "[core]" in out and "null-ok" in out
    assert not (repo / "inside.txt").exists() and not os.path.exists(probe)


async def test_danger_full_access_is_unrestricted(repo, outside, listener):
    code, out = await sh(f"echo x > {outside}/free.txt && echo y >> .git/config && " + CONNECT.format(port=listener),
                         repo, SandboxPolicy("danger-full-access"))
    assert (code, out) == (0, "connected\n")
    assert open(f"{outside}/free.txt").read() == "x\n"


async def test_sandboxed_leftovers_are_reaped_too(repo):
    m = f"3{uuid.uuid4().int % 10**6:06d}"
    code, out = await sh(f"sleep {m} & echo bye", repo, WORKSPACE)
    assert (code, out) == (0, "bye\n")
    assert_nothing_left(m)


async def test_tty_session_works_inside_the_sandbox(repo):
    import trio

    from codex_actors.actors import start_actor
    from codex_actors.exec.process import Collect, ProcessActor, WriteStdin

    spec = ProcessSpec(["bash", "-c", "read line; echo got:$line; echo x > $HOME/codex-actors-tty-probe"],
                       str(repo), tty=True, policy=WORKSPACE)
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, ProcessActor(spec))
        await ref.ask(WriteStdin(b"hello\n"))
        chunk = await ref.ask(Collect(trio.current_time() + 20))
        await ref.stop()
    assert chunk.exit_code == 1
    assert b"got:hello" in chunk.output and denials(chunk.output.decode()) == 1

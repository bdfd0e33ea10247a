"""Escapes the sandbox must not allow (issue 17), each tried as a hostile command would: in read-only and in
workspace-write, as root and as an unprivileged user, with every effect checked from outside the sandbox.

Each probe also runs under danger-full-access, where its effect must happen: that proves the probe is able
to see the escape it looks for, so a sandbox that lets it through fails here.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import attrs
import pytest
import trio

from codex_actors.exec import landlock
from codex_actors.exec.policy import SandboxPolicy
from codex_actors.exec.process import ProcessSpec, run_command
from codex_actors.exec.spawn import PACKAGE_PARENT, launcher_argv
from tests.exec.proctable import processes_with

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or landlock.abi_version() < 1,
    reason="kernel without Landlock: the sandbox refuses to run here, so its probes cannot run",
)

PROBE_USER = "codex-actors-probe"
SANDBOXED = ("read-only", "workspace-write")
ALL_MODES = ("danger-full-access", *SANDBOXED)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@attrs.frozen
class Who:
    """Whom the launcher runs as: `name` ("root" or the probe user), ids, and a Python they can execute."""

    name: str
    uid: int
    gid: int
    python: str
    package_parent: str = PACKAGE_PARENT  # where the launcher imports codex_actors from, readable by this user

    def adapt(self, launcher: list[str]) -> list[str]:
        """`launcher` (from `launcher_argv`) run by this user's Python, importing this user's copy of the package."""
        return [self.python, *(arg.replace(repr(PACKAGE_PARENT), repr(self.package_parent)) for arg in launcher[1:])]

    @property
    def prefix(self) -> list[str]:
        if self.uid == 0:
            return []
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--"]


def _readable_package_copy() -> str:
    """A copy of the codex_actors package under /var/tmp that any user can read: the checkout itself may sit in
    a folder only root may enter (a CI clone under a 0700 mktemp directory)."""
    parent = tempfile.mkdtemp(prefix="codex-actors-probe-pkg-", dir="/var/tmp")
    shutil.copytree(Path(PACKAGE_PARENT) / "codex_actors", Path(parent) / "codex_actors",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for directory, _, files in os.walk(parent):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    return parent


def _probe_user(package_parent: str) -> Who:
    """The unprivileged user, created when absent (the suite runs as root in CI), with a Python it can run."""
    if os.geteuid() != 0:
        return Who("user", os.geteuid(), os.getegid(), sys.executable)
    try:
        entry = pwd.getpwnam(PROBE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PROBE_USER],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(PROBE_USER)
    prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]
    for python in (sys.executable, shutil.which("python3", path=PATH)):
        if python and subprocess.run([*prefix, python, "-I", "-S", "-c", "import ctypes"],
                                     capture_output=True).returncode == 0:
            return Who("user", entry.pw_uid, entry.pw_gid, python, package_parent)
    raise AssertionError(f"no Python interpreter that user {PROBE_USER} can execute: the user probes cannot run")


@pytest.fixture(scope="module", params=["root", "user"])
def who(request):
    if request.param == "root":
        if os.geteuid() != 0:
            pytest.skip("the root probes need the suite to run as root (it does in CI)")
        yield Who("root", 0, 0, sys.executable)
        return
    if os.geteuid() != 0:
        yield _probe_user(PACKAGE_PARENT)
        return
    package_parent = _readable_package_copy()
    try:
        yield _probe_user(package_parent)
    finally:
        shutil.rmtree(package_parent, ignore_errors=True)


@attrs.frozen
class Place:
    """`work` (the cwd, a writable root in workspace-write) and `outside` (no writable root: not under /tmp,
    the cwd or $TMPDIR), both owned by the user the probe runs as."""

    work: Path
    outside: Path


@pytest.fixture
def place(who):
    base = Path(tempfile.mkdtemp(prefix="codex-actors-escape-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    work, outside = base / "work", base / "outside"
    for path in (work, outside):
        path.mkdir()
        os.chown(path, who.uid, who.gid)
    yield Place(work, outside)
    shutil.rmtree(base, ignore_errors=True)


def policy_for(mode: str) -> SandboxPolicy:
    return SandboxPolicy.from_config(mode, {})


def probe_env(place: Place, mode: str) -> dict[str, str]:
    return {"PATH": PATH, "HOME": str(place.work), "LANG": "C.UTF-8", **policy_for(mode).env_overrides()}


async def launch(who: Who, place: Place, mode: str, argv: list[str], *, pass_fds: tuple[int, ...] = (),
                 timeout: float = 30, cwd: Path | None = None, **kwargs) -> tuple[int, str]:
    """Run `argv` through the launcher as `who` in `cwd` (default `place.work`) under `mode`; (exit code,
    stdout+stderr)."""
    cwd = place.work if cwd is None else cwd
    launcher = launcher_argv(argv, cwd=str(cwd), policy=policy_for(mode), tty=False)
    launcher = who.adapt(launcher)
    with trio.fail_after(timeout):
        proc = await trio.run_process([*who.prefix, *launcher], cwd=cwd, env=probe_env(place, mode),
                                      stdin=subprocess.DEVNULL, capture_stdout=True, stderr=subprocess.STDOUT,
                                      check=False, pass_fds=pass_fds, **kwargs)
    return proc.returncode, proc.stdout.decode(errors="replace")


def sh(script: str) -> list[str]:
    return ["bash", "-c", script]


def py(code: str) -> list[str]:
    return ["python3", "-c", code]


# -- 1. file metadata outside the writable roots -----------------------------------------------------------

CAPABILITY_XATTR = bytes.fromhex("01000002" "00200000" "00000000" "00000000" "00000000")  # v2, CAP_NET_RAW, +e


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_metadata_outside_the_writable_roots_does_not_change(who, place, mode):
    target = place.outside / "copy-of-true"
    shutil.copy("/bin/true", target)
    os.chown(target, who.uid, who.gid)
    os.chmod(target, 0o755)
    os.utime(target, (1_000_000_000, 1_000_000_000))
    git_config = place.work / ".git" / "config"
    git_config.parent.mkdir()
    git_config.write_text("[core]\n")
    os.chown(git_config.parent, who.uid, who.gid)
    os.chown(git_config, who.uid, who.gid)
    os.chmod(git_config, 0o644)
    before = {path: os.stat(path) for path in (target, git_config)}
    code = (f"import os\nT, G = {str(target)!r}, {str(git_config)!r}\n"
            "def tryit(name, call):\n"
            "    try:\n        call()\n        print('CHANGED', name)\n"
            "    except OSError as exc:\n        print('denied', name, exc)\n"
            "tryit('chown', lambda: os.chown(T, 1, 1))\n"  # first: a new owner clears setuid and file caps
            "tryit('setuid', lambda: os.chmod(T, 0o4755))\n"
            "tryit('git-chmod', lambda: os.chmod(G, 0o600))\n"
            "tryit('user-xattr', lambda: os.setxattr(T, 'user.codex', b'pwn'))\n"
            f"tryit('file-caps', lambda: os.setxattr(T, 'security.capability', {CAPABILITY_XATTR!r}))\n"
            "tryit('utime', lambda: os.utime(T, (2_000_000_000, 2_000_000_000)))\n")
    status, out = await launch(who, place, mode, py(code))
    assert status == 0, out
    after = {path: os.stat(path) for path in before}
    xattrs = os.listxattr(target)
    changes = {
        "setuid": after[target].st_mode != before[target].st_mode,
        "git-chmod": after[git_config].st_mode != before[git_config].st_mode,
        "user-xattr": "user.codex" in xattrs,
        "file-caps": "security.capability" in xattrs,
        "chown": after[target].st_uid != before[target].st_uid,
        "utime": after[target].st_mtime != before[target].st_mtime,
    }
    if mode == "danger-full-access":
        # Only root may give a file capabilities or another owner.
        expected = {"setuid", "git-chmod", "user-xattr", "utime"} | ({"file-caps", "chown"} if who.uid == 0 else set())
        assert {name for name, changed in changes.items() if changed} >= expected, out
    else:
        assert not any(changes.values()), (changes, out)
        assert "CHANGED" not in out


# -- 2. Unix sockets listening outside -------------------------------------------------------------------


@attrs.define
class Listeners:
    """A path stream socket, an abstract stream socket and a path datagram socket, all listening outside."""

    stream_path: str
    abstract: str
    dgram_path: str
    sockets: list[socket.socket]

    def received(self) -> dict[str, bytes]:
        got: dict[str, bytes] = {}
        for name, sock in zip(("stream", "abstract", "dgram"), self.sockets):
            sock.setblocking(False)
            try:
                if sock.type == socket.SOCK_DGRAM:
                    got[name] = sock.recv(64)
                else:
                    conn, _ = sock.accept()
                    conn.settimeout(5)
                    with conn:
                        got[name] = conn.recv(64)
            except BlockingIOError:
                pass
        return got


@pytest.fixture
def listeners(place):
    stream_path, dgram_path = str(place.outside / "stream.sock"), str(place.outside / "dgram.sock")
    abstract = f"\0codex-actors-escape-{uuid.uuid4().hex}"
    stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stream.bind(stream_path)
    stream.listen(4)
    hidden = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hidden.bind(abstract)
    hidden.listen(4)
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dgram.bind(dgram_path)
    for path in (stream_path, dgram_path):
        os.chmod(path, 0o777)
    yield Listeners(stream_path, abstract, dgram_path, [stream, hidden, dgram])
    for sock in (stream, hidden, dgram):
        sock.close()


def socket_probe(listeners: Listeners) -> str:
    return (
        "import socket\n"
        f"S, A, D = {listeners.stream_path!r}, {listeners.abstract!r}, {listeners.dgram_path!r}\n"
        "def tryit(name, call):\n"
        "    try:\n        call()\n        print('SENT', name)\n"
        "    except OSError as exc:\n        print('denied', name, exc)\n"
        "def stream(address):\n"
        "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n    s.connect(address)\n    s.sendall(b'pwn')\n"
        "def dgram():\n"
        "    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'pwn', D)\n"
        "def dgram_pair():\n"
        "    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "    a.sendmsg([b'pwn'], [], 0, D)\n"
        "tryit('stream', lambda: stream(S))\n"
        "tryit('abstract', lambda: stream(A))\n"
        "tryit('dgram', dgram)\n"
        "tryit('dgram-pair', dgram_pair)\n"
    )


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_unix_sockets_outside_receive_nothing_with_the_network_off(who, place, listeners, mode):
    status, out = await launch(who, place, mode, py(socket_probe(listeners)))
    assert status == 0, out
    received = listeners.received()
    if mode == "danger-full-access":
        assert received == {"stream": b"pwn", "abstract": b"pwn", "dgram": b"pwn"}, out
    else:
        assert received == {}, out
        assert "SENT" not in out


async def test_exec_command_path_reaches_no_unix_socket_outside(place, listeners):
    """The same probe through the ProcessActor that exec_command uses (as the test's own user)."""
    policy = policy_for("workspace-write")
    result = await run_command(ProcessSpec(py(socket_probe(listeners)), str(place.work),
                                           env=probe_env(place, "workspace-write"), policy=policy), timeout_s=30)
    out = result.aggregated.decode()
    assert result.exit_code == 0, out
    assert listeners.received() == {}, out
    assert out.count("denied") == 4, out


# -- 3. signals to processes outside ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_signals_do_not_reach_a_process_outside(who, place, mode):
    victim = await trio.lowlevel.open_process([*who.prefix, "sleep", "600"])
    try:
        status, out = await launch(who, place, mode, sh(f"kill -9 {victim.pid}; echo sent=$?"))
        with trio.move_on_after(10 if mode == "danger-full-access" else 0.3):  # it is dead or dying by now
            await victim.wait()
        if mode == "danger-full-access":
            assert victim.returncode == -signal.SIGKILL, out
        else:
            assert victim.returncode is None, out
            assert "sent=0" not in out
    finally:
        victim.kill()
        await victim.wait()


@pytest.mark.parametrize("mode", SANDBOXED)
async def test_the_command_cannot_stop_or_kill_its_reaper(who, place, mode):
    """Under danger-full-access this would stop the launcher and hang; inside, the reaper is out of reach."""
    status, out = await launch(who, place, mode, sh("kill -STOP $PPID; kill -9 $PPID; echo still-here"),
                               timeout=20)
    assert (status, out.splitlines()[-1:]) == (0, ["still-here"]), out


# -- 4. the tree never outlives its reaper ------------------------------------------------------------------


async def assert_gone(marker: str, within: float = 5.0) -> None:
    """No process whose command line holds `marker` is left after `within` seconds (polled every 50 ms)."""
    with trio.move_on_after(within):
        while processes_with(marker):
            await trio.sleep(0.05)
    assert not processes_with(marker), f"survivors: {processes_with(marker)}"


@pytest.mark.parametrize("mode", SANDBOXED)
async def test_a_setsid_child_dies_when_the_command_kills_its_parent(who, place, mode):
    marker = f"{3_000_000 + uuid.uuid4().int % 10**6}"
    status, out = await launch(who, place, mode, sh(f"setsid sleep {marker} & sleep 0.2; kill -9 $PPID"))
    await assert_gone(marker)


@pytest.mark.parametrize("mode", SANDBOXED)
async def test_killing_the_launcher_kills_the_whole_tree(who, place, mode):
    """SIGKILL to the launcher itself: nothing it started survives (its PID 1 dies with it, and with PID 1
    the namespace). Under danger-full-access there is no namespace; the lifeline (next test) covers that."""
    marker = f"{4_000_000 + uuid.uuid4().int % 10**6}"
    launcher = launcher_argv(sh(f"setsid sleep {marker} & sleep {marker}"), cwd=str(place.work),
                             policy=policy_for(mode), tty=False)
    launcher = who.adapt(launcher)
    proc = await trio.lowlevel.open_process([*who.prefix, *launcher], cwd=place.work, env=probe_env(place, mode),
                                            start_new_session=True)
    try:
        with trio.fail_after(20):
            while len([p for p in processes_with(marker) if p[2].startswith("sleep")]) < 2:
                await trio.sleep(0.05)
        launcher_pid = proc.pid
        if who.uid != 0:  # setpriv execs the launcher, so the pid is the launcher's
            assert "codex_actors.exec.sandbox" in open(f"/proc/{launcher_pid}/cmdline").read()
        os.kill(launcher_pid, signal.SIGKILL)
        await proc.wait()
        await assert_gone(marker)
    finally:
        for pid, _, _ in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        await proc.wait()


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_the_tree_dies_when_the_process_holding_the_lifeline_dies(who, place, mode):
    """The session process dies by SIGKILL: its lifeline's write end closes, and the launcher ends the tree."""
    marker = f"{5_000_000 + uuid.uuid4().int % 10**6}"
    lifeline_r, lifeline_w = os.pipe()
    launcher = launcher_argv(sh(f"setsid sleep {marker} & sleep {marker}"), cwd=str(place.work),
                             policy=policy_for(mode), tty=False, lifeline=lifeline_r)
    launcher = who.adapt(launcher)
    try:
        proc = await trio.lowlevel.open_process([*who.prefix, *launcher], cwd=place.work,
                                                env=probe_env(place, mode), start_new_session=True,
                                                pass_fds=(lifeline_r,))
    finally:
        os.close(lifeline_r)
    try:
        with trio.fail_after(20):
            while len(processes_with(marker)) < 2:
                await trio.sleep(0.05)
        os.close(lifeline_w)  # what the kernel does when the session process dies
        lifeline_w = -1
        with trio.fail_after(10):  # the launcher's teardown: SIGTERM, a 0.5 s grace, SIGKILL; slow under load
            await proc.wait()
        await assert_gone(marker)
    finally:
        if lifeline_w >= 0:
            os.close(lifeline_w)
        for pid, _, _ in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        await proc.wait()


# -- 5. capabilities ----------------------------------------------------------------------------------------

BPF_PROBE = (
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "attr = (ctypes.c_uint32 * 5)(2, 4, 4, 1, 0)  # BPF_MAP_TYPE_ARRAY, key 4, value 4, 1 entry\n"
    f"fd = libc.syscall({ {'x86_64': 321, 'aarch64': 280}[os.uname().machine]}, 0, attr, 20)  # bpf(MAP_CREATE)\n"
    "print('ESCAPED bpf' if fd >= 0 else 'denied bpf')\n"
)


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_no_capabilities_no_chroot_no_new_namespaces_no_bpf(who, place, mode):
    script = ("grep CapEff /proc/self/status; "
              "chroot / true && echo 'ESCAPED chroot'; "
              "unshare -U true && echo 'ESCAPED unshare-user'; "
              "unshare -m true && echo 'ESCAPED unshare-mount'; "
              f"python3 -c {shlex.quote(BPF_PROBE)}")
    status, out = await launch(who, place, mode, sh(script))
    escaped = {line.split()[1] for line in out.splitlines() if line.startswith("ESCAPED")}
    if mode == "danger-full-access":
        assert escaped >= ({"chroot", "unshare-user", "unshare-mount", "bpf"} if who.uid == 0 else {"unshare-user"})
    else:
        assert escaped == set(), out
        assert "CapEff:\t0000000000000000" in out


# -- 6. file descriptors inherited from the caller ----------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_inherited_descriptors_are_closed(who, place, mode):
    target = place.outside / "fd-target"
    target.touch()
    os.chown(target, who.uid, who.gid)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND)
    try:
        os.set_inheritable(fd, True)
        status, out = await launch(who, place, mode, sh(f"echo pwn >&{fd}"), pass_fds=(fd,))
    finally:
        os.close(fd)
    if mode == "danger-full-access":
        assert target.read_text() == "pwn\n", out
    else:
        assert target.read_text() == "", out
        assert "Bad file descriptor" in out


# -- controls: what must keep working inside -----------------------------------------------------------------


@pytest.mark.parametrize("mode", SANDBOXED)
async def test_controls_keep_working(who, place, mode):
    subprocess.run(["git", "init", "-q", str(place.work)], check=True)
    (place.work / "tracked.txt").write_text("x\n")
    for root, dirs, files in os.walk(place.work):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), who.uid, who.gid)
    tmp_probe = f"/tmp/codex-actors-escape-{uuid.uuid4().hex}"
    threads = ("import threading; out = []; ts = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]; "
               "[t.start() for t in ts]; [t.join() for t in ts]; print('threads', sorted(out))")
    script = (f"echo a > cwd.txt && echo cwd-ok; echo b > {tmp_probe} && echo tmp-ok; "
              "echo piped | tr a-z A-Z; "
              f"python3 -c {shlex.quote(threads)}; "
              "git status --short --branch && echo git-ok")
    try:
        status, out = await launch(who, place, mode, sh(script))
        wrote_tmp = os.path.exists(tmp_probe)
    finally:
        if os.path.exists(tmp_probe):
            os.unlink(tmp_probe)
    assert "PIPED" in out and "threads [0, 1, 2, 3]" in out and "git-ok" in out and "?? tracked.txt" in out, out
    writable = mode == "workspace-write"
    assert ("cwd-ok" in out, "tmp-ok" in out) == (writable, writable), out
    assert ((place.work / "cwd.txt").exists(), wrote_tmp) == (writable, writable)


@pytest.mark.parametrize("mode", SANDBOXED)
async def test_a_pty_works_inside(who, place, mode):
    master, slave = os.openpty()
    try:
        launcher = launcher_argv(sh("tty >/dev/null && echo is-a-tty; read line; echo got:$line"),
                                 cwd=str(place.work), policy=policy_for(mode), tty=True)
        launcher = who.adapt(launcher)
        if who.uid:
            os.chown(os.ttyname(slave), who.uid, who.gid)
        proc = await trio.lowlevel.open_process([*who.prefix, *launcher], cwd=place.work,
                                                env=probe_env(place, mode), stdin=slave, stdout=slave,
                                                stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    stream = trio.lowlevel.FdStream(master)
    output = b""
    try:
        await stream.send_all(b"hello\n")
        with trio.fail_after(20):
            while b"got:hello" not in output:
                try:
                    chunk = await stream.receive_some(4096)
                except trio.BrokenResourceError:
                    break
                if not chunk:
                    break
                output += chunk
            await proc.wait()
    finally:
        await stream.aclose()
        proc.kill()
        await proc.wait()
    assert b"is-a-tty" in output and b"got:hello" in output, output

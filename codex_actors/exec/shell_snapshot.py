"""Shell snapshot: run the user's login shell once per session and reuse what its profile set up for every command.

As codex-rs does (`core/src/shell_snapshot.rs`): at session start the login shell (`bash -lc <capture script>`,
unsandboxed, stdin closed, in the session's cwd, with the commands' base environment) runs the user's profile once
and prints its functions, aliases, shell options, umask and environment; `render_snapshot` turns that into a
bash file under `$CODEX_ACTORS_HOME/shell_snapshots/<session id>.<nonce>.sh`, which is validated by sourcing it
in a plain `bash -c`. Commands of the form `[bash, -lc, script]` then run as `[bash, -c, script]` with
`BASH_ENV=<snapshot>`: bash sources the snapshot before it parses the script (so aliases and functions are there,
line numbers and `$0` stay as they were), and the profile does not run again. Differences from codex-rs: the
snapshot is a BASH_ENV file instead of a `. snapshot; exec shell -c script` wrapper, so non-exported functions and
aliases reach the script too; `~/.bashrc` is not sourced on top of the profile (a login shell does not source it
either unless the profile does); it applies in any working directory; only bash is supported (another shell falls
back to `-lc`).

What the snapshot holds, inside one `{ ...; } >/dev/null 2>&1` group so it never writes to a command's output:
the profile's functions (`declare -f`, exported ones marked again with `export -f`), aliases (`alias -p`),
`shopt` settings (`expand_aliases` decides whether aliases expand, as in the login shell), the variables the
profile exported or changed (a diff against the environment the capture started with: variables nobody touched
keep the values each command gets) and the ones it unset, `umask`, and `set -o` options that are on. Left out:
`PWD`, `OLDPWD`, `SHLVL`, `_`, bash's read-only variables, non-exported shell variables, traps, ulimits.
After the group, `BASH_ENV` is restored to what it was (or unset), so child shells behave as under `-lc`.

Layering: standard library and trio only; `exec/` knows nothing of sessions, so the owner passes the directory,
session id and base environment in.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import trio

SNAPSHOT_DIR = "shell_snapshots"
SNAPSHOT_TIMEOUT_S = 10.0
VALIDATE_TIMEOUT_S = 5.0
SNAPSHOT_HEADER = "# Snapshot file"
# Variables bash maintains itself or refuses to assign: never replayed from the snapshot.
EXCLUDED_VARS = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "BASHPID",
                           "BASH_VERSINFO", "EUID", "PPID", "UID", "GROUPS"})
READ_ONLY_SHOPTS = frozenset({"login_shell", "restricted_shell"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SECTIONS = ("functions", "exported_functions", "aliases", "shopt", "set_o", "umask", "env")


class SnapshotError(Exception):
    """The snapshot could not be made; the message says which step failed (shown in the fallback warning)."""


def supports(shell: str) -> bool:
    """True for the shells this module can snapshot (bash, by name or path)."""
    return os.path.basename(shell) == "bash"


def capture_script(marker: str) -> str:
    """The script the login shell runs after its profile: sections in the order of `_SECTIONS`, each preceded
    by a line `marker` (a random token the profile's own output cannot contain); the last one, the environment,
    is `env -0` (NUL-separated `NAME=value`, so no shell syntax has to be parsed back)."""
    sep = f"printf '\\n%s\\n' '{marker}'"
    return "\n".join([
        sep, "declare -f",
        sep, "declare -F | sed -n 's/^declare -f[a-z]*x[a-z]* /export -f /p'",
        sep, "alias -p",
        sep, "shopt -p",
        sep, "set +o",
        sep, "umask",
        sep, "env -0",
    ])


def _sections(raw: bytes, marker: str) -> dict[str, str]:
    parts = raw.split(f"\n{marker}\n".encode())
    if len(parts) != len(_SECTIONS) + 1:
        raise SnapshotError(f"login shell output has {len(parts) - 1} of {len(_SECTIONS)} sections")
    # parts[0] is whatever the profile printed on stdout before the capture script ran: dropped.
    return {name: os.fsdecode(part) for name, part in zip(_SECTIONS, parts[1:])}


def _parse_env(data: str) -> dict[str, str]:
    env = {}
    for entry in data.split("\0"):
        name, sep, value = entry.partition("=")
        if sep and _NAME.match(name):
            env[name] = value
    return env


def render_snapshot(raw: bytes, marker: str, base_env: Mapping[str, str], *, shell: str) -> str:
    """The snapshot file's text from the capture's stdout `raw` (see `capture_script`).

    `base_env` is the environment the capture started with: only variables the profile set, changed or unset
    relative to it are written. Raises SnapshotError when `raw` lacks the sections (the profile exited early,
    or the shell is not bash)."""
    sections = _sections(raw, marker)
    after = _parse_env(sections["env"])
    lines = [f"{SNAPSHOT_HEADER}: the login environment of {shell}, captured by codex-actors at "
             f"{time.strftime('%Y-%m-%dT%H:%M:%S')}", "{", "unalias -a"]
    lines.append(sections["functions"].strip("\n"))
    lines.append(sections["exported_functions"].strip("\n"))
    lines.append(sections["aliases"].strip("\n"))
    for line in sections["shopt"].splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "shopt" and words[2] not in READ_ONLY_SHOPTS:
            lines.append(line)
    for name in sorted(set(base_env) - set(after)):
        if _NAME.match(name) and name not in EXCLUDED_VARS:
            lines.append(f"unset {name}")
    for name, value in sorted(after.items()):
        if name not in EXCLUDED_VARS and base_env.get(name) != value:
            lines.append(f"export {name}={shlex.quote(value)}")
    umask = sections["umask"].strip()
    if re.fullmatch(r"[0-7]{3,4}", umask):
        lines.append(f"umask {umask}")
    lines += [line for line in sections["set_o"].splitlines() if line.startswith("set -o ")]
    lines.append("} >/dev/null 2>&1")
    original = base_env.get("BASH_ENV")
    lines.append("unset BASH_ENV" if original is None else f"export BASH_ENV={shlex.quote(original)}")
    return "\n".join(line for line in lines if line) + "\n"


def wrap_command(argv: Sequence[str], env: Mapping[str, str], snapshot: Path, shell: str
                 ) -> tuple[list[str], dict[str, str]] | None:
    """`[sh, "-lc", script, *args]` -> (`[sh, "-c", script, *args]`, `env` + `BASH_ENV=snapshot`) when `sh` is
    the snapshot's `shell` (same file after PATH lookup and symlinks); None for any other command."""
    if len(argv) < 3 or argv[1] != "-lc" or not _same_program(argv[0], shell, env):
        return None
    return [argv[0], "-c", *argv[2:]], {**env, "BASH_ENV": str(snapshot)}


def _same_program(program: str, shell: str, env: Mapping[str, str]) -> bool:
    if program == shell:
        return True
    found = shutil.which(program, path=env.get("PATH")) if "/" not in program else program
    return found is not None and os.path.realpath(found) == os.path.realpath(shell)


async def _run(argv: list[str], *, cwd: str, env: Mapping[str, str], timeout_s: float, what: str
               ) -> trio.CompletedProcess:
    try:
        with trio.fail_after(timeout_s):
            return await trio.run_process(argv, cwd=cwd, env=dict(env), stdin=b"", capture_stdout=True,
                                          capture_stderr=True, check=False, start_new_session=True)
    except trio.TooSlowError:
        raise SnapshotError(f"{what} took longer than {timeout_s:g} s") from None
    except OSError as exc:
        raise SnapshotError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None


def _stderr_tail(proc: trio.CompletedProcess) -> str:
    text = proc.stderr.decode(errors="replace").strip()
    return f": {text.splitlines()[-1][:200]}" if text else ""


async def capture(shell: str, *, cwd: str, env: Mapping[str, str], path: Path,
                  timeout_s: float = SNAPSHOT_TIMEOUT_S) -> None:
    """Run `shell -lc` once and write its snapshot to `path` (via a temporary file, then validated and renamed).

    `env` is the commands' base environment (without per-command sandbox variables). The login shell's stderr
    (profile noise) is discarded. Raises SnapshotError naming the failed step; nothing is left at `path` then."""
    if not supports(shell):
        raise SnapshotError(f"{os.path.basename(shell)} is not supported (bash only)")
    if any(c in str(path) for c in "$`\\"):
        raise SnapshotError(f"snapshot path {str(path)!r} holds characters BASH_ENV would expand")
    marker = f"__CODEX_ACTORS_SNAPSHOT_{secrets.token_hex(8)}__"
    proc = await _run([shell, "-lc", capture_script(marker)], cwd=cwd, env=env, timeout_s=timeout_s,
                      what="the login shell")
    if proc.returncode != 0:
        raise SnapshotError(f"the login shell exited with {proc.returncode}{_stderr_tail(proc)}")
    text = render_snapshot(proc.stdout, marker, env, shell=shell)
    temp = path.with_name(f"{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(text, encoding="utf-8", errors="surrogateescape")
        check = await _run([shell, "-c", "printf ok"], cwd=cwd, env={**env, "BASH_ENV": str(temp)},
                           timeout_s=VALIDATE_TIMEOUT_S, what="sourcing the snapshot")
        if check.returncode != 0 or check.stdout != b"ok" or check.stderr:
            raise SnapshotError(f"the snapshot does not source cleanly (exit {check.returncode}){_stderr_tail(check)}")
        os.replace(temp, path)
    except OSError as exc:
        raise SnapshotError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)


class ShellSnapshot:
    """The snapshot of one session: made at most once, on demand or when the owner says so, removed at stop.

    `shell`: the user's shell (the one commands default to); `directory`: where the file goes
    (`$CODEX_ACTORS_HOME/shell_snapshots`); `session_id`: the file's name prefix; `cwd`, `env`: where and with
    which environment the login shell runs (the commands' base environment).

    The owner runs `await nursery.start(snapshot.run)` (returns at once; nothing runs yet), calls `begin()` when
    the capture may start (off the first model request's path), and `aclose()` (or cancels the nursery) to stop:
    a capture in progress is killed and reaped, and the file is deleted. Only the login shell is killed: a command
    its profile runs goes on to its end (killing it mid-way can leave its state behind: `pyenv rehash`'s lock,
    left so, made every later login shell wait 60 s for it). `await path()` starts the capture if
    nobody has, waits for it (at most SNAPSHOT_TIMEOUT_S) and answers the file, or None when it failed
    (`failure` then says why).
    """

    def __init__(self, shell: str, *, directory: Path, session_id: str, cwd: str, env: Mapping[str, str]) -> None:
        self.shell = shell
        self.file = Path(directory) / f"{session_id}.{time.time_ns()}.sh"
        self._cwd = cwd
        self._env = dict(env)
        self.failure: str | None = None
        self._wanted = trio.Event()
        self._done = trio.Event()
        self._stopped = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._ok = False
        self._warned = False

    async def prepare(self, argv: Sequence[str], env: Mapping[str, str]
                      ) -> tuple[list[str], dict[str, str], str | None]:
        """What to spawn for `argv` with `env`: the snapshot form of a `[shell, -lc, script]` command once the
        snapshot is made (waiting for it if needed), else the command unchanged. The third value is a warning to
        show, given once per snapshot, on the first command that falls back to `-lc` because the snapshot
        failed."""
        if wrap_command(argv, env, self.file, self.shell) is None:
            return list(argv), dict(env), None
        path = await self.path()
        if path is not None:
            wrapped, wrapped_env = wrap_command(argv, env, path, self.shell)  # type: ignore[misc]
            return wrapped, wrapped_env, None
        warning = None
        if not self._warned:
            self._warned = True
            warning = (f"shell snapshot failed ({self.failure}); commands run with `{os.path.basename(self.shell)} "
                       "-lc`, so the login profile runs for each one")
        return list(argv), dict(env), warning

    def begin(self) -> None:
        """Let the capture start (idempotent)."""
        self._wanted.set()

    async def path(self) -> Path | None:
        """The snapshot file once made (starting the capture if needed); None when it failed or was stopped."""
        self.begin()
        await self._done.wait()
        return self.file if self._ok else None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Capture when wanted, then keep the file until cancelled (see the class docstring)."""
        with trio.CancelScope() as scope:
            self._scope = scope
            task_status.started()
            try:
                await self._wanted.wait()
                try:
                    await capture(self.shell, cwd=self._cwd, env=self._env, path=self.file)
                    self._ok = True
                except SnapshotError as exc:
                    self.failure = str(exc)
                finally:
                    self._done.set()
                await trio.sleep_forever()
            finally:
                if not self._ok and self.failure is None:
                    self.failure = "stopped before it was made"
                self._done.set()
                self.file.unlink(missing_ok=True)
                self._stopped.set()

    async def aclose(self) -> None:
        """Stop: kill a capture in progress, delete the file; returns once that is done."""
        if self._scope is None:
            return
        self._scope.cancel()
        await self._stopped.wait()

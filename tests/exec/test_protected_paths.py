"""Protected paths that do not exist yet, and the filesystem root as the cwd (issue 17), probed as a hostile
command would and checked from outside: as root and as an unprivileged user (the fixtures of test_escapes).

Spec 5.1: in workspace-write the cwd's `.codex` stays read-only even before it exists (ours, `.codex-actors`,
too), so a command cannot create it and plant config the next session loads. With the cwd at `/`, the whole
filesystem is the writable root (as codex-rs binds `/` read-write there), but the protected paths are not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import trio

from codex_actors.exec.spawn import launcher_argv
from tests.exec.test_escapes import ALL_MODES, SANDBOXED, launch, place, policy_for, probe_env, sh, who  # noqa: F401

WORKSPACE = "workspace-write"
PLANT = ("mkdir .codex; echo pwn > .codex/config.toml; "
         "mkdir .codex-actors; echo pwn > .codex-actors/config.toml; "
         "mkdir evil && echo pwn > evil/config.toml; mv -T evil .codex; "
         "rmdir .codex-actors; ln -s evil .codex-actors; echo end")


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_a_missing_dot_codex_in_the_cwd_cannot_be_created(who, place, mode):
    status, out = await launch(who, place, mode, sh(PLANT))
    assert out.splitlines()[-1:] == ["end"], out
    planted = {name for name in (".codex", ".codex-actors") if (place.work / name / "config.toml").exists()}
    if mode == "danger-full-access":
        assert planted == {".codex", ".codex-actors"}, out
        return
    assert planted == set(), out
    assert not os.path.lexists(place.work / ".codex"), "the placeholder outlived the sandbox"
    assert not os.path.lexists(place.work / ".codex-actors"), "the placeholder outlived the sandbox"
    assert (place.work / "evil" / "config.toml").exists() == (mode == WORKSPACE), out  # the cwd stays writable


class Waiting:
    """A sandboxed command in `place.work` that says `ready`, waits for a line on stdin, then tries to plant
    `.codex/config.toml` (creating `.codex` first if it is gone) and says `done`."""

    SCRIPT = "echo ready; read line; mkdir -p .codex && echo pwn > .codex/config.toml && echo PLANTED; echo done"

    def __init__(self, who, place):
        self.argv = [*who.prefix, *who.adapt(launcher_argv(sh(self.SCRIPT), cwd=str(place.work),
                                                           policy=policy_for(WORKSPACE), tty=False))]
        self.place = place
        self.output = b""

    async def start(self) -> None:
        self.proc = await trio.lowlevel.open_process(self.argv, cwd=self.place.work,
                                                     env=probe_env(self.place, WORKSPACE), stdin=subprocess.PIPE,
                                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while b"ready" not in self.output:
            chunk = await self.proc.stdout.receive_some(4096)
            assert chunk, self.output
            self.output += chunk

    async def finish(self) -> bytes:
        await self.proc.stdin.send_all(b"go\n")
        while chunk := await self.proc.stdout.receive_some(4096):
            self.output += chunk
        await self.proc.wait()
        return self.output

    async def stop(self) -> None:
        if getattr(self, "proc", None) is not None:
            self.proc.kill()
            await self.proc.wait()


@pytest.mark.parametrize("first_out", ["creator", "adopter"])
async def test_a_shared_placeholder_stays_read_only_until_the_last_sandbox_in_the_cwd_exits(who, place, first_out):
    """Two sandboxes in one cwd share the placeholder (the first creates it, the second adopts it): whichever
    exits first must not remove it, or the read-only bind inside the other would go with it."""
    creator, adopter = Waiting(who, place), Waiting(who, place)
    first, last = (creator, adopter) if first_out == "creator" else (adopter, creator)
    try:
        with trio.fail_after(30):
            await creator.start()
            await adopter.start()
            out = await first.finish()
            assert b"done" in out and b"PLANTED" not in out, out
            assert (place.work / ".codex").is_dir(), "removed while the other sandbox still runs"
            out = await last.finish()
    finally:
        await creator.stop()
        await adopter.stop()
    assert b"done" in out and b"PLANTED" not in out, out
    assert not os.path.lexists(place.work / ".codex"), "the last sandbox out leaves no placeholder"


@pytest.mark.parametrize("mode", SANDBOXED)
async def test_workspace_write_from_the_filesystem_root_writes_everywhere_but_protected_paths(who, place, mode):
    target = place.outside / "from-the-root.txt"
    existed = os.path.lexists("/.codex")
    script = f"echo pwn > {target} && echo wrote; mkdir -p /.codex && echo pwn > /.codex/config.toml; echo end"
    status, out = await launch(who, place, mode, sh(script), cwd=Path("/"))
    assert out.splitlines()[-1:] == ["end"], out
    assert target.exists() == (mode == WORKSPACE), out
    assert not os.path.exists("/.codex/config.toml"), out
    if not existed:
        assert not os.path.lexists("/.codex"), "the placeholder outlived the sandbox"


@pytest.mark.parametrize("mode", SANDBOXED)
@pytest.mark.parametrize("points_to", ["inside", "outside"])
async def test_a_dot_codex_that_is_a_symlink_stays_read_only_and_the_command_runs(who, place, mode, points_to):
    """A cwd whose `.codex` is a symlink to a directory (inside the cwd or outside any writable root): the
    command runs, and nothing reached through the link can be written (codex-rs binds the link's target)."""
    target = (place.work / "real-codex") if points_to == "inside" else (place.outside / "codex-config")
    target.mkdir()
    (place.work / ".codex").symlink_to(target)
    script = "echo pwn > .codex/config.toml; mkdir .codex/rules; echo pwn > real-codex-sibling.txt; echo end"
    status, out = await launch(who, place, mode, sh(script))
    assert out.splitlines()[-1:] == ["end"], out
    assert list(target.iterdir()) == [], out
    assert (place.work / ".codex").is_symlink()
    assert (place.work / "real-codex-sibling.txt").exists() == (mode == WORKSPACE), out  # the cwd stays writable

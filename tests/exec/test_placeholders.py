"""Placeholders for protected paths that do not exist yet (exec/placeholders.py), on the host side: what is
created, who removes it, and what is never removed. The sandboxed side is in test_protected_paths.py."""

from __future__ import annotations

import os
import stat

from codex_actors.exec.placeholders import PLACEHOLDER_MODE, Placeholders


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_missing_path_gets_an_empty_placeholder_that_release_removes(tmp_path):
    target = tmp_path / ".codex"
    tmp_path.chmod(0o2755)  # a setgid parent passes its bit on to new directories
    old_umask = os.umask(0o077)
    try:
        holder = Placeholders()
        holder.claim([str(target)])
    finally:
        os.umask(old_umask)
    assert target.is_dir() and not any(target.iterdir()) and mode_of(target) == PLACEHOLDER_MODE
    holder.release()
    assert not os.path.lexists(target)


def test_the_last_sandbox_out_removes_a_shared_placeholder(tmp_path):
    target = tmp_path / ".codex"
    first, second = Placeholders(), Placeholders()
    first.claim([str(target)])
    second.claim([str(target)])  # adopts the first one's placeholder
    first.release()
    assert target.is_dir(), "removed while another sandbox still had it mounted"
    second.release()
    assert not os.path.lexists(target)


def test_a_placeholder_left_by_a_killed_launcher_is_adopted_and_removed(tmp_path):
    target = tmp_path / ".codex"
    target.mkdir()
    target.chmod(PLACEHOLDER_MODE)
    holder = Placeholders()
    holder.claim([str(target)])
    holder.release()
    assert not os.path.lexists(target)


def test_a_real_directory_or_a_filled_placeholder_is_never_removed(tmp_path):
    own, filled = tmp_path / "own" / ".codex", tmp_path / "filled" / ".codex"
    own.mkdir(parents=True)  # the user's own (empty) directory: not a placeholder
    filled.parent.mkdir()
    holder = Placeholders()
    holder.claim([str(own), str(filled)])
    assert holder.paths == [str(filled)]
    filled.chmod(0o755)
    (filled / "config.toml").write_text("model = 'x'\n")  # written from outside the sandbox meanwhile
    filled.chmod(PLACEHOLDER_MODE)
    holder.release()
    assert own.is_dir() and (filled / "config.toml").read_text() == "model = 'x'\n"

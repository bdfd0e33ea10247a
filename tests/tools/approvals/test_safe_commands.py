"""The known-safe command list (spec agent-core 5.3)."""

import pytest

from codex_actors.tools.approvals import is_known_safe_command


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "-la"],
        ["cat", "README.md"],
        ["/usr/bin/grep", "-rn", "TODO", "."],
        ["cd", "src"],
        ["echo", "hi"],
        ["wc", "-l", "x"],
        ["base64", "-d", "blob"],
        ["find", ".", "-name", "*.py", "-type", "f"],
        ["rg", "-n", "needle", "src"],
        ["git", "status"],
        ["git", "log", "--oneline", "-5"],
        ["git", "diff", "HEAD~1"],
        ["git", "show", "abc123"],
        ["git", "-C", "sub", "status"],
        ["git", "branch"],
        ["git", "branch", "--show-current"],
        ["git", "branch", "-a", "-vv"],
        ["git", "branch", "--format=%(refname:short)"],
        ["sed", "-n", "10p", "file"],
        ["sed", "-n", "1,20p", "file"],
        ["bash", "-lc", "ls && pwd"],
        ["zsh", "-lc", "git status; git log -3 | head -n 2"],
        ["bash", "-c", "grep -n 'a b' file || echo \"not found\""],
    ],
)
def test_read_only_commands_are_known_safe(argv):
    assert is_known_safe_command(argv, platform="linux")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["rm", "file"],
        ["python3", "script.py"],
        ["base64", "-o", "out", "in"],
        ["base64", "--output", "out"],
        ["base64", "--output=out"],
        ["base64", "-oout"],
        ["find", ".", "-delete"],
        ["find", ".", "-exec", "rm", "{}", ";"],
        ["find", ".", "-execdir", "x", ";"],
        ["find", ".", "-ok", "x", ";"],
        ["find", ".", "-okdir", "x", ";"],
        ["find", ".", "-fls", "out"],
        ["find", ".", "-fprint", "out"],
        ["find", ".", "-fprint0", "out"],
        ["find", ".", "-fprintf", "out", "%p"],
        ["rg", "--pre", "sh", "x"],
        ["rg", "--pre=sh", "x"],
        ["rg", "--hostname-bin", "evil", "x"],
        ["rg", "--search-zip", "x"],
        ["rg", "-z", "x"],
        ["git", "commit", "-m", "x"],
        ["git", "push"],
        ["git", "-c", "core.pager=evil", "log"],
        ["git", "-ccore.pager=evil", "log"],
        ["git", "--git-dir=/tmp/x", "status"],
        ["git", "--work-tree", "/tmp", "status"],
        ["git", "--exec-path=/tmp", "status"],
        ["git", "--namespace=x", "log"],
        ["git", "--super-prefix=x", "log"],
        ["git", "--config-env=core.pager=X", "log"],
        ["git", "-p", "log"],
        ["git", "log", "--output=/tmp/x"],
        ["git", "diff", "--ext-diff"],
        ["git", "show", "--textconv", "HEAD"],
        ["git", "log", "--paginate"],
        ["git", "branch", "-d", "main"],
        ["git", "branch", "new-branch"],
        ["git", "branch", "-m", "a", "b"],
        ["git"],
        ["sed", "-i", "s/a/b/", "f"],
        ["sed", "-n", "1,20p", "a", "b"],
        ["sed", "-n", "s/a/b/p", "f"],
        ["sed", "-n", "p", "f"],
        ["bash", "-lc", "ls && rm -rf /"],
        ["bash", "-lc", "ls > out.txt"],
        ["bash", "-lc", "echo $HOME"],
        ["bash", "-lc", "cat <<EOF\nhi\nEOF"],
        ["bash", "-lc", "ls", "extra"],
        ["fish", "-c", "ls"],
    ],
)
def test_commands_that_write_run_helpers_or_escape_are_not_known_safe(argv):
    assert not is_known_safe_command(argv, platform="linux")


def test_numfmt_and_tac_are_safe_only_on_linux():
    assert is_known_safe_command(["tac", "log"], platform="linux")
    assert is_known_safe_command(["numfmt", "--to=iec", "1024"], platform="linux")
    assert not is_known_safe_command(["tac", "log"], platform="darwin")


def test_zsh_is_treated_like_bash():
    assert is_known_safe_command(["zsh", "-lc", "ls | wc -l"], platform="linux")
    assert not is_known_safe_command(["zsh", "-lc", "ls | sh"], platform="linux")

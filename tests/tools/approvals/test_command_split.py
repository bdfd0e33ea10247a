"""Splitting `bash -lc` scripts into the simple commands that are judged (spec agent-core 5.3 step 1)."""

import pytest

from codex_actors.tools.approvals import split_for_evaluation


@pytest.mark.parametrize(
    ("script", "segments"),
    [
        ("ls", [["ls"]]),
        ("ls -la && pwd", [["ls", "-la"], ["pwd"]]),
        ("a || b ; c | d", [["a"], ["b"], ["c"], ["d"]]),
        ("a&&b||c;d|e", [["a"], ["b"], ["c"], ["d"], ["e"]]),
        ("echo 'a b' \"c d\"", [["echo", "a b", "c d"]]),
        ("echo 'it''s'", [["echo", "its"]]),
        ("echo \"say \\\"hi\\\"\"", [["echo", 'say "hi"']]),
        ("echo '$HOME *'", [["echo", "$HOME *"]]),
        ("ls;", [["ls"]]),
        ("ls\npwd\n", [["ls"], ["pwd"]]),
        ("ls &&\n  pwd", [["ls"], ["pwd"]]),
        ("git log --format=%H -1", [["git", "log", "--format=%H", "-1"]]),
        ("find . -name \\*.py", [["find", ".", "-name", "*.py"]]),
    ],
)
def test_plain_scripts_split_into_simple_commands(script, segments):
    split = split_for_evaluation(["bash", "-lc", script])
    assert split.kind == "plain"
    assert [list(s) for s in split.segments] == segments


@pytest.mark.parametrize(
    "script",
    [
        "ls > out",
        "cat < in",
        "ls 2>&1",
        "echo $HOME",
        "echo \"$HOME\"",
        "echo ${X}",
        "echo $(whoami)",
        "echo `whoami`",
        "echo \"`whoami`\"",
        "FOO=bar ls",
        "FOO+=bar",
        "ls *.py",
        "ls file?.txt",
        "ls [ab]",
        "echo {a,b}",
        "ls ~",
        "(ls)",
        "ls &",
        "a |& b",
        "case x in x) ;; esac",
        "ls && && pwd",
        "&& ls",
        "ls &&",
        "ls | ",
        "; ls",
        "echo 'unterminated",
        "echo \"unterminated",
        "ls # comment",
        "ls \\\n -la",
        "! ls",
        "",
        "   ",
        "cat <<EOF > out.txt\nhi\nEOF",
    ],
)
def test_scripts_with_any_other_shell_syntax_are_judged_whole(script):
    argv = ["bash", "-lc", script]
    split = split_for_evaluation(argv)
    assert split.kind == "whole"
    assert split.segments == (tuple(argv),)


def test_single_heredoc_command_is_judged_by_its_prefix():
    split = split_for_evaluation(["bash", "-lc", "python3 - <<'PY'\nprint(1)\nPY\n"])
    assert split.kind == "heredoc"
    assert split.segments == (("python3", "-"),)


def test_heredoc_followed_by_more_commands_is_judged_whole():
    script = "cat <<EOF\nx\nEOF\nrm -rf /\nEOF"
    assert split_for_evaluation(["bash", "-lc", script]).kind == "whole"


def test_dash_heredoc_allows_tab_indented_terminator():
    split = split_for_evaluation(["bash", "-lc", "cat <<-END\n\tbody\n\tEND"])
    assert split.segments == (("cat",),)


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "-la"],
        ["bash", "script.sh"],
        ["bash", "-x", "ls"],
        ["bash", "-lc", "ls", "more"],
        ["python3", "-c", "print(1)"],
    ],
)
def test_non_shell_script_argv_is_judged_whole(argv):
    assert split_for_evaluation(argv).segments == (tuple(argv),)


def test_shell_given_by_path_and_zsh_and_plain_c_flag_are_split():
    for argv in (["/bin/bash", "-lc", "ls && pwd"], ["zsh", "-c", "ls && pwd"], ["sh", "-c", "ls && pwd"]):
        assert split_for_evaluation(argv).segments == (("ls",), ("pwd",))

"""Patches sent as shell commands are recognised, raw patch bodies refused (agent-core spec 4.5)."""

import pytest

from codex_actors.tools.apply_patch.shell_intercept import (
    ApplyPatchInvocation,
    ImplicitInvocationError,
    intercept_argv,
    intercept_script,
)

PATCH = "*** Begin Patch\n*** Add File: foo\n+hi\n*** End Patch"


def heredoc(prefix="", suffix="", word="apply_patch", opener="<<'PATCH'", closer="PATCH"):
    return f"{prefix}{word} {opener}\n{PATCH}\n{closer}{suffix}"


@pytest.mark.parametrize("word", ["apply_patch", "applypatch"])
def test_direct_argv_form_is_intercepted(word):
    assert intercept_argv([word, PATCH]) == ApplyPatchInvocation(patch=PATCH)


@pytest.mark.parametrize("shell", ["bash", "/bin/zsh", "sh"])
@pytest.mark.parametrize("flag", ["-lc", "-c"])
def test_heredoc_in_a_shell_script_is_intercepted(shell, flag):
    assert intercept_argv([shell, flag, heredoc()]) == ApplyPatchInvocation(patch=PATCH)


@pytest.mark.parametrize("opener", ["<<EOF", "<<'EOF'", '<<"EOF"', "<< 'EOF'"])
def test_any_heredoc_quoting_is_accepted(opener):
    script = heredoc(opener=opener, closer="EOF", word="applypatch") + "\n"
    assert intercept_script(script) == ApplyPatchInvocation(patch=PATCH)


@pytest.mark.parametrize(
    ("prefix", "workdir"),
    [("cd foo && ", "foo"), ("cd 'foo bar' && ", "foo bar"), ('cd "foo bar" && ', "foo bar")],
)
def test_a_leading_cd_sets_the_workdir(prefix, workdir):
    invocation = intercept_argv(["bash", "-lc", heredoc(prefix)])
    assert invocation == ApplyPatchInvocation(patch=PATCH, workdir=workdir)
    assert invocation.resolve_cwd("/repo") == f"/repo/{workdir}"


@pytest.mark.parametrize(
    "script",
    [
        heredoc("cd foo; "),
        heredoc("cd foo || "),
        heredoc("cd foo | "),
        heredoc("echo foo && "),
        heredoc("cd foo bar && "),
        heredoc("cd foo && cd bar && "),
        heredoc("cd bar && ", " && echo done"),
        heredoc("echo foo; cd bar && "),
        "apply_patch foo <<'PATCH'\n" + PATCH + "\nPATCH",
        "ls -la",
        # the heredoc ends at the first delimiter line, so what follows it is a second command
        "apply_patch <<'EOF'\n" + PATCH + "\nEOF\nrm -rf x\nEOF",
    ],
)
def test_anything_else_around_the_heredoc_is_an_ordinary_command(script):
    assert intercept_argv(["bash", "-lc", script]) is None


def test_ordinary_argv_is_not_intercepted():
    assert intercept_argv(["ls", "-la"]) is None
    assert intercept_argv(["apply_patch"]) is None


def test_a_malformed_patch_is_still_routed_to_apply_patch_to_report_its_error():
    assert intercept_argv(["apply_patch", "garbage"]) == ApplyPatchInvocation(patch="garbage")


@pytest.mark.parametrize("argv", [[PATCH], ["bash", "-lc", PATCH]])
def test_a_raw_patch_body_as_command_is_refused_with_a_hint(argv):
    with pytest.raises(ImplicitInvocationError) as err:
        intercept_argv(argv)
    assert str(err.value) == 'patch detected without explicit call to apply_patch. Rerun as ["apply_patch", "<patch>"]'

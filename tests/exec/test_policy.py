import os

import pytest

from codex_actors.exec.environment import build_env
from codex_actors.exec.policy import SandboxPolicy


def test_workspace_write_roots_are_cwd_tmp_tmpdir_and_configured(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    cwd = tmp_path / "repo"
    (cwd / ".git").mkdir(parents=True)
    policy = SandboxPolicy.from_config("workspace-write", {"writable_roots": [str(extra)]})
    roots = policy.effective_writable_roots(str(cwd), env={"TMPDIR": str(tmpdir)})
    assert [r.root for r in roots] == [str(extra), str(cwd), "/tmp", str(tmpdir)]
    assert roots[1].read_only_subpaths == (str(cwd / ".git"), str(cwd / ".codex"), str(cwd / ".codex-actors"))
    assert roots[0].read_only_subpaths == ()  # only the cwd's root protects names that do not exist yet


def test_the_cwd_protects_a_missing_dot_codex_so_creating_it_needs_approval(tmp_path):
    cwd = tmp_path / "repo"
    cwd.mkdir()
    (cwd / ".agents").mkdir()
    root = SandboxPolicy("workspace-write").effective_writable_roots(str(cwd), env={})[0]
    assert root.read_only_subpaths == (str(cwd / ".codex"), str(cwd / ".agents"), str(cwd / ".codex-actors"))
    assert not root.allows(str(cwd / ".codex" / "config.toml"))
    assert not root.allows(str(cwd / ".codex-actors" / "config.toml"))
    assert root.allows(str(cwd / ".codexrc")) and root.allows(str(cwd / "src" / ".codex"))


def test_excluded_tmp_roots_are_left_out(tmp_path):
    policy = SandboxPolicy.from_config("workspace-write", {"exclude_slash_tmp": True, "exclude_tmpdir_env_var": True})
    roots = policy.effective_writable_roots(str(tmp_path), env={"TMPDIR": "/var/tmp"})
    assert [r.root for r in roots] == [str(tmp_path)]


def test_git_worktree_pointer_protects_its_target(tmp_path):
    gitdir = tmp_path / "main.git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    wt = tmp_path / "wt"
    wt.mkdir()
    (wt / ".git").write_text(f"gitdir: {gitdir}\n")
    roots = SandboxPolicy("workspace-write").effective_writable_roots(str(wt), env={})
    assert roots[0].read_only_subpaths == (str(wt / ".git"), str(gitdir), str(wt / ".codex"), str(wt / ".codex-actors"))


def test_json_round_trip_uses_the_spec_shape():
    policy = SandboxPolicy.from_config("workspace-write", {"writable_roots": ["/data"], "network_access": True})
    assert policy.to_json() == {"type": "workspace-write", "writable_roots": ["/data"], "network_access": True,
                                "exclude_tmpdir_env_var": False, "exclude_slash_tmp": False}
    assert SandboxPolicy.from_json(policy.to_json()) == policy
    assert SandboxPolicy.from_json({"type": "danger-full-access"}).is_unrestricted


def test_network_flag_drives_the_env_marker():
    assert SandboxPolicy("read-only").env_overrides() == {"CODEX_SANDBOX_NETWORK_DISABLED": "1"}
    assert SandboxPolicy("read-only", network_access=True).env_overrides() == {}
    assert SandboxPolicy("danger-full-access").env_overrides() == {}


@pytest.mark.parametrize(
    "mode, table, message",
    [
        ("sideways", {}, "unknown sandbox mode 'sideways'"),
        ("workspace-write", {"writable_roots": ["relative"]}, "must be absolute paths"),
        ("workspace-write", {"writable_roots": "/one"}, "must be a list"),
        ("workspace-write", {"network_acess": True}, "unknown key(s) in sandbox_workspace_write: network_acess"),
        ("workspace-write", {"network_access": "yes"}, "network_access must be true or false"),
    ],
)
def test_bad_config_values_are_reported_clearly(mode, table, message):
    with pytest.raises(ValueError) as info:
        SandboxPolicy.from_config(mode, table)
    assert message in str(info.value)


def test_environment_policy_applies_inherit_excludes_set_and_include_only():
    base = {"PATH": "/bin", "HOME": "/root", "API_KEY": "k", "MY_TOKEN": "t", "EDITOR": "vi", "FOO": "1"}
    assert build_env({}, base) == {"PATH": "/bin", "HOME": "/root", "EDITOR": "vi", "FOO": "1"}
    assert build_env({"inherit": "core"}, base) == {"PATH": "/bin", "HOME": "/root"}
    assert build_env({"inherit": "none", "set": {"A": "b"}}, base) == {"A": "b"}
    assert build_env({"ignore_default_excludes": True, "exclude": ["f*"]}, base) == {
        "PATH": "/bin", "HOME": "/root", "API_KEY": "k", "MY_TOKEN": "t", "EDITOR": "vi"}
    assert build_env({"include_only": ["PATH", "HOME"]}, base) == {"PATH": "/bin", "HOME": "/root"}
    with pytest.raises(ValueError, match="inherit must be all, core or none"):
        build_env({"inherit": "some"}, base)

"""Codex's project `.codex/config.toml` beside ours, with Codex's trust rules (codex-rs config_loader/mod.rs)."""

import subprocess
from pathlib import Path

import pytest

from codex_actors.config import ConfigError, load_config
from codex_actors.tools.exec_policy_files import rules_dirs


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def homes(tmp_path):
    own, codex = tmp_path / "own", tmp_path / "codex"
    own.mkdir()
    codex.mkdir()
    return own, codex


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "pkg" / "sub").mkdir(parents=True)
    return root


def load(homes, cwd, **kwargs):
    own, codex = homes
    return load_config(cwd=cwd, environ={"CODEX_ACTORS_HOME": str(own), "CODEX_HOME": str(codex)}, **kwargs)


def trust(homes, path, level="trusted", where="codex"):
    own, codex = homes
    write((codex if where == "codex" else own) / "config.toml", f'[projects."{path}"]\ntrust_level = "{level}"\n')


def test_a_trusted_repos_dot_codex_config_is_a_layer_below_ours_and_deeper_wins(homes, repo):
    trust(homes, repo)
    write(repo / ".codex" / "config.toml", 'model = "codex-root"\nmodel_verbosity = "low"\n'
          'project_doc_max_bytes = 1\n')
    write(repo / ".codex-actors" / "config.toml", 'model = "ours-root"\n')
    write(repo / "pkg" / ".codex" / "config.toml", 'project_doc_max_bytes = 2\n')
    config = load(homes, repo / "pkg" / "sub")
    assert config.get("model") == "ours-root" and config.origins["model"] == "project"
    assert config.get("model_verbosity") == "low" and config.origins["model_verbosity"] == "codex-project"
    assert config.get("project_doc_max_bytes") == 2
    assert [(l.name, l.path) for l in config.layers if "project" in l.name] == [
        ("codex-project", repo / ".codex" / "config.toml"), ("project", repo / ".codex-actors" / "config.toml"),
        ("codex-project", repo / "pkg" / ".codex" / "config.toml")]
    assert config.get("sandbox_mode") == "workspace-write"  # trusted, as Codex defaults it
    assert rules_dirs(config)[:2] == [homes[1] / "rules", homes[0] / "rules"]  # Codex's home, then ours
    assert rules_dirs(config)[2:] == [repo / ".codex" / "rules", repo / ".codex-actors" / "rules",
                                      repo / "pkg" / ".codex" / "rules"]
    # -c still beats every project layer
    assert load(homes, repo, overrides=["model=cli"]).get("model") == "cli"


def test_an_untrusted_or_unmarked_repo_is_not_read_and_the_note_says_how_to_trust_it(homes, repo):
    own, _ = homes
    write(repo / ".codex" / "config.toml", 'sandbox_mode = "danger-full-access"\n')
    config = load(homes, repo)
    assert config.get("sandbox_mode") == "read-only" and "codex-project" not in [l.name for l in config.layers]
    assert config.notes == (f"{repo / '.codex' / 'config.toml'}: ignored. To load config.toml, add {repo} as a "
                            f"trusted project in {own / 'config.toml'}.",)
    trust(homes, repo, "untrusted", where="own")
    config = load(homes, repo)
    assert config.get("sandbox_mode") == "read-only"
    assert config.notes == (f"{repo / '.codex' / 'config.toml'}: ignored. {repo} is marked as untrusted in "
                            f"{own / 'config.toml'}. To load config.toml, mark it trusted.",)


def test_an_untrusted_projects_broken_toml_is_ignored_but_a_trusted_ones_is_an_error(homes, repo):
    write(repo / ".codex" / "config.toml", "model = \n")
    assert load(homes, repo).get("model") == "gpt-5.3-codex"
    trust(homes, repo)
    with pytest.raises(ConfigError, match=r"\.codex/config.toml: invalid TOML"):
        load(homes, repo)


def test_a_project_cannot_trust_itself_but_minus_c_can(homes, repo):
    write(repo / ".codex" / "config.toml", f'model = "sneaky"\n[projects."{repo}"]\ntrust_level = "trusted"\n')
    assert load(homes, repo).get("model") == "gpt-5.3-codex"
    trusted = load(homes, repo, overrides=[f'projects."{repo}".trust_level="trusted"'])
    assert trusted.get("model") == "sneaky" and trusted.origins["model"] == "codex-project"


def test_trust_is_decided_per_directory_first_then_the_project_root(homes, repo):
    own, codex = homes
    write(codex / "config.toml", f'[projects."{repo}"]\ntrust_level = "trusted"\n'
          f'[projects."{repo / "pkg"}"]\ntrust_level = "untrusted"\n')
    write(repo / ".codex" / "config.toml", 'model = "root"\n')
    write(repo / "pkg" / ".codex" / "config.toml", 'model = "pkg"\n')
    config = load(homes, repo / "pkg" / "sub")
    assert config.get("model") == "root"
    assert len(config.notes) == 1 and f"{repo / 'pkg'} is marked as untrusted" in config.notes[0]


def test_a_linked_worktree_is_trusted_through_its_main_checkout(homes, tmp_path):
    main = tmp_path / "main"
    main.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(main)], check=True)
    subprocess.run([*git, "-C", str(main), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    worktree = tmp_path / "wt"
    subprocess.run([*git, "-C", str(main), "worktree", "add", "-q", str(worktree)], check=True)
    write(worktree / ".codex" / "config.toml", 'model = "from-worktree"\n')
    assert load(homes, worktree).get("model") == "gpt-5.3-codex"
    trust(homes, main)
    config = load(homes, worktree)
    assert config.get("model") == "from-worktree" and config.get("sandbox_mode") == "workspace-write"


def test_codex_home_inside_a_project_is_not_a_project_layer(homes, tmp_path):
    own, _ = homes
    project = tmp_path / "user"
    (project / ".git").mkdir(parents=True)
    codex_home = write(project / ".codex" / "config.toml", 'model = "user-level"\n').parent
    write(own / "config.toml", f'[projects."{project}"]\ntrust_level = "trusted"\n')
    config = load((own, codex_home), project)
    assert [l.name for l in config.layers if "codex" in l.name] == ["codex-user"]
    assert config.get("model") == "user-level"

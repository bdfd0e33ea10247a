"""AGENTS.md loading (spec agent-core 7.4).

Every fixture here is its own project root (a `.git` of its own, or a marker name no ancestor can hold), so a
stray `.git` or `AGENTS.md` above pytest's temp folder (a shared machine's /tmp) cannot change an outcome."""

import uuid

import pytest

from codex_actors.session.persistence import (
    agents_md_message_text,
    find_project_root,
    load_project_docs,
    load_user_instructions,
)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "AGENTS.md").write_text("root rules")
    (root / "pkg" / "AGENTS.md").write_text("pkg rules")
    (root / "pkg" / "AGENTS.override.md").write_text("pkg override")
    (root / "pkg" / "sub" / "CLAUDE.md").write_text("sub fallback")
    (tmp_path / "AGENTS.md").write_text("above the project root: never read")
    return root


def test_docs_concatenate_from_project_root_to_cwd_preferring_override(repo):
    cwd = repo / "pkg" / "sub"
    assert load_project_docs(cwd) == "root rules\n\npkg override"
    assert load_project_docs(cwd, fallback_filenames=["CLAUDE.md"]) == "root rules\n\npkg override\n\nsub fallback"


def test_project_root_is_found_by_markers(repo, tmp_path):
    cwd = repo / "pkg" / "sub"
    assert find_project_root(cwd) == repo
    assert find_project_root(cwd, []) == cwd
    marker = f".marker-{uuid.uuid4().hex}"  # a name no directory above tmp_path holds
    assert find_project_root(cwd, [marker]) == cwd
    (repo / "pkg" / marker).mkdir()
    assert find_project_root(cwd, [marker, ".git"]) == repo / "pkg"
    assert load_project_docs(cwd, markers=[]) is None
    assert load_project_docs(repo / "pkg", markers=[]) == "pkg override"


def test_budget_is_shared_by_all_files_and_zero_disables(repo):
    cwd = repo / "pkg"
    assert load_project_docs(cwd, max_bytes=len("root rules") + 3) == "root rules\n\npkg"
    assert load_project_docs(cwd, max_bytes=4) == "root"
    assert load_project_docs(cwd, max_bytes=0) is None
    with pytest.raises(ValueError, match="project_doc_max_bytes must be >= 0"):
        load_project_docs(cwd, max_bytes=-1)


def test_truncation_never_splits_a_character(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "AGENTS.md").write_text("héllo", encoding="utf-8")
    assert load_project_docs(tmp_path, max_bytes=2) == "h"


def test_empty_files_are_skipped(repo):
    (repo / "pkg" / "AGENTS.override.md").write_text("  \n")
    assert load_project_docs(repo / "pkg") == "root rules"


def test_global_override_then_config_instructions_then_project_docs(repo, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "AGENTS.md").write_text("global rules")
    cwd = repo / "pkg"
    assert load_user_instructions(home, cwd) == "global rules\n\n--- project-doc ---\n\nroot rules\n\npkg override"
    (home / "AGENTS.override.md").write_text("global override")
    assert load_user_instructions(home, cwd, config_instructions="from config", project_doc_max_bytes=0) == (
        "global override\n\nfrom config"
    )
    (home / "AGENTS.override.md").write_text("\n")
    assert load_user_instructions(home, cwd, project_doc_max_bytes=0) == "global rules"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / ".git").mkdir(parents=True)  # its own project root, with no AGENTS.md anywhere in it
    assert load_user_instructions(tmp_path / "nohome", elsewhere) is None


def test_message_text_wraps_instructions_for_the_cwd():
    assert agents_md_message_text("/repo", "be brief") == (
        "# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nbe brief\n</INSTRUCTIONS>"
    )

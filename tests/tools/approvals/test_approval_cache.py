"""Session-wide approval caching (spec agent-core 5.3 "Approval caching")."""

from codex_actors.tools.approvals import ApprovalCache


def test_approved_command_is_remembered_for_the_same_argv_cwd_and_permissions():
    cache = ApprovalCache()
    cache.approve_command(["cargo", "build"], cwd="/repo", sandbox_permissions="use_default")
    assert cache.is_command_approved(["cargo", "build"], cwd="/repo/./", sandbox_permissions="use_default")
    assert not cache.is_command_approved(["cargo", "build", "--release"], cwd="/repo", sandbox_permissions="use_default")
    assert not cache.is_command_approved(["cargo", "build"], cwd="/other", sandbox_permissions="use_default")
    assert not cache.is_command_approved(["cargo", "build"], cwd="/repo", sandbox_permissions="require_escalated")


def test_patch_approval_covers_each_touched_path():
    cache = ApprovalCache()
    cache.approve_patch(["src/a.py", "/repo/src/b.py"], cwd="/repo")
    assert cache.is_patch_approved(["/repo/src/a.py"], cwd="/elsewhere")
    assert cache.is_patch_approved(["src/b.py", "lib/../src/a.py"], cwd="/repo")
    assert not cache.is_patch_approved(["src/a.py", "src/c.py"], cwd="/repo")
    assert not cache.is_patch_approved([], cwd="/repo")


def test_caches_are_per_session():
    first, second = ApprovalCache(), ApprovalCache()
    first.approve_command(["make"], cwd="/repo")
    assert not second.is_command_approved(["make"], cwd="/repo")

"""`shell_snapshot` through a configured session: the login profile runs once, its noise stays out of outputs."""

import pytest

from codex_actors.protocol import events, ops
from codex_actors.runtime import RunOptions, open_configured_session
from codex_actors.testing import function_call, response, serve_scripted_model, text_message

from tests.session.test_rollout_resume import config_for

PROFILE = """echo profile-noise >&2
mkdir -p "$HOME/bin"; printf '#!/bin/sh\\necho mytool ran\\n' > "$HOME/bin/mytool"; chmod +x "$HOME/bin/mytool"
export PATH="$HOME/bin:$PATH"
echo run >> "$HOME/profile-runs"
"""


@pytest.mark.parametrize("enabled", [True, False])
async def test_shell_snapshot_key_decides_whether_the_profile_runs_per_command(tmp_path, monkeypatch, enabled):
    user_home = tmp_path / "user"
    user_home.mkdir()
    (user_home / ".bash_profile").write_text(PROFILE)
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("SHELL", "/bin/bash")
    script = [response(function_call("exec_command", {"cmd": "mytool"}, "c1"),
                       function_call("exec_command", {"cmd": "mytool"}, "c2")),
              response(text_message("done"))]
    async with serve_scripted_model(script) as server:
        config = config_for(tmp_path, server.url, "sandbox_mode=workspace-write",
                            f"shell_snapshot={str(enabled).lower()}")
        snapshots = config.home / "shell_snapshots"
        async with open_configured_session(config, RunOptions(ephemeral=True)) as session:
            await session.submit(ops.UserInputOp(items=[ops.TextInput("run it twice")]))
            seen = await session.wait_for(events.TaskComplete, timeout=30)
            files = sorted(p.name for p in snapshots.glob("*.sh")) if snapshots.exists() else []
    outputs = {i["call_id"]: i["output"] for i in server.requests[1].body["input"]
               if i["type"] == "function_call_output"}
    runs = len((user_home / "profile-runs").read_text().splitlines())
    if enabled:
        assert [o.split("Output:\n")[1] for o in outputs.values()] == ["mytool ran\n"] * 2
        assert runs == 1
        assert files == [f for f in files if f.startswith(session.session_id)] and len(files) == 1
        assert not list(snapshots.glob("*.sh"))  # removed when the session ended
    else:
        assert all("profile-noise\n" in o and "mytool ran\n" in o for o in outputs.values())
        assert runs == 2 and files == []
    assert not [e for e in seen if isinstance(e.msg, events.Warning)]


def test_a_non_boolean_shell_snapshot_is_a_config_error(tmp_path):
    from codex_actors.config import ConfigError

    with pytest.raises(ConfigError, match="shell_snapshot: expected a boolean"):
        config_for(tmp_path, "http://127.0.0.1:9/v1", 'shell_snapshot="yes"')

"""The notify program after a completed turn (spec agent-core 7.5)."""

import json
import os
import sys
import textwrap

import pytest
import trio

from codex_actors.session.persistence import NotifyError, notify_payload, spawn_notify

RECORDER = textwrap.dedent(
    """
    import json, os, sys
    out = sys.argv[1]
    with open(out + ".tmp", "w") as f:
        json.dump({"argv": sys.argv[2:], "stdin_is_null": os.path.samefile("/proc/self/fd/0", os.devnull)}, f)
    os.rename(out + ".tmp", out)
    """
)


def payload(**overrides):
    fields = dict(thread_id="t-uuid", turn_id="turn-1", cwd="/repo", input_messages=["fix it", "and test"],
                  last_assistant_message="Done.")
    fields.update(overrides)
    return notify_payload(**fields)


def test_payload_is_the_spec_json_with_kebab_case_keys():
    assert payload(client="codex-tui") == (
        '{"type":"agent-turn-complete","thread-id":"t-uuid","turn-id":"turn-1","cwd":"/repo","client":"codex-tui",'
        '"input-messages":["fix it","and test"],"last-assistant-message":"Done."}'
    )
    assert json.loads(payload(last_assistant_message=None)) == {
        "type": "agent-turn-complete", "thread-id": "t-uuid", "turn-id": "turn-1", "cwd": "/repo",
        "input-messages": ["fix it", "and test"], "last-assistant-message": None,
    }


async def wait_for(path):
    with trio.fail_after(20):
        while not path.exists():
            await trio.sleep(0.02)


async def test_notify_program_receives_the_json_as_its_last_argument_and_is_reaped(tmp_path):
    script = tmp_path / "notify.py"
    script.write_text(RECORDER)
    out = tmp_path / "out.json"
    sent = payload()
    async with trio.open_nursery() as nursery:
        pid = await spawn_notify(nursery, [sys.executable, str(script), str(out), "Codex"], sent)
        await wait_for(out)
    assert json.loads(out.read_text()) == {"argv": ["Codex", sent], "stdin_is_null": True}
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left


async def test_cancelled_session_kills_a_lingering_notify_program_after_the_grace(tmp_path):
    async with trio.open_nursery() as nursery:
        pid = await spawn_notify(nursery, [sys.executable, "-c", "import time; time.sleep(60)"], payload(), grace_s=0.1)
        nursery.cancel_scope.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


async def test_missing_program_and_empty_command_are_clear_errors(tmp_path):
    async with trio.open_nursery() as nursery:
        with pytest.raises(NotifyError, match="notify program '/nonexistent/notify' could not be started"):
            await spawn_notify(nursery, ["/nonexistent/notify"], payload())
        with pytest.raises(ValueError, match="empty command"):
            await spawn_notify(nursery, [], payload())

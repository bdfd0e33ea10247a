"""`exec` in human mode loads its renderer (rich) only once the first model request is out (issue 21)."""

import trio
import trio.testing

from codex_actors.cli import exec_driver
from codex_actors.cli.exec_driver import ExecRequest, _drive
from codex_actors.config import load_config
from codex_actors.protocol import events
from codex_actors.protocol.events import Event


class FakeHandle:
    """The driver's view of a session: an event stream, `submit`, and the first-request gate."""

    def __init__(self):
        self.send, self.events = trio.open_memory_channel(100)
        self.request_out = trio.Event()
        self.submitted = []

    async def submit(self, op, **_):
        self.submitted.append(op)
        return "turn-1"

    async def first_request_out(self):
        await self.request_out.wait()


async def test_the_human_renderer_is_built_after_the_turn_is_submitted_and_its_request_is_out(tmp_path, monkeypatch):
    built = []

    class RecordingPrinter:
        def __init__(self, config, request):
            built.append(len(handle.submitted))
            self.fed = []

        def start(self, nursery):
            pass

        def feed(self, msg):
            self.fed.append(type(msg).__name__)

        def finish(self, outcome):
            built.append(self.fed)

    monkeypatch.setattr(exec_driver, "_HumanPrinter", RecordingPrinter)
    handle = FakeHandle()
    config = load_config(cwd=tmp_path, environ={"CODEX_ACTORS_HOME": str(tmp_path / "home")})
    configured = events.SessionConfigured(session_id="s", model="m", model_provider_id="p", approval_policy="never",
                                          sandbox_policy={"type": "read-only"}, cwd=str(tmp_path),
                                          history_log_id=0, history_entry_count=0)
    async with trio.open_nursery() as nursery:
        outcome = []
        nursery.start_soon(lambda: _collect(outcome, handle, config))
        await handle.send.send(Event("", configured))
        await handle.send.send(Event("turn-1", events.TaskComplete(turn_id="turn-1", last_agent_message="done")))
        await trio.testing.wait_all_tasks_blocked()
        assert len(handle.submitted) == 1 and built == []  # the turn is submitted; rich is not loaded yet
        handle.request_out.set()
    assert built == [1, ["SessionConfigured", "TaskComplete"]]  # nothing lost, in order
    assert outcome[0].status == "completed" and outcome[0].last_agent_message == "done"


async def _collect(outcome, handle, config):
    outcome.append(await _drive(handle, config, ExecRequest(prompt="hi", color="never")))

"""exec_command / write_stdin with real processes: the model-facing text, events, sessions, cancellation."""

import base64
import random
import re
import uuid

import trio

from codex_actors.exec.policy import SandboxPolicy
from codex_actors.tools.router import ToolCall, ToolContext
from codex_actors.tools.services import SessionServices
from codex_actors.tools.unified_exec import STDIN_CLOSED, ExecContext, SessionStore, UnifiedExec
from codex_actors.tools.unified_exec_handlers import ExecCommandTool, WriteStdinTool
from tests.exec.proctable import assert_nothing_left
from tests.memory_probe import run_measured

FULL = SandboxPolicy("danger-full-access")
TEXT = re.compile(
    r"Chunk ID: [0-9a-f]{6}\nWall time: \d+\.\d{4} seconds\n(?P<status>Process exited with code -?\d+|"
    r"Process running with session ID \d+)\nOriginal token count: (?P<tokens>\d+)\nOutput:\n(?P<output>.*)\Z",
    re.S,
)


class Recorder:
    def __init__(self):
        self.events = []

    async def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if e["type"] == kind]


def ctx(rec, call_id="call-1", cwd="/tmp"):
    return ExecContext(call_id=call_id, turn_id="turn-1", cwd=cwd, emit=rec)


def parse(text):
    match = TEXT.match(text)
    assert match, text
    return match


def marker():
    return f"3{uuid.uuid4().int % 10**6:06d}"


async def test_short_command_reports_exit_and_output_in_the_spec_format():
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL, default_shell="/bin/bash")
        out = await ux.exec_command({"cmd": "echo hello; exit 3", "login": False}, ctx(rec))
        m = parse(out.text)
        assert m["status"] == "Process exited with code 3"
        assert (m["tokens"], m["output"]) == ("2", "hello\n")
        begin, = rec.of("exec_command_begin")
        assert begin["command"] == ["/bin/bash", "-c", "echo hello; exit 3"]
        assert begin["source"] == "unified_exec_startup" and begin["cwd"] == "/tmp"
        assert b"".join(base64.b64decode(e["chunk"]) for e in rec.of("exec_command_output_delta")) == b"hello\n"
        end, = rec.of("exec_command_end")
        assert (end["exit_code"], end["aggregated_output"], end["status"]) == (3, "hello\n", "failed")
        assert end["process_id"] == begin["process_id"] and end["formatted_output"] == out.text
        assert ux.live_session_ids == []


async def test_environment_of_spec_4_4_is_set():
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL, env={"PATH": "/usr/bin:/bin", "TERM": "xterm-256color"})
        out = await ux.exec_command({"cmd": "echo $NO_COLOR $TERM $LANG $LC_ALL $PAGER $GIT_PAGER $CODEX_CI "
                                            "[$COLORTERM]", "login": False}, ctx(rec))
        assert parse(out.text)["output"] == "1 dumb C.UTF-8 C.UTF-8 cat cat 1 []\n"


async def test_long_running_session_is_kept_then_polled_to_its_exit(tmp_path):
    """The command cannot exit before the test lets it (it waits for a file), so the first call always sees it
    running, however slow the machine; its output reaches the first call or the poll, never both, never lost."""
    rec = Recorder()
    release = tmp_path / "release"
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        out = await ux.exec_command({"cmd": f"echo first; until [ -e {release} ]; do sleep 0.05; done; echo second",
                                     "yield_time_ms": 250, "login": False}, ctx(rec))
        m = parse(out.text)
        session_id = int(m["status"].rsplit(" ", 1)[1])
        assert m["status"] == f"Process running with session ID {session_id}"
        first_output = m["output"]
        assert first_output in ("", "first\n")  # "" only when the shell had not started within 250 ms
        assert ux.live_session_ids == [session_id]
        release.touch()
        polled = await ux.write_stdin({"session_id": session_id, "yield_time_ms": 30000}, ctx(rec, "call-2"))
        m = parse(polled.text)
        assert m["status"] == "Process exited with code 0"
        assert first_output + m["output"] == "first\nsecond\n"
        assert len(rec.of("exec_command_end")) == 1
        gone = await ux.write_stdin({"session_id": session_id}, ctx(rec, "call-3"))
        assert (gone.text, gone.success) == (f"Unknown process id {session_id}", False)


async def test_tty_session_echoes_written_input():
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        m_ = marker()
        out = await ux.exec_command({"cmd": f"exec -a cat-{m_} cat", "tty": True, "yield_time_ms": 250,
                                     "login": False}, ctx(rec))
        session_id = int(parse(out.text)["status"].rsplit(" ", 1)[1])
        reply = await ux.write_stdin({"session_id": session_id, "chars": "hello tty\n", "yield_time_ms": 500},
                                     ctx(rec, "call-2"))
        m = parse(reply.text)
        assert m["status"] == f"Process running with session ID {session_id}"
        assert "hello tty" in m["output"]
        interaction, = rec.of("terminal_interaction")
        assert interaction == {"type": "terminal_interaction", "call_id": "call-1",
                               "process_id": str(session_id), "stdin": "hello tty\n"}
        await ux.aclose()
        assert rec.of("exec_command_end")[0]["status"] == "failed"
    assert_nothing_left(m_)


async def test_writing_to_a_non_tty_session_gives_the_spec_error():
    rec = Recorder()
    m_ = marker()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        out = await ux.exec_command({"cmd": f"sleep {m_}", "yield_time_ms": 250, "login": False}, ctx(rec))
        session_id = int(parse(out.text)["status"].rsplit(" ", 1)[1])
        reply = await ux.write_stdin({"session_id": session_id, "chars": "x"}, ctx(rec))
        assert (reply.text, reply.success) == (STDIN_CLOSED, False)
        assert reply.text.startswith("write_stdin failed: stdin is closed for this session; rerun exec_command "
                                     "with tty=true")
        await ux.aclose()
    assert_nothing_left(m_)


async def test_unknown_session_id_and_bad_arguments():
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        out = await ux.write_stdin({"session_id": 4242, "chars": "x"}, ctx(rec))
        assert (out.text, out.success) == ("Unknown process id 4242", False)
        bad = await ux.exec_command({"cmd": ""}, ctx(rec))
        assert (bad.text, bad.success) == ("failed to parse function arguments: `cmd` must be a non-empty string",
                                           False)
        bad = await ux.exec_command({"cmd": "true", "workdir": "/no/such/dir"}, ctx(rec))
        assert bad.text == "workdir '/no/such/dir' does not exist or is not a directory"
        bad = await ux.write_stdin({"session_id": "seven"}, ctx(rec))
        assert bad.text == "failed to parse function arguments: `session_id` must be an integer"
        assert rec.events == []


async def test_cancelled_call_returns_promptly_with_output_so_far_and_kills_the_group():
    rec = Recorder()
    m_ = marker()
    started = trio.Event()

    async def emit(event):
        rec.events.append(event)
        if event["type"] == "exec_command_output_delta":
            started.set()

    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        async with trio.open_nursery() as calls:
            calls.start_soon(ux.exec_command, {"cmd": f"echo started; sleep {m_} & sleep {m_}; wait",
                                               "yield_time_ms": 30000, "login": False}, ctx(emit))
            with trio.fail_after(10):
                await started.wait()
            calls.cancel_scope.cancel()
        assert trio.current_time() - t0 < 8
        end, = rec.of("exec_command_end")
        assert end["aggregated_output"] == "started\n" and end["status"] == "failed"
        assert ux.live_session_ids == []
    assert_nothing_left(m_)


async def test_a_call_cancelled_while_its_process_starts_still_ends_with_one_end_event(monkeypatch):
    # Under load the turn can be interrupted after the process is spawned but before its actor is ready (seen
    # in a loaded run of the suite): the begin event is out, so the end event is owed all the same.
    from codex_actors.exec.process import ProcessActor

    rec = Recorder()
    m_ = marker()
    spawned = trio.Event()
    original = ProcessActor.background

    async def slow_background(self, nursery):
        spawned.set()
        await trio.sleep_forever()  # cancelled with the call, before the actor reports ready
        await original(self, nursery)

    monkeypatch.setattr(ProcessActor, "background", slow_background)
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        async with trio.open_nursery() as calls:
            calls.start_soon(ux.exec_command, {"cmd": f"sleep {m_}", "yield_time_ms": 30000, "login": False},
                             ctx(rec))
            with trio.fail_after(10):
                await spawned.wait()
            calls.cancel_scope.cancel()
        begin, = rec.of("exec_command_begin")
        end, = rec.of("exec_command_end")
        assert end["call_id"] == begin["call_id"] and end["status"] == "failed"
        assert ux.live_session_ids == []
    assert_nothing_left(m_)


async def test_fifty_concurrent_calls_finish_correctly_and_leave_nothing():
    rec = Recorder()
    results = {}
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)

        async def one(i):
            out = await ux.exec_command({"cmd": f"echo codex-actors-fifty $(({i} * {i}))", "login": False,
                                         "yield_time_ms": 30000}, ctx(rec, f"call-{i}"))
            results[i] = parse(out.text)

        async with trio.open_nursery() as calls:
            for i in range(50):
                calls.start_soon(one, i)
        assert ux.live_session_ids == []
    assert {i: (m["status"], m["output"]) for i, m in results.items()} == {
        i: ("Process exited with code 0", f"codex-actors-fifty {i * i}\n") for i in range(50)}
    assert len(rec.of("exec_command_end")) == 50
    assert_nothing_left("codex-actors-fifty")


async def hundred_megabytes_through_exec_command() -> dict:
    """Run in a fresh interpreter by `run_measured`."""
    deltas = 0

    async def count(event):
        nonlocal deltas
        deltas += event["type"] == "exec_command_output_delta"

    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        out = await ux.exec_command({"cmd": "head -c 100000000 /dev/zero | tr '\\0' a; echo; echo END",
                                     "login": False, "yield_time_ms": 30000, "max_output_tokens": 100},
                                    ctx(count))
    return {"text": out.text, "deltas": deltas}


async def test_hundred_megabytes_are_truncated_to_head_and_tail_with_bounded_memory():
    result = await run_measured("tests.tools.test_unified_exec", "hundred_megabytes_through_exec_command")
    m = parse(result["text"])
    assert m["status"] == "Process exited with code 0"
    assert m["tokens"] == str(1024 * 1024 // 4)  # the 1 MiB head+tail buffer, 4 bytes per token
    assert re.fullmatch(r"Total output lines: 2\n\na{200}…262044 tokens truncated…a+\nEND\n", m["output"])
    assert result["deltas"] == 10_000
    assert result["peak_growth_kib"] < 64 * 1024, f"peak memory grew by {result['peak_growth_kib']} KiB"


async def test_network_marker_variable_follows_the_policy():
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=SandboxPolicy("danger-full-access"))
        out = await ux.exec_command({"cmd": "echo [$CODEX_SANDBOX_NETWORK_DISABLED]", "login": False},
                                    ctx(Recorder()))
        assert parse(out.text)["output"] == "[]\n"


async def test_router_adapters_emit_protocol_events():
    from codex_actors.protocol.events import ExecCommandBegin, ExecCommandEnd

    events = []

    async def emit(event):
        events.append(event)

    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        tool_ctx = ToolContext(turn_id="t", cwd="/tmp", emit=emit, services=SessionServices(processes=ux))
        result = await ExecCommandTool().handle(
            ToolCall("c1", "exec_command", "function", '{"cmd": "echo via router", "login": false}'), tool_ctx)
        assert parse(result.output)["output"] == "via router\n" and result.success
        assert isinstance(events[0], ExecCommandBegin) and isinstance(events[-1], ExecCommandEnd)
        result = await WriteStdinTool(ux).handle(ToolCall("c2", "write_stdin", "function", '{"session_id": 5}'),
                                                 tool_ctx)
        assert (result.output, result.success) == ("Unknown process id 5", False)
        assert ExecCommandTool().spec()["name"] == "exec_command"


def test_store_prunes_exited_sessions_first_then_the_oldest_outside_the_recent_eight():
    store = SessionStore(random.Random(1))
    ids = [store.new_id() for _ in range(64)]
    assert len(set(ids)) == 64 and all(1000 <= i < 100_000 for i in ids)
    for i in ids:
        store.add(i)
    assert store.prune_candidate() == ids[0]
    store.mark_exited(ids[30])
    assert store.prune_candidate() == ids[30]
    store.remove(ids[30])
    assert store.prune_candidate() is None
    store.add(ids[30])
    store.touch(ids[0])
    assert store.prune_candidate() == ids[1]


async def test_full_store_prunes_the_oldest_session_and_warns_near_the_limit(monkeypatch):
    import codex_actors.tools.unified_exec as ue

    monkeypatch.setattr(ue, "MAX_SESSIONS", 3)
    monkeypatch.setattr(ue, "WARN_SESSIONS", 3)
    monkeypatch.setattr(ue, "PROTECTED_RECENT", 1)
    rec = Recorder()
    m_ = marker()
    async with trio.open_nursery() as nursery:
        ux = UnifiedExec(nursery, policy=FULL)
        ids = []
        for i in range(4):
            out = await ux.exec_command({"cmd": f"sleep {m_}", "yield_time_ms": 250, "login": False},
                                        ctx(rec, f"call-{i}"))
            ids.append(int(parse(out.text)["status"].rsplit(" ", 1)[1]))
        assert sorted(ux.live_session_ids) == sorted(ids[1:])
        pruned = [e for e in rec.of("exec_command_end") if e["call_id"] == "call-0"]
        assert len(pruned) == 1 and pruned[0]["status"] == "failed"
        assert rec.of("warning")[0]["message"].startswith(
            "The maximum number of unified exec processes you can keep open is 3")
        await ux.aclose()
        assert len(rec.of("exec_command_end")) == 4
    assert_nothing_left(m_)

"""ProcessActor and run_command with real processes: output, timeouts, kill ladder, PTY, cancellation."""

import math
import uuid

import pytest
import trio

from codex_actors.actors import start_actor
from codex_actors.exec.process import (
    Collect, ProcessActor, ProcessSpec, SpawnError, Summarize, Terminate, WriteStdin, run_command,
)
from tests.exec.proctable import assert_nothing_left, processes_with
from tests.memory_probe import run_measured


def marker() -> str:
    """A unique `sleep` argument that identifies our processes in the process table."""
    return f"3{uuid.uuid4().int % 10**6:06d}"


async def test_exit_code_and_separate_streams():
    m = marker()
    result = await run_command(ProcessSpec(["bash", "-c", f": {m}; echo out; echo err >&2; exit 3"], "/tmp"),
                               timeout_s=20)
    assert (result.exit_code, result.stdout, result.stderr, result.timed_out) == (3, b"out\n", b"err\n", False)
    assert_nothing_left(m)


async def test_timeout_kills_the_whole_group_keeps_output_and_exits_124():
    m = marker()
    # 2 s: long enough for bash to start and print on a loaded machine, which the output assertion needs.
    result = await run_command(ProcessSpec(["bash", "-c", f"echo before; sleep {m} & sleep {m}; wait"], "/tmp"),
                               timeout_s=2)
    assert result.timed_out and result.exit_code == 124
    assert result.stdout == b"before\n"
    assert_nothing_left(m)


async def test_background_leftovers_are_terminated_when_the_command_exits():
    m = marker()
    result = await run_command(
        ProcessSpec(["bash", "-c", f"(trap '' TERM; exec sleep {m}) & sleep {m} & echo main done"], "/tmp"),
        timeout_s=20)
    assert result.exit_code == 0 and result.stdout == b"main done\n"
    assert_nothing_left(m)


async def test_killed_by_signal_reports_128_plus_signal():
    result = await run_command(ProcessSpec(["bash", "-c", "kill -KILL $$"], "/tmp"), timeout_s=20)
    assert result.exit_code == 137


async def test_missing_program_and_missing_cwd_are_clear_errors(tmp_path):
    result = await run_command(ProcessSpec(["no-such-program-xyz"], str(tmp_path)), timeout_s=20)
    assert result.exit_code == 127
    assert b"cannot run no-such-program-xyz: No such file or directory" in result.stderr
    with pytest.raises(SpawnError, match="failed to start 'ls' in '/nonexistent-dir-xyz'"):
        await run_command(ProcessSpec(["ls"], "/nonexistent-dir-xyz"), timeout_s=20)


async def test_tty_session_echoes_what_is_written():
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, ProcessActor(ProcessSpec(["cat"], "/tmp", tty=True)))
        assert await ref.ask(WriteStdin(b"ping-pong\n")) is None
        seen = b""
        with trio.fail_after(10):
            while seen.count(b"ping-pong") < 2:  # the terminal's echo, then cat's copy
                seen += (await ref.ask(Collect(trio.current_time() + 0.2))).output
        await ref.ask(WriteStdin(b"\x04"))  # Ctrl-D: end of input for cat
        chunk = await ref.ask(Collect(trio.current_time() + 10))
        assert chunk.exit_code == 0
        await ref.stop()


async def test_pipe_session_refuses_stdin_writes():
    async with trio.open_nursery() as nursery:
        m = marker()
        ref = await start_actor(nursery, ProcessActor(ProcessSpec(["sleep", m], "/tmp")))
        assert await ref.ask(WriteStdin(b"x")) == "stdin is closed for this session"
        await ref.stop()
    assert_nothing_left(m)


async def hundred_megabytes_through_run_command() -> dict:
    """Run in a fresh interpreter by `run_measured`."""
    seen = 0

    async def count(stream, data):
        nonlocal seen
        seen += len(data)

    script = "head -c 50000000 /dev/zero | tr '\\0' a; head -c 50000000 /dev/zero | tr '\\0' b"
    result = await run_command(ProcessSpec(["bash", "-c", script], "/tmp"), timeout_s=60, on_output=count)
    return {"seen": seen, "kept": len(result.aggregated), "head_a": result.aggregated.startswith(b"a" * 1000),
            "tail_b": result.aggregated.endswith(b"b" * 1000)}


async def test_hundred_megabytes_of_output_stay_within_the_head_tail_cap():
    result = await run_measured("tests.exec.test_process", "hundred_megabytes_through_run_command")
    assert (result["seen"], result["kept"], result["head_a"], result["tail_b"]) == \
        (100_000_000, 1024 * 1024, True, True)
    assert result["peak_growth_kib"] < 64 * 1024, f"peak memory grew by {result['peak_growth_kib']} KiB"


# -- cancellation at every phase ------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [0, 0.001, 0.01, 0.05])
async def test_cancel_while_starting_leaves_nothing(delay):
    m = marker()
    with trio.move_on_after(delay):
        await run_command(ProcessSpec(["sleep", m], "/tmp"), timeout_s=None)
    assert_nothing_left(m)


async def test_cancel_while_running_returns_promptly_with_output_so_far():
    m = marker()
    started = trio.Event()
    summaries = []

    async def on_output(stream, data):
        started.set()

    async def on_exit(summary):
        summaries.append(summary)

    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        async def call():
            await run_command(ProcessSpec(["bash", "-c", f"echo started; sleep {m} & sleep {m}; wait"], "/tmp"),
                              timeout_s=None, on_output=on_output, on_exit=on_exit)
        nursery.start_soon(call)
        with trio.fail_after(10):
            await started.wait()
        nursery.cancel_scope.cancel()
    assert trio.current_time() - t0 < 8
    assert summaries and summaries[0].stdout == b"started\n"
    assert_nothing_left(m)


async def test_cancel_while_draining_output_to_a_slow_consumer():
    m = marker()
    first = trio.Event()

    async def stuck_consumer(stream, data):
        first.set()
        await trio.sleep_forever()

    with trio.move_on_after(20) as scope:
        async with trio.open_nursery() as nursery:
            async def call():
                await run_command(ProcessSpec(["bash", "-c", f"yes {m} | head -c 10000000; sleep {m}"], "/tmp"),
                                  timeout_s=None, on_output=stuck_consumer)
            nursery.start_soon(call)
            await first.wait()
            nursery.cancel_scope.cancel()
    assert not scope.cancelled_caught
    assert_nothing_left(m)


async def test_cancel_while_the_launcher_is_killing_leftovers():
    """The command has exited; its leftover ignores SIGTERM, so the launcher is inside its grace period."""
    m = marker()
    left = trio.Event()

    async def on_output(stream, data):
        left.set()

    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, ProcessActor(ProcessSpec(
            ["bash", "-c", f"(trap '' TERM; exec sleep {m}) & echo leaving"], "/tmp"), on_output=on_output))
        with trio.fail_after(20):  # until bash has said it leaves and has exited: only its leftover runs
            await left.wait()
            while [cmd for _, state, cmd in processes_with(m) if cmd.startswith("bash") and state != "Z"]:
                await trio.sleep(0.02)
        await ref.stop()
    assert_nothing_left(m)


async def test_terminate_answers_after_the_tree_is_gone_with_the_remaining_output():
    m = marker()
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, ProcessActor(ProcessSpec(["bash", "-c", f"echo hi; sleep {m}"], "/tmp")))
        first = await ref.ask(Collect(trio.current_time() + 0.3))
        assert first.exit_code is None
        final = await ref.ask(Terminate())
        assert final.exit_code == 128 + 15
        assert (first.output + final.output) == b"hi\n"
        assert_nothing_left(m)
        summary = await ref.ask(Summarize())
        assert summary.aggregated == b"hi\n"
        await ref.stop()
    assert math.isfinite(summary.duration_s)

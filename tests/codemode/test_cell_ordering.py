"""The order a cell hears its runtime in, when a yield deadline and the runtime's own events cross."""

import trio

from codex_actors.codemode import Terminated, TextItem, Yielded
from codex_actors.codemode.cell import Cell, Observe, Terminate, _TimerFired
from codex_actors.codemode.pool import RuntimePool


async def _no_tools(call):
    raise AssertionError(f"no nested tool was expected: {call!r}")


async def test_a_yield_waiting_in_the_inbox_is_not_overtaken_by_the_output_a_deadline_drains():
    # The race, built on purpose (seen on a slow machine with `yield_time_ms` 1): the deadline's message is
    # queued, then the runtime's flush queues the yield behind it, while the text written after the yield is
    # still in the log (a busy loop never hands it over). The deadline drains the log: the yield must come first.
    pool = RuntimePool(size=0, max_heap_bytes=64 * 1024 * 1024)
    runtime = await pool.take([])
    cell = Cell("1", runtime, code='yield_control(); text("after"); while (true) {}', tools=[], stored={},
                dispatcher=_no_tools, notifier=None, exec_call_id="call", commit=lambda writes: None,
                on_closed=lambda cell_id: None)
    answers, answer = trio.open_memory_channel(2)
    cell.submit()  # queues Started
    cell.post(Observe("exec", 0, answers))
    cell.post(_TimerFired("exec"))
    with trio.fail_after(10):
        # Private state, read only to wait for the moment of the race: the yield has been flushed into the
        # inbox (Started, Observe, the deadline, the yield) and JS has written "after" to the log.
        while cell._inbox.statistics().current_buffer_used < 4 or runtime._isolate.mailbox_int(0) == 0:
            await trio.sleep(0.001)
    async with trio.open_nursery() as nursery:
        await nursery.start(cell.run)
        with trio.fail_after(10):
            assert await answer.receive() == Yielded("1", ())
            cell.post(Terminate("wait", answers))
            assert await answer.receive() == Terminated("1", (TextItem("after"),))
    await pool.close()

"""Service-level lifecycle on real V8: terminate, shutdown, observers, heap limit, cancellation at each phase."""

import os
import threading

import pytest
import trio
from codex_actors.codemode.v8bridge import context_count

from codex_actors.codemode import (
    CodeModeError,
    Completed,
    MissingCell,
    NestedToolSpec,
    Terminated,
    TextItem,
    Yielded,
    open_code_mode_service,
)
from codex_actors.codemode.service import CodeModeService
from codex_actors.testing.os_threads import native_only_threads, thread_alive

from tests.codemode.helpers import Tools


def v8_threads() -> list[int]:
    """Live V8 contexts of this process (each owns exactly one isolate thread)."""
    return [1] * (context_count() - BASE_CONTEXTS)


BASE_CONTEXTS = 0
PROMPT_S = 5.0
"""Bound for "does not wait for what never ends" (a busy loop, a stuck tool or notifier): nothing in the service
waits that long, and a loaded machine must not fail it; how fast terminate is lives in `benchmarks.exec_overhead`."""


@pytest.fixture
async def env():
    tools = Tools()
    async with open_code_mode_service(tools, pool_size=1) as service:
        yield service, tools


async def test_terminate_answers_only_after_v8_thread_exits(env):
    service, _ = env
    cell_id = await service.create_cell("while (true) {}")
    thread = service._cells[cell_id].runtime.native_thread_id
    assert thread_alive(thread)
    outcome = await service.terminate(cell_id)
    assert outcome == Terminated(cell_id, ())
    assert not thread_alive(thread)


async def test_missing_cell_observation(env):
    service, _ = env
    assert await service.observe("missing") == MissingCell("missing", "exec cell missing not found")


async def test_shutdown_interrupts_a_busy_cell_promptly():
    service = CodeModeService(Tools(), pool_size=1)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create_cell("while (true) {}")
        start = trio.current_time()
        await service.shutdown()
        assert trio.current_time() - start < PROMPT_S
        assert not service.is_alive()
        with pytest.raises(CodeModeError, match="^code mode session is shutting down$"):
            await service.create_cell("text(1)")
    assert v8_threads() == []


async def test_second_observer_is_refused_and_terminate_answers_both(env):
    service, _ = env
    cell_id = await service.create_cell("yield_control(); await tools.block({})", tools=Tools.specs)
    assert await service.observe(cell_id, 60_000) == Yielded(cell_id, ())
    results = []
    async with trio.open_nursery() as nursery:
        async def first():
            results.append(await service.observe(cell_id, 60_000))
        nursery.start_soon(first)
        with trio.fail_after(10):
            await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(CodeModeError) as info:
            await service.observe(cell_id, 60_000)
        assert str(info.value) == f"exec cell {cell_id} already has an active observer"
        results.append(await service.terminate(cell_id))
    assert results == [Terminated(cell_id, ()), Terminated(cell_id, ())]


async def test_second_terminate_while_terminating_is_refused(env):
    service, tools = env

    called = trio.Event()

    async def stubborn(call):
        called.set()
        with trio.CancelScope(shield=True):
            await trio.sleep(0.3)
        return "late"

    async with open_code_mode_service(stubborn, pool_size=0) as other:
        cell_id = await other.create_cell("await tools.slow({})", tools=[NestedToolSpec("slow")])
        with trio.fail_after(10):
            await called.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other.terminate, cell_id)
            with trio.fail_after(10):
                await trio.testing.wait_all_tasks_blocked()  # the first terminate is under way
            with pytest.raises(CodeModeError) as info:
                await other.terminate(cell_id)
            assert str(info.value) == f"exec cell {cell_id} is already terminating"


async def test_notifications_are_drained_before_completion():
    released = trio.Event()
    called = trio.Event()
    seen = []
    answers = []

    async def notifier(cell_id, call_id, text):
        seen.append((cell_id, call_id, text))
        called.set()
        await released.wait()

    async with open_code_mode_service(Tools(), notifier=notifier, pool_size=0) as service:
        cell_id = await service.create_cell('notify("pending")', exec_call_id="call-9")

        async def observe():
            outcome = await service.observe(cell_id, 60_000)
            answers.append((released.is_set(), outcome))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(observe)
            with trio.fail_after(10):
                await called.wait()
                await trio.testing.wait_all_tasks_blocked()
            assert answers == []
            released.set()
    # the observation was answered only after the notification finished
    assert answers == [(True, Completed(cell_id, (), None))]
    assert seen == [(cell_id, "call-9", "pending")]


async def test_unawaited_tool_call_is_cancelled_by_completion(env):
    service, tools = env
    outcome = await service.execute("tools.block({}); await new Promise(r => setTimeout(r, 100)); text('done');",
                                    tools=Tools.specs)
    assert outcome == Completed(outcome.cell_id, (TextItem("done"),), None)
    assert tools.cancelled == ["block"]


async def test_terminate_with_never_resolving_tool_is_quick(env):
    service, tools = env
    cell_id = await service.create_cell("await tools.block({})", tools=Tools.specs)
    await tools.started.wait()
    start = trio.current_time()
    assert await service.terminate(cell_id) == Terminated(cell_id, ())
    assert trio.current_time() - start < PROMPT_S


async def test_early_yield_is_kept_for_the_first_observer(env):
    service, tools = env
    cell_id = await service.create_cell('text("before"); yield_control(); text("after"); await tools.block({});',
                                        tools=Tools.specs)
    await tools.started.wait()
    assert await service.observe(cell_id, 60_000) == Yielded(cell_id, (TextItem("before"),))
    assert await service.observe(cell_id, 10) == Yielded(cell_id, (TextItem("after"),))
    await service.terminate(cell_id)


async def test_natural_completion_wins_over_terminate(env):
    service, _ = env
    cell_id = await service.create_cell('yield_control(); store("finished", true); text("done");')
    assert await service.observe(cell_id, 1) == Yielded(cell_id, ())
    with trio.fail_after(10):  # a probe cell sees the write once the completion is committed (spec 7.56)
        while (await service.execute('text(String(load("finished")))')).items != (TextItem("true"),):
            pass
    assert await service.terminate(cell_id) == Completed(cell_id, (TextItem("done"),), None)


async def test_terminate_before_ever_observed(env):
    service, _ = env
    cell_id = await service.create_cell("await new Promise(() => {});")
    assert await service.terminate(cell_id) == Terminated(cell_id, ())


async def test_heap_limit_fails_only_that_cell():
    async with open_code_mode_service(Tools(), max_heap_bytes=32 * 1024 * 1024, pool_size=0) as service:
        other = await service.create_cell('yield_control(); await tools.gate({name: "x"}); text("still fine")',
                                          tools=Tools.specs)
        for code in ("let a = []; while (true) a.push(new Array(1000).fill(1));",
                     "await 0; let a = []; while (true) a.push(new Array(1000).fill(1));"):
            outcome = await service.execute(code, yield_time_ms=3000)  # the async case is seen at expiry
            with trio.fail_after(60):
                while isinstance(outcome, Yielded) and outcome.items == ():  # a loaded machine: not full yet
                    outcome = await service.observe(outcome.cell_id, 3000)
            assert isinstance(outcome, Completed), outcome
            assert outcome.error_text.startswith("RangeError: JavaScript heap limit reached")
        assert (await service.execute('text("alive")')).items == (TextItem("alive"),)
        assert await service.observe(other, 10) == Yielded(other, ())
        await service.terminate(other)


# ---- cancellation at each phase of a cell (the caller's observation is cancelled) ------------------------------

@pytest.mark.parametrize(
    "code",
    [
        "text('x')",  # cancelled right away: before the script could start
        "text('x'); while (true) {}",  # running JS
        "text('x'); await tools.block({})",  # awaiting a nested tool
        "text('x'); yield_control(); await tools.block({})",  # after yielding
    ],
)
async def test_cancelled_observer_consumes_nothing(env, code):
    service, _ = env
    cell_id = await service.create_cell(code, tools=Tools.specs)
    with trio.CancelScope() as scope:
        scope.cancel()
        await service.observe(cell_id, 60_000)
    outcome = await service.observe(cell_id, 200)
    assert outcome.items == (TextItem("x"),)
    await service.terminate(cell_id)


async def settled(service, cell_id):
    """Wait (bounded) until the cell's script has completed with nobody observing it."""
    from codex_actors.codemode.core import Phase

    core = service._cells[cell_id]._core
    with trio.fail_after(10):
        while core.phase is not Phase.COMPLETED:
            await trio.sleep(0.005)


@pytest.mark.parametrize("then", ["observe", "terminate"])
async def test_a_completion_handed_to_a_cancelled_observer_goes_to_the_next_one(env, then):
    """The cell has finished before anyone observes: the cancelled observer's answer (the completion, which
    closes the cell) must reach the next observe or terminate, not vanish as a missing cell (spec 3.2 step 6)."""
    service, _ = env
    cell_id = await service.create_cell("text('x')")
    await settled(service, cell_id)
    with trio.CancelScope() as scope:
        scope.cancel()
        await service.observe(cell_id, 60_000)
    outcome = await (service.observe(cell_id, 200) if then == "observe" else service.terminate(cell_id))
    assert isinstance(outcome, Completed) and outcome.items == (TextItem("x"),), outcome
    assert isinstance(await service.observe(cell_id, 200), MissingCell)  # delivered once


async def test_cancelling_the_service_owner_joins_all_v8_threads():
    with trio.move_on_after(0.3):
        async with open_code_mode_service(Tools()) as service:
            await service.create_cell("while (true) {}")
            await service.create_cell("await tools.block({})", tools=Tools.specs)
            await trio.sleep_forever()
    assert v8_threads() == []
    assert context_count() == 0


async def test_cancelling_the_owner_at_any_moment_of_cell_creation_is_a_plain_cancellation():
    # Seen on a loaded machine: the owner's cancellation reached create_cell while it took a runtime, and it
    # raised "code mode session is shutting down" instead of the caller's own Cancelled.
    for step in range(40):
        with trio.move_on_after(step * 0.0005):
            async with open_code_mode_service(Tools()) as service:
                await service.create_cell("while (true) {}")
                await service.create_cell("await tools.block({})", tools=Tools.specs)
                await trio.sleep_forever()
        assert context_count() == 0, step


async def test_a_cell_asked_for_once_the_pool_has_closed_is_refused_as_a_shutdown():
    # Seen in CI: the owner's cancellation closed the pool (its task's finally) before the service had marked
    # itself shutting down, and create_cell answered "failed to initialize code mode runtime".
    async with open_code_mode_service(Tools()) as service:
        await service._pool.close()  # the moment between the pool's close and the service's own shutdown
        with pytest.raises(CodeModeError, match="^code mode session is shutting down$"):
            await service.create_cell('text("ok")')
    assert context_count() == 0


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_500_exec_terminate_cycles_return_to_baseline():
    def own_threads():
        # trio's idle worker-cache threads come and go on their own; they are not ours to count
        return [t for t in threading.enumerate() if not t.name.startswith("Trio thread")]

    threads_before = len(own_threads())
    native_before = native_only_threads()
    fds_before = len(os.listdir("/proc/self/fd"))
    async with open_code_mode_service(Tools(), pool_size=2) as service:
        for _ in range(20):
            await service.terminate(await service.create_cell("while (true) {}"))
        rss_before = rss_bytes()
        for index in range(500):
            if index % 2:
                assert (await service.execute('text("ok")')).items == (TextItem("ok"),)
                continue
            cell_id = await service.create_cell("while (true) {}")
            assert await service.terminate(cell_id) == Terminated(cell_id, ())
        growth = rss_bytes() - rss_before
    assert context_count() == 0
    assert native_only_threads() == native_before
    assert len(os.listdir("/proc/self/fd")) == fds_before
    assert len(own_threads()) == threads_before
    assert growth < 50 * 1024 * 1024, growth


async def test_never_resolving_notification_blocks_neither_terminate_nor_shutdown():
    async def stuck_notifier(cell_id, call_id, text):
        await trio.sleep_forever()

    async with open_code_mode_service(Tools(), notifier=stuck_notifier, pool_size=0) as service:
        pending = await service.create_cell('notify("a"); await new Promise(() => {})')
        finishing = await service.create_cell('notify("b")')
        start = trio.current_time()
        assert await service.terminate(pending) == Terminated(pending, ())
        assert trio.current_time() - start < PROMPT_S
        start = trio.current_time()
        await service.shutdown()
        assert trio.current_time() - start < PROMPT_S
    assert v8_threads() == []
    assert finishing == "2"


async def test_two_live_cells_each_run_on_their_own_thread(env):
    service, _ = env
    first = await service.create_cell("while (true) {}")
    second = await service.create_cell("while (true) {}")
    threads = {service._cells[c].runtime.native_thread_id for c in (first, second)}
    assert len(threads) == 2 and all(thread_alive(t) for t in threads)
    assert await service.observe(second, 20) == Yielded(second, ())
    await service.terminate(first)
    assert [thread_alive(t) for t in threads].count(True) == 1
    await service.terminate(second)

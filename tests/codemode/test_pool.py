"""The warm runtime pool: a runtime taken for an exec is replaced only once `replenish()` says the exec's hot path
is over (the service says so when an observation or a terminate is answered)."""

import trio

from codex_actors.codemode import NestedToolSpec, open_code_mode_service, v8bridge
from codex_actors.codemode.pool import RuntimePool
from codex_actors.testing.os_threads import thread_alive

from tests.codemode.helpers import Tools

TOOLS = [{"name": "t", "description": "d"}]


async def test_take_hands_out_a_warm_runtime_and_the_pool_refills_only_when_replenished():
    pool = RuntimePool(size=1, max_heap_bytes=64 * 1024 * 1024)
    base = v8bridge.context_count()
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        with trio.fail_after(10):
            await pool.filled()
        assert v8bridge.context_count() == base + 1
        runtime = await pool.take(TOOLS)
        assert thread_alive(runtime.native_thread_id)
        assert pool.idle_count == 0 and v8bridge.context_count() == base + 1  # no refill before replenish
        pool.replenish(TOOLS)
        with trio.fail_after(10):
            await pool.filled()
        assert v8bridge.context_count() == base + 2
        fresh = await pool.take(TOOLS)
        assert fresh.tools is TOOLS  # pre-configured for the tool set it was replenished with
        await runtime.close()
        await fresh.close()
        assert not thread_alive(runtime.native_thread_id)
        nursery.cancel_scope.cancel()
    assert v8bridge.context_count() == base


async def test_a_take_during_the_initial_fill_stops_it_until_replenished():
    pool = RuntimePool(size=2, max_heap_bytes=64 * 1024 * 1024)
    base = v8bridge.context_count()
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)  # the fill has begun its first build
        with trio.fail_after(10):
            runtime = await pool.take(TOOLS)
        # the pool decided before take() returned: no second build beside the exec that took the first
        assert pool._building == 0 and pool.idle_count == 0 and v8bridge.context_count() == base + 1
        pool.replenish(TOOLS)
        with trio.fail_after(10):
            await pool.filled()
        assert v8bridge.context_count() == base + 3
        await runtime.close()
        nursery.cancel_scope.cancel()
    assert v8bridge.context_count() == base


async def test_closing_the_pool_frees_idle_runtimes():
    pool = RuntimePool(size=2, max_heap_bytes=64 * 1024 * 1024)
    base = v8bridge.context_count()
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        with trio.fail_after(10):
            await pool.filled()
        assert v8bridge.context_count() == base + 2
        await pool.close()
        assert v8bridge.context_count() == base
        nursery.cancel_scope.cancel()


async def test_the_service_replenishes_after_each_answered_exec():
    async with open_code_mode_service(Tools(), pool_size=1) as service:
        for _ in range(3):
            outcome = await service.execute('text("ok")')
            assert outcome.items[0].text == "ok"
        with trio.fail_after(10):
            await service._pool.filled()
        assert service._pool.idle_count == 1


async def test_prepare_preconfigures_warm_runtimes_for_the_session_tool_set():
    from codex_actors.codemode.cell import tool_declarations

    async with open_code_mode_service(Tools(), pool_size=2) as service:
        assert service.prepare(Tools.specs)
        with trio.fail_after(10):
            while not (service._pool.idle_count == 2
                       and all(r.tools is tool_declarations(Tools.specs) for r in service._pool._idle)):
                await service._pool._added.wait()
        outcome = await service.execute("text(ALL_TOOLS.length + ' ' + typeof tools.sleep)", tools=Tools.specs)
        assert outcome.items[0].text == f"{len(Tools.specs)} function"
        bad = [NestedToolSpec("bad", input_schema={"type": "object", "required": 5})]
        assert service.prepare(bad) is False


async def test_a_shared_pool_outlives_the_services_that_use_it():
    pool = RuntimePool(size=1, max_heap_bytes=64 * 1024 * 1024)
    base = v8bridge.context_count()
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        for _ in range(2):
            with trio.fail_after(10):
                await pool.filled()
            async with open_code_mode_service(Tools(), pool=pool) as service:
                assert (await service.execute('text("shared")')).items[0].text == "shared"
        with trio.fail_after(10):
            await pool.filled()  # still refilling: the services did not close it
        assert v8bridge.context_count() == base + 1
        nursery.cancel_scope.cancel()
    assert v8bridge.context_count() == base

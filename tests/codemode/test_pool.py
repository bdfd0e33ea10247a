"""The warm runtime pool: a runtime taken for an exec is replaced only once `replenish()` says the exec's hot path
is over (the service says so when an observation or a terminate is answered)."""

import threading

import trio
import trio.testing

from codex_actors.codemode import open_code_mode_service
from codex_actors.codemode.pool import RuntimePool

from tests.codemode.helpers import Tools


def v8_thread_names() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("codemode-v8")}


async def test_take_hands_out_a_warm_runtime_and_the_pool_refills_only_when_replenished():
    pool = RuntimePool(size=1, max_heap_bytes=64 * 1024 * 1024)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pool.run)
        await trio.testing.wait_all_tasks_blocked()
        assert v8_thread_names() == {"codemode-v8-1"}
        runtime = pool.take()
        assert runtime.name == "codemode-v8-1"
        await trio.testing.wait_all_tasks_blocked()
        assert v8_thread_names() == {"codemode-v8-1"}  # nothing started beside the taken one
        pool.replenish()
        await trio.testing.wait_all_tasks_blocked()
        assert v8_thread_names() == {"codemode-v8-1", "codemode-v8-2"}
        await runtime.close()
        nursery.cancel_scope.cancel()
    assert v8_thread_names() == set()


async def test_the_service_replenishes_after_each_answered_exec():
    async with open_code_mode_service(Tools(), pool_size=1) as service:
        for _ in range(3):
            outcome = await service.execute('text("ok")')
            assert outcome.items[0].text == "ok"
        await trio.testing.wait_all_tasks_blocked()
        # Three execs took runtimes 1, 2 and 3; the pool holds a fresh fourth, ready for the next exec.
        assert "codemode-v8-4" in v8_thread_names()

"""`thread_exit`: a pidfd on one thread of this process, and terminate's answer when the kernel has none."""

import select
import threading

import pytest
import trio

from codex_actors.codemode import Terminated, open_code_mode_service, thread_exit
from codex_actors.codemode.v8bridge import context_count
from codex_actors.testing.os_threads import thread_alive

from tests.codemode.helpers import Tools


def _readable(watch: thread_exit.ThreadExit) -> bool:
    poller = select.poll()
    poller.register(watch._fd, select.POLLIN)
    return bool(poller.poll(0))


async def test_the_watch_turns_readable_only_once_the_thread_has_exited():
    release = threading.Event()
    started = threading.Event()
    native: list[int] = []

    def body() -> None:
        native.append(threading.get_native_id())
        started.set()
        release.wait()

    thread = threading.Thread(target=body)
    thread.start()
    started.wait()
    watch = thread_exit.ThreadExit.open(native[0])
    try:
        assert watch is not None, "this kernel (Linux >= 6.9) has thread pidfds"
        assert not _readable(watch)  # alive: nothing to hear yet
        release.set()
        with trio.fail_after(10):
            await watch.wait()
        assert not thread_alive(native[0])  # marked dead, though perhaps still listed for a moment
        await trio.to_thread.run_sync(thread.join)
    finally:
        release.set()
        if watch is not None:
            watch.close()
            watch.close()  # idempotent


def test_a_worker_thread_can_block_on_the_watch_until_the_thread_exits():
    release, started = threading.Event(), threading.Event()
    native: list[int] = []
    thread = threading.Thread(target=lambda: (native.append(threading.get_native_id()), started.set(), release.wait()))
    thread.start()
    started.wait()
    watch = thread_exit.ThreadExit.open(native[0])
    assert watch is not None
    try:
        assert not watch.wait_blocking(0.05)  # alive: the wait times out
        release.set()
        assert watch.wait_blocking(10) and not thread_alive(native[0])
    finally:
        release.set()
        thread.join()
        watch.close()  # outside trio: no trio call


def test_no_watch_for_a_thread_that_does_not_exist():
    assert thread_exit.ThreadExit.open(2**30) is None


async def test_without_thread_pidfds_terminate_still_answers_after_the_isolate_thread_is_joined(monkeypatch):
    opener = thread_exit.ThreadExit.open
    monkeypatch.setattr(thread_exit.ThreadExit, "open", classmethod(lambda cls, tid: None))
    before = context_count()
    async with open_code_mode_service(Tools(), pool_size=0) as service:
        cell_id = await service.create_cell("while (true) {}")
        thread = service._cells[cell_id].runtime.native_thread_id
        assert thread_alive(thread)
        watch = opener(thread)  # the test's own, to see the exit the service can no longer hear
        try:
            assert await service.terminate(cell_id) == Terminated(cell_id, ())
            assert context_count() == before  # the free returned: the thread is joined, the context gone
            with trio.fail_after(10):
                await watch.wait()  # a join returns a moment before the kernel marks the thread dead
            assert not thread_alive(thread)
        finally:
            watch.close()


async def test_a_pidfd_that_never_turns_readable_delays_neither_terminate_nor_shutdown(monkeypatch):
    from codex_actors.codemode import runtime

    async def never(self) -> None:
        await trio.sleep_forever()

    monkeypatch.setattr(thread_exit.ThreadExit, "wait", never)
    monkeypatch.setattr(runtime, "EXIT_AFTER_JOIN_S", 0.2)
    before = context_count()
    with trio.fail_after(10):
        async with open_code_mode_service(Tools(), pool_size=1) as service:
            cell_id = await service.create_cell("while (true) {}")
            thread = service._cells[cell_id].runtime.native_thread_id
            watch = thread_exit.ThreadExit.open(thread)  # the test's own: blocking waits still work
            try:
                assert await service.terminate(cell_id) == Terminated(cell_id, ())  # answered once freed
                assert await trio.to_thread.run_sync(watch.wait_blocking, 10)
            finally:
                watch.close()
            assert not thread_alive(thread)
            assert (await service.execute('text("still works")')).items[0].text == "still works"
    assert context_count() == before

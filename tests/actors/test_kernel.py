import threading

import pytest
import trio

from codex_actors.actors import Actor, ActorCrashed, ActorDied, AskTimeout, OwnedThread, start_actor


class Counter(Actor):
    name = "counter"

    def __init__(self):
        self.value = 0
        self.stopped_cleanly = False

    async def handle(self, message):
        if message == "boom":
            raise ValueError("bad message")
        if message == "slow":
            await trio.sleep_forever()
        self.value += message
        return self.value

    async def on_stop(self):
        self.stopped_cleanly = True


async def test_ask_returns_handle_result_in_mailbox_order():
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, Counter())
        await ref.send(2)
        assert await ref.ask(3) == 5
        await ref.stop()
    assert ref.stopped


async def test_ask_timeout_names_the_actor():
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, Counter())
        await ref.send("slow")
        with pytest.raises(AskTimeout, match="actor 'counter': no reply within 0.05 s"):
            await ref.ask(1, timeout=0.05)
        await ref.stop()


async def test_ask_after_stop_raises_actor_died():
    async with trio.open_nursery() as nursery:
        actor = Counter()
        ref = await start_actor(nursery, actor)
        await ref.stop()
        assert actor.stopped_cleanly
        with pytest.raises(ActorDied, match="'counter'"):
            await ref.ask(1)


async def test_crash_reaches_owner_with_actor_name_and_cancels_siblings():
    sibling_cancelled = trio.Event()

    async def sibling():
        try:
            await trio.sleep_forever()
        finally:
            sibling_cancelled.set()

    with pytest.raises(ExceptionGroup) as info:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sibling)
            ref = await start_actor(nursery, Counter())
            with pytest.raises(ActorCrashed, match="actor 'counter': crashed: ValueError: bad message"):
                await ref.ask("boom")
    crash = info.value.exceptions[0]
    assert isinstance(crash, ActorCrashed)
    assert isinstance(crash.cause, ValueError)
    assert sibling_cancelled.is_set()


async def test_supervised_crash_is_reported_not_raised():
    seen = []
    async with trio.open_nursery() as nursery:
        ref = await start_actor(nursery, Counter(), supervise=lambda r, err: seen.append((r.name, str(err))))
        await ref.send("boom")
        await ref.wait_stopped()
    assert seen == [("counter", "actor 'counter': crashed: ValueError: bad message")]


class Parent(Actor):
    """Owns a child actor in its own nursery; used to show cancellation reaches the child."""

    name = "parent"

    def __init__(self):
        self.child_actor = Counter()

    async def background(self, nursery):
        self.child = await start_actor(nursery, self.child_actor)

    async def handle(self, message):
        return await self.child.ask(message)


async def test_stopping_a_parent_stops_its_child():
    async with trio.open_nursery() as nursery:
        parent = Parent()
        ref = await start_actor(nursery, parent)
        assert await ref.ask(4) == 4
        await ref.stop()
        assert parent.child.stopped
        assert parent.child_actor.stopped_cleanly


class Sleeper(Actor):
    """Owns one OS thread that blocks until released; stop must wait for that thread."""

    name = "sleeper"

    def __init__(self):
        self.release = threading.Event()
        self.thread_exited = False

    def _blocking(self):
        self.release.wait()
        self.thread_exited = True

    async def background(self, nursery):
        self.owned = OwnedThread("sleeper-thread", self._blocking, interrupt=self._interrupt)
        nursery.start_soon(self.owned.run)

    def _interrupt(self):
        # Release the thread a little later, from another thread, to prove stop() really waits for it.
        threading.Timer(0.2, self.release.set).start()


async def test_stop_waits_for_owned_thread_to_exit():
    baseline = len([t for t in threading.enumerate() if not t.name.startswith("Trio thread")])
    async with trio.open_nursery() as nursery:
        actor = Sleeper()
        ref = await start_actor(nursery, actor)
        await trio.sleep(0.01)
        assert actor.owned.thread.is_alive()
        await ref.stop()
        assert actor.thread_exited
        assert not actor.owned.thread.is_alive()
    # the Timer thread ends right after firing
    with trio.fail_after(2):
        while len([t for t in threading.enumerate() if not t.name.startswith("Trio thread")]) > baseline:
            await trio.sleep(0.01)


async def test_owned_thread_returns_result_and_raises_errors():
    assert await OwnedThread("t", lambda: 42, interrupt=lambda: None).run() == 42

    def fail():
        raise RuntimeError("in thread")

    with pytest.raises(RuntimeError, match="in thread"):
        await OwnedThread("t", fail, interrupt=lambda: None).run()


async def test_cancelled_owner_still_joins_thread():
    release = threading.Event()
    owned = OwnedThread("blocked", release.wait, interrupt=release.set)
    with trio.move_on_after(0.05):
        await owned.run()
    assert not owned.thread.is_alive()


async def test_stop_returns_even_when_on_stop_raises():
    class BadCleanup(Actor):
        name = "bad-cleanup"

        async def on_stop(self):
            raise OSError("flush failed")

    with pytest.raises(BaseExceptionGroup) as raised:
        async with trio.open_nursery() as nursery:
            ref = await start_actor(nursery, BadCleanup())
            with trio.fail_after(5):
                await ref.stop()  # hung forever before: `done` was never set
            assert ref.stopped
    assert raised.group_contains(OSError, match="flush failed")
    assert not raised.group_contains(trio.TooSlowError)

"""`held_thread_state`: an isolate thread keeps one Python thread state across its callbacks, and it is deleted when
the thread exits (no state left behind by any number of contexts)."""

import ctypes
import subprocess
import sys
import threading

from codex_actors.codemode import held_thread_state, v8bridge
from codex_actors.testing.thread_states import thread_states


def states_seen_by_callbacks(isolate: v8bridge.Isolate, calls: int) -> set[int]:
    """The thread-state address each of `calls` callbacks on the isolate thread ran with."""
    get = ctypes.pythonapi.PyGILState_GetThisThreadState
    get.restype = ctypes.c_void_p
    seen: set[int] = set()
    done = threading.Event()

    def listener(callback_id, value):
        seen.add(get())
        done.set()

    isolate.listen(listener)
    for _ in range(calls):
        done.clear()
        isolate.post_eval("1", 5)
        assert done.wait(10)
    return seen


# Other threads of the test process (trio's idle workers from earlier tests) may end meanwhile: the checks follow
# the isolate threads' own states by address rather than counting all of them.

def test_an_isolate_thread_keeps_one_thread_state_until_it_exits():
    assert held_thread_state.supported()  # CPython 3.11, the interpreter this project runs on
    isolate = v8bridge.Isolate.create()
    try:
        isolate.eval_sync("1")  # the first callback: from here on the isolate thread's state is held
        seen = states_seen_by_callbacks(isolate, 20)
        assert len(seen) == 1  # one state for every callback, not one each
        assert seen <= thread_states()  # and it stays between callbacks
    finally:
        isolate.free()
    assert not seen & thread_states()  # deleted when the thread exited (free joined it)


def test_a_hundred_contexts_leave_no_thread_state_behind():
    seen: set[int] = set()
    for _ in range(100):
        isolate = v8bridge.Isolate.create()
        try:
            seen |= states_seen_by_callbacks(isolate, 2)
        finally:
            isolate.free()
    assert seen and not seen & thread_states()


def test_an_unsupported_interpreter_version_holds_nothing():
    # Where `SUPPORTED` names no version, callbacks still work, each on a state made for it and deleted after.
    code = (
        "import threading\n"
        "from codex_actors.codemode import held_thread_state, v8bridge\n"
        "from codex_actors.testing.thread_states import thread_state_count\n"
        "held_thread_state.SUPPORTED = ()\n"
        "assert not held_thread_state.supported()\n"
        "base = thread_state_count()\n"
        "iso = v8bridge.Isolate.create()\n"
        "iso.eval_sync('1')\n"
        "seen, done = [], threading.Event()\n"
        "iso.listen(lambda i, v: (seen.append(i), done.set()))\n"
        "for _ in range(5):\n"
        "    done.clear(); iso.post_eval('1', 5); assert done.wait(10)\n"
        "idle = thread_state_count()\n"
        "iso.free()\n"
        "print(len(seen), idle - base, thread_state_count() - base)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "0", "0"]

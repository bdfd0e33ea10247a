"""`v8bridge`, the one module below mini-racer's public API: version check, the task API, the mailbox, teardown."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from codex_actors.codemode import thread_exit, v8bridge
from codex_actors.testing.os_threads import thread_alive


PRELUDE = """(function () {
  const host = this;
  const box = new SharedArrayBuffer(16 + 8);
  const ctl = new Int32Array(box, 0, 4);
  return [box, function () { ctl[3] = 42; host(); }];
})"""


def test_an_unsupported_mini_racer_version_is_a_clear_import_error():
    assert v8bridge.check_version("0.14.1") == "0.14.1"
    with pytest.raises(ImportError, match="written for mini-racer 0.14.x .* found 0.15.0"):
        v8bridge.check_version("0.15.0")


def test_a_set_up_function_reaches_the_listener_on_the_isolate_thread_and_free_joins_it():
    isolate = v8bridge.Isolate.create()
    try:
        function = isolate.setup(PRELUDE, 7)
        assert isolate.mailbox_units == 4
        heard = []
        done = threading.Event()

        def listener(callback_id, value):
            heard.append((callback_id, isolate.mailbox_int(3), threading.get_native_id()))
            if callback_id == 9:
                done.set()

        isolate.listen(listener)
        isolate.post_call(function, 9)
        assert done.wait(10)
        (first_id, kind, thread), (task_id, _, _) = heard
        assert (first_id, kind, task_id) == (7, 42, 9)  # the JS call, then the task's own completion
        assert thread != threading.get_native_id() and thread_alive(thread)
        watch = thread_exit.ThreadExit.open(thread)
        assert watch is not None
        isolate.write_units(0, "hi".encode("utf-16-le"))
        assert isolate.read_units(0, 2).decode("utf-16-le") == "hi"
        with pytest.raises(ValueError, match="out of bounds"):
            isolate.read_units(3, 2)
    finally:
        isolate.free()
    try:
        # The join returns as the thread releases its memory; the kernel marks it dead a moment later.
        assert watch.wait_blocking(10) and not thread_alive(thread)
    finally:
        watch.close()


def test_a_prelude_of_the_wrong_shape_is_refused_and_cancel_stops_a_busy_task():
    isolate = v8bridge.Isolate.create()
    try:
        with pytest.raises(v8bridge.IsolateError, match="type 101 at 0"):
            isolate.setup("(function () { return [1, 2]; })", 7)
        results = {}
        done = threading.Event()
        isolate.listen(lambda callback_id, value: (results.setdefault(callback_id, value), done.set()))
        task = isolate.post_eval("while (true) {}", 5)
        isolate.cancel(task)
        assert done.wait(10)
        assert results[5].is_error and results[5].type == v8bridge.T_TERMINATED
    finally:
        isolate.free()


# Threads that exist before V8 is initialised each build a context while the others stay alive, as the trio worker
# threads of a pool do. With V8's memory protection keys on, on a CPU with PKU, the second build faults
# (SIGSEGV, SEGV_PKUERR); the script then also reports any mapping V8 tagged with a protection key.
_THREADS_BEFORE_V8 = r"""
import queue, threading
from codex_actors.codemode import v8bridge

class Worker:
    def __init__(self):
        self.jobs, self.results = queue.Queue(), queue.Queue()
        threading.Thread(target=self.loop, daemon=True).start()
    def loop(self):
        while True:
            self.results.put(self.jobs.get()())
    def run(self, fn):
        self.jobs.put(fn)
        return self.results.get()

def build():
    isolate = v8bridge.Isolate.create()
    isolate.eval_sync("1")
    return isolate

first, second = Worker(), Worker()
v8bridge.load_v8()
alive = [first.run(build), second.run(build), build(), first.run(build)]
answers = [isolate.eval_sync("6 * 7").data for isolate in alive]
keys = sorted({int(line.split()[1]) for line in open("/proc/self/smaps") if line.startswith("ProtectionKey:")} - {0})
for isolate in alive:
    isolate.free()
print(answers, keys)
"""


def test_contexts_built_on_threads_that_predate_v8_do_not_crash_the_process():
    proc = subprocess.run([sys.executable, "-c", _THREADS_BEFORE_V8], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[0] == "[42, 42, 42, 42] []"


# py_mini_racer's own MiniRacer() initialises V8 first (protection keys on, where the CPU has them); then a thread
# older than that builds a context, and a thread created after it does.
_MINI_RACER_FIRST = r"""
import threading
from codex_actors.codemode import v8bridge

answers, ready, go = {}, threading.Event(), threading.Event()

def build(tag):
    try:
        isolate = v8bridge.Isolate.create()
        answers[tag] = isolate.eval_sync("6 * 7").data
        isolate.free()
    except v8bridge.IsolateError as exc:
        answers[tag] = str(exc)

def older():
    ready.set()
    go.wait()
    build("older")

thread = threading.Thread(target=older)
thread.start()
ready.wait()
from py_mini_racer import MiniRacer
alive = MiniRacer()  # kept alive: a context built beside a live one is what faults
alive.eval("1")
go.set()
thread.join()
newer = threading.Thread(target=build, args=("newer",))
newer.start()
newer.join()
print(repr(answers))
"""


def test_a_thread_that_v8_initialised_elsewhere_would_crash_is_refused_with_a_clear_error():
    proc = subprocess.run([sys.executable, "-c", _MINI_RACER_FIRST], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]  # never SIGSEGV
    answers = eval(proc.stdout)  # noqa: S307 - our own subprocess's repr of a dict of str/int
    assert answers["newer"] == 42
    cpu_flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    if "pku" in cpu_flags:  # V8 tagged its dispatch table: the older thread has no access to the key
        assert answers["older"].startswith("V8 was initialised before code mode (by py_mini_racer's MiniRacer()?)")
        assert "Call codex_actors.codemode.v8bridge.load_v8() before the first MiniRacer()" in answers["older"]
    else:  # no keys anywhere: any thread may build
        assert answers["older"] == 42

"""`python -m benchmarks.command_timeline [--calls 60]`: where one `exec_command true` call's time goes (issue 21).

One turn of a configured session (workspace-write, approval never, `shell_snapshot` on, the scripted model) makes
`--calls + 1` `exec_command {"cmd": "true"}` calls one after another, one per model response; the first is not
counted (it waits for the snapshot). Each stage is stamped with `time.monotonic` by wrapping the runtime's own
methods, and the launcher stamps itself through a bootstrap that also writes `time.monotonic()` at its start,
after its import and after its `main()` (CLOCK_MONOTONIC is the same clock in every process); a measurement aid
only, nothing here is used by the product. Prints the median time of each stage from the moment the model's
`function_call` item was done, then the floors measured in the same run: the launcher with the exact argv and
environment of those calls run alone (`subprocess.run`), the launcher running `/bin/true`, and bash sourcing the
snapshot unsandboxed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.startup_shell import true_turn

STAGES = (
    ("call", "the model's function_call item is done; the turn starts its tool task"),
    ("handler", "UnifiedExec.exec_command starts (router dispatch)"),
    ("spawn", "trio.lowlevel.open_process called: args parsed, snapshot form chosen, exec_command_begin emitted"),
    ("spawned", "open_process returned: Popen (vfork + exec) in trio's worker thread"),
    ("launcher_up", "the launcher's Python runs its -c bootstrap: interpreter start-up (-I -S)"),
    ("launcher_imported", "the launcher imported codex_actors.exec.sandbox (ctypes, landlock, seccomp, ...)"),
    ("launcher_done", "its main() returned: namespaces, mounts, PID 1 + command forked, confined, bash sourced "
                      "the snapshot and ran `true`, all reaped"),
    ("exited", "the launcher reaped and both pipes at EOF (its exit: namespaces torn down)"),
    ("collected", "the process actor answered Collect"),
    ("end", "exec_command_end emitted (Summarize, output formatted)"),
    ("returned", "the handler returned (process actor stopped)"),
    ("recorded", "function_call_output recorded in history"),
    ("request", "the next model request fully arrived at the scripted server"),
)


CALLS: list[dict[str, float]] = []  # one dict of stamps per exec_command call, in call order


def stamp(key: str) -> None:
    """Record `key` at `time.monotonic()` for the current call (the first time only)."""
    if CALLS and key not in CALLS[-1]:
        CALLS[-1][key] = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.command_timeline", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=60, help="measured exec_command calls (default 60)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")

    import trio

    from codex_actors.exec import process as process_module
    from codex_actors.exec import spawn as spawn_module
    from codex_actors.session import session as session_module
    from codex_actors.session import turn as turn_module
    from codex_actors.testing import server as server_module
    from codex_actors.tools import unified_exec as unified_module

    calls = CALLS
    pids: dict[int, dict[str, float]] = {}
    spawned: dict[str, Any] = {}

    def wrap(cls: Any, name: str, before: Any = None, after: Any = None) -> None:
        original = getattr(cls, name)

        async def wrapper(self: Any, *a: Any, **k: Any) -> Any:
            if before:
                before(self, *a)
            result = await original(self, *a, **k)
            if after:
                after(self, *a)
            return result

        setattr(cls, name, wrapper)

    def on_item(self: Any, item: Any, *rest: Any) -> None:
        if type(item).__name__ == "FunctionCall":
            calls.append({})
            stamp("call")

    wrap(turn_module.TurnRunner, "_on_item_done", before=on_item)
    wrap(unified_module.UnifiedExec, "exec_command", before=lambda *_: stamp("handler"),
         after=lambda *_: stamp("returned"))
    wrap(process_module.ProcessActor, "_report_exit", before=lambda *_: stamp("exited"))
    wrap(process_module.ProcessActor, "handle",
         after=lambda self, m: type(m).__name__ == "Collect" and stamp("collected"))
    wrap(unified_module.UnifiedExec, "_emit_end", after=lambda *_: stamp("end"))
    wrap(session_module.Session, "record",
         before=lambda self, item: type(item).__name__ == "FunctionCallOutput" and stamp("recorded"))
    record = server_module.ScriptedModelServer._record

    def record_request(self: Any, request: Any) -> None:
        stamp("request")
        record(self, request)

    server_module.ScriptedModelServer._record = record_request  # type: ignore[method-assign]
    open_process = trio.lowlevel.open_process

    async def timed_open_process(argv: list[str], **kwargs: Any) -> Any:
        stamp("spawn")
        process = await open_process(argv, **kwargs)
        stamp("spawned")
        if calls:
            pids[process.pid] = calls[-1]
        spawned.update(argv=argv, env=kwargs.get("env"), cwd=kwargs.get("cwd"))
        return process

    trio.lowlevel.open_process = timed_open_process

    with tempfile.TemporaryDirectory(prefix="bench-command-timeline-") as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "launcher-stamps.txt"
        spawn_module._BOOTSTRAP = (
            "import time; t0 = time.monotonic(); import os, sys; log = open(" + repr(str(log)) + ", 'a'); "
            "sys.path.insert(0, {root!r}); from codex_actors.exec.sandbox import exit_now, main; "
            "t1 = time.monotonic(); code = main(); "
            "log.write('%d %r %r %r\\n' % (os.getpid(), t0, t1, time.monotonic())); log.close(); exit_now(code)")
        trio.run(true_turn, args.calls + 1, True, lambda msg, now: None)
        trio.lowlevel.open_process = open_process
        for line in log.read_text().splitlines():
            pid, up, imported, done = line.split()
            if int(pid) in pids:
                pids[int(pid)].update(launcher_up=float(up), launcher_imported=float(imported),
                                      launcher_done=float(done))
        floors = _floors(spawned, args.calls, tmp / "work")

    rows = [{k: v - c["call"] for k, v in c.items()} for c in calls[1:]]
    print(f"{len(rows)} calls of exec_command true (workspace-write, shell snapshot on), medians")
    print(f"{'stage':18} {'from call':>10} {'delta':>9}  what")
    previous = 0.0
    for key, what in STAGES:
        values = [r[key] for r in rows if key in r]
        if not values:
            print(f"{key:18} {'-':>10} {'-':>9}  {what} (not seen)")
            continue
        value = statistics.median(values)
        print(f"{key:18} {value * 1e3:8.2f}ms {(value - previous) * 1e3:7.2f}ms  {what}")
        previous = value
    spans = {"spawn..exited (the launcher, as the turn sees it)": ("spawn", "exited"),
             "handler..end (what `exec_command_true` times, about)": ("handler", "end"),
             "call..request (end to end in the turn)": ("call", "request")}
    for label, (a, b) in spans.items():
        print(f"{label}: {statistics.median(r[b] - r[a] for r in rows) * 1e3:.2f}ms")
    print("floors, same run (spawn to exit, medians):")
    for name, values in floors.items():
        print(f"  {name}: {statistics.median(values) * 1e3:.2f}ms")
    return 0


def _floors(spawned: dict[str, Any], samples: int, work: Path) -> dict[str, list[float]]:
    """The last call's launcher argv and env run alone (without `--lifeline`, in `work` instead of the session's
    cwd, which is gone with it), the launcher with `/bin/true`, and bash sourcing the snapshot unsandboxed. The
    snapshot file is gone with the session too, so it is made again (in `work`). Both launcher floors run the same
    stamping bootstrap as the calls, so the three compare like for like."""
    import trio

    from codex_actors.exec import spawn as spawn_module
    from codex_actors.exec.policy import SandboxPolicy
    from codex_actors.exec.shell_snapshot import capture

    argv, env, cwd = list(spawned["argv"]), dict(spawned["env"]), str(work)
    at = argv.index("--lifeline")
    del argv[at:at + 2]
    argv[argv.index("--cwd") + 1] = cwd
    snapshot = work / "snapshot.sh"
    work.mkdir()
    trio.run(lambda: capture(argv[-3], cwd=cwd, env={k: v for k, v in env.items() if k != "BASH_ENV"},
                             path=snapshot))
    env["BASH_ENV"] = str(snapshot)
    policy = SandboxPolicy.from_config("workspace-write", {})
    runs = {
        "launcher + bash sourcing the snapshot (the calls' argv and env)": (argv, env),
        "launcher + /bin/true (sandbox_true)": (spawn_module.launcher_argv(["/bin/true"], cwd=cwd, policy=policy,
                                                                           tty=False), None),
        "bash -c true sourcing the snapshot, unsandboxed (snapshot_shell)": (argv[-3:], env),
    }
    out: dict[str, list[float]] = {}
    for name, (command, command_env) in runs.items():
        times = []
        for _ in range(samples):
            started = time.monotonic()
            subprocess.run(command, cwd=cwd, env=command_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
            times.append(time.monotonic() - started)
        out[name] = times
    return out


if __name__ == "__main__":
    sys.exit(main())

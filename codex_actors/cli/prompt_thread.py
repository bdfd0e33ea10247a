"""prompt_toolkit beside trio: prompts run one at a time on an owned OS thread, answers come back as messages.

prompt_toolkit runs its own asyncio loop, so it lives on a dedicated thread (an `OwnedThread`, joined when the
owner stops it). The trio side `ask`s for a prompt (a `LineRequest`), and gets exactly one result per request
on its channel: `Answer(text)`, `Interrupted(text)` (Ctrl-C), `EndOfInput()` (Ctrl-D) or `Preempted(text)` when
trio took the terminal back with `preempt()` (e.g. to ask for an approval), `text` being what was typed so far.
While the thread runs, `patch_stdout` routes every write to stdout above the prompt line, so output printed
from the trio thread never tears the line being edited. The bottom toolbar shows `toolbar()`, a status string
the trio side publishes through a `StatusBox`.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

import attrs
import trio

from codex_actors.actors import OwnedThread

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
TOOLBAR_REFRESH_S = 0.2


@attrs.frozen
class LineRequest:
    """Show a prompt. `message`: the prompt text; `default`: text pre-filled in the buffer; `history`: whether
    the line is kept in (and browsable through) the prompt history; `toolbar`: whether to show the status bar."""

    message: str
    default: str = ""
    history: bool = True


@attrs.frozen
class Answer:
    text: str


@attrs.frozen
class Interrupted:
    text: str = ""


@attrs.frozen
class EndOfInput:
    pass


@attrs.frozen
class Preempted:
    text: str = ""


Result = Answer | Interrupted | EndOfInput | Preempted
_STOP = object()


class StatusBox:
    """One status string, written by the trio thread and read by the prompt thread's toolbar (lock-guarded)."""

    def __init__(self, text: str = "") -> None:
        self._lock = threading.Lock()
        self._text = text
        self._busy = False

    def set(self, text: str, *, busy: bool) -> None:
        with self._lock:
            self._text, self._busy = text, busy

    def render(self) -> str:
        """The toolbar text: a spinner frame in front while busy."""
        with self._lock:
            text, busy = self._text, self._busy
        if busy:
            frame = SPINNER[int(time.monotonic() * 10) % len(SPINNER)]
            return f" {frame} {text}"
        return f" {text}"


class PromptThread:
    """Runs prompts on its own thread. Start with `await nursery.start(prompts.run, results_send)`; cancel the
    nursery (or the task) to stop it: the current prompt is closed and the thread joined before `run` returns."""

    def __init__(self, *, history: list[str], status: StatusBox) -> None:
        self._history = history
        self._status = status
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._app: Any = None
        self._preempt = False

    # -- trio side --------------------------------------------------------------------------------------

    def ask(self, request: LineRequest) -> None:
        """Queue a prompt (never blocks). Its result arrives on the results channel."""
        self._requests.put(request)

    def preempt(self) -> None:
        """Close the prompt on screen (or the next one to open) with a `Preempted` result."""
        with self._lock:
            app = self._app
            if app is None or not app.is_running:
                self._preempt = True
                return
            app.loop.call_soon_threadsafe(_exit_preempted, app)

    async def run(self, results: trio.MemorySendChannel, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        token = trio.lowlevel.current_trio_token()

        def post(result: Result) -> None:
            try:
                token.run_sync_soon(_send_quietly, results, result)
            except trio.RunFinishedError:
                pass

        def stop() -> None:
            self._requests.put(_STOP)
            self.preempt()

        owned = OwnedThread("prompt", lambda: self._loop(post), interrupt=stop)
        task_status.started()
        await owned.run()

    # -- prompt thread ----------------------------------------------------------------------------------

    def _loop(self, post: Callable[[Result], None]) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import InMemoryHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        with patch_stdout(raw=True):
            toolbar = self._status.render
            lines = PromptSession(history=InMemoryHistory(self._history), bottom_toolbar=toolbar,
                                  refresh_interval=TOOLBAR_REFRESH_S)
            questions = PromptSession(bottom_toolbar=toolbar, refresh_interval=TOOLBAR_REFRESH_S)
            while True:
                request = self._requests.get()
                if request is _STOP:
                    return
                post(self._prompt(lines if request.history else questions, request))

    def _prompt(self, session: Any, request: LineRequest) -> Result:
        def pre_run() -> None:
            with self._lock:
                self._app = session.app
                if self._preempt:
                    self._preempt = False
                    _exit_preempted(session.app)

        try:
            result = session.prompt(request.message, default=request.default, pre_run=pre_run)
        except KeyboardInterrupt:
            return Interrupted(session.default_buffer.text)
        except EOFError:
            return EndOfInput()
        finally:
            with self._lock:
                self._app = None
        if isinstance(result, Preempted):
            return result
        return Answer(result)


def _exit_preempted(app: Any) -> None:
    if app.is_running and not app.future.done():
        app.exit(result=Preempted(app.current_buffer.text))


def _send_quietly(channel: trio.MemorySendChannel, value: Any) -> None:
    try:
        channel.send_nowait(value)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass

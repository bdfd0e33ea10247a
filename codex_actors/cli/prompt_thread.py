"""The terminal of `codex-actors run`: one prompt_toolkit Application, for the whole run, on an owned OS thread.

The transcript is ordinary scrollback; the application owns only the lines at the bottom of the screen:

    live area    the agent message streaming now (ANSI text the trio side renders), absent when empty
    activity     spinner, what runs and for how long, while the model or a tool works
    input        `› ` and the line being edited, or, while a question is open, the question and its keys
    footer       model, approval and sandbox modes, context left, session tokens

Because the application never exits between prompts, no prompt line is ever left in the scrollback: what the
user submits reaches the transcript only when the trio side prints it.

prompt_toolkit runs its own asyncio loop, so it lives on a dedicated thread (an `OwnedThread`, joined when
the owner's task is cancelled). The trio side talks to it without ever blocking: `write(ansi)` prints above
the bottom lines (batched; one erase / write / redraw per batch), `set_live(ansi)` replaces the live area
(applied after the writes queued before it, so a completed message never shows twice), `ask(Question)` opens
a one-key question and `withdraw(id)` takes it back; a `StatusBox` holds the activity and footer strings.
Results come back on the channel given to `run`: `Line(text)` for Enter, `Choice(question_id, key)` for an
answer key (`"abort"` for Esc or Ctrl-C), `Interrupted()` for Ctrl-C on an empty line, `EndOfInput()` for
Ctrl-D on an empty line.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable

import attrs
import trio

from codex_actors.actors import OwnedThread

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
REFRESH_S = 0.2
ESCAPE_TIMEOUT_S = 0.1  # how long a lone Esc waits for the rest of an escape sequence
LINE_PROMPT = "› "
ABORT = "abort"


@attrs.frozen
class Question:
    """A one-key question. `id`: echoed in the `Choice`; `text`: ANSI text shown in place of the input line;
    `keys`: the answer keys (single lower-case characters); Esc and Ctrl-C answer `"abort"`."""

    id: int
    text: str
    keys: tuple[str, ...]


@attrs.frozen
class Line:
    text: str


@attrs.frozen
class Choice:
    question_id: int
    key: str


@attrs.frozen
class Interrupted:
    pass


@attrs.frozen
class EndOfInput:
    pass


Result = Line | Choice | Interrupted | EndOfInput


class StatusBox:
    """The activity line (None when idle) and the footer, written by the trio thread, read by the terminal's
    (lock-guarded)."""

    def __init__(self, footer: str = "") -> None:
        self._lock = threading.Lock()
        self._activity: str | None = None
        self._footer = footer

    def set(self, activity: str | None, footer: str) -> None:
        with self._lock:
            self._activity, self._footer = activity, footer

    def activity(self) -> str | None:
        """`"<spinner frame> <activity>"` while busy, else None."""
        with self._lock:
            activity = self._activity
        if activity is None:
            return None
        return f"{SPINNER[int(time.monotonic() * 10) % len(SPINNER)]} {activity}"

    def footer(self) -> str:
        with self._lock:
            return self._footer


class TerminalThread:
    """Start with `await nursery.start(terminal.run, results_send)`; cancel the task to stop: the application
    flushes what was written, erases its lines and the thread is joined before `run` returns."""

    def __init__(self, *, history: list[str], status: StatusBox) -> None:
        self._history = history
        self._status = status
        self._lock = threading.Lock()
        self._loop: Any = None  # the terminal thread's asyncio loop once the application runs
        self._early: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._stopping = False
        # Owned by the terminal thread:
        self._app: Any = None
        self._live = ""
        self._question: Question | None = None
        self._pending: list[str] = []
        self._pending_live: str | None = None
        self._flushing = False
        self._exit_after_flush = False

    # -- trio side ----------------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Print `text` (ANSI, newline-terminated lines) above the bottom lines."""
        self._call(self._write, text)

    def set_live(self, text: str) -> None:
        """Show `text` (ANSI) in the live area; "" hides it."""
        self._call(self._set_live, text)

    def ask(self, question: Question) -> None:
        """Show `question` in place of the input line until a key answers it (or it is withdrawn)."""
        self._call(self._ask, question)

    def withdraw(self, question_id: int) -> None:
        """Take back the question `question_id` if it is still open (no `Choice` is sent for it)."""
        self._call(self._withdraw, question_id)

    async def run(self, results: trio.MemorySendChannel, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        token = trio.lowlevel.current_trio_token()

        def post(result: Result) -> None:
            try:
                token.run_sync_soon(_send_quietly, results, result)
            except trio.RunFinishedError:
                pass

        def stop() -> None:
            with self._lock:
                self._stopping = True
            self._call(self._exit)

        owned = OwnedThread("terminal", lambda: self._main(post), interrupt=stop)
        task_status.started()
        await owned.run()

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._loop is None:
                self._early.append((fn, args))
                return
            loop = self._loop
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the application has ended (its loop is closed): print straight to the terminal
            if fn == self._write:
                sys.stdout.write(args[0])
                sys.stdout.flush()

    # -- terminal thread ----------------------------------------------------------------------------------

    def _main(self, post: Callable[[Result], None]) -> None:
        import asyncio

        asyncio.run(self._run_app(post))

    async def _run_app(self, post: Callable[[Result], None]) -> None:
        import asyncio

        self._app = self._build(post)

        def pre_run() -> None:
            with self._lock:
                self._loop = asyncio.get_running_loop()
                early, self._early = self._early, []
                stopping = self._stopping
            for fn, args in early:
                fn(*args)
            if stopping:
                self._exit()

        await self._app.run_async(pre_run=pre_run)

    def _build(self, post: Callable[[Result], None]) -> Any:
        from prompt_toolkit.application import Application
        from prompt_toolkit.buffer import Buffer
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.formatted_text import ANSI
        from prompt_toolkit.history import InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, Window
        from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
        from prompt_toolkit.layout.processors import BeforeInput
        from prompt_toolkit.styles import Style

        asking = Condition(lambda: self._question is not None)

        def accept(buffer: Buffer) -> bool:
            if buffer.text.strip():
                post(Line(buffer.text))
            return False  # clear the line; prompt_toolkit has put it in the history

        # Not made read-only while asking: prompt_toolkit's read-only bindings (`n`, `N`, `/` for search) would
        # take the answer keys; the question's own `<any>` binding swallows the keys instead.
        buffer = Buffer(history=InMemoryHistory(self._history), multiline=False, accept_handler=accept)
        keys = KeyBindings()

        @keys.add("c-c", filter=~asking)
        def _ctrl_c(event: Any) -> None:
            if buffer.text:
                buffer.reset()
            else:
                post(Interrupted())

        @keys.add("c-d", filter=~asking)
        def _ctrl_d(event: Any) -> None:
            if buffer.text:
                buffer.delete()
            else:
                post(EndOfInput())

        @keys.add("<any>", filter=asking)
        def _answer_key(event: Any) -> None:
            key = event.key_sequence[0].data.lower()
            if self._question is not None and key in self._question.keys:
                self._answer(post, key)

        for name in ("escape", "c-c", "enter", "c-d"):
            @keys.add(name, filter=asking, eager=True)
            def _abort_or_ignore(event: Any, name: str = name) -> None:
                if name in ("escape", "c-c") and self._question is not None:
                    self._answer(post, ABORT)

        def activity() -> Any:
            return [("class:activity", f" {self._status.activity() or ''}")]

        layout = Layout(HSplit([
            ConditionalContainer(Window(FormattedTextControl(lambda: ANSI(self._live)), dont_extend_height=True),
                                 filter=Condition(lambda: bool(self._live))),
            ConditionalContainer(Window(FormattedTextControl(activity), height=1),
                                 filter=Condition(lambda: self._status.activity() is not None)),
            ConditionalContainer(Window(FormattedTextControl(lambda: ANSI(self._question.text if self._question
                                                                          else "")),
                                        dont_extend_height=True, wrap_lines=True, always_hide_cursor=True),
                                 filter=asking),
            ConditionalContainer(Window(BufferControl(buffer, input_processors=[BeforeInput(LINE_PROMPT,
                                                                                            style="class:prompt")]),
                                        dont_extend_height=True, wrap_lines=True), filter=~asking),
            Window(FormattedTextControl(lambda: [("class:footer", f" {self._status.footer()}")]), height=1),
        ]), focused_element=buffer)
        style = Style.from_dict({"prompt": "bold", "activity": "", "footer": "fg:ansibrightblack"})
        app = Application(layout=layout, key_bindings=keys, style=style, refresh_interval=REFRESH_S,
                          erase_when_done=True, mouse_support=False)
        app.ttimeoutlen = ESCAPE_TIMEOUT_S
        return app

    def _answer(self, post: Callable[[Result], None], key: str) -> None:
        question, self._question = self._question, None
        post(Choice(question.id, key))
        self._app.invalidate()

    def _ask(self, question: Question) -> None:
        self._question = question
        self._app.invalidate()

    def _withdraw(self, question_id: int) -> None:
        if self._question is not None and self._question.id == question_id:
            self._question = None
            self._app.invalidate()

    def _set_live(self, text: str) -> None:
        if self._flushing:
            self._pending_live = text  # after the writes queued before it
        elif text != self._live:
            self._live = text
            self._app.invalidate()

    def _write(self, text: str) -> None:
        self._pending.append(text)
        if not self._flushing:
            self._flushing = True
            self._app.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Erase the bottom lines, print what is pending, redraw: all on this loop, the terminal staying in raw
        mode (prompt_toolkit's `run_in_terminal` would switch it to cooked mode, where a key typed meanwhile is
        echoed into the output and held until Enter)."""
        app = self._app
        try:
            if app.is_running:
                app.renderer.erase()
                app.output.write_raw("".join(self._pending))
                app.output.flush()
                app.renderer.reset()
            else:  # already exiting: nothing to redraw
                app.output.write_raw("".join(self._pending))
                app.output.flush()
            self._pending.clear()
            if self._pending_live is not None:
                self._live, self._pending_live = self._pending_live, None
        finally:
            self._flushing = False
            app.invalidate()
            if self._exit_after_flush:
                self._exit()

    def _exit(self) -> None:
        app = self._app
        if self._flushing:
            self._exit_after_flush = True
        elif app.is_running and not app.future.done():
            app.exit()


class TerminalFile:
    """A text file for a rich `Console` that prints through a `TerminalThread` (one `write` per flush).
    It answers `isatty()` for the real stdout, so rich's colour and width detection see the terminal."""

    encoding = "utf-8"

    def __init__(self, terminal: TerminalThread, *, stream: Any) -> None:
        self._terminal = terminal
        self._stream = stream
        self._buffer: list[str] = []

    def write(self, text: str) -> int:
        self._buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            text = "".join(self._buffer)
            self._buffer.clear()
            self._terminal.write(text)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def _send_quietly(channel: trio.MemorySendChannel, value: Any) -> None:
    try:
        channel.send_nowait(value)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass

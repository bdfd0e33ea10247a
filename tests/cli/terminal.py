"""A terminal as a user sees it: a pexpect pty feeding a pyte screen (a VT100 model), for `run`'s screen tests.

`TerminalScreen.wait_for(pattern)` reads the program's output into the screen until the pattern is on it
(scrollback included) or the bounded wait runs out; `lines()` is the scrollback then the screen, trailing
spaces trimmed.
"""

from __future__ import annotations

import re
import time
from typing import Callable

import pexpect
import pyte

READ_CHUNK = 65536


class TerminalScreen:
    def __init__(self, child: pexpect.spawn, *, rows: int, columns: int) -> None:
        self.child = child
        self.screen = pyte.HistoryScreen(columns, rows, history=2000)
        self.stream = pyte.ByteStream(self.screen)

    def pump(self, timeout: float) -> bool:
        """Feed whatever the program writes within `timeout` seconds; False once it has exited."""
        try:
            data = self.child.read_nonblocking(READ_CHUNK, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.stream.feed(data if isinstance(data, bytes) else data.encode())
        return True

    def lines(self) -> list[str]:
        """Scrollback, then the visible screen; trailing spaces and trailing empty lines removed."""
        history = ["".join(line[x].data for x in range(self.screen.columns)) for line in self.screen.history.top]
        rows = history + list(self.screen.display)
        rows = [row.rstrip() for row in rows]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_until(self, predicate: Callable[[str], bool], *, timeout: float = 20, what: str = "") -> str:
        """Pump until `predicate(screen text)` holds; returns the text, or fails the test with the screen."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if predicate(text):
                return text
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what or predicate}; the screen:\n{text}")
            if not self.pump(min(remaining, 0.2)):
                text = self.text()
                if predicate(text):
                    return text
                raise AssertionError(f"the program exited while waiting for {what}; the screen:\n{text}")

    def wait_for(self, pattern: str, *, timeout: float = 20) -> str:
        """Pump until the regular expression `pattern` matches the screen text."""
        return self.wait_until(lambda text: re.search(pattern, text, re.MULTILINE) is not None, timeout=timeout,
                               what=repr(pattern))

    def settle(self, quiet: float = 0.5, *, timeout: float = 10) -> None:
        """Pump until the program has written nothing for `quiet` seconds (a redraw in progress finished).
        Bounded by `timeout`; the spinner and the status line are redrawn only while a turn runs."""
        deadline = time.monotonic() + timeout
        before = self.text()
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            if not self.pump(0.1):
                return
            now = self.text()
            if now != before:
                before, last_change = now, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return

"""Suite-wide guard: no test may leave a thread behind."""

import threading
import time

import pytest


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that ends with more live threads than it started with.

    Threads from trio's worker cache (named "Trio thread ...") idle on their own for a while and are not
    ours to join, so they are ignored.
    """
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 2.0
    while True:
        leaked = [
            t for t in threading.enumerate()
            if t.ident not in before and t.is_alive() and not t.name.startswith("Trio thread")
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"threads left behind: {[t.name for t in leaked]}"

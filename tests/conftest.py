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


@pytest.fixture(autouse=True)
def scripted_servers_end_clean(monkeypatch, request):
    """Fail a test whose in-process scripted model server recorded a server-side error or was left holding
    scripted responses nobody requested: either means the test did not exercise what its script says.
    A test whose point is to leave responses unused (an interrupted turn) says so with
    `@pytest.mark.unused_script_ok`."""
    from codex_actors.testing.server import ScriptedModelServer

    created = []
    original = ScriptedModelServer.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(ScriptedModelServer, "__init__", tracking_init)
    yield
    for server in created:
        assert server.errors == [], f"the scripted model server failed: {server.errors}"
        if request.node.get_closest_marker("unused_script_ok") is None:
            assert server.remaining == 0, \
                f"{server.remaining} scripted response(s) were never requested ({len(server.requests)} requests)"

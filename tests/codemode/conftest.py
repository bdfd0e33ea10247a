"""Code-mode tests: no V8 context (and so no isolate thread) may outlive a test."""

import pytest

from codex_actors.codemode import v8bridge


@pytest.fixture(autouse=True)
def no_leaked_v8_contexts():
    v8bridge.load_v8()
    before = v8bridge.context_count()
    yield
    assert v8bridge.context_count() == before, "a V8 context (isolate thread) was left behind"

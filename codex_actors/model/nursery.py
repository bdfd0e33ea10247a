"""`background_nursery`: a nursery around a `yield` whose body errors come out unwrapped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio


@asynccontextmanager
async def background_nursery() -> AsyncIterator[trio.Nursery]:
    """Yield a nursery for background tasks serving the block; on exit cancel them. An exception raised by the
    block is re-raised as itself once the tasks are gone, not wrapped in an ExceptionGroup, so callers can
    `pytest.raises(ModelError)` / `except ModelError` around an `async with` built on this."""
    body_error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        try:
            yield nursery
        except BaseException as exc:  # noqa: BLE001 - re-raised below, outside the nursery
            body_error = exc
        nursery.cancel_scope.cancel()
    if body_error is not None:
        raise body_error

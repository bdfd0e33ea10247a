"""A readers-writer lock for trio: parallel-safe tool calls share it, the others hold it alone.

Writers are preferred once waiting, so a stream of parallel calls cannot starve an exclusive one
(spec agent-core 2.3: "tools flagged supports_parallel_tool_calls take a read lock, all others the write lock").
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import trio


class ReadWriteLock:
    """`async with lock.read():` may overlap with other readers; `async with lock.write():` runs alone."""

    def __init__(self) -> None:
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._changed = trio.Condition()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        async with self._changed:
            while self._writer or self._writers_waiting:
                await self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with trio.CancelScope(shield=True):
                async with self._changed:
                    self._readers -= 1
                    if self._readers == 0:  # only the last reader out can let anyone in
                        self._changed.notify_all()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        async with self._changed:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    await self._changed.wait()
            finally:
                self._writers_waiting -= 1
                # A writer that gave up (cancelled) may be all that held readers back.
                self._changed.notify_all()
            self._writer = True
        try:
            yield
        finally:
            with trio.CancelScope(shield=True):
                async with self._changed:
                    self._writer = False
                    self._changed.notify_all()

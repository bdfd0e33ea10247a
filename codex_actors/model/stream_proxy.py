"""`ForwardingStream`: a trio Stream that hands everything to an inner stream; subclasses change what is read."""

from __future__ import annotations

import trio


class ForwardingStream(trio.abc.Stream):
    """Forwards every Stream method to `inner`; override `receive_some` to rewrite what the reader sees."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self.inner.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()

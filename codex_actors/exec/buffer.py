"""HeadTailBuffer: keep the first and last bytes of a stream, drop the middle (spec 4.4: capped at 1 MiB)."""

from __future__ import annotations

from collections import deque

MIB = 1024 * 1024


class HeadTailBuffer:
    """Bounded byte buffer: the first `cap // 2` bytes and the last `cap - cap // 2` bytes of what was pushed.

    Memory stays below `cap` bytes (plus one chunk while trimming) however much is pushed. `total_bytes` counts
    everything pushed, `dropped_bytes` what fell out of the middle. Pure: no I/O, no clock.
    """

    def __init__(self, cap: int = MIB) -> None:
        if cap < 2:
            raise ValueError(f"cap must be at least 2 bytes, got {cap}")
        self.cap = cap
        self._head_cap = cap // 2
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self.total_bytes = 0
        self.dropped_bytes = 0

    def __len__(self) -> int:
        return len(self._head) + self._tail_len

    def push(self, data: bytes) -> None:
        """Append `data`; once the head is full the oldest tail bytes are dropped to stay under `cap`."""
        if not data:
            return
        self.total_bytes += len(data)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data:
            return
        if len(data) >= self._tail_cap:
            self.dropped_bytes += self._tail_len + len(data) - self._tail_cap
            self._tail = deque([bytes(data[-self._tail_cap:])])
            self._tail_len = self._tail_cap
            return
        self._tail.append(bytes(data))
        self._tail_len += len(data)
        while self._tail_len > self._tail_cap:
            excess = self._tail_len - self._tail_cap
            first = self._tail[0]
            if len(first) <= excess:
                self._tail.popleft()
                self._tail_len -= len(first)
                self.dropped_bytes += len(first)
            else:
                self._tail[0] = first[excess:]
                self._tail_len -= excess
                self.dropped_bytes += excess

    def getvalue(self) -> bytes:
        """Head followed by tail (the dropped middle is simply absent)."""
        return bytes(self._head) + b"".join(self._tail)

    def take(self) -> bytes:
        """Return `getvalue()` and empty the buffer (counters restart too)."""
        value = self.getvalue()
        self._head = bytearray()
        self._tail.clear()
        self._tail_len = 0
        self.total_bytes = 0
        self.dropped_bytes = 0
        return value

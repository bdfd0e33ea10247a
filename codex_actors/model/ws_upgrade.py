"""Open a client WebSocket whose upgrade is decided as soon as the server answers (spec agent-core 3.3).

trio-websocket (0.12) learns that an upgrade was refused only once the refusal's whole body has arrived. A plain
HTTP/1.0 server (a stdlib `http.server`) answers `404` with no body length and closes the socket: the body then
ends with the connection, which trio-websocket treats as an abort, so the handshake waits for its connect
timeout instead (15 s per try, 97 s before a turn fell back to HTTP). Here the server's first line decides:

- `HTTP/1.x 101 ...`: the upgrade goes on inside trio-websocket as usual;
- any other status, or the connection closing before a status line: `UpgradeRefused` at once;
- no status line within `upgrade_timeout_s` after the TCP (and TLS) connection is up: `UpgradeRefused` too;
- the TCP/TLS connection itself failing or timing out: `OSError` / `trio.TooSlowError`, for the caller to retry.

Only trio-websocket's public `wrap_client_stream` is used; the stream handed to it is a thin proxy that watches
the answer's status line.
"""

from __future__ import annotations

import ssl
import urllib.parse

import trio
import trio_websocket

from codex_actors.model.stream_proxy import ForwardingStream

_MAX_STATUS_LINE = 8192


class UpgradeRefused(Exception):
    """The server answered the upgrade with something other than `101`, closed the connection first, or did not
    answer in time. `status` is the HTTP status received (None when there was none); `reason` says which."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def status_of(line: bytes) -> int | None:
    """The status code of an HTTP status line (`b"HTTP/1.1 404 Not Found"` -> 404), else None (pure)."""
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


class _UpgradeWatch(ForwardingStream):
    """Passes bytes through to trio-websocket, except the answer to the upgrade when it is not `101`: then
    `refused` is set and the reader sees end-of-stream, so trio-websocket stops quietly."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.decided = trio.Event()
        self.refused: UpgradeRefused | None = None
        self._head = b""

    def _refuse(self, refusal: UpgradeRefused) -> bytes:
        self.refused = refusal
        self.decided.set()
        return b""

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self.refused is not None:
            return b""
        while not self.decided.is_set():
            data = await self.inner.receive_some(max_bytes)
            if not data:
                return self._refuse(UpgradeRefused("the server closed the connection without answering the upgrade"))
            self._head += data
            if b"\n" in self._head:
                status = status_of(self._head.split(b"\n", 1)[0].strip())
                if status != 101:
                    reason = f"HTTP {status}" if status is not None else "the server's answer is not HTTP"
                    return self._refuse(UpgradeRefused(reason, status))
                self.decided.set()
            elif len(self._head) > _MAX_STATUS_LINE:
                return self._refuse(UpgradeRefused("the server's answer is not HTTP"))
        if self._head:
            size = len(self._head) if max_bytes is None else max_bytes
            data, self._head = self._head[:size], self._head[size:]
            return data
        return await self.inner.receive_some(max_bytes)


async def open_client_websocket(
    nursery: trio.Nursery,
    url: str,
    *,
    extra_headers: list[tuple[bytes, bytes]],
    connect_timeout_s: float,
    upgrade_timeout_s: float,
    max_message_size: int,
) -> trio_websocket.WebSocketConnection:
    """Connect to `url` (`ws://` or `wss://`) and complete the WebSocket upgrade; the connection's reader task runs
    in `nursery`. Raises `UpgradeRefused` (see the module docstring), `trio.TooSlowError` when the TCP/TLS
    connect takes longer than `connect_timeout_s`, `OSError` when it fails, and trio-websocket's `HandshakeError`
    for a `101` answer that is not a valid WebSocket accept. Times are in seconds."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or ""
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    with trio.fail_after(connect_timeout_s):
        if secure:
            tls = await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=ssl.create_default_context(), https_compatible=True)
            await tls.do_handshake()
            stream: trio.abc.Stream = tls
        else:
            stream = await trio.open_tcp_stream(host, port)
    watch = _UpgradeWatch(stream)
    conn: trio_websocket.WebSocketConnection | None = None
    try:
        with trio.move_on_after(upgrade_timeout_s):
            async with trio.open_nursery() as race:
                async def on_decided() -> None:
                    await watch.decided.wait()
                    if watch.refused is not None:
                        race.cancel_scope.cancel()

                race.start_soon(on_decided)
                host_header = host if parts.port is None else f"{host}:{parts.port}"
                conn = await trio_websocket.wrap_client_stream(
                    nursery, watch, host_header, resource,  # type: ignore[arg-type]  # any trio Stream works
                    extra_headers=extra_headers, max_message_size=max_message_size)
                race.cancel_scope.cancel()
    finally:
        if conn is None:
            with trio.CancelScope(shield=True):
                await stream.aclose()
    if conn is None:
        raise watch.refused or UpgradeRefused(f"no answer to the upgrade within {upgrade_timeout_s:g} s")
    return conn

"""`ModelClient.request_sent`: set once the first request's body is written, before any answer (issue 21)."""

import functools

import trio

from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt

from .helpers import provider, user


async def _read_request_then_hold(stream, received: trio.Event) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive_some(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += await stream.receive_some(65536)
    received.set()
    await trio.sleep_forever()  # never answers


async def test_request_sent_is_set_when_the_body_is_out_while_the_answer_is_still_pending():
    received = trio.Event()
    async with trio.open_nursery() as nursery:
        handler = functools.partial(_read_request_then_hold, received=received)
        listeners = await nursery.start(functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        async with ModelClient.open(provider(f"http://127.0.0.1:{port}/v1"), "m", env={}) as client:
            assert not client.request_sent.is_set()
            async with client.stream(Prompt(input=[user("hi")], instructions="x")):
                with trio.fail_after(10):
                    await client.request_sent.wait()
                    await received.wait()
        nursery.cancel_scope.cancel()

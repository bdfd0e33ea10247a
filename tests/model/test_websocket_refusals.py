"""A server that does not speak WebSocket is found out at once (spec agent-core 3.3, issue: a plain HTTP server
made every turn wait 97 s). The servers here are the standard library's `http.server` and a bare TCP listener,
not our scripted server."""

import time

import pytest
import trio

from codex_actors.model.client import FALLBACK_WARNING, ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.model.ws_upgrade import UpgradeRefused, open_client_websocket, status_of
from codex_actors.protocol.events import StreamError, Warning
from codex_actors.testing import response, text_message
from tests.plain_http import plain_model_server

from .helpers import Notes, collect, done_items, provider, user


async def test_stdlib_server_404_to_the_upgrade_falls_back_to_http_at_once():
    with plain_model_server([response(text_message("hello over http"))]) as server:
        notes = Notes()
        async with ModelClient.open(provider(server.url, supports_websockets=True), "m", notify=notes) as client:
            started = time.monotonic()
            events = await collect(client, Prompt(input=[user("hi")]))
            assert client.transport == "http"
        posts = server.posts()
    assert [r.method for r in server.requests] == ["GET", "POST"]
    assert posts[0].at - started < 1.0, f"first POST after {posts[0].at - started:.2f} s"
    assert [(type(m), m.message) for m in notes.messages] == [(Warning, FALLBACK_WARNING)]
    assert [item.content[0].text for item in done_items(events)] == ["hello over http"]


async def test_a_refusal_is_remembered_for_later_clients_of_that_provider():
    script = [response(text_message("one")), response(text_message("two"))]
    with plain_model_server(script) as server:
        info = provider(server.url, supports_websockets=True)
        async with ModelClient.open(info, "m") as client:
            await collect(client, Prompt(input=[user("hi")]))
        notes = Notes()
        async with ModelClient.open(info, "m", notify=notes) as again:
            assert again.transport == "http"
            await collect(again, Prompt(input=[user("hi again")]))
    assert [r.method for r in server.requests] == ["GET", "POST", "POST"]
    assert notes.messages == []


async def test_a_listener_that_never_answers_the_upgrade_is_bounded_by_the_upgrade_timeout():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        held: list[trio.SocketStream] = []

        async def accept_and_say_nothing() -> None:
            held.append(await listeners[0].accept())
            await trio.sleep_forever()

        nursery.start_soon(accept_and_say_nothing)
        with trio.fail_after(5):
            with pytest.raises(UpgradeRefused, match="no answer to the upgrade within 0.3 s"):
                await open_client_websocket(nursery, f"ws://127.0.0.1:{port}/v1/responses", extra_headers=[],
                                            connect_timeout_s=5, upgrade_timeout_s=0.3, max_message_size=1024)
        nursery.cancel_scope.cancel()
    for stream in held:
        await stream.aclose()
    await listeners[0].aclose()


async def test_a_connection_closed_before_any_answer_is_a_refusal():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        async def accept_and_hang_up() -> None:
            stream = await listeners[0].accept()
            await stream.receive_some(65536)
            await stream.aclose()

        nursery.start_soon(accept_and_hang_up)
        with trio.fail_after(5):
            with pytest.raises(UpgradeRefused, match="closed the connection") as refused:
                await open_client_websocket(nursery, f"ws://127.0.0.1:{port}/v1/responses", extra_headers=[],
                                            connect_timeout_s=5, upgrade_timeout_s=4, max_message_size=1024)
    assert refused.value.status is None
    await listeners[0].aclose()


async def test_a_closed_port_is_a_retryable_connection_failure_not_a_refusal():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    await listeners[0].aclose()
    notes = Notes()
    info = provider(f"http://127.0.0.1:{port}/v1", supports_websockets=True, stream_max_retries=1,
                    request_max_retries=0)
    async with ModelClient.open(info, "m", notify=notes) as client:
        with trio.fail_after(10), pytest.raises(Exception):
            await collect(client, Prompt(input=[user("hi")]))
    assert isinstance(notes.messages[0], StreamError)
    assert "WebSocket connection" in notes.messages[0].additional_details


def test_status_line_parsing():
    assert status_of(b"HTTP/1.1 101 Switching Protocols") == 101
    assert status_of(b"HTTP/1.0 404 Not Found") == 404
    assert status_of(b"HTTP/1.1 426") == 426
    assert status_of(b"SSH-2.0-OpenSSH_9.6") is None
    assert status_of(b"") is None


@pytest.mark.parametrize("websockets", [False, True])
async def test_a_server_answering_500_every_time_gets_request_max_retries_plus_one_posts(websockets):
    with plain_model_server([{"status": 500}], repeat_last=True) as server:
        info = provider(server.url, supports_websockets=websockets, request_max_retries=2, stream_max_retries=2)
        async with ModelClient.open(info, "m") as client:
            with trio.fail_after(20), pytest.raises(Exception, match="500"):
                await collect(client, Prompt(input=[user("hi")]))
    assert len(server.posts()) == 3
    assert [r.method for r in server.requests if r.method != "POST"] == (["GET"] if websockets else [])

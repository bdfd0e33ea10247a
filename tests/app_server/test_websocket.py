"""`codex-actors app-server --listen ws://127.0.0.1:0`: two WebSocket clients of one server, each running a
thread, with one JSON message per text frame."""

from __future__ import annotations

import json
import signal
import sys

import trio
from trio_websocket import open_websocket_url

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import response, text_message
from tests.app_server.helpers import provider_overrides, server_env


async def start_ws_server(model_url, tmp_path, nursery):
    """`app-server --listen ws://127.0.0.1:0` against the scripted model: (process, the ws:// URL it prints)."""
    args = [sys.executable, "-m", "codex_actors"]
    for value in provider_overrides(model_url):
        args += ["-c", value]
    proc = await nursery.start(lambda task_status: trio.run_process(
        [*args, "app-server", "--listen", "ws://127.0.0.1:0"], stderr=-1, env=server_env(tmp_path / "home"),
        cwd=tmp_path, check=False, task_status=task_status))
    seen = b""
    while b"listening on ws://" not in seen:
        seen += await proc.stderr.receive_some(4096)
    return proc, seen.decode().split("listening on ")[1].split()[0]


async def rpc(ws, request_id, method, params):
    await ws.send_message(json.dumps({"id": request_id, "method": method, "params": params}))
    while True:
        message = json.loads(await ws.get_message())
        if message.get("id") == request_id and "method" not in message:
            return message


async def run_client(url, prompt, results):
    async with open_websocket_url(url) as ws:
        assert "result" in await rpc(ws, 1, "initialize", {"clientInfo": {"name": "ws", "version": "1"}})
        thread = (await rpc(ws, 2, "thread/start", {}))["result"]["thread"]["id"]
        await rpc(ws, 3, "turn/start", {"threadId": thread, "input": [{"type": "text", "text": prompt}]})
        text = None
        while True:
            message = json.loads(await ws.get_message())
            if message.get("method") == "item/completed" and message["params"]["item"]["type"] == "agentMessage":
                text = message["params"]["item"]["text"]
            if message.get("method") == "turn/completed":
                results[prompt] = (thread, message["params"]["turn"]["status"], text)
                return


async def test_two_websocket_clients_share_one_server(tmp_path):
    script = [response(text_message("over the socket")), response(text_message("over the socket"))]
    async with serve_scripted_model(script, websocket=False) as server, trio.open_nursery() as nursery:
        with trio.fail_after(60):
            proc, url = await start_ws_server(server.url, tmp_path, nursery)
            results: dict = {}
            async with trio.open_nursery() as clients:
                clients.start_soon(run_client, url, "first client", results)
                clients.start_soon(run_client, url, "second client", results)
            proc.send_signal(signal.SIGINT)
            await proc.wait()
    assert results["first client"][0] != results["second client"][0]
    assert {status for _, status, _ in results.values()} == {"completed"}
    assert {text for _, _, text in results.values()} == {"over the socket"}
    assert proc.returncode == 0


async def test_a_second_client_joins_a_running_thread_and_keeps_it_after_the_first_leaves(tmp_path):
    script = [response(text_message("one")), response(text_message("two")), response(text_message("three"))]
    async with serve_scripted_model(script, websocket=False) as server, trio.open_nursery() as nursery:
        with trio.fail_after(60):
            proc, url = await start_ws_server(server.url, tmp_path, nursery)

            async def turn(ws, request_id, thread_id, text):
                await rpc(ws, request_id, "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})
                while True:
                    message = json.loads(await ws.get_message())
                    if message.get("method") == "turn/completed":
                        return message["params"]["turn"]["items"][-1]["text"]

            async with open_websocket_url(url) as second:
                await rpc(second, 1, "initialize", {"clientInfo": {"name": "second", "version": "1"}})
                async with open_websocket_url(url) as first:
                    await rpc(first, 1, "initialize", {"clientInfo": {"name": "first", "version": "1"}})
                    thread_id = (await rpc(first, 2, "thread/start", {}))["result"]["thread"]["id"]
                    assert await turn(first, 3, thread_id, "from the first") == "one"
                    joined = await rpc(second, 2, "thread/resume", {"threadId": thread_id})
                    assert joined["result"]["thread"]["id"] == thread_id
                    assert await turn(second, 3, thread_id, "from the second") == "two"
                # The first client left; the thread lives on for the second.
                assert await turn(second, 4, thread_id, "still there?") == "three"
            proc.send_signal(signal.SIGINT)
            await proc.wait()
    assert proc.returncode == 0
    assert len(server.requests) == 3  # one session: each request carried the whole conversation
    assert [c["content"][0]["text"] for c in server.requests[2].body["input"] if c.get("role") == "user"][-3:] == [
        "from the first", "from the second", "still there?"]

"""Start-up cost: the WebSocket transport (trio-websocket, wsproto: ~40 ms) is imported only by a client whose
provider uses WebSockets."""

import subprocess
import sys

PROBE = """
import sys, trio
from codex_actors.model.client import ModelClient
from codex_actors.model.provider import ProviderInfo

async def main(ws):
    provider = ProviderInfo.from_table("p", {"base_url": "http://127.0.0.1:9/v1", "supports_websockets": ws}, env={})
    async with ModelClient.open(provider, "m", env={}) as client:
        print(client.transport, "trio_websocket" in sys.modules)

trio.run(main, sys.argv[1] == "ws")
"""


def probe(mode: str) -> str:
    return subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True).stdout


def test_an_http_client_does_not_load_the_websocket_transport_and_a_websocket_client_does():
    assert probe("http") == "http False\n"
    assert probe("ws") == "websocket True\n"

"""The scripted model server as a separate process (for CLI tests): URL on the first stdout line, JSONL log."""

import json
import subprocess
import sys

import trio

from codex_actors.model.client import ModelClient
from codex_actors.model.prompt import Prompt
from codex_actors.protocol.items import Message, OutputText
from codex_actors.testing import response, text_message

from .helpers import collect, done_items, provider, user


async def test_server_process_prints_its_url_and_logs_each_request(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([response(text_message("from a process"))]))
    log = tmp_path / "requests.jsonl"
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "codex_actors.testing.server", "--script", str(script), "--port", "0",
         "--log", str(log)],
        stdout=subprocess.PIPE,
    )
    try:
        line = b""
        with trio.fail_after(20):
            while not line.endswith(b"\n"):
                chunk = await process.stdout.receive_some(1)
                assert chunk, "server exited before printing its URL"
                line += chunk
        url = line.decode().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        async with ModelClient.open(provider(url), "m") as client:
            events = await collect(client, Prompt(input=[user("ping")]))
        assert done_items(events) == [Message("assistant", [OutputText("from a process")])]
        [entry] = [json.loads(x) for x in log.read_text().splitlines()]
        assert (entry["transport"], entry["method"], entry["path"]) == ("http", "POST", "/v1/responses")
        assert entry["body"]["input"] == [{"type": "message", "role": "user",
                                           "content": [{"type": "input_text", "text": "ping"}]}]
    finally:
        process.terminate()
        with trio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.stdout.aclose()


def test_server_process_refuses_a_script_that_is_not_a_list(tmp_path):
    script = tmp_path / "bad.json"
    script.write_text('{"items": []}')
    done = subprocess.run([sys.executable, "-m", "codex_actors.testing.server", "--script", str(script)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"script {script} must be a JSON list of objects" in done.stderr

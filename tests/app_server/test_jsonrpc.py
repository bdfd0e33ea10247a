"""Raw JSON-RPC over the pipe of `codex-actors app-server`: the error paths no SDK produces, two threads
running at once on one connection, and a client that goes away mid-turn."""

from __future__ import annotations

import json

import trio

from codex_actors.testing import serve_scripted_model
from codex_actors.testing.script import function_call, response, text_message
from tests.app_server.helpers import RawClient
from tests.cli.test_exec import rollouts


async def test_errors_name_the_method_or_field_and_the_server_goes_on(tmp_path):
    async with serve_scripted_model([response(text_message("still here"))], websocket=False) as server, \
            trio.open_nursery() as nursery:
        client = await RawClient.start(server.url, tmp_path / "home", tmp_path, nursery)
        with trio.fail_after(60):
            early = await client.call("thread/list")
            assert early["error"]["code"] == -32600 and "Not initialized" in early["error"]["message"]
            await client.initialize()

            unknown = await client.call("thread/teleport", {"threadId": "x"})
            assert unknown["error"]["code"] == -32601
            assert "thread/teleport" in unknown["error"]["message"]

            await client.send_raw("{this is not json")
            broken = await client.next()
            assert broken["id"] is None and broken["error"]["code"] == -32700

            no_thread = await client.call("turn/start", {"input": [{"type": "text", "text": "hi"}]})
            assert no_thread["error"]["code"] == -32602 and "threadId" in no_thread["error"]["message"]
            bad_sandbox = await client.call("thread/start", {"sandbox": "everything"})
            assert bad_sandbox["error"]["code"] == -32602 and "sandbox" in bad_sandbox["error"]["message"]
            reviewer = await client.call("thread/start", {"approvalsReviewer": "a-committee"})
            assert reviewer["error"]["code"] == -32602 and "approvalsReviewer" in reviewer["error"]["message"]
            half = await client.call("thread/start", {"approvalPolicy": {"granular": {"rules": True}}})
            assert half["error"]["code"] == -32602 and "approvalPolicy" in half["error"]["message"]
            bad_limit = await client.call("thread/list", {"limit": "ten"})
            assert bad_limit["error"]["code"] == -32602 and "limit" in bad_limit["error"]["message"]
            missing = await client.call("thread/read", {"threadId": "00000000-0000-0000-0000-000000000000"})
            assert missing["error"]["code"] == -32600

            started = await client.call("thread/start", {})
            thread_id = started["result"]["thread"]["id"]
            bad_input = await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "audio"}]})
            assert bad_input["error"]["code"] == -32602 and "input[0].type" in bad_input["error"]["message"]
            turn = await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]})
            completed = await client.until("turn/completed", threadId=thread_id)
            assert completed["params"]["turn"]["id"] == turn["result"]["turn"]["id"]
            assert completed["params"]["turn"]["status"] == "completed"
            await client.proc.stdin.aclose()
            await client.proc.wait()
        assert client.proc.returncode == 0


async def test_two_threads_run_at_once_on_one_connection(tmp_path):
    # Each thread runs a command that waits for the other thread's command to have started: only two turns
    # running concurrently can both finish.
    flag_a, flag_b = tmp_path / "a-started", tmp_path / "b-started"

    def waits_for(mine, other, call_id):
        cmd = f"touch {mine}; for i in $(seq 100); do [ -e {other} ] && echo saw-other && break; sleep 0.1; done"
        return response(function_call("exec_command", {"cmd": cmd, "yield_time_ms": 20000}, call_id))

    script = [waits_for(flag_a, flag_b, "call_a"), waits_for(flag_b, flag_a, "call_b"),
              response(text_message("thread done")), response(text_message("thread done"))]
    async with serve_scripted_model(script, websocket=False) as server, trio.open_nursery() as nursery:
        client = await RawClient.start(server.url, tmp_path / "home", tmp_path, nursery)
        with trio.fail_after(90):
            await client.initialize()
            seen: list = []
            params = {"sandbox": "danger-full-access", "approvalPolicy": "never"}
            one = (await client.call("thread/start", params, seen=seen))["result"]["thread"]["id"]
            two = (await client.call("thread/start", params, seen=seen))["result"]["thread"]["id"]
            assert one != two
            for thread_id in (one, two):
                answer = await client.call("turn/start", {"threadId": thread_id,
                                                          "input": [{"type": "text", "text": "go"}]}, seen=seen)
                assert "result" in answer, answer
            done = set()
            while len(done) < 2:
                message = await client.next()
                seen.append(message)
                if message.get("method") == "turn/completed":
                    assert message["params"]["turn"]["status"] == "completed"
                    done.add(message["params"]["threadId"])
            assert done == {one, two}
            outputs = [m["params"]["item"].get("aggregatedOutput") or "" for m in seen
                       if m.get("method") == "item/completed" and m["params"]["item"]["type"] == "commandExecution"]
            assert len(outputs) == 2 and all("saw-other" in out for out in outputs), outputs
            await client.proc.stdin.aclose()
            await client.proc.wait()


async def test_a_client_that_disconnects_mid_turn_ends_the_turn_and_keeps_the_rollout(tmp_path):
    script = [response(function_call("exec_command", {"cmd": "sleep 60", "yield_time_ms": 60000}, "call_sleep"))]
    home = tmp_path / "home"
    async with serve_scripted_model(script, websocket=False) as server, trio.open_nursery() as nursery:
        client = await RawClient.start(server.url, home, tmp_path, nursery)
        with trio.fail_after(60):
            await client.initialize()
            thread_id = (await client.call("thread/start", {"sandbox": "danger-full-access"}))["result"]["thread"]["id"]
            await client.call("turn/start", {"threadId": thread_id,
                                             "input": [{"type": "text", "text": "remember this prompt"}]})
            while (await client.until("item/started", threadId=thread_id))["params"]["item"]["type"] \
                    != "commandExecution":
                pass  # the user message's item comes first; leave once the command runs, really mid-turn
            await client.proc.stdin.aclose()  # the client goes away mid-turn
            await client.proc.wait()
    assert client.proc.returncode == 0
    [rollout] = rollouts(home)
    lines = [json.loads(line) for line in rollout.read_text().splitlines()]
    kinds = [(line["type"], line["payload"].get("type")) for line in lines]
    assert ("session_meta", None) in kinds
    assert any(line["payload"].get("message") == "remember this prompt" for line in lines
               if line["type"] == "event_msg" and line["payload"].get("type") == "user_message")
    assert ("event_msg", "turn_aborted") in kinds


async def test_patch_approvals_are_server_requests_answered_by_the_client(tmp_path):
    from codex_actors.testing.script import custom_tool_call

    work = tmp_path / "work"
    work.mkdir()
    patch = "*** Begin Patch\n*** Add File: {name}\n+written\n*** End Patch\n"
    script = [response(custom_tool_call("apply_patch", patch.format(name="yes.txt"), "patch_yes")),
              response(custom_tool_call("apply_patch", patch.format(name="no.txt"), "patch_no")),
              response(text_message("patched"))]
    async with serve_scripted_model(script, websocket=False) as server, trio.open_nursery() as nursery:
        client = await RawClient.start(server.url, tmp_path / "home", work, nursery)
        with trio.fail_after(60):
            await client.initialize()
            started = await client.call("thread/start", {"approvalPolicy": "untrusted", "sandbox": "workspace-write"})
            thread_id = started["result"]["thread"]["id"]
            await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "patch"}]})
            asked, items = [], {}
            while True:
                message = await client.next()
                if message.get("method") == "item/fileChange/requestApproval":
                    asked.append(message["params"]["itemId"])
                    decision = "accept" if message["params"]["itemId"] == "patch_yes" else "decline"
                    await client.send({"id": message["id"], "result": {"decision": decision}})
                elif message.get("method") == "item/completed" and message["params"]["item"]["type"] == "fileChange":
                    item = message["params"]["item"]
                    items[item["id"]] = (item["status"], [c["kind"]["type"] for c in item["changes"]])
                elif message.get("method") == "turn/completed":
                    break
            await client.proc.stdin.aclose()
            await client.proc.wait()
    assert asked == ["patch_yes", "patch_no"]
    assert items == {"patch_yes": ("completed", ["add"]), "patch_no": ("declined", ["add"])}
    assert (work / "yes.txt").read_text() == "written\n" and not (work / "no.txt").exists()


async def test_model_list_pages_the_providers_models_and_falls_back_to_the_configured_one(tmp_path):
    async with serve_scripted_model([], websocket=False, models=["o3", "o4-mini", "gpt-4.1"]) as server, \
            serve_scripted_model([], websocket=False) as silent, trio.open_nursery() as nursery:
        client = await RawClient.start(server.url, tmp_path / "home", tmp_path, nursery)
        fallback = await RawClient.start(silent.url, tmp_path / "home", tmp_path, nursery)
        with trio.fail_after(60):
            await client.initialize()
            first = (await client.call("model/list", {"limit": 2}))["result"]
            # the configured model is not listed by the provider: it comes first, as the default
            assert [(m["id"], m["isDefault"]) for m in first["data"]] == [("gpt-5.3-codex", True), ("o3", False)]
            rest = (await client.call("model/list", {"cursor": first["nextCursor"]}))["result"]
            assert [m["id"] for m in rest["data"]] == ["o4-mini", "gpt-4.1"] and rest["nextCursor"] is None
            assert server.requests[0].headers["authorization"] == "Bearer test-key"
            bad = await client.call("model/list", {"cursor": "page-two"})
            assert bad["error"]["code"] == -32602 and "cursor" in bad["error"]["message"]

            await fallback.initialize()
            alone = (await fallback.call("model/list", {}))["result"]
            assert [m["id"] for m in alone["data"]] == ["gpt-5.3-codex"] and alone["nextCursor"] is None
            for c in (client, fallback):
                await c.proc.stdin.aclose()
                await c.proc.wait()


async def test_turn_steer_reaches_the_running_turn_and_is_refused_once_it_ended(tmp_path):
    flag = tmp_path / "go-on"
    cmd = f"for i in $(seq 200); do [ -e {flag} ] && echo released && break; sleep 0.05; done"
    script = [response(function_call("exec_command", {"cmd": cmd, "yield_time_ms": 20000}, "call_wait")),
              response(text_message("steered answer"))]
    async with serve_scripted_model(script, websocket=False) as server, trio.open_nursery() as nursery:
        client = await RawClient.start(server.url, tmp_path / "home", tmp_path, nursery)
        with trio.fail_after(60):
            await client.initialize()
            thread_id = (await client.call("thread/start", {"sandbox": "danger-full-access"}))["result"]["thread"]["id"]
            turn = await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "go"}]})
            turn_id = turn["result"]["turn"]["id"]
            while (await client.until("item/started", threadId=thread_id))["params"]["item"]["type"] \
                    != "commandExecution":
                pass
            steer = {"threadId": thread_id, "expectedTurnId": turn_id,
                     "input": [{"type": "text", "text": "also mention the weather"}]}
            steered = await client.call("turn/steer", steer)
            assert steered.get("result") == {"turnId": turn_id}, steered
            flag.touch()
            completed = await client.until("turn/completed", threadId=thread_id)
            assert completed["params"]["turn"]["id"] == turn_id
            late = await client.call("turn/steer", steer)
            assert late["error"]["code"] == -32600, late
            await client.proc.stdin.aclose()
            await client.proc.wait()
    second = server.requests[1].body["input"]
    assert second[-1]["content"] == [{"type": "input_text", "text": "also mention the weather"}]
    assert len(server.requests) == 2
